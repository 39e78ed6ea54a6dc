import { describe, expect, it } from 'vitest'
import { and, eq } from 'drizzle-orm'
import { createTestEnv, createTestUser, type TestEnv, type TestUser } from '../test/helpers.ts'
import { auditEvents, cohortQueries, projectMembers, projectSites, projects, roles, tasks, type Project, type Site } from '../db/schema.ts'
import { createSite } from './sites.ts'
import {
  PROJECT_PAGE_SIZE,
  SMALL_NUMBER_THRESHOLD,
  addProjectMember,
  approveProjectSites,
  createProject,
  deleteProject,
  getApprovedSiteIds,
  getCohortCounts,
  getCurrentCohortQuery,
  getProject,
  listProjectsForUser,
  removeProjectMember,
  saveCohortQuery,
  stageProject,
  unstageProject,
  updateProject,
  type Ctx,
} from './projects.ts'

// The project model (SPEC §4): every lifecycle transition is guarded by the state it starts from
// and commits together with its audit event, or not at all.

type Fixture = { t: TestEnv; admin: TestUser; owner: TestUser; leeds: Site; york: Site; hull: Site; ctx(u?: TestUser): Ctx }

async function fixture(): Promise<Fixture> {
  const t = createTestEnv()
  const admin = await createTestUser(t, { role: 'admin', email: 'admin@example.org' })
  const owner = await createTestUser(t, { role: 'researcher', email: 'owner@example.org' })
  const ctx = (u: TestUser = owner): Ctx => ({ actor: { id: u.user.id, email: u.user.email }, now: t.clock.now(), ip: '192.0.2.9' })
  const site = (name: string, code: string) => createSite(t.db, { name, code, contactEmail: '' }, ctx(admin)).site
  return { t, admin, owner, leeds: site('Leeds', 'LTH'), york: site('York', 'YSH'), hull: site('Hull', 'HUH'), ctx }
}

function fresh(f: Fixture, id: number): Project {
  return f.t.db.select().from(projects).where(eq(projects.id, id)).get()!
}

function report(f: Fixture, projectId: number, site: Site, count: number | { error: string }) {
  const query = getCurrentCohortQuery(f.t.db, projectId)!
  f.t.db
    .update(tasks)
    .set(typeof count === 'number' ? { status: 'done', resultCount: count, completedAt: f.t.clock.now() } : { status: 'error', error: count.error, completedAt: f.t.clock.now() })
    .where(and(eq(tasks.kind, 'cohort_query'), eq(tasks.siteId, site.id), eq(tasks.cohortQueryId, query.id)))
    .run()
}

/** An unstaged project with a cohort query every site answered (Leeds 50, York 20, Hull 8). */
function counted(f: Fixture): Project {
  const project = createProject(f.t.db, { name: 'Lung nodules', description: '', groupId: null }, f.ctx())
  const saved = saveCohortQuery(f.t.db, project, 'SELECT id FROM patients', f.ctx())
  expect(saved.ok).toBe(true)
  report(f, project.id, f.leeds, 50)
  report(f, project.id, f.york, 20)
  report(f, project.id, f.hull, 8)
  return fresh(f, project.id)
}

function staged(f: Fixture): Project {
  const project = counted(f)
  expect(stageProject(f.t.db, project, [f.leeds.id, f.york.id], f.ctx())).toEqual({ ok: true })
  return fresh(f, project.id)
}

function decisions(f: Fixture, projectId: number) {
  return f.t.db.select().from(projectSites).where(eq(projectSites.projectId, projectId)).orderBy(projectSites.siteId).all()
}

function audits(f: Fixture, event: string) {
  return f.t.db.select().from(auditEvents).where(eq(auditEvents.event, event)).all()
}

function retrievalTasks(f: Fixture, projectId: number) {
  return f.t.db
    .select()
    .from(tasks)
    .where(and(eq(tasks.projectId, projectId), eq(tasks.kind, 'image_retrieval')))
    .all()
}

/** Everything a transition could touch, to compare before and after a refusal. */
function snapshot(f: Fixture, projectId: number) {
  return {
    project: fresh(f, projectId),
    decisions: decisions(f, projectId),
    tasks: f.t.db.select().from(tasks).where(eq(tasks.projectId, projectId)).all(),
    versions: f.t.db.select().from(cohortQueries).where(eq(cohortQueries.projectId, projectId)).all(),
    members: f.t.db.select().from(projectMembers).where(eq(projectMembers.projectId, projectId)).all(),
    audits: f.t.db.select().from(auditEvents).all().length,
  }
}

/** Makes the next audit event named `event` fail, as a full disk or a crash would. */
function failAudit(f: Fixture, event: string) {
  f.t.db.$client.exec(`CREATE TEMP TRIGGER fail_audit BEFORE INSERT ON audit_events WHEN NEW.event = '${event}' BEGIN SELECT RAISE(ABORT, 'audit write failed'); END`)
}

// ─── stageProject ─────────────────────────────────────────────────────────────────────────────

describe('stageProject', () => {
  it('stages from unstaged: status, staged_at, one project_sites row per chosen site (deduplicated), audit', async () => {
    const f = await fixture()
    const project = counted(f)
    f.t.clock.advance(1000)
    expect(stageProject(f.t.db, project, [f.york.id, f.leeds.id, f.york.id], f.ctx())).toEqual({ ok: true })
    expect(fresh(f, project.id)).toMatchObject({ status: 'staged', stagedAt: f.t.clock.now(), updatedAt: f.t.clock.now() })
    expect(decisions(f, project.id).map((d) => [d.siteId, d.stagedAt, d.decision])).toEqual([
      [f.leeds.id, f.t.clock.now(), null],
      [f.york.id, f.t.clock.now(), null],
    ])
    const [event] = audits(f, 'project.staged')
    expect(event).toMatchObject({ actorId: f.owner.user.id, targetType: 'project', targetId: String(project.id), ip: '192.0.2.9' })
    expect(JSON.parse(event!.details)).toMatchObject({ site_ids: [f.york.id, f.leeds.id], cohort_query_version: 1 })
  })

  it('on an already staged project returns 409 and changes nothing', async () => {
    const f = await fixture()
    const project = staged(f)
    const before = snapshot(f, project.id)
    f.t.clock.advance(1000)
    const again = stageProject(f.t.db, project, [f.hull.id], f.ctx())
    expect(again).toMatchObject({ ok: false, status: 409 })
    expect(again.ok === false && again.reason).toContain('The project is staged: only an unstaged project can be staged.')
    expect(snapshot(f, project.id)).toEqual(before)
  })

  it('trusts the database, not the caller’s copy: a stale "unstaged" object of a staged project is 409', async () => {
    const f = await fixture()
    const stale = counted(f)
    expect(stageProject(f.t.db, stale, [f.leeds.id], f.ctx())).toEqual({ ok: true })
    const before = snapshot(f, stale.id)
    expect(stale.status).toBe('unstaged')
    expect(stageProject(f.t.db, stale, [f.hull.id], f.ctx())).toMatchObject({ ok: false, status: 409 })
    expect(snapshot(f, stale.id)).toEqual(before)
  })

  it('on an approved project returns 409 and changes nothing', async () => {
    const f = await fixture()
    const project = staged(f)
    expect(approveProjectSites(f.t.db, project, [f.leeds.id], f.ctx(f.admin))).toEqual({ ok: true })
    const before = snapshot(f, project.id)
    const res = stageProject(f.t.db, fresh(f, project.id), [f.leeds.id], f.ctx())
    expect(res).toMatchObject({ ok: false, status: 409 })
    expect(res.ok === false && res.reason).toContain('approved')
    expect(snapshot(f, project.id)).toEqual(before)
  })

  it('refuses a deleted project (409) and changes nothing', async () => {
    const f = await fixture()
    const project = counted(f)
    deleteProject(f.t.db, project, f.ctx())
    const before = snapshot(f, project.id)
    expect(stageProject(f.t.db, project, [f.leeds.id], f.ctx())).toMatchObject({ ok: false, status: 409 })
    expect(snapshot(f, project.id)).toEqual(before)
  })

  const refusals: [string, (f: Fixture, p: Project) => number[], string][] = [
    ['no site', () => [], 'Choose at least one site.'],
    ['an unknown site', (f) => [f.leeds.id, 999], 'No such site: 999.'],
    ['a site that reported 0', (f, p) => (report(f, p.id, f.hull, 0), [f.leeds.id, f.hull.id]), 'Hull (count 0)'],
    ['a site that reported an error', (f, p) => (report(f, p.id, f.hull, { error: 'no such table' }), [f.hull.id]), 'Hull (error)'],
    [
      'a site still waiting',
      (f, p) => (f.t.db.update(tasks).set({ status: 'pending', resultCount: null }).where(and(eq(tasks.projectId, p.id), eq(tasks.siteId, f.york.id))).run(), [f.york.id]),
      'York (waiting for the site)',
    ],
  ]
  for (const [label, choose, reason] of refusals) {
    it(`refuses ${label} with 422 on site_ids and changes nothing`, async () => {
      const f = await fixture()
      const project = counted(f)
      const ids = choose(f, project)
      const before = snapshot(f, project.id)
      const res = stageProject(f.t.db, project, ids, f.ctx())
      expect(res).toMatchObject({ ok: false, status: 422, field: 'site_ids' })
      expect(res.ok === false && res.reason).toContain(reason)
      expect(snapshot(f, project.id)).toEqual(before)
    })
  }

  it('refuses with 422 when there is no cohort query, and when the counts belong to an older version', async () => {
    const f = await fixture()
    const bare = createProject(f.t.db, { name: 'Bare', description: '', groupId: null }, f.ctx())
    expect(stageProject(f.t.db, bare, [f.leeds.id], f.ctx())).toMatchObject({ ok: false, status: 422, field: 'site_ids', reason: expect.stringContaining('cohort query first') })
    const project = counted(f)
    expect(saveCohortQuery(f.t.db, project, 'SELECT 2', f.ctx()).ok).toBe(true)
    const res = stageProject(f.t.db, project, [f.leeds.id], f.ctx())
    expect(res).toMatchObject({ ok: false, status: 422 })
    expect(res.ok === false && res.reason).toContain('(version 2): Leeds (waiting for the site)')
    expect(fresh(f, project.id).status).toBe('unstaged')
  })

  it('commits with its audit event or not at all', async () => {
    const f = await fixture()
    const project = counted(f)
    const before = snapshot(f, project.id)
    failAudit(f, 'project.staged')
    expect(() => stageProject(f.t.db, project, [f.leeds.id], f.ctx())).toThrow(/audit write failed/)
    expect(snapshot(f, project.id)).toEqual(before)
  })
})

// ─── unstageProject ───────────────────────────────────────────────────────────────────────────

describe('unstageProject', () => {
  it('takes a staged project back to unstaged and clears its site rows, audited', async () => {
    const f = await fixture()
    const project = staged(f)
    f.t.clock.advance(1000)
    expect(unstageProject(f.t.db, project, f.ctx(f.admin))).toEqual({ ok: true })
    expect(fresh(f, project.id)).toMatchObject({ status: 'unstaged', stagedAt: null, updatedAt: f.t.clock.now() })
    expect(decisions(f, project.id)).toEqual([])
    expect(audits(f, 'project.unstaged')).toEqual([expect.objectContaining({ actorId: f.admin.user.id, targetId: String(project.id) })])
    // and it can be edited and staged again
    expect(updateProject(f.t.db, fresh(f, project.id), { name: 'Again', description: '' }, f.ctx())).toEqual({ ok: true })
    expect(stageProject(f.t.db, fresh(f, project.id), [f.hull.id], f.ctx())).toEqual({ ok: true })
    expect(decisions(f, project.id).map((d) => d.siteId)).toEqual([f.hull.id])
  })

  it('on an unstaged project returns 409 and changes nothing; unstaging twice is 409 the second time', async () => {
    const f = await fixture()
    const project = counted(f)
    const before = snapshot(f, project.id)
    const res = unstageProject(f.t.db, project, f.ctx(f.admin))
    expect(res).toMatchObject({ ok: false, status: 409 })
    expect(res.ok === false && res.reason).toContain('only a staged project can be unstaged')
    expect(snapshot(f, project.id)).toEqual(before)

    const other = staged(f)
    expect(unstageProject(f.t.db, other, f.ctx(f.admin))).toEqual({ ok: true })
    const after = snapshot(f, other.id)
    expect(unstageProject(f.t.db, other, f.ctx(f.admin))).toMatchObject({ ok: false, status: 409 })
    expect(snapshot(f, other.id)).toEqual(after)
  })

  it('on an approved project returns 409 "cannot be unstaged" and keeps every decision', async () => {
    const f = await fixture()
    const project = staged(f)
    expect(approveProjectSites(f.t.db, project, [f.leeds.id], f.ctx(f.admin))).toEqual({ ok: true })
    const before = snapshot(f, project.id)
    const res = unstageProject(f.t.db, project, f.ctx(f.admin)) // a stale "staged" copy
    expect(res).toEqual({ ok: false, status: 409, reason: 'An approved project cannot be unstaged.' })
    expect(snapshot(f, project.id)).toEqual(before)
    expect(getApprovedSiteIds(f.t.db, project.id)).toEqual([f.leeds.id])
  })

  it('commits with its audit event or not at all', async () => {
    const f = await fixture()
    const project = staged(f)
    const before = snapshot(f, project.id)
    failAudit(f, 'project.unstaged')
    expect(() => unstageProject(f.t.db, project, f.ctx(f.admin))).toThrow(/audit write failed/)
    expect(snapshot(f, project.id)).toEqual(before)
  })
})

// ─── approveProjectSites ──────────────────────────────────────────────────────────────────────

describe('approveProjectSites', () => {
  it('records every staged site’s decision with who and when, approves the project, one image retrieval task per approved site', async () => {
    const f = await fixture()
    const project = staged(f)
    f.t.clock.advance(5000)
    expect(approveProjectSites(f.t.db, project, [f.york.id, f.york.id], f.ctx(f.admin))).toEqual({ ok: true })
    const now = f.t.clock.now()
    expect(fresh(f, project.id)).toMatchObject({ status: 'approved', approvedAt: now })
    expect(decisions(f, project.id).map((d) => [d.siteId, d.decision, d.decidedBy, d.decidedAt])).toEqual([
      [f.leeds.id, 'not approved', f.admin.user.id, now],
      [f.york.id, 'approved', f.admin.user.id, now],
    ])
    expect(retrievalTasks(f, project.id).map((t) => [t.siteId, t.status])).toEqual([[f.york.id, 'pending']])
    expect(getApprovedSiteIds(f.t.db, project.id)).toEqual([f.york.id])
    const [event] = audits(f, 'project.approved')
    expect(JSON.parse(event!.details)).toMatchObject({ approved_site_ids: [f.york.id], not_approved_site_ids: [f.leeds.id] })
  })

  it('on an unstaged project returns 409 and changes nothing', async () => {
    const f = await fixture()
    const project = counted(f)
    const before = snapshot(f, project.id)
    const res = approveProjectSites(f.t.db, project, [f.leeds.id], f.ctx(f.admin))
    expect(res).toMatchObject({ ok: false, status: 409 })
    expect(res.ok === false && res.reason).toContain('The project is unstaged')
    expect(snapshot(f, project.id)).toEqual(before)
  })

  it('twice: the second call returns 409 and changes nothing (no new decision, no new task)', async () => {
    const f = await fixture()
    const project = staged(f)
    expect(approveProjectSites(f.t.db, project, [f.leeds.id], f.ctx(f.admin))).toEqual({ ok: true })
    const before = snapshot(f, project.id)
    f.t.clock.advance(1000)
    expect(approveProjectSites(f.t.db, project, [f.leeds.id, f.york.id], f.ctx(f.admin))).toMatchObject({ ok: false, status: 409 })
    expect(snapshot(f, project.id)).toEqual(before)
  })

  it('refuses a site that was not staged (422, named) and changes nothing at all', async () => {
    const f = await fixture()
    const project = staged(f)
    const before = snapshot(f, project.id)
    const res = approveProjectSites(f.t.db, project, [f.leeds.id, f.hull.id, 4242], f.ctx(f.admin))
    expect(res).toMatchObject({ ok: false, status: 422, field: 'approved_site_ids' })
    expect(res.ok === false && res.reason).toBe('Not staged for this project, so it cannot be approved: Hull, #4242. Nothing was changed.')
    expect(snapshot(f, project.id)).toEqual(before)
  })

  it('needs at least one site on (422) and changes nothing', async () => {
    const f = await fixture()
    const project = staged(f)
    const before = snapshot(f, project.id)
    expect(approveProjectSites(f.t.db, project, [], f.ctx(f.admin))).toMatchObject({ ok: false, status: 422, reason: 'Approve at least one site.' })
    expect(snapshot(f, project.id)).toEqual(before)
  })

  it('commits with its audit event or not at all (no decisions, no tasks, still staged)', async () => {
    const f = await fixture()
    const project = staged(f)
    const before = snapshot(f, project.id)
    failAudit(f, 'project.approved')
    expect(() => approveProjectSites(f.t.db, project, [f.leeds.id], f.ctx(f.admin))).toThrow(/audit write failed/)
    expect(snapshot(f, project.id)).toEqual(before)
  })
})

// ─── Editing guards ───────────────────────────────────────────────────────────────────────────

describe('updateProject and saveCohortQuery', () => {
  it('refuse a staged or approved project with 409 saying so, even from a stale copy, and change nothing', async () => {
    const f = await fixture()
    const stale = counted(f)
    expect(stageProject(f.t.db, stale, [f.leeds.id], f.ctx())).toEqual({ ok: true })
    const before = snapshot(f, stale.id)
    const edit = updateProject(f.t.db, stale, { name: 'Changed', description: '' }, f.ctx())
    expect(edit).toEqual({ ok: false, status: 409, reason: 'The project is staged: it is locked for editing until an admin unstages it.' })
    expect(saveCohortQuery(f.t.db, stale, 'SELECT 9', f.ctx())).toMatchObject({ ok: false, status: 409, reason: expect.stringContaining('staged') })
    expect(snapshot(f, stale.id)).toEqual(before)
    expect(approveProjectSites(f.t.db, stale, [f.leeds.id], f.ctx(f.admin))).toEqual({ ok: true })
    const approved = snapshot(f, stale.id)
    expect(updateProject(f.t.db, stale, { name: 'Changed', description: '' }, f.ctx())).toEqual({ ok: false, status: 409, reason: 'The project is approved: it is locked for editing.' })
    expect(saveCohortQuery(f.t.db, stale, 'SELECT 9', f.ctx())).toMatchObject({ ok: false, status: 409, reason: expect.stringContaining('approved') })
    expect(snapshot(f, stale.id)).toEqual(approved)
  })

  it('saveCohortQuery numbers versions 1, 2, … per project and sends one task per site per save', async () => {
    const f = await fixture()
    const a = createProject(f.t.db, { name: 'A', description: '', groupId: null }, f.ctx())
    const b = createProject(f.t.db, { name: 'B', description: '', groupId: null }, f.ctx())
    const versions = [
      saveCohortQuery(f.t.db, a, 'SELECT 1', f.ctx()),
      saveCohortQuery(f.t.db, b, 'SELECT 1', f.ctx()),
      saveCohortQuery(f.t.db, a, 'SELECT 2', f.ctx()),
    ].map((r) => (r.ok ? r.value.version : null))
    expect(versions).toEqual([1, 1, 2])
    expect(getCurrentCohortQuery(f.t.db, a.id)).toMatchObject({ version: 2, sqlText: 'SELECT 2' })
    expect(f.t.db.select().from(tasks).where(eq(tasks.projectId, a.id)).all()).toHaveLength(6)
    expect(f.t.db.select().from(tasks).where(eq(tasks.projectId, b.id)).all()).toHaveLength(3)
  })

  it('commit with their audit event or not at all', async () => {
    const f = await fixture()
    const project = createProject(f.t.db, { name: 'A', description: '', groupId: null }, f.ctx())
    const before = snapshot(f, project.id)
    failAudit(f, 'cohort_query.saved')
    expect(() => saveCohortQuery(f.t.db, project, 'SELECT 1', f.ctx())).toThrow(/audit write failed/)
    expect(snapshot(f, project.id)).toEqual(before)
    f.t.db.$client.exec('DROP TRIGGER fail_audit')
    failAudit(f, 'project.updated')
    expect(() => updateProject(f.t.db, project, { name: 'B', description: '' }, f.ctx())).toThrow(/audit write failed/)
    expect(snapshot(f, project.id)).toEqual(before)
  })
})

// ─── Create, delete, members ──────────────────────────────────────────────────────────────────

describe('createProject, deleteProject and members', () => {
  it('createProject commits with its audit event or not at all', async () => {
    const f = await fixture()
    failAudit(f, 'project.created')
    expect(() => createProject(f.t.db, { name: 'A', description: '', groupId: null }, f.ctx())).toThrow(/audit write failed/)
    expect(f.t.db.select().from(projects).all()).toEqual([])
  })

  it('deleteProject is a soft delete: hidden from getProject and lists, row kept; rolled back without its audit event', async () => {
    const f = await fixture()
    const project = staged(f)
    failAudit(f, 'project.deleted')
    expect(() => deleteProject(f.t.db, project, f.ctx())).toThrow(/audit write failed/)
    expect(fresh(f, project.id).deletedAt).toBeNull()
    f.t.db.$client.exec('DROP TRIGGER fail_audit')
    deleteProject(f.t.db, project, f.ctx())
    expect(fresh(f, project.id)).toMatchObject({ deletedAt: f.t.clock.now(), status: 'staged' })
    expect(getProject(f.t.db, project.id)).toBeNull()
    expect(listProjectsForUser(f.t.db, { userId: f.admin.user.id, everything: true, q: '', page: 1 }).total).toBe(0)
    expect(audits(f, 'project.deleted')).toHaveLength(1)
  })

  it('deleteProject on an already deleted project writes no second project.deleted audit event', async () => {
    // Two delete requests racing past the route's 404 check both reach deleteProject: the guarded
    // UPDATE changes nothing the second time, but the audit event is written regardless.
    const f = await fixture()
    const project = counted(f)
    deleteProject(f.t.db, project, f.ctx())
    const deletedAt = fresh(f, project.id).deletedAt
    f.t.clock.advance(1000)
    deleteProject(f.t.db, project, f.ctx(f.admin))
    expect(fresh(f, project.id).deletedAt).toBe(deletedAt)
    expect(audits(f, 'project.deleted')).toHaveLength(1)
  })

  it('a membership is a set of roles: adding adds only the missing ones (422 when none is missing); removing a non-member is a no-op without audit; both commit with their audit event', async () => {
    const f = await fixture()
    const project = createProject(f.t.db, { name: 'A', description: '', groupId: null }, f.ctx())
    const member = await createTestUser(f.t, { role: 'researcher', email: 'member@example.org' })
    const contributor = f.t.db.select().from(roles).where(eq(roles.name, 'contributor')).get()!
    const readOnly = f.t.db.select().from(roles).where(eq(roles.name, 'read-only')).get()!

    failAudit(f, 'project.member_added')
    expect(() => addProjectMember(f.t.db, project, member.user, contributor, f.ctx())).toThrow(/audit write failed/)
    expect(f.t.db.select().from(projectMembers).all()).toEqual([])
    f.t.db.$client.exec('DROP TRIGGER fail_audit')

    expect(addProjectMember(f.t.db, project, member.user, contributor, f.ctx())).toEqual({ ok: true })
    expect(addProjectMember(f.t.db, project, member.user, contributor, f.ctx())).toEqual({ ok: false, status: 422, field: 'role', reason: 'This person holds these project roles already.' })
    expect(addProjectMember(f.t.db, project, member.user, [contributor, readOnly], f.ctx())).toEqual({ ok: true })
    expect(f.t.db.select().from(projectMembers).all().map((m) => m.roleId).sort()).toEqual([contributor.id, readOnly.id].sort())
    expect(audits(f, 'project.member_added')).toHaveLength(1)
    expect(audits(f, 'project.member_roles_added').map((e) => JSON.parse(e.details) as unknown)).toEqual([expect.objectContaining({ roles: ['read-only'] })])

    expect(removeProjectMember(f.t.db, project, f.admin.user.id, f.ctx())).toBe(false)
    expect(audits(f, 'project.member_removed')).toHaveLength(0)

    failAudit(f, 'project.member_removed')
    expect(() => removeProjectMember(f.t.db, project, member.user.id, f.ctx())).toThrow(/audit write failed/)
    expect(f.t.db.select().from(projectMembers).all()).toHaveLength(2)
    f.t.db.$client.exec('DROP TRIGGER fail_audit')
    expect(removeProjectMember(f.t.db, project, member.user.id, f.ctx())).toBe(true)
    expect(f.t.db.select().from(projectMembers).all()).toEqual([])
    expect(audits(f, 'project.member_removed')).toHaveLength(1)
  })
})

// ─── Reads ────────────────────────────────────────────────────────────────────────────────────

describe('getCohortCounts', () => {
  it('suppresses counts under 5, formats the rest, reports errors, waiting and not-sent sites', async () => {
    const f = await fixture()
    expect(SMALL_NUMBER_THRESHOLD).toBe(5)
    const project = createProject(f.t.db, { name: 'A', description: '', groupId: null }, f.ctx())
    expect(getCohortCounts(f.t.db, null).map((c) => c.shown)).toEqual(['not sent', 'not sent', 'not sent'])
    const saved = saveCohortQuery(f.t.db, project, 'SELECT 1', f.ctx())
    if (!saved.ok) throw new Error('not saved')
    report(f, project.id, f.leeds, 4)
    report(f, project.id, f.hull, { error: 'syntax error' })
    const late = createSite(f.t.db, { name: 'Zeta', code: 'ZZZ', contactEmail: '' }, f.ctx(f.admin)).site
    const byName = (name: string) => getCohortCounts(f.t.db, saved.value.id).find((c) => c.site.name === name)!
    expect(byName('Leeds')).toMatchObject({ state: 'counted', count: 4, shown: '< 5', error: null })
    expect(byName('Hull')).toMatchObject({ state: 'error', count: null, shown: 'error', error: 'syntax error' })
    expect(byName('York')).toMatchObject({ state: 'waiting', count: null, shown: 'waiting for the site' })
    expect(byName(late.name)).toMatchObject({ state: 'waiting', shown: 'not sent' })
    for (const [n, shown] of [
      [0, '< 5'],
      [5, '5'],
      [1234567, '1,234,567'],
    ] as const) {
      report(f, project.id, f.leeds, n)
      expect(byName('Leeds')).toMatchObject({ count: n, shown })
    }
  })
})

describe('listProjectsForUser', () => {
  it('lists owned and member projects (all for everything), newest first, 25 a page, never deleted ones', async () => {
    const f = await fixture()
    const other = await createTestUser(f.t, { role: 'researcher', email: 'other@example.org' })
    const contributor = f.t.db.select().from(roles).where(eq(roles.name, 'contributor')).get()!
    const own = Array.from({ length: 27 }, (_, i) => createProject(f.t.db, { name: `Own ${i}`, description: '', groupId: null }, f.ctx()))
    const theirs = createProject(f.t.db, { name: 'Theirs', description: '', groupId: null }, f.ctx(other))
    const shared = createProject(f.t.db, { name: 'Shared', description: 'cardiac', groupId: null }, f.ctx(other))
    addProjectMember(f.t.db, shared, f.owner.user, contributor, f.ctx(other))
    deleteProject(f.t.db, own[0]!, f.ctx())

    expect(PROJECT_PAGE_SIZE).toBe(25)
    const page1 = listProjectsForUser(f.t.db, { userId: f.owner.user.id, everything: false, q: '', page: 1 })
    expect(page1).toMatchObject({ total: 27, page: 1, pages: 2 })
    expect(page1.rows.map((r) => r.project.id)).toEqual([shared.id, ...own.slice(1).reverse().map((p) => p.id)].slice(0, 25))
    const page2 = listProjectsForUser(f.t.db, { userId: f.owner.user.id, everything: false, q: '', page: 7 })
    expect(page2.page).toBe(2)
    expect(page2.rows.map((r) => r.project.id)).toEqual(own.slice(1, 3).reverse().map((p) => p.id))
    expect([...page1.rows, ...page2.rows].map((r) => r.project.id)).not.toContain(theirs.id)

    const all = listProjectsForUser(f.t.db, { userId: f.admin.user.id, everything: true, q: '', page: 1 })
    expect(all.total).toBe(28)
    expect(listProjectsForUser(f.t.db, { userId: other.user.id, everything: false, q: '', page: 1 }).total).toBe(2)
    expect(listProjectsForUser(f.t.db, { userId: f.owner.user.id, everything: false, q: 'SHARED', page: 1 }).rows.map((r) => r.project.id)).toEqual([shared.id])
    expect(listProjectsForUser(f.t.db, { userId: f.owner.user.id, everything: false, q: 'Own 0', page: 1 }).total).toBe(0) // deleted
  })

  it('status "deleted" lists deleted projects only with everything; for anyone else it is no status filter (their live projects), never their own deleted ones', async () => {
    const f = await fixture()
    const live = createProject(f.t.db, { name: 'Live', description: '', groupId: null }, f.ctx())
    const gone = createProject(f.t.db, { name: 'Gone', description: '', groupId: null }, f.ctx())
    deleteProject(f.t.db, gone, f.ctx())
    const ids = (userId: number, everything: boolean) => listProjectsForUser(f.t.db, { userId, everything, q: '', page: 1, status: 'deleted' }).rows.map((r) => r.project.id)
    expect(ids(f.owner.user.id, false)).toEqual([live.id])
    expect(ids(f.admin.user.id, true)).toEqual([gone.id])
  })
})
