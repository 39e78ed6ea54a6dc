import { and, desc, eq, inArray, isNull, lte, sql, type SQL } from 'drizzle-orm'
import { z } from 'zod'
import { cohortQueries, files, models, projects, sites, taskEvents, tasks, trainingRuns, TASK_STATUSES, type Site, type StoredFile, type Task } from '../db/schema.ts'
import { writeTransaction, type Db } from '../db/client.ts'
import { approvalRefusalCode, type ApprovalCode } from './site-decisions.ts'

// Tasks handed to sites through the site API (SPEC §4): a site lists its pending tasks, claims
// one for a lease, and posts the result. A claim whose lease passes returns the task to pending,
// so a site that crashes mid-task loses nothing: the task is handed out again. Every step is a
// guarded UPDATE plus a row in task_events, in one transaction.

/** How long a claim lasts; a training task's lease is extended by each "running" report. */
export const CLAIM_LEASE_MS = 15 * 60_000

type TaskStatus = (typeof TASK_STATUSES)[number]

function recordTaskEvent(db: Db, taskId: number, at: number, event: string, details: Record<string, unknown> = {}) {
  db.insert(taskEvents).values({ taskId, at, event, details }).run()
}

/**
 * Why the site may not work on this task any more (SPEC §4.1): a cancelled task answers the code
 * it was cancelled with; an image retrieval or training task whose project approval at the site is
 * not current (withdrawn, or lapsed at the end of its expiry day even before any sweep ran)
 * answers approval_withdrawn / approval_expired. Cohort query tasks need no approval.
 */
export function approvalBlock(db: Db, task: Task, now: number): ApprovalCode | null {
  if (task.status === 'cancelled') {
    const event = db.select().from(taskEvents).where(and(eq(taskEvents.taskId, task.id), eq(taskEvents.event, 'cancelled'))).orderBy(desc(taskEvents.id)).limit(1).get()
    return event?.details.code === 'approval_expired' ? 'approval_expired' : 'approval_withdrawn'
  }
  if (task.kind === 'cohort_query') return null
  return approvalRefusalCode(db, task.projectId, task.siteId, now)
}

export const APPROVAL_CODE_MESSAGES: Record<ApprovalCode, string> = {
  approval_withdrawn: "The site's approval of this project was withdrawn: this task is no longer to be done.",
  approval_expired: "The site's approval of this project has expired: this task is no longer to be done.",
}

/** The task if it belongs to this site; null for another site's or an unknown task. */
export function getTaskForSite(db: Db, siteId: number, taskId: number): Task | null {
  return db.select().from(tasks).where(and(eq(tasks.id, taskId), eq(tasks.siteId, siteId))).get() ?? null
}

/**
 * Returns every claimed task whose lease has passed to pending (event `claim_expired`); only
 * this site's when `siteId` is given. Returns how many were returned.
 */
export function requeueExpiredClaims(db: Db, now: number, siteId?: number): number {
  const expiredWhere = (): SQL => and(eq(tasks.status, 'claimed'), lte(tasks.claimExpiresAt, now), siteId === undefined ? undefined : eq(tasks.siteId, siteId))!
  const expired = db.select().from(tasks).where(expiredWhere()).all()
  if (expired.length === 0) return 0
  return writeTransaction(db, () => {
    let requeued = 0
    for (const task of expired) {
      const changed = db
        .update(tasks)
        .set({ status: 'pending', claimedAt: null, claimExpiresAt: null })
        .where(and(eq(tasks.id, task.id), expiredWhere()))
        .run().changes
      if (changed === 0) continue
      recordTaskEvent(db, task.id, now, 'claim_expired', { claimed_at: task.claimedAt, expired_at: task.claimExpiresAt, attempt: task.attempts })
      requeued += 1
    }
    return requeued
  })
}

/** What a site needs to do a task. Image retrieval tasks carry the project's current (approved) cohort query. */
export type SiteTask = {
  task: Task
  project: { id: number; name: string }
  cohortQuery: { version: number; sqlText: string } | null
  training: { runId: number; model: { id: number; name: string; files: TrainingModelFile[] } } | null
}

/** A file of the model a training task trains, as the site sees it (it downloads each by id). */
export type TrainingModelFile = { id: number; filename: string; size: number; sha256: string }

/** The files of these models, oldest first, by model id. */
function modelFilesByModel(db: Db, modelIds: number[]): Map<number, TrainingModelFile[]> {
  const byModel = new Map<number, TrainingModelFile[]>()
  if (modelIds.length === 0) return byModel
  const rows = db
    .select({ id: files.id, filename: files.filename, size: files.size, sha256: files.sha256, modelId: files.modelId })
    .from(files)
    .where(inArray(files.modelId, modelIds))
    .orderBy(files.id)
    .all()
  for (const { modelId, ...file } of rows) {
    const list = byModel.get(modelId!) ?? []
    list.push(file)
    byModel.set(modelId!, list)
  }
  return byModel
}

function selectSiteTasks(db: Db, where: SQL): SiteTask[] {
  const rows = db
    .select({
      task: tasks,
      projectName: projects.name,
      queryVersion: cohortQueries.version,
      querySql: cohortQueries.sqlText,
      runId: trainingRuns.id,
      modelId: models.id,
      modelName: models.name,
    })
    .from(tasks)
    .innerJoin(projects, eq(projects.id, tasks.projectId))
    .leftJoin(
      cohortQueries,
      sql`${cohortQueries.id} = coalesce(${tasks.cohortQueryId}, case when ${tasks.kind} = 'image_retrieval' then (select max(cq.id) from cohort_queries cq where cq.project_id = ${tasks.projectId}) end)`,
    )
    .leftJoin(trainingRuns, eq(trainingRuns.id, tasks.trainingRunId))
    .leftJoin(models, eq(models.id, trainingRuns.modelId))
    .where(and(where, isNull(projects.deletedAt)))
    .orderBy(tasks.id)
    .all()
  const modelFiles = modelFilesByModel(db, [...new Set(rows.flatMap((r) => (r.modelId === null ? [] : [r.modelId])))])
  return rows.map((r) => ({
    task: r.task,
    project: { id: r.task.projectId, name: r.projectName },
    cohortQuery: r.queryVersion !== null && r.querySql !== null ? { version: r.queryVersion, sqlText: r.querySql } : null,
    training:
      r.runId !== null && r.modelId !== null && r.modelName !== null ? { runId: r.runId, model: { id: r.modelId, name: r.modelName, files: modelFiles.get(r.modelId) ?? [] } } : null,
  }))
}

/**
 * A site's pending tasks, oldest first, after returning its expired claims to pending.
 * Note: tasks of a deleted project are no longer handed out (they stay visible to admins).
 */
export function listPendingTasksForSite(db: Db, siteId: number, now: number): SiteTask[] {
  requeueExpiredClaims(db, now, siteId)
  return selectSiteTasks(db, and(eq(tasks.siteId, siteId), eq(tasks.status, 'pending'))!).filter((t) => approvalBlock(db, t.task, now) === null)
}

export function getSiteTask(db: Db, siteId: number, taskId: number): SiteTask | null {
  return selectSiteTasks(db, and(eq(tasks.id, taskId), eq(tasks.siteId, siteId))!)[0] ?? null
}

/**
 * Claims a pending task for `leaseMs`: status claimed, attempts + 1, event `claimed`.
 * 'not found' for another site's task, an unknown one or one of a deleted project;
 * 'conflict' when it is not pending (claimed already, or finished).
 */
export function claimTask(db: Db, site: Site, taskId: number, now: number, leaseMs = CLAIM_LEASE_MS): SiteTask | 'not found' | 'conflict' | { code: ApprovalCode } {
  return writeTransaction(db, () => {
    requeueExpiredClaims(db, now, site.id)
    const found = getSiteTask(db, site.id, taskId)
    if (found === null) return 'not found'
    const blocked = approvalBlock(db, found.task, now)
    if (blocked) return { code: blocked }
    const claimed = db
      .update(tasks)
      .set({ status: 'claimed', attempts: sql`${tasks.attempts} + 1`, claimedAt: now, claimExpiresAt: now + leaseMs })
      .where(and(eq(tasks.id, taskId), eq(tasks.siteId, site.id), eq(tasks.status, 'pending')))
      .returning()
      .get()
    if (!claimed) return 'conflict'
    recordTaskEvent(db, taskId, now, 'claimed', { attempt: claimed.attempts, expires_at: claimed.claimExpiresAt })
    return getSiteTask(db, site.id, taskId)!
  })
}

// ─── Results ──────────────────────────────────────────────────────────────────────────────────

const errorMessage = z.string().trim().min(1, 'Describe the error.').max(2000)
/** Any kind of task may answer `{"error": "…"}` to report that it failed. */
const ErrorReport = z.strictObject({ error: errorMessage })
const CohortCountReport = z.strictObject({ count: z.int().min(0) })
const ImageRetrievalReport = z.strictObject({ status: z.literal('done') })
export const TRAINING_REPORT_STATUSES = ['running', 'results uploaded', 'stopped', 'error'] as const
const Metrics = z
  .record(z.string().min(1).max(100), z.union([z.number(), z.string().max(1000)], { error: 'A metric is a number or a string.' }))
  .refine((m) => Object.keys(m).length <= 200, 'At most 200 metrics.')
const TrainingReport = z.strictObject({ status: z.enum(TRAINING_REPORT_STATUSES), metrics: Metrics.optional(), error: errorMessage.optional() })

export type ResultIssue = { path: string; message: string }

export type TaskReport =
  | { kind: 'error'; error: string }
  | { kind: 'count'; count: number }
  | { kind: 'done' }
  | { kind: 'training'; status: (typeof TRAINING_REPORT_STATUSES)[number]; metrics: Record<string, number | string>; error: string | null }

/** Validates a result body against the task's kind; the issues name each wrong field. */
export function parseTaskReport(kind: Task['kind'], body: unknown): { ok: true; report: TaskReport } | { ok: false; issues: ResultIssue[] } {
  const isErrorReport = typeof body === 'object' && body !== null && !Array.isArray(body) && 'error' in body && !('status' in body)
  const schema = isErrorReport ? ErrorReport : kind === 'cohort_query' ? CohortCountReport : kind === 'image_retrieval' ? ImageRetrievalReport : TrainingReport
  const parsed = schema.safeParse(body)
  if (!parsed.success) return { ok: false, issues: parsed.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })) }
  const data = parsed.data as Record<string, unknown>
  if (isErrorReport) return { ok: true, report: { kind: 'error', error: data.error as string } }
  if (kind === 'cohort_query') return { ok: true, report: { kind: 'count', count: data.count as number } }
  if (kind === 'image_retrieval') return { ok: true, report: { kind: 'done' } }
  const training = data as z.infer<typeof TrainingReport>
  return { ok: true, report: { kind: 'training', status: training.status, metrics: training.metrics ?? {}, error: training.error ?? null } }
}

export type ResultOutcome = { ok: true; task: Task } | { ok: false; status: 404 | 409 | 422; error: string; issues?: ResultIssue[]; code?: ApprovalCode }

function notClaimedRefusal(db: Db, task: Task): ResultOutcome {
  if (task.status === 'done' || task.status === 'error') return { ok: false, status: 409, error: `The task is finished (${task.status}); its result was recorded already.` }
  if (task.status === 'claimed') return { ok: false, status: 409, error: 'The task is claimed, but not by this site.' }
  const last = db.select().from(taskEvents).where(eq(taskEvents.taskId, task.id)).orderBy(desc(taskEvents.id)).limit(1).get()
  if (last?.event === 'claim_expired') return { ok: false, status: 409, error: 'The claim on this task expired and the task is pending again: claim it again, then post the result.' }
  return { ok: false, status: 409, error: 'The task is pending: claim it before posting its result.' }
}

/**
 * Records a site's result for a task it holds a claim on (409 otherwise; 404 for another site's
 * task; 422 for a body that does not fit the task's kind). Cohort and image retrieval tasks end
 * done or error. A training report updates the run (status, metrics merged by name) and the
 * model's status with it; "running" keeps the task claimed and extends its lease, "results
 * uploaded" and "stopped" finish it as done, "error" as error.
 */
export function recordTaskResult(db: Db, site: Site, taskId: number, body: unknown, now: number, leaseMs = CLAIM_LEASE_MS): ResultOutcome {
  const existing = getTaskForSite(db, site.id, taskId)
  if (!existing) return { ok: false, status: 404, error: 'No such task for this site.' }
  const blocked = approvalBlock(db, existing, now)
  if (blocked) return { ok: false, status: 409, error: APPROVAL_CODE_MESSAGES[blocked], code: blocked }
  const parsed = parseTaskReport(existing.kind, body)
  if (!parsed.ok) return { ok: false, status: 422, error: `The result does not fit a ${existing.kind} task.`, issues: parsed.issues }
  const report = parsed.report

  return writeTransaction(db, () => {
    requeueExpiredClaims(db, now, site.id)
    const finished = { claimExpiresAt: null, completedAt: now }
    let change: Partial<Task> & { status: TaskStatus }
    if (report.kind === 'error') change = { status: 'error', error: report.error, result: { error: report.error }, ...finished }
    else if (report.kind === 'count') change = { status: 'done', resultCount: report.count, result: { count: report.count }, error: null, ...finished }
    else if (report.kind === 'done') change = { status: 'done', result: { status: 'done' }, error: null, ...finished }
    else if (report.status === 'running') change = { status: 'claimed', claimExpiresAt: now + leaseMs }
    else if (report.status === 'error') change = { status: 'error', error: report.error ?? 'The site reported an error.', result: { status: report.status }, ...finished }
    else change = { status: 'done', result: { status: report.status }, error: null, ...finished }

    const updated = db
      .update(tasks)
      .set(change)
      .where(and(eq(tasks.id, taskId), eq(tasks.siteId, site.id), eq(tasks.status, 'claimed')))
      .returning()
      .get()
    if (!updated) return notClaimedRefusal(db, getTaskForSite(db, site.id, taskId)!)

    if (updated.kind === 'training' && updated.trainingRunId !== null) {
      const runStatus = report.kind === 'training' ? report.status : 'error'
      const run = db.select().from(trainingRuns).where(eq(trainingRuns.id, updated.trainingRunId)).get()
      if (run) {
        const metrics = report.kind === 'training' ? { ...run.metrics, ...report.metrics } : run.metrics
        db.update(trainingRuns).set({ status: runStatus, metrics, updatedAt: now }).where(eq(trainingRuns.id, run.id)).run()
        db.update(models).set({ status: runStatus, updatedAt: now }).where(eq(models.id, run.modelId)).run()
      }
    }
    recordTaskEvent(db, taskId, now, 'result', reportDetails(report))
    return { ok: true, task: updated }
  })
}

function reportDetails(report: TaskReport): Record<string, unknown> {
  switch (report.kind) {
    case 'error':
      return { error: report.error }
    case 'count':
      return { count: report.count }
    case 'done':
      return { status: 'done' }
    case 'training':
      return { status: report.status, ...(Object.keys(report.metrics).length > 0 ? { metrics: report.metrics } : {}), ...(report.error ? { error: report.error } : {}) }
  }
}

/** A training task of this site that it holds a claim on, to upload its result files to. */
export function getClaimedTrainingTask(db: Db, site: Site, taskId: number, now: number): { ok: true; task: Task & { trainingRunId: number } } | { ok: false; status: 404 | 409 | 422; error: string; code?: ApprovalCode } {
  requeueExpiredClaims(db, now, site.id)
  const task = getTaskForSite(db, site.id, taskId)
  if (!task) return { ok: false, status: 404, error: 'No such task for this site.' }
  const blocked = approvalBlock(db, task, now)
  if (blocked) return { ok: false, status: 409, error: APPROVAL_CODE_MESSAGES[blocked], code: blocked }
  if (task.kind !== 'training' || task.trainingRunId === null) return { ok: false, status: 422, error: 'Files are uploaded to training tasks only.' }
  if (task.status !== 'claimed') return { ok: false, status: 409, error: `The task is ${task.status}: claim it before uploading its files.` }
  return { ok: true, task: task as Task & { trainingRunId: number } }
}

function notClaimedForDownload(db: Db, task: Task): string {
  if (task.status === 'done' || task.status === 'error') return `The task is finished (${task.status}): its files are no longer handed out.`
  const last = db.select().from(taskEvents).where(eq(taskEvents.taskId, task.id)).orderBy(desc(taskEvents.id)).limit(1).get()
  if (last?.event === 'claim_expired') return 'The claim on this task expired and the task is pending again: claim it again, then download its files.'
  return 'The task is pending: claim it before downloading its files.'
}

/**
 * A file of the model that a training task of this site trains, for the site to download while
 * it holds the claim. 404 for another site's task, an unknown one, one of a deleted project, a
 * task that is not a training task, and a file that is not of the task's model; 409 when the
 * site does not hold the claim (pending, finished, or its claim expired). A download is kept in
 * the task's history (event `file_downloaded`).
 */
export function getTrainingModelFileForSite(
  db: Db,
  site: Site,
  taskId: number,
  fileId: number,
  now: number,
): { ok: true; task: Task; file: StoredFile } | { ok: false; status: 404 | 409; error: string; code?: ApprovalCode } {
  return writeTransaction(db, () => {
    requeueExpiredClaims(db, now, site.id)
    const found = getSiteTask(db, site.id, taskId)
    if (!found) return { ok: false, status: 404, error: 'No such task for this site.' }
    const file = found.training ? db.select().from(files).where(and(eq(files.id, fileId), eq(files.modelId, found.training.model.id))).get() : undefined
    if (!file) return { ok: false, status: 404, error: "No such file among the files of this task's model." }
    const blocked = approvalBlock(db, found.task, now)
    if (blocked) return { ok: false, status: 409, error: APPROVAL_CODE_MESSAGES[blocked], code: blocked }
    if (found.task.status !== 'claimed') return { ok: false, status: 409, error: notClaimedForDownload(db, found.task) }
    recordTaskEvent(db, taskId, now, 'file_downloaded', { file_id: file.id, filename: file.filename, sha256: file.sha256 })
    return { ok: true, task: found.task, file }
  })
}

/** Records a result file a site stored for a training task's run (event `file_uploaded`). */
export function recordTrainingResultFile(
  db: Db,
  site: Site,
  task: Task & { trainingRunId: number },
  file: { filename: string; size: number; sha256: string; storagePath: string },
  now: number,
): StoredFile {
  return writeTransaction(db, () => {
    const row = db.insert(files).values({ ...file, trainingRunId: task.trainingRunId, siteId: site.id, createdAt: now }).returning().get()
    recordTaskEvent(db, task.id, now, 'file_uploaded', { file_id: row.id, filename: row.filename, size: row.size, sha256: row.sha256 })
    return row
  })
}

// ─── Admin view ───────────────────────────────────────────────────────────────────────────────

export type TaskEventRow = { at: number; event: string; details: Record<string, unknown> }
export type AdminTaskRow = Task & { siteName: string; siteCode: string; projectName: string; projectDeleted: boolean; events: TaskEventRow[] }

export const ADMIN_TASK_LIMIT = 200

/** Tasks newest first (at most ADMIN_TASK_LIMIT), each with its event history, and how many match. */
export function listTasksForAdmin(db: Db, filter: { status?: TaskStatus; siteId?: number }): { rows: AdminTaskRow[]; total: number } {
  const where = and(filter.status ? eq(tasks.status, filter.status) : undefined, filter.siteId !== undefined ? eq(tasks.siteId, filter.siteId) : undefined)
  const total = db.select({ n: sql<number>`count(*)` }).from(tasks).where(where).get()!.n
  return { total, rows: selectAdminTasks(db, where, ADMIN_TASK_LIMIT) }
}

/** One task with its site, project and history, or null when there is no such task. */
export function getTaskForAdmin(db: Db, taskId: number): AdminTaskRow | null {
  return selectAdminTasks(db, eq(tasks.id, taskId), 1)[0] ?? null
}

function selectAdminTasks(db: Db, where: SQL | undefined, limit: number): AdminTaskRow[] {
  const rows = db
    .select({ task: tasks, siteName: sites.name, siteCode: sites.code, projectName: projects.name, projectDeletedAt: projects.deletedAt })
    .from(tasks)
    .innerJoin(sites, eq(sites.id, tasks.siteId))
    .innerJoin(projects, eq(projects.id, tasks.projectId))
    .where(where)
    .orderBy(desc(tasks.id))
    .limit(limit)
    .all()
  const ids = rows.map((r) => r.task.id)
  const events = new Map<number, TaskEventRow[]>()
  if (ids.length > 0) {
    for (const e of db.select().from(taskEvents).where(inArray(taskEvents.taskId, ids)).orderBy(taskEvents.id).all()) {
      const list = events.get(e.taskId) ?? []
      list.push({ at: e.at, event: e.event, details: e.details })
      events.set(e.taskId, list)
    }
  }
  return rows.map((r) => ({ ...r.task, siteName: r.siteName, siteCode: r.siteCode, projectName: r.projectName, projectDeleted: r.projectDeletedAt !== null, events: events.get(r.task.id) ?? [] }))
}

export function listTaskEvents(db: Db, taskId: number): TaskEventRow[] {
  return db.select({ at: taskEvents.at, event: taskEvents.event, details: taskEvents.details }).from(taskEvents).where(eq(taskEvents.taskId, taskId)).orderBy(taskEvents.id).all()
}
