import { describe, expect, it } from 'vitest'
import { and, eq } from 'drizzle-orm'
import { createHash } from 'node:crypto'
import { createTestEnv, createTestUser, type TestEnv, type TestUser } from '../test/helpers.ts'
import { auditEvents, models, projectSites, projects, siteApprovers, siteDecisions, taskEvents, tasks, trainingRuns } from '../db/schema.ts'
import { worldTools, type SiteWithKey } from '../test/approval-world.ts'
import { createProject, getCurrentCohortQuery, saveCohortQuery } from '../models/projects.ts'
import { createModel, startTraining } from '../models/models.ts'

// Per-site decisions, who decides, withdrawal and enforcement at hand-out (SPEC §4.1), over HTTP
// on the real migrations. Leeds and Hull decide for themselves (approvers Alice, Ann; Bob); York
// has no approvers, so admins decide for it; Sheffield is registered but not staged.

const V1 = '/api/sites/v1'
const SQL = 'SELECT id FROM patients WHERE age > 40'

async function world() {
  const t = createTestEnv()
  const admin = await createTestUser(t, { role: 'admin', email: 'admin@example.org' })
  const owner = await createTestUser(t, { role: 'researcher', email: 'owner@example.org' })
  const alice = await createTestUser(t, { role: 'observer', email: 'alice@leeds.example.org' })
  const ann = await createTestUser(t, { role: 'researcher', email: 'ann@leeds.example.org' })
  const bob = await createTestUser(t, { role: 'researcher', email: 'bob@hull.example.org' })
  const { ctx, site, appoint, as } = worldTools(t, admin)
  const leeds = site('Leeds Teaching Hospitals', 'LTH')
  const york = site('York and Scarborough', 'YSH')
  const hull = site('Hull University', 'HUH')
  const sheffield = site('Sheffield', 'STH')
  appoint(leeds, alice)
  appoint(leeds, ann)
  appoint(hull, bob)
  return { t, admin, owner, alice, ann, bob, leeds, york, hull, sheffield, ctx, as }
}

type World = Awaited<ReturnType<typeof world>>

/** A project staged at Leeds, York and Hull, each having counted the query. */
function stagedProject(w: World, stageAt: SiteWithKey[] = [w.leeds, w.york, w.hull]): number {
  const ownerCtx = () => ({ actor: { id: w.owner.user.id, email: w.owner.user.email }, now: w.t.clock.now(), ip: '198.51.100.2' })
  const project = createProject(w.t.db, { name: 'Lung nodules', description: 'CT follow-up', groupId: null }, ownerCtx())
  const saved = saveCohortQuery(w.t.db, project, SQL, ownerCtx())
  if (!saved.ok) throw new Error('query not saved')
  w.t.db.update(tasks).set({ status: 'done', resultCount: 50, completedAt: w.t.clock.now() }).where(and(eq(tasks.projectId, project.id), eq(tasks.kind, 'cohort_query'))).run()
  w.t.db.update(projects).set({ status: 'staged', stagedAt: w.t.clock.now() }).where(eq(projects.id, project.id)).run()
  if (stageAt.length > 0) w.t.db.insert(projectSites).values(stageAt.map((s) => ({ projectId: project.id, siteId: s.site.id, stagedAt: w.t.clock.now() }))).run()
  return project.id
}

const approve = (extra: Record<string, string> = {}) => ({ confirm: 'yes', decision: 'approve', reason: '', conditions: '', agreement: '', expires_on: '', ...extra })
const decisionPath = (id: number, s: SiteWithKey) => `/projects/${id}/sites/${s.site.id}/decision`

function decisionRows(w: World, projectId: number) {
  return w.t.db.select().from(siteDecisions).where(eq(siteDecisions.projectId, projectId)).orderBy(siteDecisions.id).all()
}
function taskRows(w: World, projectId: number, siteId: number, kind: 'image_retrieval' | 'training') {
  return w.t.db.select().from(tasks).where(and(eq(tasks.projectId, projectId), eq(tasks.siteId, siteId), eq(tasks.kind, kind))).orderBy(tasks.id).all()
}
function status(w: World, id: number) {
  return w.t.db.select().from(projects).where(eq(projects.id, id)).get()!.status
}
function audits(w: World, event: string) {
  return w.t.db.select().from(auditEvents).where(eq(auditEvents.event, event)).all()
}
function api(w: World, s: SiteWithKey) {
  const send = (method: string, path: string, json?: unknown) =>
    w.t.app.request(`${V1}${path}`, { method, body: json === undefined ? undefined : JSON.stringify(json), headers: { Authorization: `Bearer ${s.key}`, 'Content-Type': 'application/json' } })
  return {
    listed: async () => ((await (await send('GET', '/tasks')).json()) as { tasks: { id: number; kind: string }[] }).tasks,
    claim: (id: number) => send('POST', `/tasks/${id}/claim`),
    result: (id: number, body: unknown) => send('POST', `/tasks/${id}/result`, body),
  }
}
async function expect403(res: Response, text: string) {
  expect(res.status).toBe(403)
  expect(await res.text()).toContain(text)
}

describe('who decides (SPEC §4.1)', () => {
  it('the admin form refuses the whole request (403) when it names a site with approvers, and changes nothing', async () => {
    const w = await world()
    const id = stagedProject(w)
    const admin = await w.as(w.admin)
    await expect403(await admin.post(`/projects/${id}/approvals`, { approved_site_ids: [String(w.york.site.id), String(w.leeds.site.id)] }), 'Leeds Teaching Hospitals decides for itself')
    expect(status(w, id)).toBe('staged')
    expect(decisionRows(w, id)).toEqual([])
    expect(w.t.db.select().from(projectSites).where(eq(projectSites.projectId, id)).all().every((r) => r.decision === null)).toBe(true)
    expect(taskRows(w, id, w.york.site.id, 'image_retrieval')).toHaveLength(0)
    // York alone (no approvers) is the admins' to decide; Leeds and Hull stay undecided, not "declined"
    expect((await admin.post(`/projects/${id}/approvals`, { approved_site_ids: [String(w.york.site.id)] })).status).toBe(303)
    expect(status(w, id)).toBe('approved')
    expect(decisionRows(w, id).map((r) => [r.siteId, r.decision])).toEqual([[w.york.site.id, 'approve']])
    const cached = new Map(w.t.db.select().from(projectSites).where(eq(projectSites.projectId, id)).all().map((r) => [r.siteId, r.decision]))
    expect(cached.get(w.leeds.site.id)).toBeNull()
    expect(cached.get(w.hull.site.id)).toBeNull()
  })

  it('an admin deciding for a site with approvers gets 403 and nothing changes', async () => {
    const w = await world()
    const id = stagedProject(w)
    await expect403(await (await w.as(w.admin)).post(decisionPath(id, w.leeds), approve()), 'only its site approvers decide for it, not admins')
    expect(decisionRows(w, id)).toEqual([])
    expect(status(w, id)).toBe('staged')
    expect(audits(w, 'site.approved_project')).toHaveLength(0)
  })

  it('an approver of Hull deciding for Leeds gets 403; a non-decider who cannot read the project gets 404', async () => {
    const w = await world()
    const id = stagedProject(w)
    await expect403(await (await w.as(w.bob)).post(decisionPath(id, w.leeds), approve()), 'Leeds Teaching Hospitals decides for itself')
    await expect403(await (await w.as(w.bob)).post(decisionPath(id, w.york), approve()), 'does not grant projects.approve')
    expect(decisionRows(w, id)).toEqual([])
    // a project staged only at York: Bob decides for none of its sites and is no member → 404
    const other = stagedProject(w, [w.york])
    expect((await (await w.as(w.bob)).post(decisionPath(other, w.york), approve())).status).toBe(404)
  })
})

describe('POST /projects/:id/sites/:siteId/decision', () => {
  it('asks first: without confirm=yes the page names the site and what follows, carries the fields, and nothing is recorded', async () => {
    const w = await world()
    const id = stagedProject(w)
    const alice = await w.as(w.alice)
    const { confirm: _, ...unconfirmed } = approve({ expires_on: '2027-06-30', conditions: 'No under-18s.' })
    const asked = await alice.post(decisionPath(id, w.leeds), unconfirmed)
    expect(asked.status).toBe(200)
    const askedPage = await asked.text()
    expect(askedPage).toContain('Leeds Teaching Hospitals takes part')
    expect(askedPage).toContain('until the end of 2027-06-30 (UTC)')
    expect(askedPage).toContain('name="conditions" value="No under-18s."')
    expect(askedPage).toContain('name="confirm" value="yes"')
    const declining = await alice.post(decisionPath(id, w.leeds), { decision: 'decline', reason: 'No capacity.' })
    expect(declining.status).toBe(200)
    expect(await declining.text()).toContain('does not take part')
    expect(decisionRows(w, id)).toEqual([])
    expect(status(w, id)).toBe('staged')
    expect(taskRows(w, id, w.leeds.site.id, 'image_retrieval')).toEqual([])
  })

  it('the first approval makes the project approved, records the evidence and the query it saw, with its audit event, and sends an image retrieval task', async () => {
    const w = await world()
    const id = stagedProject(w)
    const alice = await w.as(w.alice)
    const at = w.t.clock.now()
    const res = await alice.post(decisionPath(id, w.leeds), approve({ conditions: 'No images of under-18s.', agreement: 'DUA-2026-041', expires_on: '2027-06-30', reason: 'Ethics ok' }))
    expect(res.status).toBe(303)
    expect(status(w, id)).toBe('approved')
    const query = getCurrentCohortQuery(w.t.db, id)!
    const [row] = decisionRows(w, id)
    expect(row).toMatchObject({
      siteId: w.leeds.site.id,
      decision: 'approve',
      decidedBy: w.alice.user.id,
      decidedAt: at,
      reason: 'Ethics ok',
      conditions: 'No images of under-18s.',
      agreement: 'DUA-2026-041',
      expiresOn: '2027-06-30',
      cohortQueryId: query.id,
      cohortQuerySha256: createHash('sha256').update(SQL).digest('hex'),
    })
    expect(taskRows(w, id, w.leeds.site.id, 'image_retrieval')).toHaveLength(1)
    expect(taskRows(w, id, w.hull.site.id, 'image_retrieval')).toHaveLength(0)
    const [event] = audits(w, 'site.approved_project')
    expect(JSON.parse(event!.details)).toMatchObject({ decision_id: row!.id, site_id: w.leeds.site.id, agreement: 'DUA-2026-041' })
    // the page shows the decision with its evidence
    const page = await (await (await w.as(w.alice)).get(decisionPath(id, w.leeds))).text()
    expect(page).toContain('DUA-2026-041')
    expect(page).toContain('No images of under-18s.')
  })

  it('a decline without a reason is 422 with the field marked and the values kept; nothing is recorded', async () => {
    const w = await world()
    const id = stagedProject(w)
    const res = await (await w.as(w.alice)).post(decisionPath(id, w.leeds), { confirm: 'yes', decision: 'decline', reason: '', conditions: 'kept text', agreement: 'DUA-9', expires_on: '' })
    expect(res.status).toBe(422)
    const html = await res.text()
    expect(html).toContain('Give the reason for declining.')
    expect(html).toMatch(/id="f-reason"[^>]*aria-invalid="true"/)
    expect(html).toContain('kept text')
    expect(html).toContain('value="DUA-9"')
    expect(decisionRows(w, id)).toEqual([])
    // with a reason it is recorded, and the project stays staged
    expect((await (await w.as(w.alice)).post(decisionPath(id, w.leeds), { confirm: 'yes', decision: 'decline', reason: 'No capacity this year.' })).status).toBe(303)
    expect(status(w, id)).toBe('staged')
    expect(decisionRows(w, id).map((r) => r.decision)).toEqual(['decline'])
  })

  it.each([
    ['2026-11-02', 'must be after today'],
    ['2025-01-01', 'must be after today'],
    ['2026-13-01', 'YYYY-MM-DD'],
    ['2026-02-30', 'YYYY-MM-DD'],
    ['tomorrow', 'YYYY-MM-DD'],
  ])('an expires_on of %s is 422 (%s)', async (expiresOn, message) => {
    const w = await world()
    const id = stagedProject(w)
    const res = await (await w.as(w.alice)).post(decisionPath(id, w.leeds), approve({ expires_on: expiresOn }))
    expect(res.status).toBe(422)
    const html = await res.text()
    expect(html).toContain(message)
    expect(html).toMatch(/id="f-expires_on"[^>]*aria-invalid="true"/)
    expect(decisionRows(w, id)).toEqual([])
    expect(status(w, id)).toBe('staged')
  })

  it('refuses over-long fields and an unknown decision with 422 per field', async () => {
    const w = await world()
    const id = stagedProject(w)
    const res = await (await w.as(w.alice)).post(decisionPath(id, w.leeds), approve({ conditions: 'x'.repeat(2001), agreement: 'a'.repeat(201) }))
    expect(res.status).toBe(422)
    const html = await res.text()
    expect(html).toMatch(/id="f-conditions"[^>]*aria-invalid="true"/)
    expect(html).toMatch(/id="f-agreement"[^>]*aria-invalid="true"/)
    const bad = await (await w.as(w.alice)).post(decisionPath(id, w.leeds), approve({ confirm: 'yes', decision: 'maybe' }))
    expect(bad.status).toBe(422)
    expect(await bad.text()).toContain('Choose approve or decline.')
    expect(decisionRows(w, id)).toEqual([])
  })

  it('a site not staged for the project is 422, an unknown site 404, and nothing changes', async () => {
    const w = await world()
    const id = stagedProject(w)
    const notStaged = await (await w.as(w.admin)).post(decisionPath(id, w.sheffield), approve())
    expect(notStaged.status).toBe(422)
    expect(await notStaged.text()).toContain('Sheffield was not staged for this project')
    expect((await (await w.as(w.admin)).post(`/projects/${id}/sites/9999/decision`, approve())).status).toBe(404)
    expect((await (await w.as(w.admin)).post(`/projects/${id}/sites/abc/decision`, approve())).status).toBe(404)
    expect(decisionRows(w, id)).toEqual([])
    expect(status(w, id)).toBe('staged')
  })

  it('a decision on an unstaged project is 409, on a deleted project 404', async () => {
    const w = await world()
    const id = stagedProject(w)
    w.t.db.update(projects).set({ status: 'unstaged' }).where(eq(projects.id, id)).run()
    const res = await (await w.as(w.admin)).post(decisionPath(id, w.york), approve())
    expect(res.status).toBe(409)
    expect(await res.text()).toContain('sites decide on staged or approved projects')
    w.t.db.update(projects).set({ status: 'staged', deletedAt: w.t.clock.now() }).where(eq(projects.id, id)).run()
    expect((await (await w.as(w.admin)).post(decisionPath(id, w.york), approve())).status).toBe(404)
    expect(decisionRows(w, id)).toEqual([])
  })

  it('a site approving later joins: image retrieval task, and added to the allowed sites of existing models', async () => {
    const w = await world()
    const id = stagedProject(w)
    expect((await (await w.as(w.alice)).post(decisionPath(id, w.leeds), approve())).status).toBe(303)
    const project = w.t.db.select().from(projects).where(eq(projects.id, id)).get()!
    const ownerCtx = { actor: { id: w.owner.user.id, email: w.owner.user.email }, now: w.t.clock.now(), ip: '198.51.100.2' }
    const model = createModel(w.t.db, project, { name: 'ResNet', description: '' }, ownerCtx)
    if (!model.ok) throw new Error('model not created')
    expect(model.value.allowedSiteIds).toEqual([w.leeds.site.id])
    // Hull declined first, then approves later
    expect((await (await w.as(w.bob)).post(decisionPath(id, w.hull), { confirm: 'yes', decision: 'decline', reason: 'Waiting for DUA.' })).status).toBe(303)
    expect(taskRows(w, id, w.hull.site.id, 'image_retrieval')).toHaveLength(0)
    expect((await (await w.as(w.bob)).post(decisionPath(id, w.hull), approve({ agreement: 'DUA-7' }))).status).toBe(303)
    expect(taskRows(w, id, w.hull.site.id, 'image_retrieval')).toHaveLength(1)
    const after = w.t.db.select().from(models).where(eq(models.id, model.value.id)).get()!
    expect(after.allowedSiteIds).toEqual([w.leeds.site.id, w.hull.site.id].sort((a, b) => a - b))
    expect(JSON.parse(audits(w, 'site.approved_project').at(-1)!.details)).toMatchObject({ joined_late: true, site_id: w.hull.site.id })
    expect(decisionRows(w, id).map((r) => [r.siteId, r.decision])).toEqual([
      [w.leeds.site.id, 'approve'],
      [w.hull.site.id, 'decline'],
      [w.hull.site.id, 'approve'],
    ])
  })

  it('two approvers of one site deciding at once are both recorded, in order, with one consistent current state', async () => {
    const w = await world()
    const id = stagedProject(w)
    const [a, b] = await Promise.all([(await w.as(w.alice)).post(decisionPath(id, w.leeds), approve({ conditions: 'Alice' })), (await w.as(w.ann)).post(decisionPath(id, w.leeds), approve({ conditions: 'Ann' }))])
    expect([a.status, b.status]).toEqual([303, 303])
    const rows = decisionRows(w, id)
    expect(rows.map((r) => r.conditions).sort()).toEqual(['Alice', 'Ann'])
    expect(rows[0]!.id).toBeLessThan(rows[1]!.id)
    expect(status(w, id)).toBe('approved')
    // the second approval renews the first: one image retrieval task, not two
    expect(taskRows(w, id, w.leeds.site.id, 'image_retrieval')).toHaveLength(1)
    expect(audits(w, 'site.approved_project')).toHaveLength(2)
  })

  it('refuses a decision posted from a foreign Origin, recording nothing', async () => {
    const w = await world()
    const id = stagedProject(w)
    const res = await (await w.as(w.alice)).post(decisionPath(id, w.leeds), approve(), { Origin: 'https://evil.example' })
    expect(res.status).toBe(403)
    expect(decisionRows(w, id)).toEqual([])
    expect(status(w, id)).toBe('staged')
  })

  it('a current approval is withdrawn, not declined (409)', async () => {
    const w = await world()
    const id = stagedProject(w)
    await (await w.as(w.alice)).post(decisionPath(id, w.leeds), approve())
    const res = await (await w.as(w.ann)).post(decisionPath(id, w.leeds), { confirm: 'yes', decision: 'decline', reason: 'changed mind' })
    expect(res.status).toBe(409)
    expect(await res.text()).toContain('withdraw the approval instead')
    expect(decisionRows(w, id)).toHaveLength(1)
  })
})

describe('POST /projects/:id/sites/:siteId/withdraw, and enforcement at hand-out', () => {
  async function approvedWithWork(w: World) {
    const id = stagedProject(w)
    expect((await (await w.as(w.alice)).post(decisionPath(id, w.leeds), approve())).status).toBe(303)
    const project = w.t.db.select().from(projects).where(eq(projects.id, id)).get()!
    const ownerCtx = { actor: { id: w.owner.user.id, email: w.owner.user.email }, now: w.t.clock.now(), ip: '198.51.100.2' }
    const model = createModel(w.t.db, project, { name: 'ResNet', description: '' }, ownerCtx)
    if (!model.ok) throw new Error('model not created')
    const now = w.t.clock.now()
    w.t.db.update(models).set({ status: 'running' }).where(eq(models.id, model.value.id)).run()
    const run = w.t.db.insert(trainingRuns).values({ modelId: model.value.id, siteId: w.leeds.site.id, status: 'running', startedBy: w.owner.user.id, createdAt: now, updatedAt: now }).returning().get()
    const training = w.t.db.insert(tasks).values({ siteId: w.leeds.site.id, kind: 'training', projectId: id, trainingRunId: run.id, createdAt: now }).returning().get()
    const [image] = taskRows(w, id, w.leeds.site.id, 'image_retrieval')
    return { id, model: model.value, run, training, image: image!, ownerCtx }
  }

  it('needs a reason (422), is refused to a non-decider (403), cancels the site’s open tasks and stops its running training', async () => {
    const w = await world()
    const { id, model, run, training, image, ownerCtx } = await approvedWithWork(w)
    const site = api(w, w.leeds)
    expect((await site.claim(training.id)).status).toBe(200)
    const noReason = await (await w.as(w.ann)).post(`/projects/${id}/sites/${w.leeds.site.id}/withdraw`, { reason: '  ' })
    expect(noReason.status).toBe(422)
    expect(await noReason.text()).toContain('Give the reason for withdrawing.')
    await expect403(await (await w.as(w.admin)).post(`/projects/${id}/sites/${w.leeds.site.id}/withdraw`, { reason: 'hub says so' }), 'decides for itself')
    await expect403(await (await w.as(w.bob)).post(`/projects/${id}/sites/${w.leeds.site.id}/withdraw`, { reason: 'x' }), 'decides for itself')
    expect(w.t.db.select().from(tasks).where(eq(tasks.id, image.id)).get()!.status).toBe('pending')

    // first a confirmation that names the site and what follows; nothing changes yet
    const confirm = await (await w.as(w.ann)).post(`/projects/${id}/sites/${w.leeds.site.id}/withdraw`, { reason: 'DUA terminated.' })
    expect(confirm.status).toBe(200)
    const question = await confirm.text()
    expect(question).toContain('Withdraw Leeds Teaching Hospitals')
    expect(question).toContain('name="reason" value="DUA terminated."')
    expect(w.t.db.select().from(tasks).where(eq(tasks.id, image.id)).get()!.status).toBe('pending')
    expect((await (await w.as(w.ann)).post(`/projects/${id}/sites/${w.leeds.site.id}/withdraw`, { reason: 'DUA terminated.', confirm: 'yes' })).status).toBe(303)
    for (const t of [image, training]) {
      expect(w.t.db.select().from(tasks).where(eq(tasks.id, t.id)).get()!.status).toBe('cancelled')
      const events = w.t.db.select().from(taskEvents).where(eq(taskEvents.taskId, t.id)).all()
      expect(events.at(-1)).toMatchObject({ event: 'cancelled', details: { code: 'approval_withdrawn', reason: 'DUA terminated.' } })
    }
    expect(w.t.db.select().from(trainingRuns).where(eq(trainingRuns.id, run.id)).get()!.status).toBe('stopped')
    expect(w.t.db.select().from(models).where(eq(models.id, model.id)).get()!.status).toBe('stopped')
    expect(decisionRows(w, id).map((r) => r.decision)).toEqual(['approve', 'withdraw'])
    expect(audits(w, 'site.withdrew_approval')).toHaveLength(1)

    // the site API: not listed, claim and result answer 409 approval_withdrawn
    expect((await site.listed()).map((t) => t.id)).not.toContain(image.id)
    const claim = await site.claim(image.id)
    expect(claim.status).toBe(409)
    expect(await claim.json()).toMatchObject({ code: 'approval_withdrawn' })
    const result = await site.result(training.id, { status: 'results uploaded' })
    expect(result.status).toBe(409)
    expect(await result.json()).toMatchObject({ code: 'approval_withdrawn' })
    // no training starts there
    expect(startTraining(w.t.db, model, [w.leeds.site.id], ownerCtx)).toMatchObject({ ok: false, status: 409 })
    // withdrawing twice: nothing current to withdraw
    expect((await (await w.as(w.ann)).post(`/projects/${id}/sites/${w.leeds.site.id}/withdraw`, { reason: 'again', confirm: 'yes' })).status).toBe(409)
    // approving again is a new decision, with a new image retrieval task
    expect((await (await w.as(w.alice)).post(decisionPath(id, w.leeds), approve())).status).toBe(303)
    expect(taskRows(w, id, w.leeds.site.id, 'image_retrieval').map((t) => t.status)).toEqual(['cancelled', 'pending'])
  })

  it('an expired approval is not handed out, even before any scheduler ran (claim 409 approval_expired); cohort tasks still are', async () => {
    const w = await world()
    const id = stagedProject(w)
    expect((await (await w.as(w.alice)).post(decisionPath(id, w.leeds), approve({ expires_on: '2026-11-03' }))).status).toBe(303)
    const [image] = taskRows(w, id, w.leeds.site.id, 'image_retrieval')
    const site = api(w, w.leeds)
    // the last minute of the expiry day (UTC) still counts
    w.t.clock.ms = Date.UTC(2026, 10, 3, 23, 59)
    expect((await site.listed()).map((t) => t.id)).toContain(image!.id)
    w.t.clock.ms = Date.UTC(2026, 10, 4, 0, 0)
    expect((await site.listed()).map((t) => t.id)).not.toContain(image!.id)
    const claim = await site.claim(image!.id)
    expect(claim.status).toBe(409)
    expect(await claim.json()).toMatchObject({ code: 'approval_expired' })
    expect(w.t.db.select().from(tasks).where(eq(tasks.id, image!.id)).get()!.status).toBe('pending')
    // a cohort query task (of another, unapproved project) needs no approval
    const adminCtx = w.ctx()
    const other = createProject(w.t.db, { name: 'Other', description: '', groupId: null }, adminCtx)
    if (!saveCohortQuery(w.t.db, other, 'SELECT 1', adminCtx).ok) throw new Error('not saved')
    const cohort = (await site.listed()).find((t) => t.kind === 'cohort_query')
    expect(cohort).toBeDefined()
    expect((await site.claim(cohort!.id)).status).toBe(200)
  })

  it('a claimed task whose approval lapsed answers its result with 409 approval_expired', async () => {
    const w = await world()
    const id = stagedProject(w)
    await (await w.as(w.alice)).post(decisionPath(id, w.leeds), approve({ expires_on: '2026-11-03' }))
    const [image] = taskRows(w, id, w.leeds.site.id, 'image_retrieval')
    const site = api(w, w.leeds)
    expect((await site.claim(image!.id)).status).toBe(200)
    w.t.clock.ms = Date.UTC(2026, 10, 4, 0, 1)
    const res = await site.result(image!.id, { status: 'done' })
    expect(res.status).toBe(409)
    expect(await res.json()).toMatchObject({ code: 'approval_expired' })
  })
})

describe('the project page', () => {
  it('shows each site’s current decision with its evidence, offers the admin form only for sites without approvers, and links deciders to their form', async () => {
    const w = await world()
    const id = stagedProject(w)
    await (await w.as(w.bob)).post(decisionPath(id, w.hull), { confirm: 'yes', decision: 'decline', reason: 'No radiology capacity.', conditions: '', agreement: '', expires_on: '' })
    const asAdmin = await (await (await w.as(w.admin)).get(`/projects/${id}`)).text()
    expect(asAdmin).toContain('No radiology capacity.')
    const toggles = [...asAdmin.matchAll(/name="approved_site_ids" value="(\d+)"/g)].map((m) => Number(m[1]))
    expect(toggles).toEqual([w.york.site.id])
    expect(asAdmin).toContain(`href="/projects/${id}/sites/${w.york.site.id}/decision">Decide for York and Scarborough`)
    expect(asAdmin).not.toContain('Decide for Hull University')
    const asOwner = await (await (await w.as(w.owner)).get(`/projects/${id}`)).text()
    expect(asOwner).toContain('No radiology capacity.')
    expect(asOwner).not.toContain('Decide for')
  })
})
