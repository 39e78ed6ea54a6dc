import { describe, expect, it } from 'vitest'
import { and, eq } from 'drizzle-orm'
import { createTestEnv, createTestUser, signIn, type TestClient, type TestEnv, type TestUser } from '../test/helpers.ts'
import { auditEvents, cohortQueries, groupMembers, groups, projectMembers, projectSites, projects, roleGroups, roles, tasks, users, type Project, type Site } from '../db/schema.ts'
import { createSite } from '../models/sites.ts'
import { createProject, getCurrentCohortQuery } from '../models/projects.ts'
import { getSiteSettings, saveSiteSettings } from '../models/settings.ts'

// Projects over HTTP (SPEC §2.3, §4, §7): who may read and write, the cohort query, the
// unstaged → staged → approved lifecycle, members and soft delete. Every change is checked in the
// database together with its audit event.

// ─── World ────────────────────────────────────────────────────────────────────────────────────

type World = {
  t: TestEnv
  admin: TestUser
  owner: TestUser
  /** Signs a user in once per world and keeps the browser. */
  as(u: TestUser): Promise<TestClient>
  user(role: 'admin' | 'researcher' | 'observer', email: string): Promise<TestUser>
}

async function world(): Promise<World> {
  const t = createTestEnv()
  const admin = await createTestUser(t, { role: 'admin', email: 'admin@example.org' })
  const owner = await createTestUser(t, { role: 'researcher', email: 'owner@example.org' })
  const browsers = new Map<number, TestClient>()
  return {
    t,
    admin,
    owner,
    async as(u) {
      let b = browsers.get(u.user.id)
      if (!b) browsers.set(u.user.id, (b = await signIn(t, u)))
      return b
    },
    user: (role, email) => createTestUser(t, { role, email }),
  }
}

function addSite(w: World, name: string, code: string): Site {
  return createSite(w.t.db, { name, code, contactEmail: '' }, { actor: { id: w.admin.user.id, email: w.admin.user.email }, now: w.t.clock.now(), ip: '198.51.100.1' }).site
}

async function newProject(w: World, browser: TestClient, name = 'Lung nodules', description = 'CT follow-up'): Promise<number> {
  const res = await browser.post('/projects/new', { name, description })
  if (res.status !== 303) throw new Error(`creating project answered ${res.status}: ${await res.text()}`)
  return Number(res.headers.get('Location')!.match(/^\/projects\/(\d+)$/)![1])
}

function project(w: World, id: number): Project {
  return w.t.db.select().from(projects).where(eq(projects.id, id)).get()!
}

/** A site's answer to the project's current cohort query, as the site API would record it. */
function report(w: World, projectId: number, site: Site, answer: number | { error: string }) {
  const query = getCurrentCohortQuery(w.t.db, projectId)!
  const set = typeof answer === 'number' ? { status: 'done' as const, resultCount: answer, completedAt: w.t.clock.now() } : { status: 'error' as const, error: answer.error, completedAt: w.t.clock.now() }
  const changed = w.t.db
    .update(tasks)
    .set(set)
    .where(and(eq(tasks.kind, 'cohort_query'), eq(tasks.siteId, site.id), eq(tasks.cohortQueryId, query.id)))
    .run().changes
  if (changed !== 1) throw new Error(`expected one cohort task for site ${site.code}, found ${changed}`)
}

function taskRows(w: World, projectId: number, kind?: 'cohort_query' | 'image_retrieval') {
  return w.t.db
    .select()
    .from(tasks)
    .where(and(eq(tasks.projectId, projectId), kind ? eq(tasks.kind, kind) : undefined))
    .orderBy(tasks.id)
    .all()
}

function audits(w: World, event: string, projectId?: number) {
  return w.t.db
    .select()
    .from(auditEvents)
    .where(and(eq(auditEvents.event, event), projectId === undefined ? undefined : and(eq(auditEvents.targetType, 'project'), eq(auditEvents.targetId, String(projectId)))))
    .orderBy(auditEvents.id)
    .all()
    .map((e) => ({ ...e, details: JSON.parse(e.details) as Record<string, unknown> }))
}

function siteDecisions(w: World, projectId: number) {
  return w.t.db.select().from(projectSites).where(eq(projectSites.projectId, projectId)).orderBy(projectSites.siteId).all()
}

function membership(w: World, projectId: number, userId: number) {
  return w.t.db
    .select({ role: roles.name })
    .from(projectMembers)
    .innerJoin(roles, eq(roles.id, projectMembers.roleId))
    .where(and(eq(projectMembers.projectId, projectId), eq(projectMembers.userId, userId)))
    .get()
}

/** Every project role of the membership, by name, sorted. */
function memberRoles(w: World, projectId: number, userId: number): string[] {
  return w.t.db
    .select({ role: roles.name })
    .from(projectMembers)
    .innerJoin(roles, eq(roles.id, projectMembers.roleId))
    .where(and(eq(projectMembers.projectId, projectId), eq(projectMembers.userId, userId)))
    .all()
    .map((r) => r.role)
    .sort()
}

function listedIds(html: string): number[] {
  return [...html.matchAll(/<a href="\/projects\/(\d+)">/g)].map((m) => Number(m[1]))
}

async function expectForbidden(res: Response, permission: string) {
  expect(res.status).toBe(403)
  expect(await res.text()).toContain(`You need the permission “${permission}”`)
}

/** Owner's project with a saved cohort query that both sites answered with a count. */
async function readyProject(w: World, counts: [Site, number][]) {
  const owner = await w.as(w.owner)
  const id = await newProject(w, owner)
  expect((await owner.post(`/projects/${id}/cohort-query`, { query: 'SELECT id FROM patients WHERE age > 40' })).status).toBe(303)
  for (const [site, n] of counts) report(w, id, site, n)
  return { id, owner }
}

async function stagedProject(w: World) {
  const leeds = addSite(w, 'Leeds Teaching Hospitals', 'LTH')
  const york = addSite(w, 'York and Scarborough', 'YSH')
  const hull = addSite(w, 'Hull University', 'HUH')
  const { id, owner } = await readyProject(w, [
    [leeds, 120],
    [york, 33],
    [hull, 7],
  ])
  expect((await owner.post(`/projects/${id}/stage`, { site_ids: [String(leeds.id), String(york.id)] })).status).toBe(303)
  return { id, owner, leeds, york, hull }
}

async function addMember(w: World, projectId: number, user: TestUser, role = '') {
  const res = await (await w.as(w.owner)).post(`/projects/${projectId}/members`, { email: user.user.email, role })
  if (res.status !== 303) throw new Error(`adding member answered ${res.status}`)
}

// ─── List ─────────────────────────────────────────────────────────────────────────────────────

describe('GET /projects (list)', () => {
  it('shows admins every project, and everyone else only what they own or are a member of', async () => {
    const w = await world()
    const other = await w.user('researcher', 'other@example.org')
    const observer = await w.user('observer', 'obs@example.org')
    const mine = await newProject(w, await w.as(w.owner), 'Owned by owner')
    const theirs = await newProject(w, await w.as(other), 'Owned by other')
    const shared = await newProject(w, await w.as(other), 'Shared with owner')
    expect((await (await w.as(other)).post(`/projects/${shared}/members`, { email: w.owner.user.email })).status).toBe(303)
    expect((await (await w.as(other)).post(`/projects/${shared}/members`, { email: observer.user.email })).status).toBe(303)

    const adminList = await (await (await w.as(w.admin)).get('/projects')).text()
    expect(listedIds(adminList).sort()).toEqual([mine, theirs, shared].sort())
    expect(adminList).toContain('3 projects')

    const ownerRes = await (await w.as(w.owner)).get('/projects')
    expect(ownerRes.status).toBe(200)
    const ownerList = await ownerRes.text()
    expect(listedIds(ownerList).sort()).toEqual([mine, shared].sort())
    expect(ownerList).not.toContain('Owned by other')

    const observerList = await (await (await w.as(observer)).get('/projects')).text()
    expect(listedIds(observerList)).toEqual([shared])
    expect(observerList).not.toContain('href="/projects/new"') // observers cannot create

    const stranger = await w.user('researcher', 'stranger@example.org')
    const strangerList = await (await (await w.as(stranger)).get('/projects')).text()
    expect(listedIds(strangerList)).toEqual([])
    expect(strangerList).toContain('No projects yet.')
  })

  it('searches by name, case-insensitively, treating % and _ literally', async () => {
    const w = await world()
    const owner = await w.as(w.owner)
    const alpha = await newProject(w, owner, 'Alpha Cardiac Study')
    await newProject(w, owner, 'Beta Renal')
    const pct = await newProject(w, owner, '100% coverage')
    const found = await (await owner.get('/projects?q=alpha')).text()
    expect(listedIds(found)).toEqual([alpha])
    expect(found).toContain('value="alpha"')
    expect(listedIds(await (await owner.get('/projects?q=' + encodeURIComponent('%'))).text())).toEqual([pct])
    expect(listedIds(await (await owner.get('/projects?q=_')).text())).toEqual([])
    const none = await (await owner.get('/projects?q=zebra')).text()
    expect(listedIds(none)).toEqual([])
    expect(none).toContain('No projects match.')
  })

  it('pages by 25, newest first, and clamps an out-of-range page', async () => {
    const w = await world()
    const ctx = { actor: { id: w.owner.user.id, email: w.owner.user.email }, now: w.t.clock.now(), ip: '1.2.3.4' }
    const ids: number[] = []
    for (let i = 1; i <= 30; i++) ids.push(createProject(w.t.db, { name: `Project ${String(i).padStart(2, '0')}`, description: '', groupId: null }, ctx).id)
    const owner = await w.as(w.owner)
    const first = await (await owner.get('/projects')).text()
    expect(listedIds(first)).toEqual(ids.slice().reverse().slice(0, 25))
    expect(first).toContain('30 projects · page 1 of 2')
    expect(first).toContain('href="/projects?page=2"')
    const second = await (await owner.get('/projects?page=2')).text()
    expect(listedIds(second)).toEqual(ids.slice(0, 5).reverse())
    expect(second).toContain('page 2 of 2')
    expect(second).toContain('href="/projects?page=1"')
    expect(listedIds(await (await owner.get('/projects?page=99')).text())).toEqual(ids.slice(0, 5).reverse())
    expect(listedIds(await (await owner.get('/projects?page=abc')).text())).toHaveLength(25)
    // the search is kept in the pager links
    const searched = await (await owner.get('/projects?q=Project')).text()
    expect(searched).toContain('href="/projects?q=Project&amp;page=2"')
  })

  it('never lists a deleted project, for its owner, a member or an admin, with or without a search', async () => {
    const w = await world()
    const member = await w.user('researcher', 'member@example.org')
    const owner = await w.as(w.owner)
    const kept = await newProject(w, owner, 'Kept study')
    const gone = await newProject(w, owner, 'Gone study')
    await addMember(w, gone, member)
    expect((await owner.post(`/projects/${gone}/delete`, { confirm: 'yes' })).status).toBe(303)
    for (const u of [w.owner, member, w.admin]) {
      const b = await w.as(u)
      const expected = u === member ? [] : [kept]
      expect(listedIds(await (await b.get('/projects')).text())).toEqual(expected)
      const searched = await (await b.get('/projects?q=Gone')).text()
      expect(listedIds(searched)).toEqual([])
      expect(searched).not.toContain('Gone study')
    }
  })

  it('needs a signed-in user', async () => {
    const w = await world()
    const res = await w.t.client().get('/projects')
    expect(res.status).toBe(303)
    expect(res.headers.get('Location')).toBe('/login')
  })
})

// ─── Create ───────────────────────────────────────────────────────────────────────────────────

describe('GET /projects filters and sorting', () => {
  it('filters by status, owner, group and "awaiting a site decision" in SQL, sorts by any column, shows the group, and offers deleted projects to admins only', async () => {
    const w = await world()
    const other = await w.user('researcher', 'zed@example.org')
    const ctx = (u: TestUser) => ({ actor: { id: u.user.id, email: u.user.email }, now: w.t.clock.now(), ip: '127.0.0.1' })
    const group = w.t.db.insert(groups).values({ name: 'Leeds imaging', description: '', createdAt: 0 }).returning().get()
    const { id: stagedId } = await stagedProject(w)
    const draft = createProject(w.t.db, { name: 'Alpha draft', description: '', groupId: group.id }, ctx(w.owner))
    const zed = createProject(w.t.db, { name: 'Zed study', description: '', groupId: null }, ctx(other))
    const gone = createProject(w.t.db, { name: 'Gone', description: '', groupId: null }, ctx(w.admin))
    w.t.db.update(projects).set({ deletedAt: w.t.clock.now() }).where(eq(projects.id, gone.id)).run()
    const admin = await w.as(w.admin)
    const ids = async (query: string) => listedIds(await (await admin.get(`/projects${query}`)).text())

    expect(await ids('?status=staged')).toEqual([stagedId])
    expect((await ids('?status=unstaged')).sort()).toEqual([draft.id, zed.id].sort())
    expect(await ids('?owner=zed@')).toEqual([zed.id])
    expect(await ids(`?group=${group.id}`)).toEqual([draft.id])
    expect(await ids('?awaiting=1')).toEqual([stagedId])
    expect(await ids('?sort=name&dir=asc')).toEqual([draft.id, stagedId, zed.id])
    expect(await ids('?sort=name&dir=desc')).toEqual([zed.id, stagedId, draft.id])
    expect(await ids('?sort=owner&dir=asc')).toEqual(expect.arrayContaining([zed.id]))
    expect((await ids('?sort=owner&dir=desc'))[0]).toBe(zed.id)
    // deleted: listed (unlinked) for admins, not an option for others; junk values are ignored, never an error
    const deleted = await (await admin.get('/projects?status=deleted')).text()
    expect(deleted).toContain('Gone')
    expect(deleted).toContain('<option value="deleted"')
    const html = await (await admin.get('/projects?sort=name&dir=asc')).text()
    expect(html).toContain('<td>Leeds imaging</td>')
    expect(html).toMatch(/aria-sort="ascending"><a href="\/projects\?sort=name&amp;dir=desc" class="sort">Name/)
    const owner = await w.as(w.owner)
    const mine = await (await owner.get('/projects?status=deleted')).text()
    expect(mine).not.toContain('<option value="deleted"')
    expect(mine).not.toContain('Gone')
    expect(listedIds(mine).sort()).toEqual([stagedId, draft.id].sort())
    expect((await owner.get('/projects?status=%00&group=x&sort=;drop&dir=up&owner=%25')).status).toBe(200)
  })

  it('a non-admin cannot list deleted projects through the filter, not even their own: status=deleted is ignored (their live projects), while an admin sees it', async () => {
    const w = await world()
    const ctx = (u: TestUser) => ({ actor: { id: u.user.id, email: u.user.email }, now: w.t.clock.now(), ip: '127.0.0.1' })
    const live = createProject(w.t.db, { name: 'Live study', description: '', groupId: null }, ctx(w.owner))
    const mineGone = createProject(w.t.db, { name: 'My deleted study', description: '', groupId: null }, ctx(w.owner))
    w.t.db.update(projects).set({ deletedAt: w.t.clock.now() }).where(eq(projects.id, mineGone.id)).run()
    const owner = await w.as(w.owner)
    for (const query of ['?status=deleted', '?status=deleted&owner=' + encodeURIComponent(w.owner.user.email), '?status=deleted&q=deleted', '?status=DELETED']) {
      const html = await (await owner.get(`/projects${query}`)).text()
      expect(html, query).not.toContain('My deleted study')
      expect(listedIds(html), query).not.toContain(mineGone.id)
    }
    expect(listedIds(await (await owner.get('/projects?status=deleted')).text())).toEqual([live.id])
    const admin = await w.as(w.admin)
    expect(await (await admin.get('/projects?status=deleted')).text()).toContain('My deleted study')
  })
})

describe('the stage button', () => {
  it('is disabled, saying why, until a cohort query exists', async () => {
    const w = await world()
    const owner = await w.as(w.owner)
    addSite(w, 'Leeds Teaching Hospitals', 'LTH')
    const id = await newProject(w, owner)
    const before = await (await owner.get(`/projects/${id}`)).text()
    expect(before).toMatch(/<button type="submit" disabled="" aria-describedby="stage-help">\s*Stage for approval/)
    expect(before).toContain('Write the cohort query first')
    expect((await owner.post(`/projects/${id}/cohort-query`, { query: 'SELECT id FROM patients' })).status).toBe(303)
    const after = await (await owner.get(`/projects/${id}`)).text()
    expect(after).toMatch(/<button type="submit" aria-describedby="stage-help">\s*Stage for approval/)
  })
})

describe('POST /projects/new (create)', () => {
  it('lets a researcher create a project they own (303, status unstaged, audited project.created)', async () => {
    const w = await world()
    const owner = await w.as(w.owner)
    expect((await owner.get('/projects/new')).status).toBe(200)
    const res = await owner.post('/projects/new', { name: '  Lung nodules ', description: ' CT follow-up ' })
    expect(res.status).toBe(303)
    const id = Number(res.headers.get('Location')!.split('/').pop())
    expect(project(w, id)).toMatchObject({ name: 'Lung nodules', description: 'CT follow-up', ownerId: w.owner.user.id, groupId: null, status: 'unstaged', deletedAt: null })
    const [event] = audits(w, 'project.created', id)
    expect(event).toMatchObject({ actorId: w.owner.user.id, targetType: 'project', targetId: String(id) })
    expect(event!.details).toMatchObject({ name: 'Lung nodules', group_id: null })
    const page = await (await owner.get(`/projects/${id}`)).text()
    expect(page).toContain('Project “Lung nodules” created.')
    expect(page).toContain('owner@example.org')
  })

  it('lets an admin create a project, in an existing group', async () => {
    const w = await world()
    const group = w.t.db.insert(groups).values({ name: 'Leeds Centre', createdAt: w.t.clock.now() }).returning().get()
    const admin = await w.as(w.admin)
    const res = await admin.post('/projects/new', { name: 'Admin study', description: '', group_id: String(group.id) })
    expect(res.status).toBe(303)
    const id = Number(res.headers.get('Location')!.split('/').pop())
    expect(project(w, id)).toMatchObject({ ownerId: w.admin.user.id, groupId: group.id })
    expect(audits(w, 'project.created', id)[0]!.details).toMatchObject({ group_id: group.id })
  })

  it('lets a researcher put a project only in a group they belong to', async () => {
    const w = await world()
    const mine = w.t.db.insert(groups).values({ name: 'Mine', createdAt: 0 }).returning().get()
    const other = w.t.db.insert(groups).values({ name: 'Other', createdAt: 0 }).returning().get()
    w.t.db.insert(groupMembers).values({ groupId: mine.id, userId: w.owner.user.id, role: 'member', createdAt: 0 }).run()
    const owner = await w.as(w.owner)
    const form = await (await owner.get('/projects/new')).text()
    expect(form).toContain('>Mine<')
    expect(form).not.toContain('>Other<')
    expect((await owner.post('/projects/new', { name: 'Theirs', description: '', group_id: String(other.id) })).status).toBe(422)
    expect((await owner.post('/projects/new', { name: 'Ours', description: '', group_id: String(mine.id) })).status).toBe(303)
  })

  it('lists the projects of a group to its group admins', async () => {
    const w = await world()
    const group = w.t.db.insert(groups).values({ name: 'Centre', createdAt: 0 }).returning().get()
    const lead = await w.user('researcher', 'lead@example.org')
    w.t.db.insert(groupMembers).values({ groupId: group.id, userId: lead.user.id, role: 'group_admin', createdAt: 0 }).run()
    const admin = await w.as(w.admin)
    await admin.post('/projects/new', { name: 'Centre study', description: '', group_id: String(group.id) })
    const list = await (await (await w.as(lead)).get('/projects')).text()
    expect(list).toContain('Centre study')
  })

  it('refuses observers with 403 naming projects.create, on the form and on the post', async () => {
    const w = await world()
    const observer = await w.as(await w.user('observer', 'obs@example.org'))
    await expectForbidden(await observer.get('/projects/new'), 'projects.create')
    await expectForbidden(await observer.post('/projects/new', { name: 'Sneaky', description: '' }), 'projects.create')
    expect(w.t.db.select().from(projects).all()).toHaveLength(0)
    expect(audits(w, 'project.created')).toHaveLength(0)
  })

  it('validates name (required, ≤ 200) and description (≤ 1,000) per field with 422, keeping the values', async () => {
    const w = await world()
    const owner = await w.as(w.owner)
    const missing = await owner.post('/projects/new', { name: '   ', description: 'kept description' })
    expect(missing.status).toBe(422)
    const missingHtml = await missing.text()
    expect(missingHtml).toMatch(/id="f-name-error"[^>]*>Give the project a name\./)
    expect(missingHtml).toContain('kept description')

    const long = await owner.post('/projects/new', { name: 'n'.repeat(201), description: 'd'.repeat(1001) })
    expect(long.status).toBe(422)
    const longHtml = await long.text()
    expect(longHtml).toMatch(/id="f-name-error"[^>]*>At most 200 characters\./)
    expect(longHtml).toContain('At most 1,000 characters.')
    expect(longHtml).toContain(`value="${'n'.repeat(201)}"`)
    expect(longHtml).toContain('d'.repeat(1001))

    const onlyDescription = await owner.post('/projects/new', { name: 'Fine name', description: 'd'.repeat(1001) })
    expect(onlyDescription.status).toBe(422)
    const onlyHtml = await onlyDescription.text()
    expect(onlyHtml).not.toContain('id="f-name-error"')
    expect(onlyHtml).toContain('value="Fine name"')
    expect(w.t.db.select().from(projects).all()).toHaveLength(0)

    // the limits are inclusive and count characters, not UTF-16 units
    expect((await owner.post('/projects/new', { name: '😀'.repeat(200), description: 'é'.repeat(1000) })).status).toBe(303)
    expect(w.t.db.select().from(projects).all()).toHaveLength(1)
  })

  it('refuses an unknown group with 422 and creates nothing', async () => {
    const w = await world()
    const owner = await w.as(w.owner)
    const res = await owner.post('/projects/new', { name: 'Grouped', description: '', group_id: '999' })
    expect(res.status).toBe(422)
    const html = await res.text()
    expect(html).toContain('Choose one of your groups (or none).')
    expect(html).toContain('value="Grouped"')
    expect(w.t.db.select().from(projects).all()).toHaveLength(0)
    expect(audits(w, 'project.created')).toHaveLength(0)
  })
})

// ─── Read access ──────────────────────────────────────────────────────────────────────────────

describe('who may read a project', () => {
  it('answers 404 (not 403) to a non-member on GET and on every POST route of the project, and changes nothing', async () => {
    const w = await world()
    const site = addSite(w, 'Leeds', 'LTH')
    const { id } = await readyProject(w, [[site, 50]])
    const member = await w.user('researcher', 'member@example.org')
    await addMember(w, id, member)
    const strangers = [await w.user('researcher', 'stranger@example.org'), await w.user('observer', 'obs@example.org')]
    const projectAudits = () => w.t.db.select().from(auditEvents).where(eq(auditEvents.targetType, 'project')).all().length
    const before = { project: project(w, id), tasks: taskRows(w, id).length, audits: projectAudits() }
    for (const stranger of strangers) {
      const b = await w.as(stranger)
      expect((await b.get(`/projects/${id}`)).status).toBe(404)
      const posts: [string, Record<string, string | string[]>][] = [
        [`/projects/${id}`, { name: 'Hijacked', description: '' }],
        [`/projects/${id}/cohort-query`, { query: 'SELECT 1' }],
        [`/projects/${id}/stage`, { site_ids: [String(site.id)] }],
        [`/projects/${id}/unstage`, {}],
        [`/projects/${id}/approvals`, { approved_site_ids: [String(site.id)] }],
        [`/projects/${id}/members`, { email: stranger.user.email, role: '' }],
        [`/projects/${id}/members/${member.user.id}/remove`, { confirm: 'yes' }],
        [`/projects/${id}/delete`, { confirm: 'yes' }],
        [`/projects/${id}/models`, { name: 'm', description: '' }],
        [`/projects/${id}/models/1/files`, {}],
        [`/projects/${id}/models/1/train`, { site_ids: [String(site.id)] }],
      ]
      for (const [path, fields] of posts) {
        const res = await b.post(path, fields)
        expect(res.status, `POST ${path} by ${stranger.user.email}`).toBe(404)
        expect(await res.text()).not.toContain('Lung nodules')
      }
    }
    expect(project(w, id)).toEqual(before.project)
    expect(taskRows(w, id)).toHaveLength(before.tasks)
    expect(projectAudits()).toBe(before.audits)
    expect(membership(w, id, member.user.id)).toEqual({ role: 'contributor' })
  })

  it('answers 404 for an unknown or malformed id', async () => {
    const w = await world()
    const owner = await w.as(w.owner)
    expect((await owner.get('/projects/9999')).status).toBe(404)
    expect((await owner.get('/projects/abc')).status).toBe(404)
    expect((await owner.post('/projects/9999', { name: 'x', description: '' })).status).toBe(404)
    expect((await (await w.as(w.admin)).post('/projects/9999/unstage')).status).toBe(404)
  })

  it('shows the project (200) to its owner, its members of either kind and any admin', async () => {
    const w = await world()
    const owner = await w.as(w.owner)
    const id = await newProject(w, owner)
    const contributor = await w.user('researcher', 'member@example.org')
    const observer = await w.user('observer', 'obs@example.org')
    await addMember(w, id, contributor)
    await addMember(w, id, observer)
    for (const u of [w.owner, contributor, observer, w.admin]) {
      const res = await (await w.as(u)).get(`/projects/${id}`)
      expect(res.status, u.user.email).toBe(200)
      expect(await res.text()).toContain('Lung nodules')
    }
  })

  it('lets a member read but not write: 403 naming the permission, never 404', async () => {
    const w = await world()
    const site = addSite(w, 'Leeds', 'LTH')
    const { id } = await readyProject(w, [[site, 50]])
    const member = await w.user('researcher', 'member@example.org')
    await addMember(w, id, member)
    const b = await w.as(member)
    const page = await (await b.get(`/projects/${id}`)).text()
    // views hide what handlers refuse
    expect(page).not.toContain(`action="/projects/${id}/cohort-query"`)
    expect(page).not.toContain(`action="/projects/${id}/stage"`)
    expect(page).not.toContain(`action="/projects/${id}/delete"`)
    expect(page).not.toContain(`action="/projects/${id}/members"`)
    await expectForbidden(await b.post(`/projects/${id}`, { name: 'Renamed', description: '' }), 'project.edit')
    await expectForbidden(await b.post(`/projects/${id}/cohort-query`, { query: 'SELECT 2' }), 'project.edit')
    await expectForbidden(await b.post(`/projects/${id}/stage`, { site_ids: [String(site.id)] }), 'project.stage')
    await expectForbidden(await b.post(`/projects/${id}/members`, { email: 'owner@example.org', role: '' }), 'members.manage')
    await expectForbidden(await b.post(`/projects/${id}/members/${member.user.id}/remove`, { confirm: 'yes' }), 'members.manage')
    await expectForbidden(await b.post(`/projects/${id}/delete`, { confirm: 'yes' }), 'project.delete')
    await expectForbidden(await b.post(`/projects/${id}/unstage`), 'projects.unstage')
    await expectForbidden(await b.post(`/projects/${id}/approvals`, { approved_site_ids: [String(site.id)] }), 'projects.approve')
    expect(project(w, id)).toMatchObject({ name: 'Lung nodules', status: 'unstaged', deletedAt: null })
    expect(w.t.db.select().from(cohortQueries).all()).toHaveLength(1)
    expect(membership(w, id, member.user.id)).toEqual({ role: 'contributor' })
  })
})

// ─── Edit ─────────────────────────────────────────────────────────────────────────────────────

describe('POST /projects/:id (edit)', () => {
  it('lets the owner and an admin edit an unstaged project, each edit audited with before and after', async () => {
    const w = await world()
    const owner = await w.as(w.owner)
    const id = await newProject(w, owner)
    const res = await owner.post(`/projects/${id}`, { name: ' Lung nodules v2 ', description: 'Longer follow-up' })
    expect(res.status).toBe(303)
    expect(res.headers.get('Location')).toBe(`/projects/${id}`)
    expect(project(w, id)).toMatchObject({ name: 'Lung nodules v2', description: 'Longer follow-up' })
    const [first] = audits(w, 'project.updated', id)
    expect(first).toMatchObject({ actorId: w.owner.user.id })
    expect(first!.details).toMatchObject({ before: { name: 'Lung nodules', description: 'CT follow-up' }, after: { name: 'Lung nodules v2', description: 'Longer follow-up' } })

    const admin = await w.as(w.admin)
    expect((await admin.post(`/projects/${id}`, { name: 'Renamed by admin', description: '' })).status).toBe(303)
    expect(project(w, id).name).toBe('Renamed by admin')
    expect(audits(w, 'project.updated', id)).toHaveLength(2)
    expect(audits(w, 'project.updated', id)[1]).toMatchObject({ actorId: w.admin.user.id })
  })

  it('validates like create: 422 per field, values kept, nothing saved', async () => {
    const w = await world()
    const owner = await w.as(w.owner)
    const id = await newProject(w, owner)
    const res = await owner.post(`/projects/${id}`, { name: '', description: 'x'.repeat(1001) })
    expect(res.status).toBe(422)
    const html = await res.text()
    expect(html).toMatch(/id="f-name-error"[^>]*>Give the project a name\./)
    expect(html).toContain('At most 1,000 characters.')
    expect(html).toContain('x'.repeat(1001))
    const long = await owner.post(`/projects/${id}`, { name: 'y'.repeat(201), description: '' })
    expect(long.status).toBe(422)
    expect(await long.text()).toContain(`value="${'y'.repeat(201)}"`)
    expect(project(w, id)).toMatchObject({ name: 'Lung nodules', description: 'CT follow-up' })
    expect(audits(w, 'project.updated')).toHaveLength(0)
  })

  it('is refused with 409 while staged and while approved, with a message saying so; nothing changes', async () => {
    const w = await world()
    const { id, owner, leeds } = await stagedProject(w)
    const staged = await owner.post(`/projects/${id}`, { name: 'Changed', description: '' })
    expect(staged.status).toBe(409)
    expect(await staged.text()).toContain('The project is staged: it is locked for editing until an admin unstages it.')
    const admin = await w.as(w.admin)
    const stagedAdmin = await admin.post(`/projects/${id}`, { name: 'Changed', description: '' })
    expect(stagedAdmin.status).toBe(409)
    expect(await stagedAdmin.text()).toContain('staged')
    expect((await admin.post(`/projects/${id}/approvals`, { approved_site_ids: [String(leeds.id)] })).status).toBe(303)
    for (const b of [owner, admin]) {
      const approved = await b.post(`/projects/${id}`, { name: 'Changed', description: '' })
      expect(approved.status).toBe(409)
      expect(await approved.text()).toContain('The project is approved: it is locked for editing.')
    }
    expect(project(w, id).name).toBe('Lung nodules')
    expect(audits(w, 'project.updated')).toHaveLength(0)
    // the page says it is locked and offers no edit form
    const page = await (await owner.get(`/projects/${id}`)).text()
    expect(page).toContain('This project is approved')
    expect(page).not.toContain(`action="/projects/${id}/cohort-query"`)
  })
})

// ─── Cohort query ─────────────────────────────────────────────────────────────────────────────

describe('POST /projects/:id/cohort-query', () => {
  const refused: [string, string, RegExp][] = [
    ['empty', '   ', /Write a SELECT statement\./],
    ['longer than 10,240 characters', `SELECT '${'a'.repeat(10_240)}'`, /At most 10,240 characters/],
    ['two statements', 'SELECT 1; SELECT 2', /Write exactly one statement \(found 2\)\./],
    ['a statement smuggled after a SELECT', 'SELECT id FROM patients; DROP TABLE patients', /exactly one statement/],
    ['UPDATE', 'UPDATE patients SET consent = 0', /Only SELECT queries are allowed.*this is UPDATE/],
    ['DELETE', 'DELETE FROM patients', /Only SELECT queries are allowed.*this is DELETE/],
    ['DROP', 'DROP TABLE patients', /Only SELECT queries are allowed.*this is DROP/],
    ['INSERT', 'INSERT INTO patients (id) VALUES (1)', /Only SELECT queries are allowed.*this is INSERT/],
    ['SELECT INTO', 'SELECT * INTO copy_of_patients FROM patients', /SELECT … INTO is not allowed/],
    ['invalid SQL', 'SELEC id FRM patients', /This is not valid SQL \(line 1, column \d+\)/],
  ]
  for (const [label, query, message] of refused) {
    it(`refuses ${label} with 422, keeps the text, saves no version and sends no task`, async () => {
      const w = await world()
      addSite(w, 'Leeds', 'LTH')
      const owner = await w.as(w.owner)
      const id = await newProject(w, owner)
      const res = await owner.post(`/projects/${id}/cohort-query`, { query })
      expect(res.status).toBe(422)
      const html = await res.text()
      expect(html).toMatch(new RegExp(`id="f-query-error"[^>]*>[^<]*${message.source}`))
      if (query.trim()) expect(html).toContain(query.slice(0, 200).replace(/'/g, '&#39;'))
      expect(w.t.db.select().from(cohortQueries).all()).toHaveLength(0)
      expect(taskRows(w, id)).toHaveLength(0)
      expect(audits(w, 'cohort_query.saved')).toHaveLength(0)
    })
  }

  it('accepts UNION, INTERSECT, EXCEPT, WITH, comments and a query of exactly 10,240 characters', async () => {
    const w = await world()
    const owner = await w.as(w.owner)
    const id = await newProject(w, owner)
    const accepted = [
      'SELECT id FROM cardiology UNION SELECT id FROM oncology',
      'SELECT id FROM cardiology INTERSECT SELECT id FROM smokers',
      'SELECT id FROM cardiology EXCEPT SELECT id FROM opted_out',
      'WITH adults AS (SELECT id FROM patients WHERE age >= 18) SELECT id FROM adults',
      '/* adults */ SELECT id FROM patients -- trailing note',
      `SELECT '${'a'.repeat(10_240 - 9)}'`,
    ]
    expect(accepted.at(-1)!.length).toBe(10_240)
    for (const query of accepted) expect((await owner.post(`/projects/${id}/cohort-query`, { query })).status, query.slice(0, 60)).toBe(303)
    expect(w.t.db.select().from(cohortQueries).where(eq(cohortQueries.projectId, id)).all()).toHaveLength(accepted.length)
  })

  it('refuses a SELECT whose WITH clause writes (data-modifying CTE: WITH u AS (UPDATE …) SELECT …)', async () => {
    // PostgreSQL runs the UPDATE/INSERT inside the CTE: this "SELECT" changes the site's data.
    const w = await world()
    const owner = await w.as(w.owner)
    const id = await newProject(w, owner)
    for (const query of [
      'WITH u AS (UPDATE patients SET consent = false RETURNING id) SELECT count(*) FROM u',
      'WITH i AS (INSERT INTO patients (id) VALUES (1) RETURNING id) SELECT id FROM i',
    ]) {
      const res = await owner.post(`/projects/${id}/cohort-query`, { query })
      expect(res.status, query).toBe(422)
    }
    expect(w.t.db.select().from(cohortQueries).all()).toHaveLength(0)
  })

  it('keeps every save as a new version (1, 2, …) and sends one cohort task per registered site per save', async () => {
    const w = await world()
    const leeds = addSite(w, 'Leeds', 'LTH')
    const york = addSite(w, 'York', 'YSH')
    const owner = await w.as(w.owner)
    const id = await newProject(w, owner)
    const first = await owner.post(`/projects/${id}/cohort-query`, { query: '  SELECT id FROM patients  ' })
    expect(first.status).toBe(303)
    expect(first.headers.get('Location')).toBe(`/projects/${id}#cohort`)
    const hull = addSite(w, 'Hull', 'HUH') // registered between the saves
    const admin = await w.as(w.admin)
    expect((await admin.post(`/projects/${id}/cohort-query`, { query: 'SELECT id FROM patients WHERE age > 60' })).status).toBe(303)
    expect((await owner.post(`/projects/${id}/cohort-query`, { query: 'SELECT id FROM patients WHERE age > 70' })).status).toBe(303)

    const versions = w.t.db.select().from(cohortQueries).where(eq(cohortQueries.projectId, id)).orderBy(cohortQueries.id).all()
    expect(versions.map((v) => [v.version, v.sqlText, v.createdBy])).toEqual([
      [1, 'SELECT id FROM patients', w.owner.user.id],
      [2, 'SELECT id FROM patients WHERE age > 60', w.admin.user.id],
      [3, 'SELECT id FROM patients WHERE age > 70', w.owner.user.id],
    ])
    const sent = taskRows(w, id, 'cohort_query')
    const bySave = versions.map((v) => sent.filter((t) => t.cohortQueryId === v.id).map((t) => t.siteId).sort())
    expect(bySave).toEqual([[leeds.id, york.id].sort(), [leeds.id, york.id, hull.id].sort(), [leeds.id, york.id, hull.id].sort()])
    expect(sent.every((t) => t.status === 'pending' && t.projectId === id)).toBe(true)
    expect(taskRows(w, id)).toHaveLength(8) // nothing but cohort tasks
    expect(audits(w, 'cohort_query.saved', id).map((e) => e.details)).toEqual([
      expect.objectContaining({ version: 1, sites: 2 }),
      expect.objectContaining({ version: 2, sites: 3 }),
      expect.objectContaining({ version: 3, sites: 3 }),
    ])
    const page = await (await owner.get(`/projects/${id}`)).text()
    expect(page).toContain('Version 3 of 3')
    expect(page).toContain('SELECT id FROM patients WHERE age &gt; 70')
  })

  it('saves a version even with no site registered (no tasks), and the page says no sites are registered', async () => {
    const w = await world()
    const owner = await w.as(w.owner)
    const id = await newProject(w, owner)
    expect((await owner.post(`/projects/${id}/cohort-query`, { query: 'SELECT 1' })).status).toBe(303)
    expect(taskRows(w, id)).toHaveLength(0)
    expect(await (await owner.get(`/projects/${id}`)).text()).toContain('No sites are registered yet.')
  })

  it('is refused with 409 while staged and while approved; no version, no task', async () => {
    const w = await world()
    const { id, owner, leeds } = await stagedProject(w)
    const tasksBefore = taskRows(w, id).length
    for (const b of [owner, await w.as(w.admin)]) {
      const res = await b.post(`/projects/${id}/cohort-query`, { query: 'SELECT 2' })
      expect(res.status).toBe(409)
      expect(await res.text()).toContain('The project is staged')
    }
    expect((await (await w.as(w.admin)).post(`/projects/${id}/approvals`, { approved_site_ids: [String(leeds.id)] })).status).toBe(303)
    const approved = await owner.post(`/projects/${id}/cohort-query`, { query: 'SELECT 2' })
    expect(approved.status).toBe(409)
    expect(await approved.text()).toContain('The project is approved')
    expect(w.t.db.select().from(cohortQueries).where(eq(cohortQueries.projectId, id)).all()).toHaveLength(1)
    expect(taskRows(w, id, 'cohort_query')).toHaveLength(tasksBefore)
    expect(audits(w, 'cohort_query.saved', id)).toHaveLength(1)
  })
})

// ─── Counts ───────────────────────────────────────────────────────────────────────────────────

describe('site counts on the project page', () => {
  it('shows "< 5" under the threshold, the number otherwise, errors, and waiting before a report', async () => {
    const w = await world()
    const sites = ['Aintree', 'Bradford', 'Calderdale', 'Doncaster', 'Exeter', 'Frimley', 'Gateshead'].map((n, i) => addSite(w, n, `S${i}`))
    const owner = await w.as(w.owner)
    const id = await newProject(w, owner)
    expect((await owner.post(`/projects/${id}/cohort-query`, { query: 'SELECT id FROM patients' })).status).toBe(303)
    const late = addSite(w, 'Harrogate', 'S7') // registered after the save: never sent
    report(w, id, sites[0]!, 0)
    report(w, id, sites[1]!, 4)
    report(w, id, sites[2]!, 5)
    report(w, id, sites[3]!, 12_345)
    report(w, id, sites[4]!, { error: 'relation "patients" does not exist' })
    w.t.db.update(tasks).set({ status: 'claimed' }).where(and(eq(tasks.siteId, sites[5]!.id), eq(tasks.projectId, id))).run()
    // sites[6] has not answered yet
    const html = await (await owner.get(`/projects/${id}`)).text()
    const cell = (site: Site) => html.match(new RegExp(`${site.name} <code>${site.code}</code></td><td>(.*?)</td>`))?.[1]
    expect(cell(sites[0]!)).toBe('&lt; 5')
    expect(cell(sites[1]!)).toBe('&lt; 5')
    expect(cell(sites[2]!)).toBe('5')
    expect(cell(sites[3]!)).toBe('12,345')
    expect(cell(sites[4]!)).toContain('error: relation &quot;patients&quot; does not exist')
    expect(cell(sites[5]!)).toBe('waiting for the site')
    expect(cell(sites[6]!)).toBe('waiting for the site')
    expect(cell(late)).toBe('not sent')
    // the exact small numbers never appear next to the site
    expect(html).not.toMatch(/Bradford <code>S1<\/code><\/td><td>4</)
  })

  it('shows the counts of the current version only: a new save goes back to waiting', async () => {
    const w = await world()
    const leeds = addSite(w, 'Leeds', 'LTH')
    const { id, owner } = await readyProject(w, [[leeds, 80]])
    expect(await (await owner.get(`/projects/${id}`)).text()).toMatch(/Leeds <code>LTH<\/code><\/td><td>80</)
    expect((await owner.post(`/projects/${id}/cohort-query`, { query: 'SELECT 2' })).status).toBe(303)
    expect(await (await owner.get(`/projects/${id}`)).text()).toMatch(/Leeds <code>LTH<\/code><\/td><td>waiting for the site</)
  })
})

// ─── Stage ────────────────────────────────────────────────────────────────────────────────────

describe('POST /projects/:id/stage', () => {
  it('stages on the chosen sites with non-zero counts: status staged, project_sites rows, audited, then locked', async () => {
    const w = await world()
    const leeds = addSite(w, 'Leeds', 'LTH')
    const york = addSite(w, 'York', 'YSH')
    const hull = addSite(w, 'Hull', 'HUH')
    const { id, owner } = await readyProject(w, [
      [leeds, 3], // "< 5" is still a non-zero count
      [york, 40],
      [hull, 0],
    ])
    const res = await owner.post(`/projects/${id}/stage`, { site_ids: [String(leeds.id), String(york.id), String(york.id)] })
    expect(res.status).toBe(303)
    expect(project(w, id)).toMatchObject({ status: 'staged', stagedAt: w.t.clock.now() })
    expect(siteDecisions(w, id).map((r) => [r.siteId, r.decision, r.decidedBy])).toEqual([
      [leeds.id, null, null],
      [york.id, null, null],
    ])
    const [event] = audits(w, 'project.staged', id)
    expect(event).toMatchObject({ actorId: w.owner.user.id })
    expect(event!.details).toMatchObject({ site_ids: [leeds.id, york.id], cohort_query_version: 1 })
    const page = await (await owner.get(`/projects/${id}`)).text()
    expect(page).toContain('Awaiting decision')
    expect(page).toContain('This project is staged')
    expect(page).not.toContain(`action="/projects/${id}/stage"`)
    // after staging: edit and cohort query are 409
    expect((await owner.post(`/projects/${id}`, { name: 'x', description: '' })).status).toBe(409)
    expect((await owner.post(`/projects/${id}/cohort-query`, { query: 'SELECT 9' })).status).toBe(409)
  })

  it('lets an admin stage a project they do not own', async () => {
    const w = await world()
    const leeds = addSite(w, 'Leeds', 'LTH')
    const { id } = await readyProject(w, [[leeds, 10]])
    expect((await (await w.as(w.admin)).post(`/projects/${id}/stage`, { site_ids: [String(leeds.id)] })).status).toBe(303)
    expect(project(w, id).status).toBe('staged')
    expect(audits(w, 'project.staged', id)[0]).toMatchObject({ actorId: w.admin.user.id })
  })

  async function expectStageRefused(w: World, id: number, b: TestClient, siteIds: string[], message: string | RegExp) {
    const res = await b.post(`/projects/${id}/stage`, { site_ids: siteIds })
    expect(res.status).toBe(422)
    const html = await res.text()
    if (typeof message === 'string') expect(html).toContain(message)
    else expect(html).toMatch(message)
    expect(project(w, id)).toMatchObject({ status: 'unstaged', stagedAt: null })
    expect(siteDecisions(w, id)).toEqual([])
    expect(audits(w, 'project.staged')).toHaveLength(0)
  }

  it('refuses with 422 when no site is chosen', async () => {
    const w = await world()
    const leeds = addSite(w, 'Leeds', 'LTH')
    const { id, owner } = await readyProject(w, [[leeds, 10]])
    await expectStageRefused(w, id, owner, [], 'Choose at least one site.')
  })

  it('refuses with 422 before there is a cohort query', async () => {
    const w = await world()
    const leeds = addSite(w, 'Leeds', 'LTH')
    const owner = await w.as(w.owner)
    const id = await newProject(w, owner)
    await expectStageRefused(w, id, owner, [String(leeds.id)], 'Write and save a cohort query first')
  })

  it('refuses with 422 naming the sites that have not reported yet (waiting, not sent, error)', async () => {
    const w = await world()
    const leeds = addSite(w, 'Leeds', 'LTH')
    const york = addSite(w, 'York', 'YSH')
    const hull = addSite(w, 'Hull', 'HUH')
    const { id, owner } = await readyProject(w, [[leeds, 10]])
    report(w, id, hull, { error: 'timeout' })
    const late = addSite(w, 'Wakefield', 'MYT')
    await expectStageRefused(w, id, owner, [String(leeds.id), String(york.id), String(hull.id), String(late.id)], /have not reported a non-zero count for the current cohort query \(version 1\): York \(waiting for the site\), Hull \(error\), Wakefield \(not sent\)\./)
    // a site alone that is still waiting
    await expectStageRefused(w, id, owner, [String(york.id)], 'York (waiting for the site)')
  })

  it('refuses with 422 a site that reported a count of 0', async () => {
    const w = await world()
    const leeds = addSite(w, 'Leeds', 'LTH')
    const york = addSite(w, 'York', 'YSH')
    const { id, owner } = await readyProject(w, [
      [leeds, 10],
      [york, 0],
    ])
    await expectStageRefused(w, id, owner, [String(leeds.id), String(york.id)], 'York (count 0)')
  })

  it('refuses with 422 when the counts are for an older version of the cohort query', async () => {
    const w = await world()
    const leeds = addSite(w, 'Leeds', 'LTH')
    const { id, owner } = await readyProject(w, [[leeds, 10]])
    expect((await owner.post(`/projects/${id}/cohort-query`, { query: 'SELECT 2' })).status).toBe(303)
    await expectStageRefused(w, id, owner, [String(leeds.id)], 'version 2): Leeds (waiting for the site)')
  })

  it('refuses with 422 an unknown site id', async () => {
    const w = await world()
    const leeds = addSite(w, 'Leeds', 'LTH')
    const { id, owner } = await readyProject(w, [[leeds, 10]])
    await expectStageRefused(w, id, owner, [String(leeds.id), '999'], 'No such site: 999.')
  })

  it('is the owner’s or an admin’s: a contributor member gets 403 naming project.stage', async () => {
    const w = await world()
    const leeds = addSite(w, 'Leeds', 'LTH')
    const { id } = await readyProject(w, [[leeds, 10]])
    const member = await w.user('researcher', 'member@example.org')
    await addMember(w, id, member)
    await expectForbidden(await (await w.as(member)).post(`/projects/${id}/stage`, { site_ids: [String(leeds.id)] }), 'project.stage')
    expect(project(w, id).status).toBe('unstaged')
    expect(siteDecisions(w, id)).toEqual([])
  })

  it('only from unstaged: staging twice, or an approved project, is 409 and changes nothing', async () => {
    const w = await world()
    const { id, owner, leeds, york, hull } = await stagedProject(w)
    const stagedAt = project(w, id).stagedAt
    w.t.clock.advance(60_000)
    const twice = await owner.post(`/projects/${id}/stage`, { site_ids: [String(hull.id)] })
    expect(twice.status).toBe(409)
    expect(await twice.text()).toContain('The project is staged')
    expect(project(w, id)).toMatchObject({ status: 'staged', stagedAt })
    expect(siteDecisions(w, id).map((r) => r.siteId)).toEqual([leeds.id, york.id])
    expect(audits(w, 'project.staged', id)).toHaveLength(1)
    const admin = await w.as(w.admin)
    expect((await admin.post(`/projects/${id}/approvals`, { approved_site_ids: [String(leeds.id)] })).status).toBe(303)
    const approved = await admin.post(`/projects/${id}/stage`, { site_ids: [String(leeds.id)] })
    expect(approved.status).toBe(409)
    expect(await approved.text()).toContain('The project is approved')
    expect(project(w, id).status).toBe('approved')
  })
})

// ─── Unstage ──────────────────────────────────────────────────────────────────────────────────

describe('POST /projects/:id/unstage', () => {
  it('is admin only: the owner (a researcher) gets 403 naming projects.unstage', async () => {
    const w = await world()
    const { id, owner } = await stagedProject(w)
    expect(await (await owner.get(`/projects/${id}`)).text()).not.toContain(`action="/projects/${id}/unstage"`)
    await expectForbidden(await owner.post(`/projects/${id}/unstage`), 'projects.unstage')
    expect(project(w, id).status).toBe('staged')
    expect(siteDecisions(w, id)).toHaveLength(2)
    expect(audits(w, 'project.unstaged')).toHaveLength(0)
  })

  it('takes a staged project back to unstaged, clears the site rows, audits it and re-enables editing', async () => {
    const w = await world()
    const { id, owner, leeds } = await stagedProject(w)
    const admin = await w.as(w.admin)
    expect(await (await admin.get(`/projects/${id}`)).text()).toContain(`action="/projects/${id}/unstage"`)
    const res = await admin.post(`/projects/${id}/unstage`)
    expect(res.status).toBe(303)
    expect(project(w, id)).toMatchObject({ status: 'unstaged', stagedAt: null })
    expect(siteDecisions(w, id)).toEqual([])
    expect(audits(w, 'project.unstaged', id)).toEqual([expect.objectContaining({ actorId: w.admin.user.id })])
    // editing works again, for the owner
    expect((await owner.post(`/projects/${id}`, { name: 'Edited after unstage', description: '' })).status).toBe(303)
    expect((await owner.post(`/projects/${id}/cohort-query`, { query: 'SELECT 3' })).status).toBe(303)
    report(w, id, leeds, 9)
    expect((await owner.post(`/projects/${id}/stage`, { site_ids: [String(leeds.id)] })).status).toBe(303)
    expect(siteDecisions(w, id).map((r) => r.siteId)).toEqual([leeds.id])
  })

  it('only from staged: an unstaged project is 409, an approved one is 409 "cannot be unstaged" with its decisions intact', async () => {
    const w = await world()
    const admin = await w.as(w.admin)
    const fresh = await newProject(w, await w.as(w.owner), 'Fresh')
    const unstaged = await admin.post(`/projects/${fresh}/unstage`)
    expect(unstaged.status).toBe(409)
    expect(await unstaged.text()).toContain('only a staged project can be unstaged')

    const { id, leeds } = await stagedProject(w)
    expect((await admin.post(`/projects/${id}/approvals`, { approved_site_ids: [String(leeds.id)] })).status).toBe(303)
    const decisions = siteDecisions(w, id)
    const approved = await admin.post(`/projects/${id}/unstage`)
    expect(approved.status).toBe(409)
    expect(await approved.text()).toContain('An approved project cannot be unstaged.')
    expect(project(w, id).status).toBe('approved')
    expect(siteDecisions(w, id)).toEqual(decisions)
    expect(audits(w, 'project.unstaged')).toHaveLength(0)
  })
})

// ─── Approvals ────────────────────────────────────────────────────────────────────────────────

describe('POST /projects/:id/approvals', () => {
  it('is admin only: the owner gets 403 naming projects.approve and sees no approval form', async () => {
    const w = await world()
    const { id, owner, leeds } = await stagedProject(w)
    expect(await (await owner.get(`/projects/${id}`)).text()).not.toContain('name="approved_site_ids"')
    await expectForbidden(await owner.post(`/projects/${id}/approvals`, { approved_site_ids: [String(leeds.id)] }), 'projects.approve')
    expect(project(w, id).status).toBe('staged')
    expect(siteDecisions(w, id).every((r) => r.decision === null)).toBe(true)
    expect(taskRows(w, id, 'image_retrieval')).toHaveLength(0)
  })

  it('offers one toggle per staged site, and only for staged sites', async () => {
    const w = await world()
    const { id, leeds, york, hull } = await stagedProject(w)
    const html = await (await (await w.as(w.admin)).get(`/projects/${id}`)).text()
    const toggles = [...html.matchAll(/name="approved_site_ids" value="(\d+)"/g)].map((m) => Number(m[1]))
    expect(toggles.sort()).toEqual([leeds.id, york.id].sort())
    expect(toggles).not.toContain(hull.id)
    expect(html).toContain('Save site approvals')
  })

  it('needs at least one site on (422), and changes nothing', async () => {
    const w = await world()
    const { id } = await stagedProject(w)
    const res = await (await w.as(w.admin)).post(`/projects/${id}/approvals`, {})
    expect(res.status).toBe(422)
    expect(await res.text()).toContain('Approve at least one site.')
    expect(project(w, id).status).toBe('staged')
    expect(siteDecisions(w, id).every((r) => r.decision === null && r.decidedBy === null && r.decidedAt === null)).toBe(true)
    expect(taskRows(w, id, 'image_retrieval')).toHaveLength(0)
    expect(audits(w, 'project.approved')).toHaveLength(0)
  })

  it('refuses a site that was not staged with 422 naming it, and nothing changes (no decision, no task, still staged)', async () => {
    const w = await world()
    const { id, leeds, hull } = await stagedProject(w)
    const res = await (await w.as(w.admin)).post(`/projects/${id}/approvals`, { approved_site_ids: [String(leeds.id), String(hull.id)] })
    expect(res.status).toBe(422)
    expect(await res.text()).toContain('Not staged for this project, so it cannot be approved: Hull University. Nothing was changed.')
    expect(project(w, id)).toMatchObject({ status: 'staged', approvedAt: null })
    expect(siteDecisions(w, id).every((r) => r.decision === null && r.decidedBy === null && r.decidedAt === null)).toBe(true)
    expect(taskRows(w, id, 'image_retrieval')).toHaveLength(0)
    expect(audits(w, 'project.approved')).toHaveLength(0)
    // an id that is no site at all is named too
    const unknown = await (await w.as(w.admin)).post(`/projects/${id}/approvals`, { approved_site_ids: ['999'] })
    expect(unknown.status).toBe(422)
    expect(await unknown.text()).toContain('cannot be approved: #999.')
    expect(project(w, id).status).toBe('staged')
  })

  it('approves: status approved, each decision with who and when, "Not approved" for sites left off, one image retrieval task per approved site only', async () => {
    const w = await world()
    const { id, owner, leeds, york } = await stagedProject(w)
    w.t.clock.advance(120_000)
    const admin = await w.as(w.admin)
    const res = await admin.post(`/projects/${id}/approvals`, { approved_site_ids: [String(leeds.id)] })
    expect(res.status).toBe(303)
    expect(project(w, id)).toMatchObject({ status: 'approved', approvedAt: w.t.clock.now() })
    expect(siteDecisions(w, id).map((r) => [r.siteId, r.decision, r.decidedBy, r.decidedAt])).toEqual([
      [leeds.id, 'approved', w.admin.user.id, w.t.clock.now()],
      [york.id, 'not approved', w.admin.user.id, w.t.clock.now()],
    ])
    const retrieval = taskRows(w, id, 'image_retrieval')
    expect(retrieval.map((t) => [t.siteId, t.status])).toEqual([[leeds.id, 'pending']])
    const [event] = audits(w, 'project.approved', id)
    expect(event).toMatchObject({ actorId: w.admin.user.id })
    expect(event!.details).toMatchObject({ approved_site_ids: [leeds.id], not_approved_site_ids: [york.id] })
    const page = await (await owner.get(`/projects/${id}`)).text()
    expect(page).toMatch(/Leeds Teaching Hospitals<\/td><td><strong class="good">Approved<\/strong><\/td><td>admin@example.org/)
    expect(page).toMatch(/York and Scarborough<\/td><td>Not approved<\/td><td>admin@example.org/)
    expect(page).not.toContain('name="approved_site_ids"')
  })

  it('approves every staged site when all are on', async () => {
    const w = await world()
    const { id, leeds, york } = await stagedProject(w)
    expect((await (await w.as(w.admin)).post(`/projects/${id}/approvals`, { approved_site_ids: [String(york.id), String(leeds.id)] })).status).toBe(303)
    expect(siteDecisions(w, id).map((r) => r.decision)).toEqual(['approved', 'approved'])
    expect(taskRows(w, id, 'image_retrieval').map((t) => t.siteId).sort()).toEqual([leeds.id, york.id].sort())
  })

  it('only on a staged project: approving twice, or an unstaged project, is 409 and creates no tasks', async () => {
    const w = await world()
    const { id, leeds, york } = await stagedProject(w)
    const admin = await w.as(w.admin)
    expect((await admin.post(`/projects/${id}/approvals`, { approved_site_ids: [String(leeds.id)] })).status).toBe(303)
    const decisions = siteDecisions(w, id)
    w.t.clock.advance(1000)
    const again = await admin.post(`/projects/${id}/approvals`, { approved_site_ids: [String(leeds.id), String(york.id)] })
    expect(again.status).toBe(409)
    expect(await again.text()).toContain('The project is approved')
    expect(siteDecisions(w, id)).toEqual(decisions)
    expect(taskRows(w, id, 'image_retrieval')).toHaveLength(1)
    expect(audits(w, 'project.approved')).toHaveLength(1)

    const fresh = await newProject(w, await w.as(w.owner), 'Fresh')
    const unstaged = await admin.post(`/projects/${fresh}/approvals`, { approved_site_ids: [String(leeds.id)] })
    expect(unstaged.status).toBe(409)
    expect(project(w, fresh).status).toBe('unstaged')
    expect(taskRows(w, fresh)).toHaveLength(0)
  })
})

// ─── Members ──────────────────────────────────────────────────────────────────────────────────

describe('POST /projects/:id/members', () => {
  it('lets the owner add by email with the default project role: contributor for researchers, read-only for observers; audited', async () => {
    const w = await world()
    const owner = await w.as(w.owner)
    const id = await newProject(w, owner)
    const researcher = await w.user('researcher', 'res@example.org')
    const observer = await w.user('observer', 'obs@example.org')
    const res = await owner.post(`/projects/${id}/members`, { email: ' RES@Example.org ', role: '' })
    expect(res.status).toBe(303)
    expect(res.headers.get('Location')).toBe(`/projects/${id}#members`)
    expect(await (await owner.get(`/projects/${id}`)).text()).toContain('res@example.org added as contributor.')
    expect((await owner.post(`/projects/${id}/members`, { email: observer.user.email })).status).toBe(303)
    expect(membership(w, id, researcher.user.id)).toEqual({ role: 'contributor' })
    expect(membership(w, id, observer.user.id)).toEqual({ role: 'read-only' })
    expect(audits(w, 'project.member_added', id).map((e) => e.details)).toEqual([
      expect.objectContaining({ user_id: researcher.user.id, email: 'res@example.org', roles: ['contributor'] }),
      expect.objectContaining({ user_id: observer.user.id, email: 'obs@example.org', roles: ['read-only'] }),
    ])
    const page = await (await owner.get(`/projects/${id}`)).text()
    expect(page).toMatch(/<td>obs@example.org<\/td><td>[^<]*<\/td><td>read-only</)
  })

  it('lets an admin add a member with a chosen project role', async () => {
    const w = await world()
    const id = await newProject(w, await w.as(w.owner))
    const researcher = await w.user('researcher', 'res@example.org')
    expect((await (await w.as(w.admin)).post(`/projects/${id}/members`, { email: researcher.user.email, role: 'read-only' })).status).toBe(303)
    expect(membership(w, id, researcher.user.id)).toEqual({ role: 'read-only' })
    expect(audits(w, 'project.member_added', id)[0]).toMatchObject({ actorId: w.admin.user.id })
  })

  it('gives an unknown email and a disabled account the same 422 message (no account-existence leak)', async () => {
    const w = await world()
    const owner = await w.as(w.owner)
    const id = await newProject(w, owner)
    const disabled = await w.user('researcher', 'gone@example.org')
    w.t.db.update(users).set({ disabledAt: w.t.clock.now() }).where(eq(users.id, disabled.user.id)).run()
    const errorOf = async (email: string) => {
      const res = await owner.post(`/projects/${id}/members`, { email, role: '' })
      expect(res.status).toBe(422)
      const html = await res.text()
      expect(html).toContain(`value="${email}"`)
      return html.match(/<p id="f-email-error" class="error">([^<]*)<\/p>/)?.[1]
    }
    const unknown = await errorOf('nobody@example.org')
    const off = await errorOf('gone@example.org')
    expect(unknown).toBe('No active Gatehouse account can be added with this address. Ask an admin to invite the person.')
    expect(off).toBe(unknown)
    expect(await errorOf('not an email')).toBe(unknown)
    expect(w.t.db.select().from(projectMembers).all()).toHaveLength(0)
    expect(audits(w, 'project.member_added')).toHaveLength(0)
  })

  it('adds a member with two roles (role repeated), lists both, and the member gets the union of both', async () => {
    const w = await world()
    const owner = await w.as(w.owner)
    const id = await newProject(w, owner)
    w.t.db.insert(roles).values({ name: 'steward-lite', scope: 'project', permissions: ['project.view', 'members.manage'], createdAt: 0, updatedAt: 0 }).run()
    const researcher = await w.user('researcher', 'res@example.org')
    const res = await owner.post(`/projects/${id}/members`, { email: researcher.user.email, role: ['read-only', 'steward-lite'] })
    expect(res.status).toBe(303)
    expect(memberRoles(w, id, researcher.user.id)).toEqual(['read-only', 'steward-lite'])
    expect(audits(w, 'project.member_added', id).map((e) => e.details)).toEqual([expect.objectContaining({ user_id: researcher.user.id, roles: ['read-only', 'steward-lite'] })])
    const page = await (await owner.get(`/projects/${id}`)).text()
    expect(page).toMatch(/<td>res@example.org<\/td><td>[^<]*<\/td><td>read-only, steward-lite</)
    // the union: members.manage from one role, results.view from the other
    const theirs = await w.as(researcher)
    const other = await w.user('researcher', 'other@example.org')
    expect((await theirs.post(`/projects/${id}/members`, { email: other.user.email, role: 'read-only' })).status).toBe(303)
    expect(memberRoles(w, id, other.user.id)).toEqual(['read-only'])
  })

  it('the form offers each project role as a checkbox, the default for their site role checked', async () => {
    const w = await world()
    const owner = await w.as(w.owner)
    const id = await newProject(w, owner)
    const html = await (await owner.get(`/projects/${id}`)).text()
    expect(html).toMatch(/<input type="checkbox" name="role" value="" checked="" id="f-role-default"\/>/)
    for (const r of ['contributor', 'read-only']) expect(html).toContain(`<input type="checkbox" name="role" value="${r}"`)
    const none = await owner.post(`/projects/${id}/members`, { email: (await w.user('researcher', 'res@example.org')).user.email })
    expect(none.status).toBe(303)
  })

  it('adding someone who is a member already adds only the missing roles and keeps the others; the same roles again is 422', async () => {
    const w = await world()
    const owner = await w.as(w.owner)
    const id = await newProject(w, owner)
    const researcher = await w.user('researcher', 'res@example.org')
    await addMember(w, id, researcher)
    const res = await owner.post(`/projects/${id}/members`, { email: researcher.user.email, role: ['read-only', 'contributor'] })
    expect(res.status).toBe(303)
    expect(memberRoles(w, id, researcher.user.id)).toEqual(['contributor', 'read-only'])
    expect(audits(w, 'project.member_added')).toHaveLength(1)
    expect(audits(w, 'project.member_roles_added', id).map((e) => e.details)).toEqual([expect.objectContaining({ user_id: researcher.user.id, roles: ['read-only'] })])
    const again = await owner.post(`/projects/${id}/members`, { email: researcher.user.email, role: 'read-only' })
    expect(again.status).toBe(422)
    expect(await again.text()).toContain('This person holds these project roles already.')
    expect(memberRoles(w, id, researcher.user.id)).toEqual(['contributor', 'read-only'])
    // removing the member removes the membership with all its roles
    expect((await owner.post(`/projects/${id}/members/${researcher.user.id}/remove`, { confirm: 'yes' })).status).toBe(303)
    expect(memberRoles(w, id, researcher.user.id)).toEqual([])
  })

  it('two parallel adds of the same member with different roles end with both roles and one member_added', async () => {
    const w = await world()
    const owner = await w.as(w.owner)
    const id = await newProject(w, owner)
    const researcher = await w.user('researcher', 'res@example.org')
    const answers = await Promise.all(['contributor', 'read-only', 'contributor', 'read-only'].map((role) => owner.post(`/projects/${id}/members`, { email: researcher.user.email, role })))
    expect(answers.map((r) => r.status).sort()).toEqual([303, 303, 422, 422])
    expect(memberRoles(w, id, researcher.user.id)).toEqual(['contributor', 'read-only'])
    expect(audits(w, 'project.member_added')).toHaveLength(1)
  })

  it('refuses the owner themself, an unknown role and a site role, each with 422', async () => {
    const w = await world()
    const owner = await w.as(w.owner)
    const id = await newProject(w, owner)
    const researcher = await w.user('researcher', 'res@example.org')
    const self = await owner.post(`/projects/${id}/members`, { email: w.owner.user.email })
    expect(self.status).toBe(422)
    expect(await self.text()).toContain('This is the project owner')
    for (const role of ['wizard', 'admin', 'researcher']) {
      const res = await owner.post(`/projects/${id}/members`, { email: researcher.user.email, role })
      expect(res.status, role).toBe(422)
      expect(await res.text()).toContain('Choose a project role.')
    }
    expect(w.t.db.select().from(projectMembers).all()).toHaveLength(0)
  })

  it('refuses the whole set (adding nothing) when one of the roles is limited to other groups, naming it', async () => {
    const w = await world()
    const owner = await w.as(w.owner)
    const id = await newProject(w, owner)
    const group = w.t.db.insert(groups).values({ name: 'York Centre', createdAt: 0 }).returning().get()
    const role = w.t.db.insert(roles).values({ name: 'york-analyst', scope: 'project', permissions: ['project.view'], createdAt: 0, updatedAt: 0 }).returning().get()
    w.t.db.insert(roleGroups).values({ roleId: role.id, groupId: group.id }).run()
    const researcher = await w.user('researcher', 'res@example.org')
    const res = await owner.post(`/projects/${id}/members`, { email: researcher.user.email, role: ['read-only', 'york-analyst'] })
    expect(res.status).toBe(422)
    const html = await res.text()
    expect(html).toContain('The role “york-analyst” is limited to other groups')
    expect(html).toMatch(/<input type="checkbox" name="role" value="york-analyst" checked=""/)
    expect(memberRoles(w, id, researcher.user.id)).toEqual([])
  })

  it('refuses a project role limited to other groups than the project’s', async () => {
    const w = await world()
    const owner = await w.as(w.owner)
    const id = await newProject(w, owner)
    const group = w.t.db.insert(groups).values({ name: 'York Centre', createdAt: 0 }).returning().get()
    const role = w.t.db.insert(roles).values({ name: 'york-analyst', scope: 'project', permissions: ['project.view'], createdAt: 0, updatedAt: 0 }).returning().get()
    w.t.db.insert(roleGroups).values({ roleId: role.id, groupId: group.id }).run()
    const researcher = await w.user('researcher', 'res@example.org')
    const res = await owner.post(`/projects/${id}/members`, { email: researcher.user.email, role: 'york-analyst' })
    expect(res.status).toBe(422)
    expect(await res.text()).toContain('is limited to other groups')
    expect(membership(w, id, researcher.user.id)).toBeUndefined()
  })

  it('removes a member only after confirmation; audited; they lose access at once', async () => {
    const w = await world()
    const owner = await w.as(w.owner)
    const id = await newProject(w, owner)
    const researcher = await w.user('researcher', 'res@example.org')
    await addMember(w, id, researcher)
    const theirs = await w.as(researcher)
    expect((await theirs.get(`/projects/${id}`)).status).toBe(200)
    const ask = await owner.post(`/projects/${id}/members/${researcher.user.id}/remove`)
    expect(ask.status).toBe(200)
    const askHtml = await ask.text()
    expect(askHtml).toContain('name="confirm" value="yes"')
    expect(askHtml).toContain('Remove res@example.org')
    expect(membership(w, id, researcher.user.id)).toEqual({ role: 'contributor' })
    expect(audits(w, 'project.member_removed')).toHaveLength(0)
    const res = await owner.post(`/projects/${id}/members/${researcher.user.id}/remove`, { confirm: 'yes' })
    expect(res.status).toBe(303)
    expect(membership(w, id, researcher.user.id)).toBeUndefined()
    expect(audits(w, 'project.member_removed', id)).toEqual([expect.objectContaining({ actorId: w.owner.user.id, details: expect.objectContaining({ user_id: researcher.user.id }) })])
    expect((await theirs.get(`/projects/${id}`)).status).toBe(404)
    // removing someone who is not a member is 404
    expect((await owner.post(`/projects/${id}/members/${researcher.user.id}/remove`, { confirm: 'yes' })).status).toBe(404)
    expect(audits(w, 'project.member_removed')).toHaveLength(1)
  })

  it('is refused to a contributor member with 403 naming members.manage', async () => {
    const w = await world()
    const id = await newProject(w, await w.as(w.owner))
    const member = await w.user('researcher', 'member@example.org')
    const other = await w.user('researcher', 'other@example.org')
    await addMember(w, id, member)
    const b = await w.as(member)
    await expectForbidden(await b.post(`/projects/${id}/members`, { email: other.user.email }), 'members.manage')
    await expectForbidden(await b.post(`/projects/${id}/members/${member.user.id}/remove`), 'members.manage')
    expect(membership(w, id, other.user.id)).toBeUndefined()
    expect(membership(w, id, member.user.id)).toEqual({ role: 'contributor' })
  })
})

// ─── Observers: the site role is a ceiling ───────────────────────────────────────────────────

describe('observers never write', () => {
  async function writesRefused(w: World, id: number, u: TestUser, siteId: number) {
    const b = await w.as(u)
    expect((await b.get(`/projects/${id}`)).status).toBe(200)
    await expectForbidden(await b.post(`/projects/${id}`, { name: 'Observer edit', description: '' }), 'project.edit')
    await expectForbidden(await b.post(`/projects/${id}/cohort-query`, { query: 'SELECT 1' }), 'project.edit')
    await expectForbidden(await b.post(`/projects/${id}/stage`, { site_ids: [String(siteId)] }), 'project.stage')
    await expectForbidden(await b.post(`/projects/${id}/members`, { email: 'admin@example.org' }), 'members.manage')
    await expectForbidden(await b.post(`/projects/${id}/delete`, { confirm: 'yes' }), 'project.delete')
    expect(project(w, id)).toMatchObject({ name: 'Lung nodules', status: 'unstaged', deletedAt: null })
    expect(w.t.db.select().from(cohortQueries).where(eq(cohortQueries.projectId, id)).all()).toHaveLength(1)
  }

  it('an observer member (read-only) reads but gets 403 on edit, cohort query, stage, members and delete', async () => {
    const w = await world()
    const leeds = addSite(w, 'Leeds', 'LTH')
    const { id } = await readyProject(w, [[leeds, 10]])
    const observer = await w.user('observer', 'obs@example.org')
    await addMember(w, id, observer)
    await writesRefused(w, id, observer, leeds.id)
  })

  it('an observer member holding a project role that grants writes is still refused (403, site role caps it)', async () => {
    const w = await world()
    const leeds = addSite(w, 'Leeds', 'LTH')
    const { id } = await readyProject(w, [[leeds, 10]])
    w.t.db.insert(roles).values({ name: 'co-lead', scope: 'project', permissions: ['project.view', 'project.edit', 'project.stage', 'project.delete', 'members.manage'], createdAt: 0, updatedAt: 0 }).run()
    const observer = await w.user('observer', 'obs@example.org')
    await addMember(w, id, observer, 'co-lead')
    expect(membership(w, id, observer.user.id)).toEqual({ role: 'co-lead' })
    await writesRefused(w, id, observer, leeds.id)
    // the same role does let a researcher member write
    const researcher = await w.user('researcher', 'res@example.org')
    await addMember(w, id, researcher, 'co-lead')
    expect((await (await w.as(researcher)).post(`/projects/${id}`, { name: 'Co-lead edit', description: '' })).status).toBe(303)
  })

  it('an owner demoted to observer can no longer edit (403) but still reads their project', async () => {
    const w = await world()
    const leeds = addSite(w, 'Leeds', 'LTH')
    const { id } = await readyProject(w, [[leeds, 10]])
    w.t.db.update(users).set({ role: 'observer' }).where(eq(users.id, w.owner.user.id)).run()
    await writesRefused(w, id, w.owner, leeds.id)
    const page = await (await w.as(w.owner)).get('/projects')
    expect(listedIds(await page.text())).toEqual([id])
  })
})

// ─── Delete ───────────────────────────────────────────────────────────────────────────────────

describe('POST /projects/:id/delete', () => {
  it('asks for confirmation first and changes nothing without it', async () => {
    const w = await world()
    const owner = await w.as(w.owner)
    const id = await newProject(w, owner)
    const ask = await owner.post(`/projects/${id}/delete`)
    expect(ask.status).toBe(200)
    const html = await ask.text()
    expect(html).toContain('Delete “Lung nodules”?')
    expect(html).toContain('name="confirm" value="yes"')
    expect(html).toContain(`action="/projects/${id}/delete"`)
    expect(project(w, id).deletedAt).toBeNull()
    expect(audits(w, 'project.deleted')).toHaveLength(0)
    expect((await owner.post(`/projects/${id}/delete`, { confirm: 'no' })).status).toBe(200)
    expect(project(w, id).deletedAt).toBeNull()
  })

  it('soft-deletes for the owner: deleted_at set, row and audit trail kept, then 404 for everyone including admins', async () => {
    const w = await world()
    const { id, owner, leeds } = await stagedProject(w)
    const member = await w.user('researcher', 'member@example.org')
    await addMember(w, id, member)
    w.t.clock.advance(5000)
    const res = await owner.post(`/projects/${id}/delete`, { confirm: 'yes' })
    expect(res.status).toBe(303)
    expect(res.headers.get('Location')).toBe('/projects')
    expect(project(w, id)).toMatchObject({ deletedAt: w.t.clock.now(), name: 'Lung nodules', status: 'staged' })
    const [event] = audits(w, 'project.deleted', id)
    expect(event).toMatchObject({ actorId: w.owner.user.id })
    expect(event!.details).toMatchObject({ name: 'Lung nodules', status: 'staged' })
    expect(audits(w, 'project.created', id)).toHaveLength(1) // the trail stays
    expect(w.t.db.select().from(cohortQueries).where(eq(cohortQueries.projectId, id)).all()).toHaveLength(1)
    expect(await (await owner.get('/projects')).text()).toContain('Project “Lung nodules” deleted.')
    for (const u of [w.owner, member, w.admin]) {
      const b = await w.as(u)
      expect((await b.get(`/projects/${id}`)).status, u.user.email).toBe(404)
      expect(listedIds(await (await b.get('/projects')).text())).not.toContain(id)
    }
    const admin = await w.as(w.admin)
    expect((await admin.post(`/projects/${id}`, { name: 'x', description: '' })).status).toBe(404)
    expect((await admin.post(`/projects/${id}/unstage`)).status).toBe(404)
    expect((await admin.post(`/projects/${id}/approvals`, { approved_site_ids: [String(leeds.id)] })).status).toBe(404)
    expect((await admin.post(`/projects/${id}/delete`, { confirm: 'yes' })).status).toBe(404)
    expect(audits(w, 'project.deleted')).toHaveLength(1)
  })

  it('lets an admin delete any project, in any status (here approved)', async () => {
    const w = await world()
    const { id, leeds } = await stagedProject(w)
    const admin = await w.as(w.admin)
    expect((await admin.post(`/projects/${id}/approvals`, { approved_site_ids: [String(leeds.id)] })).status).toBe(303)
    expect((await admin.post(`/projects/${id}/delete`, { confirm: 'yes' })).status).toBe(303)
    expect(project(w, id).deletedAt).not.toBeNull()
    expect(audits(w, 'project.deleted', id)).toEqual([expect.objectContaining({ actorId: w.admin.user.id, details: expect.objectContaining({ status: 'approved' }) })])
  })

  it('is refused to a contributor member with 403 naming project.delete', async () => {
    const w = await world()
    const id = await newProject(w, await w.as(w.owner))
    const member = await w.user('researcher', 'member@example.org')
    await addMember(w, id, member)
    const b = await w.as(member)
    await expectForbidden(await b.post(`/projects/${id}/delete`), 'project.delete')
    await expectForbidden(await b.post(`/projects/${id}/delete`, { confirm: 'yes' }), 'project.delete')
    expect(project(w, id).deletedAt).toBeNull()
    expect(audits(w, 'project.deleted')).toHaveLength(0)
  })
})

// ─── Audit trail ──────────────────────────────────────────────────────────────────────────────

describe('audit trail', () => {
  it('records every project event with actor, target and ip, next to the change it describes', async () => {
    const w = await world()
    const leeds = addSite(w, 'Leeds', 'LTH')
    const owner = await w.as(w.owner)
    const admin = await w.as(w.admin)
    const member = await w.user('researcher', 'member@example.org')
    const id = await newProject(w, owner)
    expect(project(w, id)).toBeDefined()
    expect(audits(w, 'project.created', id)).toHaveLength(1)

    expect((await owner.post(`/projects/${id}`, { name: 'Renamed', description: '' })).status).toBe(303)
    expect(project(w, id).name).toBe('Renamed')
    expect(audits(w, 'project.updated', id)).toHaveLength(1)

    expect((await owner.post(`/projects/${id}/cohort-query`, { query: 'SELECT 1' })).status).toBe(303)
    expect(w.t.db.select().from(cohortQueries).all()).toHaveLength(1)
    expect(audits(w, 'cohort_query.saved', id)).toHaveLength(1)

    expect((await owner.post(`/projects/${id}/members`, { email: member.user.email })).status).toBe(303)
    expect(membership(w, id, member.user.id)).toBeDefined()
    expect(audits(w, 'project.member_added', id)).toHaveLength(1)

    expect((await owner.post(`/projects/${id}/members/${member.user.id}/remove`, { confirm: 'yes' })).status).toBe(303)
    expect(membership(w, id, member.user.id)).toBeUndefined()
    expect(audits(w, 'project.member_removed', id)).toHaveLength(1)

    report(w, id, leeds, 10)
    expect((await owner.post(`/projects/${id}/stage`, { site_ids: [String(leeds.id)] })).status).toBe(303)
    expect(project(w, id).status).toBe('staged')
    expect(audits(w, 'project.staged', id)).toHaveLength(1)

    expect((await admin.post(`/projects/${id}/unstage`)).status).toBe(303)
    expect(project(w, id).status).toBe('unstaged')
    expect(audits(w, 'project.unstaged', id)).toHaveLength(1)

    expect((await owner.post(`/projects/${id}/stage`, { site_ids: [String(leeds.id)] })).status).toBe(303)
    expect((await admin.post(`/projects/${id}/approvals`, { approved_site_ids: [String(leeds.id)] })).status).toBe(303)
    expect(project(w, id).status).toBe('approved')
    expect(audits(w, 'project.approved', id)).toHaveLength(1)

    expect((await owner.post(`/projects/${id}/delete`, { confirm: 'yes' })).status).toBe(303)
    expect(project(w, id).deletedAt).not.toBeNull()
    expect(audits(w, 'project.deleted', id)).toHaveLength(1)

    const trail = w.t.db.select().from(auditEvents).where(and(eq(auditEvents.targetType, 'project'), eq(auditEvents.targetId, String(id)))).orderBy(auditEvents.id).all()
    expect(trail.map((e) => e.event)).toEqual([
      'project.created',
      'project.updated',
      'cohort_query.saved',
      'project.member_added',
      'project.member_removed',
      'project.staged',
      'project.unstaged',
      'project.staged',
      'project.approved',
      'project.deleted',
    ])
    expect(trail.every((e) => e.ip === '203.0.113.7' && e.actorEmail !== null)).toBe(true)
    expect(trail.filter((e) => e.actorId === w.admin.user.id).map((e) => e.event)).toEqual(['project.unstaged', 'project.approved'])
  })
})

// ─── Deployment mode ──────────────────────────────────────────────────────────────────────────

describe('deployment mode', () => {
  it('pauses the project pages and actions (503 with Retry-After) for everyone, changing nothing, and resumes after', async () => {
    const w = await world()
    const leeds = addSite(w, 'Leeds', 'LTH')
    const { id, owner } = await readyProject(w, [[leeds, 10]])
    const admin = await w.as(w.admin)
    const settings = getSiteSettings(w.t.db)
    saveSiteSettings(w.t.db, { ...settings, deploymentMode: true }, { at: w.t.clock.now(), actor: { id: w.admin.user.id, email: w.admin.user.email }, ip: '1.2.3.4' })
    for (const b of [owner, admin]) {
      const list = await b.get('/projects')
      expect(list.status).toBe(503)
      expect(list.headers.get('Retry-After')).toBe('300')
      expect((await b.get(`/projects/${id}`)).status).toBe(503)
    }
    expect((await owner.post('/projects/new', { name: 'During deployment', description: '' })).status).toBe(503)
    expect((await owner.post(`/projects/${id}/stage`, { site_ids: [String(leeds.id)] })).status).toBe(503)
    expect((await owner.post(`/projects/${id}/cohort-query`, { query: 'SELECT 2' })).status).toBe(503)
    expect(project(w, id).status).toBe('unstaged')
    expect(w.t.db.select().from(projects).all()).toHaveLength(1)
    expect(w.t.db.select().from(cohortQueries).all()).toHaveLength(1)
    saveSiteSettings(w.t.db, { ...settings, deploymentMode: false }, { at: w.t.clock.now(), actor: { id: w.admin.user.id, email: w.admin.user.email }, ip: '1.2.3.4' })
    expect((await owner.get(`/projects/${id}`)).status).toBe(200)
  })
})
