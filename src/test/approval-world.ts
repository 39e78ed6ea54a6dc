import { and, eq } from 'drizzle-orm'
import { createTestEnv, createTestUser, signIn, type TestClient, type TestEnv, type TestUser } from './helpers.ts'
import { outbox, projectSites, projects, siteApprovers, tasks, type Site } from '../db/schema.ts'
import { createSite } from '../models/sites.ts'
import { createProject, saveCohortQuery, stageProject } from '../models/projects.ts'

// A small world for the approval workflow tests (after src/routes/site-decisions.test.ts): Leeds
// has approvers Alice and Ann, York has none (the admins decide for it).

export type SiteWithKey = { site: Site; key: string }

/** The pieces every approval test world is made of: sites (with their one-time key) registered by an admin, approvers appointed, and one signed-in browser per user. */
export function worldTools(t: TestEnv, admin: TestUser) {
  const ctx = () => ({ actor: { id: admin.user.id, email: admin.user.email }, now: t.clock.now(), ip: '198.51.100.1' })
  const site = (name: string, code: string): SiteWithKey => {
    const made = createSite(t.db, { name, code, contactEmail: '' }, ctx())
    return { site: made.site, key: made.apiKey }
  }
  const appoint = (s: SiteWithKey, u: TestUser) => t.db.insert(siteApprovers).values({ siteId: s.site.id, userId: u.user.id, appointedBy: admin.user.id, appointedAt: t.clock.now() }).run()
  const browsers = new Map<number, TestClient>()
  const as = async (u: TestUser) => {
    let b = browsers.get(u.user.id)
    if (!b) browsers.set(u.user.id, (b = await signIn(t, u)))
    return b
  }
  return { ctx, site, appoint, as }
}

export async function approvalWorld() {
  const t = createTestEnv()
  const admin = await createTestUser(t, { role: 'admin', email: 'admin@example.org' })
  const admin2 = await createTestUser(t, { role: 'admin', email: 'admin2@example.org' })
  const owner = await createTestUser(t, { role: 'researcher', email: 'owner@example.org' })
  const alice = await createTestUser(t, { role: 'observer', email: 'alice@leeds.example.org' })
  const ann = await createTestUser(t, { role: 'researcher', email: 'ann@leeds.example.org' })
  const { site, appoint, as } = worldTools(t, admin)
  const leeds = site('Leeds Teaching Hospitals', 'LTH')
  const york = site('York and Scarborough', 'YSH')
  for (const u of [alice, ann]) appoint(leeds, u)
  const ownerCtx = () => ({ actor: { id: owner.user.id, email: owner.user.email }, now: t.clock.now(), ip: '198.51.100.2', baseUrl: t.config.baseUrl })
  /** A project whose query both sites counted; staged through stageProject (so its emails are queued) unless `stage` is false. */
  const project = (stageAt: SiteWithKey[] = [leeds, york]) => {
    const p = createProject(t.db, { name: 'Lung nodules', description: 'CT follow-up', groupId: null }, ownerCtx())
    const saved = saveCohortQuery(t.db, p, 'SELECT id FROM patients', ownerCtx())
    if (!saved.ok) throw new Error('query not saved')
    t.db.update(tasks).set({ status: 'done', resultCount: 50, completedAt: t.clock.now() }).where(and(eq(tasks.projectId, p.id), eq(tasks.kind, 'cohort_query'))).run()
    const staged = stageProject(t.db, t.db.select().from(projects).where(eq(projects.id, p.id)).get()!, stageAt.map((s) => s.site.id), ownerCtx())
    if (!staged.ok) throw new Error(`not staged: ${staged.reason}`)
    return p.id
  }
  const mails = (subjectPart = '') => t.db.select().from(outbox).all().filter((m) => m.subject.includes(subjectPart))
  const clearMail = () => t.db.delete(outbox).run()
  const staged = (projectId: number) => t.db.select().from(projectSites).where(eq(projectSites.projectId, projectId)).all()
  return { t, admin, admin2, owner, alice, ann, leeds, york, as, project, mails, clearMail, staged }
}
