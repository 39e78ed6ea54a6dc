import { describe, expect, it } from 'vitest'
import { and, eq } from 'drizzle-orm'
import { createTestEnv, createTestUser, getUser, type TestUser } from '../test/helpers.ts'
import { models, projectMembers, projectSites, projects, roles, siteApprovers, siteDecisions, sites, tasks } from '../db/schema.ts'
import { worldTools, type SiteWithKey } from '../test/approval-world.ts'
import { createProject, saveCohortQuery } from '../models/projects.ts'
import { approvalsNavCount, listDecided } from '../models/approvals.ts'
import { resolveActor } from '../models/roles.ts'

// /approvals, the nav entry, the approver's read-only view of staged projects and site last seen
// (SPEC §4.1), over HTTP on the real migrations. Leeds has approvers Alice (observer) and Ann;
// Hull has Bob; York has none, so admins decide for it.

const SQL = 'SELECT id FROM patients WHERE age > 40'
async function world() {
  const t = createTestEnv()
  const admin = await createTestUser(t, { role: 'admin', email: 'admin@example.org' })
  const owner = await createTestUser(t, { role: 'researcher', email: 'owner@example.org' })
  const alice = await createTestUser(t, { role: 'observer', email: 'alice@leeds.example.org' })
  const ann = await createTestUser(t, { role: 'researcher', email: 'ann@leeds.example.org' })
  const bob = await createTestUser(t, { role: 'researcher', email: 'bob@hull.example.org' })
  const carol = await createTestUser(t, { role: 'researcher', email: 'carol@example.org' })
  const { site, appoint, as } = worldTools(t, admin)
  const leeds = site('Leeds Teaching Hospitals', 'LTH')
  const york = site('York and Scarborough', 'YSH')
  const hull = site('Hull University', 'HUH')
  appoint(leeds, alice)
  appoint(leeds, ann)
  appoint(hull, bob)
  return { t, admin, owner, alice, ann, bob, carol, leeds, york, hull, as }
}
type World = Awaited<ReturnType<typeof world>>

function stagedProject(w: World, name: string, stageAt: SiteWithKey[], count = 50): number {
  const ownerCtx = () => ({ actor: { id: w.owner.user.id, email: w.owner.user.email }, now: w.t.clock.now(), ip: '198.51.100.2' })
  const project = createProject(w.t.db, { name, description: `${name} description`, groupId: null }, ownerCtx())
  const saved = saveCohortQuery(w.t.db, project, SQL, ownerCtx())
  if (!saved.ok) throw new Error('query not saved')
  w.t.db.update(tasks).set({ status: 'done', resultCount: count, completedAt: w.t.clock.now() }).where(and(eq(tasks.projectId, project.id), eq(tasks.kind, 'cohort_query'))).run()
  w.t.db.update(projects).set({ status: 'staged', stagedAt: w.t.clock.now() }).where(eq(projects.id, project.id)).run()
  if (stageAt.length > 0) w.t.db.insert(projectSites).values(stageAt.map((s) => ({ projectId: project.id, siteId: s.site.id, stagedAt: w.t.clock.now() }))).run()
  return project.id
}

/** The text of the section about one site on /approvals. */
function siteSection(html: string, siteName: string): string {
  const start = html.indexOf(`${siteName} (`)
  expect(start).toBeGreaterThan(-1)
  const end = html.indexOf('</section>', start)
  return html.slice(start, end)
}
function decidedTable(html: string): string {
  return html.slice(html.indexOf('<h2>Decided</h2>'))
}
const navEntry = (html: string) => /href="\/approvals"[^>]*>\s*Approvals <span class="badge count">(\d+)<\/span>/.exec(html)?.[1] ?? null

describe('GET /approvals', () => {
  it('lists per site the projects awaiting a decision there, with owner, description, staged time, the count as the project page shows it and a link to the decision page', async () => {
    const w = await world()
    const lung = stagedProject(w, 'Lung nodules', [w.leeds, w.york, w.hull])
    const small = stagedProject(w, 'Rare tumours', [w.leeds], 3)
    stagedProject(w, 'York only', [w.york])
    const res = await (await w.as(w.alice)).get('/approvals')
    expect(res.status).toBe(200)
    const html = await res.text()
    const leeds = siteSection(html, 'Leeds Teaching Hospitals')
    expect(leeds).toContain('Lung nodules')
    expect(leeds).toContain('Lung nodules description')
    expect(leeds).toContain('owner@example.org')
    expect(leeds).toContain(`/projects/${lung}/sites/${w.leeds.site.id}/decision`)
    expect(leeds).toContain(`/projects/${small}/sites/${w.leeds.site.id}/decision`)
    expect(leeds).toContain('&lt; 5') // 3 is shown as the project page shows it
    expect(leeds).toContain('<dd>50</dd>')
    expect(leeds).toContain('<time')
    // Alice decides only for Leeds: no Hull, no York (it has no approvers; that is the admins')
    expect(html).not.toContain('Hull University (')
    expect(html).not.toContain('York and Scarborough (')
    expect(html).not.toContain('York only')
  })

  it('a decided project leaves "Awaiting" and appears under "Decided" with who, when, expiry and a later withdrawal', async () => {
    const w = await world()
    const id = stagedProject(w, 'Lung nodules', [w.leeds, w.hull])
    const ann = await w.as(w.ann)
    expect((await ann.post(`/projects/${id}/sites/${w.leeds.site.id}/decision`, { confirm: 'yes', decision: 'approve', reason: '', conditions: '', agreement: '', expires_on: '2027-06-30' })).status).toBe(303)
    let html = await (await (await w.as(w.alice)).get('/approvals')).text()
    expect(siteSection(html, 'Leeds Teaching Hospitals')).not.toContain('Lung nodules')
    let decided = decidedTable(html)
    expect(decided).toContain('Lung nodules')
    expect(decided).toContain('Approved')
    expect(decided).toContain('ann@leeds.example.org')
    expect(decided).toContain('2027-06-30')
    // withdrawn: the approval row shows when
    expect((await ann.post(`/projects/${id}/sites/${w.leeds.site.id}/withdraw`, { reason: 'Ethics lapsed', confirm: 'yes' })).status).toBe(303)
    html = await (await (await w.as(w.alice)).get('/approvals')).text()
    decided = decidedTable(html)
    const row = decided.slice(decided.indexOf('Lung nodules'), decided.indexOf('</tr>', decided.indexOf('Lung nodules')))
    expect(row).toContain('2027-06-30')
    expect(row.match(/<time/g)).toHaveLength(2) // decided at, withdrawn at
    // Bob (Hull) sees none of Leeds's decisions and still awaits his own
    const bob = await (await (await w.as(w.bob)).get('/approvals')).text()
    expect(decidedTable(bob)).toContain('No decisions yet at your sites.')
    expect(siteSection(bob, 'Hull University')).toContain('Lung nodules')
  })

  it('admins see the sites without approvers (and not the sites whose approvers decide)', async () => {
    const w = await world()
    stagedProject(w, 'Lung nodules', [w.leeds, w.york])
    const html = await (await (await w.as(w.admin)).get('/approvals')).text()
    expect(siteSection(html, 'York and Scarborough')).toContain('Lung nodules')
    expect(html).toContain('this site has no approvers, so admins decide for it')
    expect(html).not.toContain('Leeds Teaching Hospitals (')
  })

  it('a user who decides for no site gets 404 and no nav entry; deciders get the entry with the count', async () => {
    const w = await world()
    stagedProject(w, 'Lung nodules', [w.leeds, w.york])
    stagedProject(w, 'Rare tumours', [w.leeds])
    const carol = await w.as(w.carol)
    expect((await carol.get('/approvals')).status).toBe(404)
    expect(navEntry(await (await carol.get('/projects')).text())).toBeNull()
    expect(await (await carol.get('/projects')).text()).not.toContain('href="/approvals"')
    expect(navEntry(await (await (await w.as(w.alice)).get('/projects')).text())).toBe('2')
    expect(navEntry(await (await (await w.as(w.bob)).get('/projects')).text())).toBe('0')
    expect(navEntry(await (await (await w.as(w.admin)).get('/projects')).text())).toBe('1') // York only
    // a decision lowers the count for every approver of the site
    const first = w.t.db.select().from(projects).where(eq(projects.name, 'Lung nodules')).get()!
    expect((await (await w.as(w.ann)).post(`/projects/${first.id}/sites/${w.leeds.site.id}/decision`, { confirm: 'yes', decision: 'decline', reason: 'Not now', conditions: '', agreement: '', expires_on: '' })).status).toBe(303)
    expect(navEntry(await (await (await w.as(w.alice)).get('/projects')).text())).toBe('1')
  })

  it('the nav count ignores deleted and unstaged projects, and a removed approver loses the entry', async () => {
    const w = await world()
    const gone = stagedProject(w, 'Deleted one', [w.leeds])
    w.t.db.update(projects).set({ deletedAt: w.t.clock.now() }).where(eq(projects.id, gone)).run()
    const alice = () => resolveActor(w.t.db, getUser(w.t.db, w.alice.user.id))
    expect(approvalsNavCount(w.t.db, alice())).toBe(0)
    w.t.db.delete(siteApprovers).where(eq(siteApprovers.userId, w.alice.user.id)).run()
    expect(approvalsNavCount(w.t.db, alice())).toBeNull()
    expect((await (await w.as(w.alice)).get('/approvals')).status).toBe(404)
  })
})

describe('an approver reading a project staged at their site', () => {
  it('the observer approver reads details, query and counts, but no members or models, and decides', async () => {
    const w = await world()
    const id = stagedProject(w, 'Lung nodules', [w.leeds, w.york])
    const memberRole = w.t.db.select().from(roles).where(eq(roles.scope, 'project')).get()!
    w.t.db.insert(projectMembers).values({ projectId: id, userId: w.carol.user.id, roleId: memberRole.id, createdAt: w.t.clock.now() }).run()
    const alice = await w.as(w.alice)
    const res = await alice.get(`/projects/${id}`)
    expect(res.status).toBe(200)
    const html = await res.text()
    expect(html).toContain('Lung nodules description')
    expect(html).toContain(SQL.replace('>', '&gt;'))
    expect(html).not.toContain('id="members"')
    expect(html).not.toContain('carol@example.org')
    expect(html).not.toContain(`action="/projects/${id}/models"`)
    // decide through the decision page
    expect((await alice.get(`/projects/${id}/sites/${w.leeds.site.id}/decision`)).status).toBe(200)
    expect((await alice.post(`/projects/${id}/sites/${w.leeds.site.id}/decision`, { confirm: 'yes', decision: 'approve', reason: '', conditions: '', agreement: '', expires_on: '' })).status).toBe(303)
    expect(w.t.db.select().from(siteDecisions).where(eq(siteDecisions.projectId, id)).all()).toHaveLength(1)
  })

  it('writes nothing else: edit, query, members, models, files and the other site are refused, and nothing changes', async () => {
    const w = await world()
    const id = stagedProject(w, 'Lung nodules', [w.leeds, w.york])
    w.t.db.update(projects).set({ status: 'approved' }).where(eq(projects.id, id)).run()
    const alice = await w.as(w.alice)
    const refused = async (res: Response | Promise<Response>) => expect([403, 404]).toContain((await res).status)
    await refused(alice.post(`/projects/${id}`, { name: 'Renamed', description: '' }))
    await refused(alice.post(`/projects/${id}/cohort-query`, { query: 'SELECT 1' }))
    await refused(alice.post(`/projects/${id}/members`, { email: 'carol@example.org' }))
    await refused(alice.post(`/projects/${id}/models`, { name: 'M1', description: '' }))
    await refused(alice.get(`/projects/${id}/models`))
    await refused(alice.post(`/projects/${id}/delete`))
    await refused(alice.post(`/projects/${id}/unstage`))
    await refused(alice.post(`/projects/${id}/approvals`, { approved_site_ids: [String(w.york.site.id)] }))
    expect((await alice.post(`/projects/${id}/sites/${w.york.site.id}/decision`, { confirm: 'yes', decision: 'approve', reason: '', conditions: '', agreement: '', expires_on: '' })).status).toBe(403)
    const p = w.t.db.select().from(projects).where(eq(projects.id, id)).get()!
    expect(p.name).toBe('Lung nodules')
    expect(p.deletedAt).toBeNull()
    expect(w.t.db.select().from(models).where(eq(models.projectId, id)).all()).toHaveLength(0)
    expect(w.t.db.select().from(projectMembers).where(eq(projectMembers.projectId, id)).all()).toHaveLength(0)
    expect(w.t.db.select().from(siteDecisions).where(eq(siteDecisions.projectId, id)).all()).toHaveLength(0)
  })

  it('projects not staged at their sites stay 404, and so does the unknown id', async () => {
    const w = await world()
    const hullOnly = stagedProject(w, 'Hull only', [w.hull])
    const unstaged = createProject(w.t.db, { name: 'Draft', description: '', groupId: null }, { actor: { id: w.owner.user.id, email: w.owner.user.email }, now: w.t.clock.now(), ip: '198.51.100.2' })
    const alice = await w.as(w.alice)
    expect((await alice.get(`/projects/${hullOnly}`)).status).toBe(404)
    expect((await alice.get(`/projects/${unstaged.id}`)).status).toBe(404)
    expect((await alice.get('/projects/999999')).status).toBe(404)
    // a deleted project staged at Leeds is 404 too
    const deleted = stagedProject(w, 'Deleted', [w.leeds])
    w.t.db.update(projects).set({ deletedAt: w.t.clock.now() }).where(eq(projects.id, deleted)).run()
    expect((await alice.get(`/projects/${deleted}`)).status).toBe(404)
  })
})

describe('site last seen (sites.last_seen_at)', () => {
  const lastSeen = (w: World, s: SiteWithKey) => w.t.db.select().from(sites).where(eq(sites.id, s.site.id)).get()!.lastSeenAt
  const call = (w: World, key: string) => w.t.app.request('/api/sites/v1/tasks', { headers: { Authorization: `Bearer ${key}` } })

  it('an authenticated API request records it, at most once a minute; a bad key records nothing', async () => {
    const w = await world()
    expect(lastSeen(w, w.leeds)).toBeNull()
    expect((await call(w, 'gh_wrong_key')).status).toBe(401)
    expect(lastSeen(w, w.leeds)).toBeNull()
    const t0 = w.t.clock.now()
    expect((await call(w, w.leeds.key)).status).toBe(200)
    expect(lastSeen(w, w.leeds)).toBe(t0)
    w.t.clock.advance(30_000)
    await call(w, w.leeds.key)
    expect(lastSeen(w, w.leeds)).toBe(t0) // within the minute: not written again
    w.t.clock.advance(30_000)
    await call(w, w.leeds.key)
    expect(lastSeen(w, w.leeds)).toBe(t0 + 60_000)
    expect(lastSeen(w, w.hull)).toBeNull()
  })

  it("a disabled site's key is refused and records nothing", async () => {
    const w = await world()
    w.t.db.update(sites).set({ disabledAt: w.t.clock.now() }).where(eq(sites.id, w.hull.site.id)).run()
    const res = await call(w, w.hull.key)
    expect(res.status).toBe(401)
    expect(((await res.json()) as { code: string }).code).toBe('site_disabled')
    expect(lastSeen(w, w.hull)).toBeNull()
  })

  it('/admin/sites and /approvals show "online" within 5 minutes, not after', async () => {
    const w = await world()
    await call(w, w.leeds.key)
    const admin = await w.as(w.admin)
    const alice = await w.as(w.alice)
    const row = (html: string, name: string) => html.slice(html.indexOf(name), html.indexOf('</tr>', html.indexOf(name)))
    let sitesHtml = await (await admin.get('/admin/sites')).text()
    expect(row(sitesHtml, 'Leeds Teaching Hospitals')).toContain('online')
    expect(row(sitesHtml, 'Hull University')).toContain('never seen')
    expect(siteSection(await (await alice.get('/approvals')).text(), 'Leeds Teaching Hospitals')).toMatch(/>online<.*last seen/s)
    w.t.clock.advance(5 * 60_000)
    sitesHtml = await (await admin.get('/admin/sites')).text()
    expect(row(sitesHtml, 'Leeds Teaching Hospitals')).not.toContain('>online<')
    expect(row(sitesHtml, 'Leeds Teaching Hospitals')).toContain('offline')
    expect(siteSection(await (await alice.get('/approvals')).text(), 'Leeds Teaching Hospitals')).toContain('offline')
  })
})

describe('/approvals paging (50 per list) and its cost', () => {
  const decisionLinks = (html: string, siteId: number) => [...html.matchAll(new RegExp(`href="/projects/(\\d+)/sites/${siteId}/decision"`, 'g'))].map((m) => Number(m[1]))
  /** n projects staged at the site one minute apart, oldest first; their ids in that order. */
  function stageMany(w: World, n: number, at: SiteWithKey[], prefix = 'Cohort'): number[] {
    const ids: number[] = []
    for (let i = 0; i < n; i++) {
      ids.push(stagedProject(w, `${prefix} ${String(i + 1).padStart(3, '0')}`, at))
      w.t.clock.advance(60_000)
    }
    return ids
  }

  it("each site's awaiting list shows 50 at a time: page 2 shows the next ones, the total counts them all, a page past the end shows the last, a malformed page the first", async () => {
    const w = await world()
    const ids = stageMany(w, 120, [w.leeds])
    const leedsId = w.leeds.site.id
    const alice = await w.as(w.alice)
    const page = async (q: string) => {
      const res = await alice.get(`/approvals${q}`)
      expect(res.status).toBe(200)
      return res.text()
    }
    const first = await page('')
    expect(decisionLinks(siteSection(first, 'Leeds Teaching Hospitals'), leedsId)).toEqual(ids.slice(0, 50))
    const leeds1 = siteSection(first, 'Leeds Teaching Hospitals')
    expect(leeds1).toContain('120 projects await a decision for Leeds Teaching Hospitals')
    expect(leeds1).toContain('Showing 1–50 of 120')
    expect(leeds1).toContain(`href="/approvals?page_${leedsId}=2#site-${leedsId}" rel="next"`)
    expect(leeds1).not.toContain('rel="prev"')
    expect(navEntry(first)).toBe('120') // the badge counts all of them, not the page

    const second = await page(`?page_${leedsId}=2`)
    expect(decisionLinks(siteSection(second, 'Leeds Teaching Hospitals'), leedsId)).toEqual(ids.slice(50, 100))
    expect(siteSection(second, 'Leeds Teaching Hospitals')).toContain('Showing 51–100 of 120')
    expect(siteSection(second, 'Leeds Teaching Hospitals')).toContain(`href="/approvals#site-${leedsId}" rel="prev"`)
    expect(second).toMatch(/aria-current="page" aria-label="Page 2"/)

    const last = await page(`?page_${leedsId}=3`)
    expect(decisionLinks(siteSection(last, 'Leeds Teaching Hospitals'), leedsId)).toEqual(ids.slice(100))
    expect(siteSection(last, 'Leeds Teaching Hospitals')).toContain('Showing 101–120 of 120')
    expect(siteSection(last, 'Leeds Teaching Hospitals')).not.toContain('rel="next"')
    // past the end: the last page; malformed, zero or negative: the first
    expect(decisionLinks(await page(`?page_${leedsId}=99`), leedsId)).toEqual(ids.slice(100))
    expect(decisionLinks(await page(`?page_${leedsId}=999999999999999999999`), leedsId)).toEqual(ids.slice(0, 50))
    for (const bad of ['0', '-2', 'abc', '2.5', '']) expect(decisionLinks(await page(`?page_${leedsId}=${bad}`), leedsId)).toEqual(ids.slice(0, 50))
    // a decision takes the project out of the list and the total
    expect((await (await w.as(w.ann)).post(`/projects/${ids[0]}/sites/${leedsId}/decision`, { confirm: 'yes', decision: 'decline', reason: 'Not now', conditions: '', agreement: '', expires_on: '' })).status).toBe(303)
    const after = await page('')
    expect(decisionLinks(siteSection(after, 'Leeds Teaching Hospitals'), leedsId)).toEqual(ids.slice(1, 51))
    expect(siteSection(after, 'Leeds Teaching Hospitals')).toContain('Showing 1–50 of 119')
  })

  it('the sections page independently: paging one site keeps the page of the other and of "Decided" in its links', async () => {
    const w = await world()
    w.t.db.insert(siteApprovers).values({ siteId: w.hull.site.id, userId: w.ann.user.id, appointedBy: w.admin.user.id, appointedAt: w.t.clock.now() }).run()
    const both = stageMany(w, 60, [w.leeds, w.hull])
    const [leedsId, hullId] = [w.leeds.site.id, w.hull.site.id]
    const html = await (await (await w.as(w.ann)).get(`/approvals?page_${hullId}=2`)).text()
    expect(decisionLinks(html, leedsId)).toEqual(both.slice(0, 50))
    expect(decisionLinks(html, hullId)).toEqual(both.slice(50))
    expect(html).toContain('120 stagings await your decision at 2 sites.')
    // Leeds's next page keeps Hull on page 2; Hull's previous page drops its parameter
    expect(siteSection(html, 'Leeds Teaching Hospitals')).toContain(`href="/approvals?page_${hullId}=2&amp;page_${leedsId}=2#site-${leedsId}" rel="next"`)
    expect(siteSection(html, 'Hull University')).toContain(`href="/approvals#site-${hullId}" rel="prev"`)
  })

  it('"Decided" shows 50 at a time, newest first, with the total, and clamps the page the same way', async () => {
    const w = await world()
    const ids = stageMany(w, 120, [w.leeds], 'Decided')
    // 120 decisions at Leeds, oldest first (approve, decline alternately), and one withdrawal of the newest approval
    w.t.db.insert(siteDecisions).values(ids.map((projectId, i) => ({ projectId, siteId: w.leeds.site.id, decision: i % 2 === 0 ? ('approve' as const) : ('decline' as const), decidedBy: w.ann.user.id, decidedAt: w.t.clock.now() + i * 1000, reason: i % 2 === 0 ? '' : 'No' }))).run()
    w.t.db.insert(siteDecisions).values({ projectId: ids[118]!, siteId: w.leeds.site.id, decision: 'withdraw', decidedBy: w.ann.user.id, decidedAt: w.t.clock.now() + 500_000, reason: 'Ethics lapsed' }).run()
    w.t.db.update(projectSites).set({ decision: 'not approved' }).where(eq(projectSites.siteId, w.leeds.site.id)).run()
    const alice = await w.as(w.alice)
    const names = (html: string) => [...decidedTable(html).matchAll(/>(Decided \d{3})</g)].map((m) => m[1])
    const expectedNames = (from: number, to: number) => ids.map((_, i) => `Decided ${String(i + 1).padStart(3, '0')}`).reverse().slice(from, to)
    const first = await (await alice.get('/approvals')).text()
    expect(names(first)).toEqual(expectedNames(0, 50))
    expect(decidedTable(first)).toContain('Showing 1–50 of 120 decisions, newest first.')
    expect(decidedTable(first)).toContain('href="/approvals?decided_page=2#decided" rel="next"')
    // the withdrawal is on the approval it ended, not a row of its own
    const newestApproval = decidedTable(first).slice(decidedTable(first).indexOf('Decided 119'))
    expect(newestApproval.slice(0, newestApproval.indexOf('</tr>')).match(/<time/g)).toHaveLength(2)
    const second = await (await alice.get('/approvals?decided_page=2')).text()
    expect(names(second)).toEqual(expectedNames(50, 100))
    expect(decidedTable(second)).toContain('Showing 51–100 of 120 decisions')
    const beyond = await (await alice.get('/approvals?decided_page=7')).text()
    expect(names(beyond)).toEqual(expectedNames(100, 120))
    expect(decidedTable(beyond)).toContain('Showing 101–120 of 120 decisions')
    // every project is decided: nothing awaits
    expect(siteSection(first, 'Leeds Teaching Hospitals')).toContain('Nothing awaits a decision for Leeds Teaching Hospitals.')
  })

  it("a page parameter for a site the user does not decide for shows nothing of it", async () => {
    const w = await world()
    stageMany(w, 60, [w.hull])
    const html = await (await (await w.as(w.alice)).get(`/approvals?page_${w.hull.site.id}=2&page_${w.york.site.id}=1`)).text()
    expect(html).not.toContain('Hull University (')
    expect(html).not.toContain('Cohort 0')
    expect(decisionLinks(html, w.hull.site.id)).toEqual([])
  })

  it('"Decided" puts each withdrawal on the approval it ended, across pages of history', async () => {
    const w = await world()
    const [a, b] = stageMany(w, 2, [w.leeds], 'History')
    const at = w.t.clock.now()
    const row = (projectId: number, decision: 'approve' | 'decline' | 'withdraw', i: number) => ({ projectId, siteId: w.leeds.site.id, decision, decidedBy: w.ann.user.id, decidedAt: at + i * 1000 })
    // a: approve(1), withdraw(2), withdraw(3), decline(4), approve(5), withdraw(6); b: approve(7), decline(8)
    w.t.db.insert(siteDecisions).values([row(a!, 'approve', 1), row(a!, 'withdraw', 2), row(a!, 'withdraw', 3), row(a!, 'decline', 4), row(b!, 'approve', 7), row(a!, 'approve', 5), row(a!, 'withdraw', 6), row(b!, 'decline', 8)]).run()
    const all = listDecided(w.t.db, [w.leeds.site.id], 1, 50)
    expect(all.total).toBe(5)
    expect(all.rows.map((r) => [r.projectId, r.decision, r.decidedAt - at, r.withdrawnAt === null ? null : r.withdrawnAt - at])).toEqual([
      [b, 'decline', 8000, null],
      [a, 'approve', 5000, 6000],
      [b, 'approve', 7000, null],
      [a, 'decline', 4000, null],
      [a, 'approve', 1000, 2000],
    ])
    // two per page: the same rows, in the same order, page by page; past the end is the last page
    const paged = [1, 2, 3].flatMap((n) => listDecided(w.t.db, [w.leeds.site.id], n, 2).rows)
    expect(paged).toEqual(all.rows)
    expect(listDecided(w.t.db, [w.leeds.site.id], 9, 2)).toMatchObject({ page: 3, pages: 3, total: 5, rows: [all.rows[4]] })
    expect(listDecided(w.t.db, [w.hull.site.id], 1, 2)).toMatchObject({ page: 1, pages: 1, total: 0, rows: [] })
  })

  it('runs the same number of SQL statements at 10 and at 200 staged projects (no query per project)', async () => {
    const statementsFor = async (n: number) => {
      const w = await world()
      stageMany(w, n, [w.leeds, w.york])
      const decided = stageMany(w, Math.ceil(n / 2), [w.leeds], 'Decided')
      w.t.db.insert(siteDecisions).values(decided.map((projectId, i) => ({ projectId, siteId: w.leeds.site.id, decision: 'approve' as const, decidedBy: w.ann.user.id, decidedAt: w.t.clock.now() + i }))).run()
      const alice = await w.as(w.alice)
      expect((await alice.get('/approvals')).status).toBe(200) // warm: statements prepared once per database are not counted again
      const client = w.t.db.$client
      const [prepare, exec] = [client.prepare, client.exec]
      let statements = 0
      client.prepare = function (this: typeof client, ...args: Parameters<typeof prepare>) {
        statements++
        return prepare.apply(this, args)
      } as typeof prepare
      client.exec = function (this: typeof client, ...args: Parameters<typeof exec>) {
        statements++
        return exec.apply(this, args)
      } as typeof exec
      try {
        const res = await alice.get('/approvals')
        expect(res.status).toBe(200)
        expect(decisionLinks(siteSection(await res.text(), 'Leeds Teaching Hospitals'), w.leeds.site.id)).toHaveLength(Math.min(50, n + Math.ceil(n / 2)))
      } finally {
        Object.assign(client, { prepare, exec })
      }
      return statements
    }
    const small = await statementsFor(10)
    const large = await statementsFor(200)
    expect(small).toBeGreaterThan(0) // the spy sees the page's queries
    expect(large).toBe(small)
    expect(large).toBeLessThan(20)
  }, 60_000)
})
