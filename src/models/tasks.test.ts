import { describe, expect, it } from 'vitest'
import { eq } from 'drizzle-orm'
import { FakeClock, testDb, T0 } from '../test/helpers.ts'
import { hashPassword } from '../auth/password.ts'
import { siteDecisions, models, taskEvents, tasks, trainingRuns, users, type Site, type Task } from '../db/schema.ts'
import type { Db } from '../db/client.ts'
import { createProject, getCohortCounts, saveCohortQuery, deleteProject, approveProjectSites, stageProject } from './projects.ts'
import { createSite, getSiteByApiKey, rotateSiteKey, updateSite } from './sites.ts'
import { CLAIM_LEASE_MS, claimTask, listPendingTasksForSite, listTasksForAdmin, parseTaskReport, recordTaskResult, requeueExpiredClaims } from './tasks.ts'

const MINUTE = 60_000

async function setup() {
  const db = testDb()
  const clock = new FakeClock()
  const owner = db
    .insert(users)
    .values({ email: 'owner@example.org', role: 'researcher', passwordHash: await hashPassword('irrelevant-but-long-enough'), passwordChangedAt: T0, createdAt: T0 })
    .returning()
    .get()
  const ctx = () => ({ actor: { id: owner.id, email: owner.email }, now: clock.now(), ip: '203.0.113.1' })
  const leeds = createSite(db, { name: 'Leeds', code: 'LTH', contactEmail: '' }, ctx())
  const york = createSite(db, { name: 'York', code: 'YORK', contactEmail: '' }, ctx())
  const project = createProject(db, { name: 'Lung nodules', description: '', groupId: null }, ctx())
  const saved = saveCohortQuery(db, project, 'SELECT id FROM patients WHERE age > 40', ctx())
  if (!saved.ok) throw new Error('cohort query not saved')
  const taskOf = (site: Site) => db.select().from(tasks).where(eq(tasks.siteId, site.id)).get()!
  return { db, clock, owner, ctx, leeds: leeds.site, york: york.site, project, query: saved.value, taskOf }
}

function history(db: Db, taskId: number): string[] {
  return db.select().from(taskEvents).where(eq(taskEvents.taskId, taskId)).orderBy(taskEvents.id).all().map((e) => e.event)
}

/** A training task as the training code creates it: model, run, task and its `created` event. */
function insertTrainingTask(db: Db, input: { projectId: number; siteId: number; ownerId: number; now: number }): Task {
  const model = db.insert(models).values({ projectId: input.projectId, ownerId: input.ownerId, name: 'ResNet', status: 'initiated', allowedSiteIds: [input.siteId], createdAt: input.now, updatedAt: input.now }).returning().get()
  const run = db.insert(trainingRuns).values({ modelId: model.id, siteId: input.siteId, startedBy: input.ownerId, createdAt: input.now, updatedAt: input.now }).returning().get()
  const task = db.insert(tasks).values({ siteId: input.siteId, kind: 'training', projectId: input.projectId, trainingRunId: run.id, createdAt: input.now }).returning().get()
  // Training is handed out only while the site's approval of the project is current (SPEC §4.1).
  db.insert(siteDecisions).values({ projectId: input.projectId, siteId: input.siteId, decision: 'approve', decidedBy: input.ownerId, decidedAt: input.now }).run()
  db.insert(taskEvents).values({ taskId: task.id, at: input.now, event: 'created' }).run()
  return task
}

describe('site keys', () => {
  it('finds a site by its key, stores only a hash, and rotation retires the old key at once', async () => {
    const { db, leeds, ctx } = await setup()
    const created = createSite(db, { name: 'Hull', code: 'HULL', contactEmail: 'it@hull.example' }, ctx())
    expect(created.apiKey).toMatch(/^gh_site_[a-z2-7]{52}$/)
    expect(getSiteByApiKey(db, created.apiKey)?.id).toBe(created.site.id)
    expect(JSON.stringify(created.site)).not.toContain(created.apiKey.slice(14))
    expect(created.site.apiKeyPrefix).toBe(created.apiKey.slice(0, 14))
    expect(getSiteByApiKey(db, 'gh_site_nope')).toBeNull()
    expect(getSiteByApiKey(db, '')).toBeNull()

    const rotated = rotateSiteKey(db, created.site, ctx())
    expect(getSiteByApiKey(db, created.apiKey)).toBeNull()
    expect(getSiteByApiKey(db, rotated.apiKey)?.id).toBe(created.site.id)
    expect(getSiteByApiKey(db, rotated.apiKey)?.id).not.toBe(leeds.id)
  })

  it('updates name and contact but never the code', async () => {
    const { db, leeds, ctx } = await setup()
    const updated = updateSite(db, leeds, { name: 'Leeds Teaching Hospitals', contactEmail: 'pacs@leeds.example' }, ctx())
    expect(updated).toMatchObject({ name: 'Leeds Teaching Hospitals', contactEmail: 'pacs@leeds.example', code: 'LTH' })
  })
})

describe('claims', () => {
  it('a pending task is listed for its own site only, and claimed once', async () => {
    const { db, clock, leeds, york, taskOf } = await setup()
    const task = taskOf(leeds)
    expect(listPendingTasksForSite(db, leeds.id, clock.now()).map((t) => t.task.id)).toEqual([task.id])
    expect(listPendingTasksForSite(db, york.id, clock.now()).map((t) => t.task.id)).not.toContain(task.id)

    expect(claimTask(db, york, task.id, clock.now())).toBe('not found')
    const claimed = claimTask(db, leeds, task.id, clock.now())
    expect(claimed).not.toBe('not found')
    expect(claimed).not.toBe('conflict')
    expect(taskOf(leeds)).toMatchObject({ status: 'claimed', attempts: 1, claimedAt: T0, claimExpiresAt: T0 + CLAIM_LEASE_MS })
    expect(claimTask(db, leeds, task.id, clock.now())).toBe('conflict')
    expect(listPendingTasksForSite(db, leeds.id, clock.now())).toEqual([])
    expect(claimTask(db, leeds, 999_999, clock.now())).toBe('not found')
  })

  it('an expired claim returns to pending, is handed out again, and the history keeps every step', async () => {
    const { db, clock, leeds, taskOf, query } = await setup()
    const task = taskOf(leeds)
    claimTask(db, leeds, task.id, clock.now())
    clock.advance(CLAIM_LEASE_MS - 1)
    expect(requeueExpiredClaims(db, clock.now())).toBe(0)
    expect(taskOf(leeds).status).toBe('claimed')
    clock.advance(1)
    expect(listPendingTasksForSite(db, leeds.id, clock.now()).map((t) => t.task.id)).toEqual([task.id])
    expect(taskOf(leeds)).toMatchObject({ status: 'pending', claimedAt: null, claimExpiresAt: null, attempts: 1 })

    const again = claimTask(db, leeds, task.id, clock.now())
    expect(again).not.toBe('conflict')
    expect(taskOf(leeds).attempts).toBe(2)
    expect(recordTaskResult(db, leeds, task.id, { count: 42 }, clock.now())).toMatchObject({ ok: true })
    expect(history(db, task.id)).toEqual(['created', 'claimed', 'claim_expired', 'claimed', 'result'])
    expect(getCohortCounts(db, query.id).find((c) => c.site.id === leeds.id)).toMatchObject({ state: 'counted', count: 42 })
  })

  it('claiming an expired claim directly (without listing first) works too', async () => {
    const { db, clock, leeds, taskOf } = await setup()
    const task = taskOf(leeds)
    claimTask(db, leeds, task.id, clock.now())
    clock.advance(CLAIM_LEASE_MS)
    expect(claimTask(db, leeds, task.id, clock.now())).not.toBe('conflict')
    expect(history(db, task.id)).toEqual(['created', 'claimed', 'claim_expired', 'claimed'])
  })

  it('tasks of a deleted project are no longer handed out, but stay visible to admins', async () => {
    const { db, clock, leeds, project, taskOf, ctx } = await setup()
    deleteProject(db, project, ctx())
    expect(listPendingTasksForSite(db, leeds.id, clock.now())).toEqual([])
    expect(claimTask(db, leeds, taskOf(leeds).id, clock.now())).toBe('not found')
    expect(listTasksForAdmin(db, { siteId: leeds.id }).rows[0]).toMatchObject({ projectDeleted: true })
  })
})

describe('results', () => {
  it('needs a claim by this site: 409 before claiming, 404 for another site, 409 after finishing', async () => {
    const { db, clock, leeds, york, taskOf } = await setup()
    const task = taskOf(leeds)
    expect(recordTaskResult(db, leeds, task.id, { count: 3 }, clock.now())).toMatchObject({ ok: false, status: 409 })
    expect(recordTaskResult(db, york, task.id, { count: 3 }, clock.now())).toMatchObject({ ok: false, status: 404 })
    claimTask(db, leeds, task.id, clock.now())
    expect(recordTaskResult(db, leeds, task.id, { count: 3 }, clock.now())).toMatchObject({ ok: true, task: { status: 'done', resultCount: 3 } })
    expect(recordTaskResult(db, leeds, task.id, { count: 4 }, clock.now())).toMatchObject({ ok: false, status: 409 })
    expect(taskOf(leeds).resultCount).toBe(3)
  })

  it('refuses a result posted after the claim expired, saying to claim again', async () => {
    const { db, clock, leeds, taskOf } = await setup()
    const task = taskOf(leeds)
    claimTask(db, leeds, task.id, clock.now())
    clock.advance(CLAIM_LEASE_MS + 1)
    const late = recordTaskResult(db, leeds, task.id, { count: 3 }, clock.now())
    expect(late).toMatchObject({ ok: false, status: 409 })
    expect(!late.ok && late.error).toContain('expired')
    expect(taskOf(leeds).status).toBe('pending')
  })

  it('records a cohort error as the site error shown with the counts', async () => {
    const { db, clock, leeds, taskOf, query } = await setup()
    const task = taskOf(leeds)
    claimTask(db, leeds, task.id, clock.now())
    expect(recordTaskResult(db, leeds, task.id, { error: 'column "age" does not exist' }, clock.now())).toMatchObject({ ok: true, task: { status: 'error' } })
    expect(getCohortCounts(db, query.id).find((c) => c.site.id === leeds.id)).toMatchObject({ state: 'error', error: 'column "age" does not exist' })
  })

  it('validates the body against the task kind, naming the field', () => {
    const issuesOf = (kind: Task['kind'], body: unknown) => {
      const parsed = parseTaskReport(kind, body)
      return parsed.ok ? null : parsed.issues
    }
    expect(issuesOf('cohort_query', { count: 0 })).toBeNull()
    expect(issuesOf('cohort_query', { count: -1 })).toEqual([expect.objectContaining({ path: 'count' })])
    expect(issuesOf('cohort_query', { count: 1.5 })).toEqual([expect.objectContaining({ path: 'count' })])
    expect(issuesOf('cohort_query', { count: '12' })).toEqual([expect.objectContaining({ path: 'count' })])
    expect(issuesOf('cohort_query', {})).toEqual([expect.objectContaining({ path: 'count' })])
    expect(issuesOf('cohort_query', { count: 1, error: 'x' })).not.toBeNull()
    expect(issuesOf('cohort_query', { error: '' })).toEqual([expect.objectContaining({ path: 'error' })])
    expect(issuesOf('cohort_query', [1])).not.toBeNull()
    expect(issuesOf('cohort_query', null)).not.toBeNull()
    expect(issuesOf('image_retrieval', { status: 'done' })).toBeNull()
    expect(issuesOf('image_retrieval', { status: 'running' })).toEqual([expect.objectContaining({ path: 'status' })])
    expect(issuesOf('training', { status: 'running', metrics: { auc: 0.91, stage: 'epoch 3' } })).toBeNull()
    expect(issuesOf('training', { status: 'finished' })).toEqual([expect.objectContaining({ path: 'status' })])
    expect(issuesOf('training', { status: 'running', metrics: { auc: true } })).toEqual([expect.objectContaining({ path: 'metrics.auc' })])
    expect(issuesOf('training', { status: 'running', metrics: [1] })).not.toBeNull()
  })

  it('training: running extends the lease and keeps the claim; metrics merge; results uploaded finishes the task; the model follows the run', async () => {
    const { db, clock, leeds, project, owner } = await setup()
    const task = insertTrainingTask(db, { projectId: project.id, siteId: leeds.id, ownerId: owner.id, now: clock.now() })
    const listed = listPendingTasksForSite(db, leeds.id, clock.now()).find((t) => t.task.id === task.id)!
    expect(listed.training).toMatchObject({ runId: task.trainingRunId, model: { name: 'ResNet' } })
    claimTask(db, leeds, task.id, clock.now())

    clock.advance(10 * MINUTE)
    const running = recordTaskResult(db, leeds, task.id, { status: 'running', metrics: { epoch: 1, loss: 0.9 } }, clock.now())
    expect(running).toMatchObject({ ok: true, task: { status: 'claimed', claimExpiresAt: clock.now() + CLAIM_LEASE_MS } })
    clock.advance(10 * MINUTE) // past the first lease, inside the extended one
    expect(requeueExpiredClaims(db, clock.now())).toBe(0)
    const run = () => db.select().from(trainingRuns).where(eq(trainingRuns.id, task.trainingRunId!)).get()!
    const model = () => db.select().from(models).where(eq(models.id, run().modelId)).get()!
    expect(run()).toMatchObject({ status: 'running', metrics: { epoch: 1, loss: 0.9 } })
    expect(model().status).toBe('running')

    const finished = recordTaskResult(db, leeds, task.id, { status: 'results uploaded', metrics: { epoch: 2, auc: 0.93 } }, clock.now())
    expect(finished).toMatchObject({ ok: true, task: { status: 'done', completedAt: clock.now(), claimExpiresAt: null } })
    expect(run()).toMatchObject({ status: 'results uploaded', metrics: { epoch: 2, loss: 0.9, auc: 0.93 } })
    expect(model().status).toBe('results uploaded')
    expect(history(db, task.id)).toEqual(['created', 'claimed', 'result', 'result'])
  })

  it('training: error and stopped end the task, and the run and model say so', async () => {
    const { db, clock, leeds, project, owner } = await setup()
    const failing = insertTrainingTask(db, { projectId: project.id, siteId: leeds.id, ownerId: owner.id, now: clock.now() })
    claimTask(db, leeds, failing.id, clock.now())
    expect(recordTaskResult(db, leeds, failing.id, { status: 'error', error: 'GPU out of memory' }, clock.now())).toMatchObject({ ok: true, task: { status: 'error', error: 'GPU out of memory' } })
    const runOf = (t: Task) => db.select().from(trainingRuns).where(eq(trainingRuns.id, t.trainingRunId!)).get()!
    expect(runOf(failing).status).toBe('error')

    const stopping = insertTrainingTask(db, { projectId: project.id, siteId: leeds.id, ownerId: owner.id, now: clock.now() })
    claimTask(db, leeds, stopping.id, clock.now())
    expect(recordTaskResult(db, leeds, stopping.id, { status: 'stopped' }, clock.now())).toMatchObject({ ok: true, task: { status: 'done' } })
    expect(runOf(stopping).status).toBe('stopped')
    expect(db.select().from(models).where(eq(models.id, runOf(stopping).modelId)).get()!.status).toBe('stopped')

    const plainError = insertTrainingTask(db, { projectId: project.id, siteId: leeds.id, ownerId: owner.id, now: clock.now() })
    claimTask(db, leeds, plainError.id, clock.now())
    expect(recordTaskResult(db, leeds, plainError.id, { error: 'disk full' }, clock.now())).toMatchObject({ ok: true, task: { status: 'error', error: 'disk full' } })
    expect(runOf(plainError).status).toBe('error')
  })

  it('image retrieval tasks carry the approved cohort query and finish with done', async () => {
    const { db, clock, leeds, project, taskOf, ctx, query } = await setup()
    const cohortTask = taskOf(leeds)
    claimTask(db, leeds, cohortTask.id, clock.now())
    recordTaskResult(db, leeds, cohortTask.id, { count: 120 }, clock.now())
    expect(stageProject(db, project, [leeds.id], ctx())).toMatchObject({ ok: true })
    expect(approveProjectSites(db, project, [leeds.id], ctx())).toMatchObject({ ok: true })
    const [retrieval] = listPendingTasksForSite(db, leeds.id, clock.now())
    expect(retrieval).toMatchObject({ task: { kind: 'image_retrieval' }, cohortQuery: { version: query.version, sqlText: query.sqlText } })
    claimTask(db, leeds, retrieval!.task.id, clock.now())
    expect(recordTaskResult(db, leeds, retrieval!.task.id, { status: 'done' }, clock.now())).toMatchObject({ ok: true, task: { status: 'done' } })
  })
})

describe('listTasksForAdmin', () => {
  it('lists tasks with site, project and history, filtered by status and site', async () => {
    const { db, clock, leeds, york, taskOf } = await setup()
    claimTask(db, leeds, taskOf(leeds).id, clock.now())
    const all = listTasksForAdmin(db, {})
    expect(all.total).toBe(2)
    expect(listTasksForAdmin(db, { status: 'claimed' }).rows.map((r) => r.siteCode)).toEqual(['LTH'])
    expect(listTasksForAdmin(db, { siteId: york.id }).rows.map((r) => r.status)).toEqual(['pending'])
    const leedsRow = all.rows.find((r) => r.siteId === leeds.id)!
    expect(leedsRow).toMatchObject({ siteName: 'Leeds', projectName: 'Lung nodules', kind: 'cohort_query', attempts: 1 })
    expect(leedsRow.events.map((e) => e.event)).toEqual(['created', 'claimed'])
  })
})
