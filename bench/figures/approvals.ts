// Issue 16, item 4: the approvals page (GET /approvals) at 1,000 staged projects. No target in
// the spec (info).
//
// Data, written into the running server's database through the model functions, in one
// transaction: three sites (createSite), an approver appointed to all three by the admin
// (appointSiteApprover), and 1,000 projects of another user, each created (createProject), given
// a cohort query (saveCohortQuery: a count task per site), counted by the sites (the tasks marked
// done with a count, as the site API does; one project in seven has a count under 5, shown "< 5")
// and staged at one of the three sites (stageProject, which queues one email to the approver).
// The bench then waits until the server's outbox has handled those 1,000 emails, so its
// delivery is not in the windows.
//
// Checked before measuring: the approver's first page shows, per site section, its 50 oldest
// stagings (50 per page) in order with the link to decide at that site, "Showing 1–50 of <its
// total>" and a link to page 2; the totals add up to 1,000 ("1,000 stagings await"); the "< 5"
// counts of that page; the navigation's badge of 1,000; and the first site's last page shows
// the rest of its stagings. The measured page is the first one.
//
// Measured: (1) one request at a time for the window: median (the figure) and p99; (2) req/s
// under BENCH_PAGE_CONCURRENCY (16) connections as a ratio to the hello route, measured just
// before it the same way (as the `page` figure).
import { join } from 'node:path'
import { and, eq } from 'drizzle-orm'
import { hashPassword } from '../../src/auth/password.ts'
import { loadConfig } from '../../src/config.ts'
import { openDatabase, writeTransaction } from '../../src/db/client.ts'
import { tasks } from '../../src/db/schema.ts'
import { createProject, saveCohortQuery, stageProject } from '../../src/models/projects.ts'
import { appointSiteApprover } from '../../src/models/site-approvers.ts'
import { APPROVALS_PAGE_SIZE } from '../../src/models/approvals.ts'
import { createSite } from '../../src/models/sites.ts'
import { getUserById } from '../../src/models/users.ts'
import { cpuLine } from '../lib/load.ts'
import { BENCH_PASSWORD, insertBenchUser } from '../lib/prepare.ts'
import { sharedTotpPool, signIn } from '../lib/signin.ts'
import { percentile, round, sleep } from '../lib/stats.ts'
import { CONCURRENCY, measure, summary } from './authenticated-page.ts'
import { figure, type FigureProducer } from './types.ts'

const PROJECTS = Number(process.env.BENCH_APPROVALS_PROJECTS ?? 1_000)
const SITES = [
  { name: 'Bench Northern Infirmary', code: 'BNI' },
  { name: 'Bench Southern General', code: 'BSG' },
  { name: 'Bench Western Royal', code: 'BWR' },
]
const OUTBOX_WAIT_MS = 60_000
const PAGE_SIZE = APPROVALS_PAGE_SIZE

function expect(condition: boolean, what: string): asserts condition {
  if (!condition) throw new Error(what)
}

export const approvalsPage: FigureProducer = {
  id: 'approvals',
  name: `approvals page at ${PROJECTS} staged projects`,
  async run(ctx) {
    const { dataDir, admin } = ctx.data
    const key = loadConfig({ DATA_DIR: dataDir }).encryptionKey
    const baseUrl = ctx.gatehouse.target.origin
    const db = openDatabase(join(dataDir, 'gatehouse.sqlite'))
    const agent = ctx.gatehouse.target.agent(1)
    try {
      const passwordHash = await hashPassword(BENCH_PASSWORD)
      const seeded = performance.now()
      const seed = writeTransaction(db, () => {
        const now = Date.now()
        const adminCtx = { actor: { id: admin.id, email: admin.email }, now, ip: '127.0.0.1', baseUrl }
        const approver = insertBenchUser(db, key, passwordHash, 'bench-approver@bench.example', 'researcher')
        const owner = insertBenchUser(db, key, passwordHash, 'bench-owner@bench.example', 'researcher')
        const ownerCtx = { actor: { id: owner.id, email: owner.email }, now, ip: '127.0.0.1', baseUrl }
        const sites = SITES.map((s) => createSite(db, { ...s, contactEmail: '' }, adminCtx).site)
        const approverRow = getUserById(db, approver.id)!
        for (const site of sites) {
          const appointed = appointSiteApprover(db, site, approverRow, adminCtx)
          expect(appointed.ok, `appointing the approver at ${site.code}`)
        }
        const projects: { id: number; siteId: number; small: boolean }[] = []
        for (let i = 0; i < PROJECTS; i++) {
          const project = createProject(db, { name: `Bench approvals ${String(i + 1).padStart(4, '0')}`, description: `Retrospective cohort ${i + 1}: imaging and outcomes`, groupId: null }, ownerCtx)
          const saved = saveCohortQuery(db, project, `SELECT patient_id FROM imaging WHERE study = ${i + 1}`, ownerCtx)
          expect(saved.ok, `saving the cohort query of project ${project.id}`)
          const small = i % 7 === 0
          db.update(tasks)
            .set({ status: 'done', resultCount: small ? 3 : 40 + i, completedAt: now })
            .where(and(eq(tasks.projectId, project.id), eq(tasks.kind, 'cohort_query')))
            .run()
          const site = sites[i % sites.length]!
          const staged = stageProject(db, project, [site.id], ownerCtx)
          expect(staged.ok, `staging project ${project.id}: ${staged.ok ? '' : staged.reason}`)
          projects.push({ id: project.id, siteId: site.id, small })
        }
        return { approver, sites, projects }
      })
      const seedSeconds = (performance.now() - seeded) / 1000
      // The 1,000 staging emails: the server's outbox handles them (prints them: no SMTP_URL) every 2 s.
      const waited = performance.now()
      const queued = () => db.$client.prepare("select count(*) from outbox where status = 'queued'").pluck().get() as number
      for (const until = Date.now() + OUTBOX_WAIT_MS; queued() > 0; await sleep(200)) {
        if (Date.now() > until) throw new Error(`the server's outbox still holds ${queued()} queued emails after ${OUTBOX_WAIT_MS / 1000} s`)
      }
      const outboxSeconds = (performance.now() - waited) / 1000
      ctx.log(`  seeded ${PROJECTS} staged projects at ${SITES.length} sites in ${round(seedSeconds, 1)} s; the server's outbox handled their emails in ${round(outboxSeconds, 1)} s`)

      const grant = await sharedTotpPool(seed.approver).acquire()
      const cookie = await signIn(ctx.gatehouse.target, agent, seed.approver, grant.step).finally(grant.release)
      const headers = { Cookie: `session=${cookie}` }

      // The page content, once.
      const first = await ctx.gatehouse.target.request(agent, { path: '/approvals', headers, keepBody: true, timeoutMs: 60_000 })
      expect(first.status === 200, `GET /approvals: ${first.status}`)
      // The first page: each site's section shows its 50 oldest stagings (50 per page) and says how
      // many there are in all; together the sections count the 1,000 and the badge says 1,000.
      const links = [...first.body.matchAll(/href="\/projects\/(\d+)\/sites\/(\d+)\/decision"/g)].map((m) => `${m[1]}:${m[2]}`)
      const perSite = seed.sites.map((s) => seed.projects.filter((p) => p.siteId === s.id))
      const expectedFirstPage = perSite.flatMap((list, i) => list.slice(0, PAGE_SIZE).map((p) => `${p.id}:${seed.sites[i]!.id}`))
      expect(links.length === expectedFirstPage.length && links.every((l, i) => l === expectedFirstPage[i]), `GET /approvals shows ${links.length} decision links, expected the ${expectedFirstPage.length} oldest stagings of each site (${PAGE_SIZE} per site) in order`)
      let totalShown = 0
      for (const [i, s] of seed.sites.entries()) {
        const section = first.body.slice(first.body.indexOf(`id="site-${s.id}"`), first.body.indexOf('</section>', first.body.indexOf(`id="site-${s.id}"`)))
        expect(section.length > 0, `GET /approvals has no section for ${s.code}`)
        const total = perSite[i]!.length
        expect(section.includes(`Showing 1–${Math.min(PAGE_SIZE, total)} of ${total.toLocaleString('en-GB')}`), `the section of ${s.code} does not say "Showing 1–${Math.min(PAGE_SIZE, total)} of ${total}"`)
        expect(total <= PAGE_SIZE || section.includes(`href="/approvals?page_${s.id}=2#site-${s.id}" rel="next"`), `the section of ${s.code} has no link to its page 2`)
        totalShown += total
      }
      expect(totalShown === PROJECTS && first.body.includes(`${PROJECTS.toLocaleString('en-GB')} stagings await your decision at ${SITES.length} sites.`), `GET /approvals does not say ${PROJECTS} stagings await`)
      const smallShown = (first.body.match(/<dd>&lt; 5<\/dd>/g) ?? []).length
      const smallSeeded = perSite.flatMap((list) => list.slice(0, PAGE_SIZE)).filter((p) => p.small).length
      expect(smallShown === smallSeeded, `GET /approvals shows "< 5" ${smallShown} times, expected ${smallSeeded} on the first page`)
      expect(first.body.includes(`Approvals, ${PROJECTS} awaiting your decision`), `the navigation does not show ${PROJECTS} awaiting`)
      // The last page of the first site: the rest of its stagings.
      const lastPage = Math.ceil(perSite[0]!.length / PAGE_SIZE)
      const tail = await ctx.gatehouse.target.request(agent, { path: `/approvals?page_${seed.sites[0]!.id}=${lastPage}`, headers, keepBody: true, timeoutMs: 60_000 })
      const tailLinks = [...tail.body.matchAll(/href="\/projects\/(\d+)\/sites\/(\d+)\/decision"/g)].map((m) => Number(m[1]))
      const expectedTail = perSite[0]!.slice((lastPage - 1) * PAGE_SIZE).map((p) => p.id)
      expect(tail.status === 200 && expectedTail.every((id) => tailLinks.includes(id)) && !tailLinks.includes(perSite[0]![0]!.id), `GET /approvals?page_${seed.sites[0]!.id}=${lastPage} does not show the last ${expectedTail.length} stagings of ${seed.sites[0]!.code}`)
      const pageBytes = Buffer.byteLength(first.body)

      // (1) One request at a time.
      const serial: number[] = []
      const deadline = Date.now() + ctx.durationMs
      while (Date.now() < deadline || serial.length < 20) {
        const began = performance.now()
        const res = await ctx.gatehouse.target.request(agent, { path: '/approvals', headers, timeoutMs: 60_000 })
        const ms = performance.now() - began
        expect(res.status === 200 && res.bytes > pageBytes * 0.9, `GET /approvals: ${res.status}, ${res.bytes} bytes`)
        serial.push(ms)
      }
      const median = percentile(serial, 50)
      const p99 = percentile(serial, 99)
      ctx.log(`  ${serial.length} approvals pages one at a time: median ${round(median, 1)} ms, p99 ${round(p99, 1)} ms (${Math.round(pageBytes / 1000)} kB each)`)

      // (2) Under CONCURRENCY connections, against hello measured the same way just before.
      const hello = await measure(ctx, ctx.hello, '/', {}, (body) => body === 'hello')
      ctx.noteWindow('hello (approvals)', hello)
      const page = await measure(ctx, ctx.gatehouse, '/approvals', headers, (body) => body.includes(`Approvals, ${PROJECTS} awaiting your decision`))
      ctx.noteWindow('approvals page', page)
      ctx.log(`  GET /approvals: ${round(page.perSecond, 1)} req/s vs hello ${Math.round(hello.perSecond)} (${cpuLine(page)})`)
      const loadErrors = hello.errors + page.errors
      const seedDetails = { projects: PROJECTS, sites: SITES.length, pageSize: PAGE_SIZE, awaitingShownOnFirstPage: links.length, smallCountsShown: smallShown, pageBytes, seedSeconds: round(seedSeconds, 2), outboxDrainSeconds: round(outboxSeconds, 2), decidedRows: 0 }
      return [
        figure({
          id: 'approvals_page_median_ms',
          label: `Approvals page (GET /approvals) at ${PROJECTS} staged projects, one at a time: median`,
          value: round(median, 1),
          unit: 'ms',
          target: null,
          details: { samples: serial.length, p50: round(median, 2), p90: round(percentile(serial, 90), 2), p99: round(p99, 2), note: 'time to full response on loopback, one request at a time', ...seedDetails },
        }),
        figure({
          id: 'approvals_page_p99_ms',
          label: '  same, p99',
          value: round(p99, 1),
          unit: 'ms',
          target: null,
        }),
        figure({
          id: 'approvals_page_ratio',
          label: `  same, req/s under ${CONCURRENCY} connections ÷ bare Hono hello req/s`,
          // two significant digits: the ratio is far below 1 %
          value: Number(((page.perSecond / hello.perSecond) * 100).toPrecision(2)),
          unit: '%',
          target: null,
          ...(loadErrors > 0 ? { error: `${loadErrors} requests failed` } : {}),
          details: {
            concurrency: CONCURRENCY,
            approvalsRequestsPerSecond: round(page.perSecond, 1),
            serverCpuMsPerPage: page.serverCpuCores ? round((page.serverCpuCores * 1000) / page.perSecond, 2) : null,
            hello: summary(hello),
            approvalsPage: summary(page),
          },
        }),
      ]
    } finally {
      agent.destroy()
      db.$client.close()
    }
  },
}
