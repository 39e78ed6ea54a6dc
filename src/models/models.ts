import { and, asc, eq, inArray, isNotNull } from 'drizzle-orm'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { files, models, projects, sites, taskEvents, tasks, trainingRuns, users, type Model, type Project, type StoredFile, type TrainingRun } from '../db/schema.ts'
import { writeTransaction, type Db } from '../db/client.ts'
import { approvalRefusalCode } from './site-decisions.ts'
import type { FieldErrors } from '../http/forms.ts'
import { recordAuditEvent } from './audit.ts'
import { getApprovedSiteIds, type Ctx, type Outcome, type Refusal } from './projects.ts'

// Models of an approved project (SPEC §4): created pending with the project's approved sites as
// its allowed sites; edited and given files only while pending; trained at chosen allowed sites,
// one training run and one site task per site. Permission questions are the policy's; these
// functions enforce state. Every change is one transaction together with its audit event.

export const MODEL_NAME_MAX_LENGTH = 75
export const MODEL_DESCRIPTION_MAX_LENGTH = 250

/** Training of a model with a run in one of these states is under way: no new training until it ends. */
const ACTIVE_RUN_STATUSES = ['initiated', 'running'] as const

export function checkModelFields(name: string, description: string): FieldErrors {
  return {
    name: name === '' ? 'Give the model a name.' : [...name].length > MODEL_NAME_MAX_LENGTH ? `At most ${MODEL_NAME_MAX_LENGTH} characters.` : undefined,
    description: [...description].length > MODEL_DESCRIPTION_MAX_LENGTH ? `At most ${MODEL_DESCRIPTION_MAX_LENGTH} characters.` : undefined,
  }
}

function audit(db: Db, ctx: Ctx, event: string, model: { id: number; projectId: number; name: string }, details: Record<string, unknown> = {}) {
  recordAuditEvent(db, { event, at: ctx.now, actor: ctx.actor, targetType: 'model', targetId: model.id, ip: ctx.ip, details: { project_id: model.projectId, name: model.name, ...details } })
}

/** The model if it belongs to this project; null otherwise (answered as 404). */
export function getModel(db: Db, projectId: number, modelId: number): Model | null {
  if (!Number.isInteger(modelId)) return null
  return db.select().from(models).where(and(eq(models.id, modelId), eq(models.projectId, projectId))).get() ?? null
}

function notApproved(status: string): Refusal {
  return { ok: false, status: 409, reason: `The project is ${status}: models need an approved project.` }
}

/** A pending model owned by the actor; its allowed sites are the project's approved sites now. */
export function createModel(db: Db, project: Project, input: { name: string; description: string }, ctx: Ctx): Outcome<Model> {
  return writeTransaction(db, () => {
    const current = db.select({ status: projects.status }).from(projects).where(eq(projects.id, project.id)).get()
    if (!current || current.status !== 'approved') return notApproved(current?.status ?? project.status)
    const allowedSiteIds = getApprovedSiteIds(db, project.id).sort((a, b) => a - b)
    const model = db
      .insert(models)
      .values({ projectId: project.id, ownerId: ctx.actor.id, name: input.name, description: input.description, status: 'pending', allowedSiteIds, createdAt: ctx.now, updatedAt: ctx.now })
      .returning()
      .get()
    audit(db, ctx, 'model.created', model, { allowed_site_ids: allowedSiteIds })
    return { ok: true, value: model }
  })
}

function notPending(status: string, what: string): Refusal {
  return { ok: false, status: 409, reason: `The model is ${status}: ${what} only while it is pending (before training starts).` }
}

/** Name and description; only while the model is pending. */
export function updateModel(db: Db, model: Model, input: { name: string; description: string }, ctx: Ctx): Outcome {
  return writeTransaction(db, () => {
    const changed = db.update(models).set({ ...input, updatedAt: ctx.now }).where(and(eq(models.id, model.id), eq(models.status, 'pending'))).run().changes
    if (changed === 0) return notPending(getModel(db, model.projectId, model.id)?.status ?? model.status, 'it can be edited')
    audit(db, ctx, 'model.updated', model, { before: { name: model.name, description: model.description }, after: input })
    return { ok: true }
  })
}

/** Files can be added while the model is pending: what a site trains is what was there when training started. */
export function checkCanUpload(model: Model): Refusal | null {
  return model.status === 'pending' ? null : notPending(model.status, 'files can be uploaded')
}

/** Where a new upload of this model goes, relative to DATA_DIR: files/models/<model id>/<random name>. */
export function newModelFilePath(modelId: number): { directory: string; storagePath: string } {
  const directory = join('files', 'models', String(modelId))
  return { directory, storagePath: join(directory, randomBytes(16).toString('hex')) }
}

/**
 * Records a file already stored at `storagePath`. Refused (409) when the model stopped being
 * pending while the file was arriving; the caller then removes the stored file.
 */
export function recordModelFile(db: Db, model: Model, file: { filename: string; size: number; sha256: string; storagePath: string }, ctx: Ctx): Outcome<StoredFile> {
  return writeTransaction(db, () => {
    const current = getModel(db, model.projectId, model.id)
    const refusal = checkCanUpload(current ?? model)
    if (refusal) return refusal
    const row = db.insert(files).values({ ...file, modelId: model.id, uploadedBy: ctx.actor.id, createdAt: ctx.now }).returning().get()
    db.update(models).set({ updatedAt: ctx.now }).where(eq(models.id, model.id)).run()
    audit(db, ctx, 'model.file_uploaded', model, { file_id: row.id, filename: row.filename, size: row.size, sha256: row.sha256 })
    return { ok: true, value: row }
  })
}

function siteLabels(db: Db, ids: number[]): string {
  const names = ids.length === 0 ? [] : db.select({ id: sites.id, name: sites.name }).from(sites).where(inArray(sites.id, ids)).all()
  return ids.map((id) => names.find((n) => n.id === id)?.name ?? `site #${id}`).join(', ')
}

/**
 * Starts training at the chosen sites: at least one, every one among the model's allowed sites
 * (otherwise the whole request is refused and the others named), none disabled, at least one
 * uploaded file, and no training of this model under way. Creates a run (initiated) and a pending
 * training task per site; the model becomes initiated.
 */
export function startTraining(db: Db, model: Model, siteIds: number[], ctx: Ctx): Outcome<TrainingRun[]> {
  return writeTransaction(db, () => {
    const current = getModel(db, model.projectId, model.id)
    if (!current) return { ok: false, status: 409, reason: 'The model no longer exists.' }
    const active = db
      .select({ siteId: trainingRuns.siteId })
      .from(trainingRuns)
      .where(and(eq(trainingRuns.modelId, model.id), inArray(trainingRuns.status, [...ACTIVE_RUN_STATUSES])))
      .all()
    if (active.length > 0) return { ok: false, status: 409, reason: `Training of this model is under way at ${siteLabels(db, active.map((a) => a.siteId))}: start more once it has ended.` }
    const chosen = [...new Set(siteIds)]
    if (chosen.length === 0) return { ok: false, status: 422, field: 'site_ids', reason: 'Choose at least one site.' }
    const outside = chosen.filter((id) => !current.allowedSiteIds.includes(id))
    if (outside.length > 0) {
      return { ok: false, status: 422, field: 'site_ids', reason: `Not among this model's allowed sites (the sites that had approved the project when it was created): ${siteLabels(db, outside)}. Nothing was started.` }
    }
    const disabled = db.select({ id: sites.id }).from(sites).where(and(inArray(sites.id, chosen), isNotNull(sites.disabledAt))).all().map((r) => r.id)
    if (disabled.length > 0) return { ok: false, status: 422, field: 'site_ids', reason: `Disabled, so no training can be started there: ${siteLabels(db, disabled)}. Nothing was started.` }
    const unapproved = chosen.filter((id) => approvalRefusalCode(db, model.projectId, id, ctx.now) !== null)
    if (unapproved.length > 0) {
      return { ok: false, status: 409, reason: `No current approval of this project at ${siteLabels(db, unapproved)} (withdrawn or expired): no training starts there. Nothing was started.` }
    }
    const hasFile = db.select({ id: files.id }).from(files).where(eq(files.modelId, model.id)).limit(1).get() !== undefined
    if (!hasFile) return { ok: false, status: 422, reason: 'Upload the model’s files first: the sites train what was uploaded.' }

    const runs: TrainingRun[] = []
    for (const siteId of chosen) {
      const run = db.insert(trainingRuns).values({ modelId: model.id, siteId, status: 'initiated', startedBy: ctx.actor.id, createdAt: ctx.now, updatedAt: ctx.now }).returning().get()
      const task = db.insert(tasks).values({ siteId, kind: 'training', projectId: model.projectId, trainingRunId: run.id, status: 'pending', createdAt: ctx.now }).returning().get()
      db.insert(taskEvents).values({ taskId: task.id, at: ctx.now, event: 'created' }).run()
      runs.push(run)
    }
    db.update(models).set({ status: 'initiated', updatedAt: ctx.now }).where(eq(models.id, model.id)).run()
    audit(db, ctx, 'model.training_started', current, { site_ids: chosen, training_run_ids: runs.map((r) => r.id), previous_status: current.status })
    return { ok: true, value: runs }
  })
}

export type ModelFileRow = { id: number; filename: string; size: number; sha256: string; createdAt: number; uploadedBy: string | null }
export type TrainingRunRow = { run: TrainingRun; site: { id: number; name: string; code: string }; files: ModelFileRow[] }
export type ModelRow = { model: Model; owner: string; files: ModelFileRow[]; runs: TrainingRunRow[] }

/** Every model of a project with its owner, files, and training runs (each with its site and result files). Oldest first. */
export function listProjectModels(db: Db, projectId: number): ModelRow[] {
  const rows = db.select({ model: models, owner: users.email }).from(models).innerJoin(users, eq(users.id, models.ownerId)).where(eq(models.projectId, projectId)).orderBy(asc(models.createdAt), asc(models.id)).all()
  if (rows.length === 0) return []
  const modelIds = rows.map((r) => r.model.id)
  const fileColumns = { id: files.id, filename: files.filename, size: files.size, sha256: files.sha256, createdAt: files.createdAt, uploadedBy: users.email, modelId: files.modelId, trainingRunId: files.trainingRunId }
  const modelFiles = db.select(fileColumns).from(files).leftJoin(users, eq(users.id, files.uploadedBy)).where(inArray(files.modelId, modelIds)).orderBy(asc(files.id)).all()
  const runs = db
    .select({ run: trainingRuns, site: { id: sites.id, name: sites.name, code: sites.code } })
    .from(trainingRuns)
    .innerJoin(sites, eq(sites.id, trainingRuns.siteId))
    .where(inArray(trainingRuns.modelId, modelIds))
    .orderBy(asc(trainingRuns.id))
    .all()
  const runIds = runs.map((r) => r.run.id)
  const resultFiles = runIds.length === 0 ? [] : db.select(fileColumns).from(files).leftJoin(users, eq(users.id, files.uploadedBy)).where(inArray(files.trainingRunId, runIds)).orderBy(asc(files.id)).all()
  const strip = ({ modelId: _m, trainingRunId: _r, ...f }: (typeof modelFiles)[number]): ModelFileRow => f
  return rows.map(({ model, owner }) => ({
    model,
    owner,
    files: modelFiles.filter((f) => f.modelId === model.id).map(strip),
    runs: runs.filter((r) => r.run.modelId === model.id).map((r) => ({ ...r, files: resultFiles.filter((f) => f.trainingRunId === r.run.id).map(strip) })),
  }))
}

/** A stored file of this project: a model's upload, or a site's result for one of its models' runs. */
export type ProjectFile = { file: StoredFile; kind: 'model' | 'result' }

export function getProjectFile(db: Db, projectId: number, fileId: number): ProjectFile | null {
  if (!Number.isInteger(fileId)) return null
  const file = db.select().from(files).where(eq(files.id, fileId)).get()
  if (!file) return null
  if (file.modelId !== null) return getModel(db, projectId, file.modelId) ? { file, kind: 'model' } : null
  if (file.trainingRunId !== null) {
    const owner = db.select({ projectId: models.projectId }).from(trainingRuns).innerJoin(models, eq(models.id, trainingRuns.modelId)).where(eq(trainingRuns.id, file.trainingRunId)).get()
    return owner?.projectId === projectId ? { file, kind: 'result' } : null
  }
  return null
}
