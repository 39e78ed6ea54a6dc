import { describe, expect, it } from 'vitest'
import { eq } from 'drizzle-orm'
import { FakeClock, testDb, T0 } from '../test/helpers.ts'
import { auditEvents, files, models, sites, taskEvents, tasks, trainingRuns, users } from '../db/schema.ts'
import type { Db } from '../db/client.ts'
import { approveProjectSites, createProject, saveCohortQuery, stageProject } from './projects.ts'
import { checkModelFields, createModel, getModel, getProjectFile, listProjectModels, newModelFilePath, recordModelFile, startTraining, updateModel } from './models.ts'

// Models (SPEC §4) at the model layer: state rules, allowed sites, training runs and tasks.

function insertSite(db: Db, name: string, code: string) {
  return db.insert(sites).values({ name, code, apiKeyHash: `hash-${code}`, apiKeyPrefix: 'gh_site_xx', createdAt: T0, keyRotatedAt: T0 }).returning().get()
}

function setup() {
  const db = testDb()
  const clock = new FakeClock()
  const owner = db.insert(users).values({ email: 'owner@example.org', role: 'researcher', passwordHash: 'x', passwordChangedAt: T0, createdAt: T0 }).returning().get()
  const ctx = () => ({ actor: { id: owner.id, email: owner.email }, now: clock.now(), ip: '203.0.113.1' })
  const leeds = insertSite(db, 'Leeds', 'LTH')
  const york = insertSite(db, 'York', 'YORK')
  const hull = insertSite(db, 'Hull', 'HULL')
  const bristol = insertSite(db, 'Bristol', 'BRIS')

  /** Approved at Leeds and York; Hull staged but not approved; Bristol never staged. */
  const approvedProject = () => {
    const project = createProject(db, { name: 'Lung nodules', description: '', groupId: null }, ctx())
    const saved = saveCohortQuery(db, project, 'SELECT id FROM patients', ctx())
    if (!saved.ok) throw new Error('cohort query not saved')
    db.update(tasks).set({ status: 'done', resultCount: 42 }).where(eq(tasks.cohortQueryId, saved.value.id)).run()
    if (!stageProject(db, project, [leeds.id, york.id, hull.id], ctx()).ok) throw new Error('not staged')
    if (!approveProjectSites(db, { ...project, status: 'staged' }, [leeds.id, york.id], ctx()).ok) throw new Error('not approved')
    return { ...project, status: 'approved' as const }
  }
  const withFile = (model: ReturnType<typeof createdModel>) => {
    const outcome = recordModelFile(db, model, { filename: 'weights.pt', size: 3, sha256: 'a'.repeat(64), storagePath: newModelFilePath(model.id).storagePath }, ctx())
    if (!outcome.ok) throw new Error('file not recorded')
    return outcome.value
  }
  const createdModel = (project: ReturnType<typeof approvedProject>, name = 'ResNet') => {
    const outcome = createModel(db, project, { name, description: 'A baseline' }, ctx())
    if (!outcome.ok) throw new Error(outcome.reason)
    return outcome.value
  }
  return { db, clock, owner, ctx, leeds, york, hull, bristol, approvedProject, createdModel, withFile }
}

describe('checkModelFields', () => {
  it('requires a name of at most 75 characters and a description of at most 250', () => {
    expect(checkModelFields('', '')).toMatchObject({ name: 'Give the model a name.' })
    expect(checkModelFields('n'.repeat(75), 'd'.repeat(250))).toEqual({ name: undefined, description: undefined })
    expect(checkModelFields('n'.repeat(76), 'd'.repeat(251))).toEqual({ name: 'At most 75 characters.', description: 'At most 250 characters.' })
    // characters, not UTF-16 units
    expect(checkModelFields('🧠'.repeat(75), '').name).toBeUndefined()
  })
})

describe('createModel', () => {
  it('creates a pending model owned by the actor whose allowed sites are the approved ones, with its audit event', () => {
    const { db, owner, leeds, york, approvedProject, createdModel } = setup()
    const model = createdModel(approvedProject())
    expect(model).toMatchObject({ ownerId: owner.id, status: 'pending', name: 'ResNet', description: 'A baseline' })
    expect(model.allowedSiteIds).toEqual([leeds.id, york.id].sort((a, b) => a - b))
    const event = db.select().from(auditEvents).where(eq(auditEvents.event, 'model.created')).get()!
    expect(event).toMatchObject({ actorId: owner.id, targetType: 'model', targetId: String(model.id) })
    expect(JSON.parse(event.details)).toMatchObject({ name: 'ResNet', allowed_site_ids: model.allowedSiteIds })
  })

  it('is refused with 409 before the project is approved, and nothing is written', () => {
    const { db, ctx } = setup()
    const project = createProject(db, { name: 'Early', description: '', groupId: null }, ctx())
    expect(createModel(db, project, { name: 'Too soon', description: '' }, ctx())).toMatchObject({ ok: false, status: 409, reason: expect.stringContaining('unstaged') })
    expect(db.select().from(models).all()).toHaveLength(0)
  })
})

describe('updateModel', () => {
  it('changes a pending model only, and audits the change', () => {
    const { db, ctx, approvedProject, createdModel, withFile, leeds } = setup()
    const model = createdModel(approvedProject())
    expect(updateModel(db, model, { name: 'ResNet-50', description: '' }, ctx())).toEqual({ ok: true })
    expect(getModel(db, model.projectId, model.id)?.name).toBe('ResNet-50')
    expect(db.select().from(auditEvents).where(eq(auditEvents.event, 'model.updated')).all()).toHaveLength(1)

    withFile(model)
    expect(startTraining(db, model, [leeds.id], ctx()).ok).toBe(true)
    expect(updateModel(db, model, { name: 'Renamed', description: '' }, ctx())).toMatchObject({ ok: false, status: 409, reason: expect.stringContaining('initiated') })
    expect(getModel(db, model.projectId, model.id)?.name).toBe('ResNet-50')
  })

  it('refuses new files once training has started', () => {
    const { db, ctx, approvedProject, createdModel, withFile, leeds } = setup()
    const model = createdModel(approvedProject())
    withFile(model)
    startTraining(db, model, [leeds.id], ctx())
    expect(recordModelFile(db, model, { filename: 'late.pt', size: 1, sha256: 'b'.repeat(64), storagePath: 'files/models/x/y' }, ctx())).toMatchObject({ ok: false, status: 409 })
    expect(db.select().from(files).all()).toHaveLength(1)
  })
})

describe('startTraining', () => {
  it('creates one initiated run and one pending training task (with its created event) per chosen site', () => {
    const { db, clock, owner, ctx, leeds, york, approvedProject, createdModel, withFile } = setup()
    const project = approvedProject()
    const model = createdModel(project)
    withFile(model)
    clock.advance(60_000)
    const outcome = startTraining(db, model, [leeds.id, york.id, leeds.id], ctx())
    if (!outcome.ok) throw new Error(outcome.reason)
    expect(outcome.value.map((r) => r.siteId)).toEqual([leeds.id, york.id])
    expect(outcome.value.every((r) => r.status === 'initiated' && r.startedBy === owner.id)).toBe(true)

    const training = db.select().from(tasks).where(eq(tasks.kind, 'training')).all()
    expect(training.map((t) => [t.siteId, t.trainingRunId, t.status, t.projectId])).toEqual(outcome.value.map((r) => [r.siteId, r.id, 'pending', project.id]))
    for (const task of training) expect(db.select().from(taskEvents).where(eq(taskEvents.taskId, task.id)).all().map((e) => e.event)).toEqual(['created'])
    expect(getModel(db, project.id, model.id)?.status).toBe('initiated')
    const event = db.select().from(auditEvents).where(eq(auditEvents.event, 'model.training_started')).get()!
    expect(JSON.parse(event.details)).toMatchObject({ site_ids: [leeds.id, york.id], training_run_ids: outcome.value.map((r) => r.id) })
  })

  it('refuses the whole request, naming them, when any site is outside the allowed sites', () => {
    const { db, ctx, leeds, hull, bristol, approvedProject, createdModel, withFile } = setup()
    const model = createdModel(approvedProject())
    withFile(model)
    const outcome = startTraining(db, model, [leeds.id, hull.id, bristol.id, 9999], ctx())
    expect(outcome).toMatchObject({ ok: false, status: 422, field: 'site_ids' })
    if (outcome.ok) return
    expect(outcome.reason).toContain('Hull, Bristol, site #9999')
    expect(outcome.reason).not.toContain('Leeds')
    expect(db.select().from(trainingRuns).all()).toHaveLength(0)
    expect(db.select().from(tasks).where(eq(tasks.kind, 'training')).all()).toHaveLength(0)
    expect(getModel(db, model.projectId, model.id)?.status).toBe('pending')
  })

  it('needs at least one site and an uploaded file', () => {
    const { db, ctx, leeds, approvedProject, createdModel } = setup()
    const model = createdModel(approvedProject())
    expect(startTraining(db, model, [], ctx())).toMatchObject({ ok: false, status: 422, reason: 'Choose at least one site.' })
    expect(startTraining(db, model, [leeds.id], ctx())).toMatchObject({ ok: false, status: 422, reason: expect.stringContaining('Upload') })
  })

  it('refuses new training while a run is under way, and allows it again once the runs have ended', () => {
    const { db, ctx, leeds, york, approvedProject, createdModel, withFile } = setup()
    const model = createdModel(approvedProject())
    withFile(model)
    startTraining(db, model, [leeds.id], ctx())
    expect(startTraining(db, model, [york.id], ctx())).toMatchObject({ ok: false, status: 409, reason: expect.stringContaining('Leeds') })
    db.update(trainingRuns).set({ status: 'results uploaded' }).run()
    expect(startTraining(db, model, [york.id], ctx()).ok).toBe(true)
  })
})

describe('listProjectModels and getProjectFile', () => {
  it('lists models with owner, files and runs with their result files; files are found only through their own project', () => {
    const { db, ctx, leeds, approvedProject, createdModel, withFile } = setup()
    const project = approvedProject()
    const other = approvedProject()
    const model = createdModel(project)
    const upload = withFile(model)
    const run = startTraining(db, model, [leeds.id], ctx())
    if (!run.ok) throw new Error(run.reason)
    db.update(trainingRuns).set({ status: 'results uploaded', metrics: { auc: 0.91 } }).run()
    const result = db.insert(files).values({ trainingRunId: run.value[0]!.id, siteId: leeds.id, filename: 'predictions.csv', size: 10, sha256: 'c'.repeat(64), storagePath: 'files/runs/1/r', createdAt: T0 }).returning().get()

    const [row] = listProjectModels(db, project.id)
    expect(row).toMatchObject({ owner: 'owner@example.org', model: { id: model.id } })
    expect(row!.files.map((f) => f.filename)).toEqual(['weights.pt'])
    expect(row!.runs).toHaveLength(1)
    expect(row!.runs[0]).toMatchObject({ site: { name: 'Leeds' }, run: { status: 'results uploaded', metrics: { auc: 0.91 } } })
    expect(row!.runs[0]!.files.map((f) => f.filename)).toEqual(['predictions.csv'])
    expect(listProjectModels(db, other.id)).toEqual([])

    expect(getProjectFile(db, project.id, upload.id)).toMatchObject({ kind: 'model', file: { id: upload.id } })
    expect(getProjectFile(db, project.id, result.id)).toMatchObject({ kind: 'result', file: { id: result.id } })
    expect(getProjectFile(db, other.id, upload.id)).toBeNull()
    expect(getProjectFile(db, other.id, result.id)).toBeNull()
    expect(getProjectFile(db, project.id, 424242)).toBeNull()
  })
})
