// Diagnostic: CPU per GET /approvals inside the app (app.request: no sockets) for a site approver
// at N staged projects (three sites, one in seven counted under 5), on a fresh in-memory database,
// plus the page's size and the SQL statements it runs (a spy on the better-sqlite3 client).
// node --import tsx bench/diag/approvals-cpu.ts [projects=1000] [requests=200] [path=/approvals]
import { and, eq } from 'drizzle-orm'
import { createTestEnv, createTestUser } from '../../src/test/helpers.ts'
import { worldTools } from '../../src/test/approval-world.ts'
import { createProject, saveCohortQuery } from '../../src/models/projects.ts'
import { projectSites, projects, tasks } from '../../src/db/schema.ts'

const N = Number(process.argv[2] ?? 1_000)
const n = Number(process.argv[3] ?? 200)
const path = process.argv[4] ?? '/approvals'
const t = createTestEnv()
const admin = await createTestUser(t, { role: 'admin', email: 'admin@example.org' })
const owner = await createTestUser(t, { role: 'researcher', email: 'owner@example.org' })
const approver = await createTestUser(t, { role: 'researcher', email: 'approver@example.org' })
const { site, appoint, as } = worldTools(t, admin)
const sites = [site('Northern Infirmary', 'BNI'), site('Southern General', 'BSG'), site('Western Royal', 'BWR')]
for (const s of sites) appoint(s, approver)
const ownerCtx = () => ({ actor: { id: owner.user.id, email: owner.user.email }, now: t.clock.now(), ip: '127.0.0.1' })
t.db.transaction(() => {
  for (let i = 0; i < N; i++) {
    const p = createProject(t.db, { name: `Project ${i + 1}`, description: `Cohort ${i + 1}`, groupId: null }, ownerCtx())
    if (!saveCohortQuery(t.db, p, `SELECT id FROM imaging WHERE study = ${i + 1}`, ownerCtx()).ok) throw new Error('query not saved')
    t.db.update(tasks).set({ status: 'done', resultCount: i % 7 === 0 ? 3 : 40 + i, completedAt: t.clock.now() }).where(and(eq(tasks.projectId, p.id), eq(tasks.kind, 'cohort_query'))).run()
    t.db.update(projects).set({ status: 'staged', stagedAt: t.clock.now() }).where(eq(projects.id, p.id)).run()
    t.db.insert(projectSites).values({ projectId: p.id, siteId: sites[i % 3]!.site.id, stagedAt: t.clock.now() }).run()
  }
})
const browser = await as(approver)
const cookie = [...browser.cookies].map(([k, v]) => `${k}=${v}`).join('; ')
const env = { incoming: { socket: { remoteAddress: '127.0.0.1', remotePort: 1, remoteFamily: 'IPv4' } } }
let bytes = 0
const once = async () => {
  const res = await t.app.request(path, { headers: { Cookie: cookie } }, env)
  if (res.status !== 200) throw new Error(`GET ${path} ${res.status}`)
  bytes = Buffer.byteLength(await res.text())
}
for (let i = 0; i < Math.min(20, n); i++) await once()
// SQL statements of one request: prepare + exec calls on the client (drizzle prepares per query).
const client = t.db.$client
const prepare = client.prepare.bind(client)
let statements = 0
client.prepare = ((source: string) => (statements++, prepare(source))) as typeof client.prepare
await once()
client.prepare = prepare
const c0 = process.cpuUsage()
for (let i = 0; i < n; i++) await once()
const c = process.cpuUsage(c0)
console.log(`GET ${path} in-app at ${N} staged projects: ${((c.user + c.system) / n / 1000).toFixed(2)} ms CPU per request (n=${n}), ${Math.round(bytes / 1000)} kB, ${statements} statements prepared per request`)
