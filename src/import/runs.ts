// Import runs: every applied import (CLI or admin area) and every plan made in the admin area is a
// row of import_runs (status, notification mode, summary) with its files and the report of SPEC §6.6
// in import_run_files, so a result stays viewable afterwards. In the admin area, planning and
// applying run as jobs in a worker thread (job-in-worker.ts; in this thread for ':memory:', the
// tests): planning reports progress; applying is one transaction.

import { and, desc, eq, inArray } from 'drizzle-orm'
import { importRunFiles, importRuns, type ImportRun } from '../db/schema.ts'
import { joinOrWriteTransaction, writeTransaction, type Db } from '../db/client.ts'
import { planImportAsync, type ImportReport, type NotifyMode, type PlannedImport, type PlanProgress } from './plan.ts'
import { denyImportPlan, applyImport, type ApplyContext, type ImportCounts } from './apply.ts'
import { runImportJobInWorker, type ImportJob } from './job-in-worker.ts'
import { resolveActor } from '../models/roles.ts'
import { holdsEverySitePermission } from '../authz/policy.ts'
import { getUserById } from '../models/users.ts'

export type StoredReport = ImportReport & { counts?: ImportCounts }

export type ImportFiles = {
  usersFilename: string
  authFilename: string
  domainsFilename: string | null
  usersYaml: string
  authYaml: string
  domainsYaml: string | null
}

/** A run with its files and report (megabytes for a large import: the pages that show them only). */
export function getImportRun(db: Db, id: number): ImportRun | null {
  const row = db.select().from(importRuns).innerJoin(importRunFiles, eq(importRunFiles.runId, importRuns.id)).where(eq(importRuns.id, id)).get()
  if (!row) return null
  const { runId: _runId, ...files } = row.import_run_files
  return { ...row.import_runs, ...files }
}

/** A new run and its files, in the caller's statement order (inside a transaction). */
function insertRun(db: Db, files: ImportFiles, run: Pick<typeof importRuns.$inferInsert, 'status' | 'notify' | 'createdAt' | 'createdBy'>): number {
  const { usersYaml, authYaml, domainsYaml, ...names } = files
  const { id } = db.insert(importRuns).values({ ...names, ...run }).returning({ id: importRuns.id }).get()
  db.insert(importRunFiles).values({ runId: id, usersYaml, authYaml, domainsYaml }).run()
  return id
}

/** Stores a run's report and its new status (and whatever else `set` holds), in one transaction. */
function storeReport(db: Db, runId: number, report: StoredReport, set: Partial<typeof importRuns.$inferInsert>): void {
  joinOrWriteTransaction(db, () => {
    db.update(importRunFiles).set({ report }).where(eq(importRunFiles.runId, runId)).run()
    db.update(importRuns).set({ ...set, reportOk: report.ok }).where(eq(importRuns.id, runId)).run()
  })
}

export type ImportRunState = { id: number; status: ImportRun['status']; ok: boolean | null }

/**
 * A run's status and whether its report is ok (null: no report yet), without reading its files
 * and report: for a 10,000-entry run those are megabytes to read, a stall of every page each time
 * (the apply, the progress polled every second).
 */
export function getImportRunState(db: Db, id: number): ImportRunState | null {
  const row = db.select({ id: importRuns.id, status: importRuns.status, ok: importRuns.reportOk }).from(importRuns).where(eq(importRuns.id, id)).get()
  return row ?? null
}

/** The latest runs, without their files and reports (the list on /admin/import). */
export function listImportRuns(db: Db, limit = 50) {
  return db
    .select({ id: importRuns.id, status: importRuns.status, notify: importRuns.notify, createdAt: importRuns.createdAt, createdBy: importRuns.createdBy, usersFilename: importRuns.usersFilename, entries: importRuns.entries, appliedAt: importRuns.appliedAt, failure: importRuns.failure })
    .from(importRuns)
    .orderBy(desc(importRuns.id))
    .limit(limit)
    .all()
}

export function reportOf(run: Pick<ImportRun, 'report'>): StoredReport | null {
  return (run.report as StoredReport | null) ?? null
}

/** The report exactly as SPEC §6.6 shapes it (the stored one also carries counts). */
export function publicReport(report: StoredReport): ImportReport {
  const { counts: _counts, ...rest } = report
  return rest
}

/**
 * Applies a plan and records it as an applied run in the same transaction (the CLI). Returns the
 * applied report, or the plan unchanged when it has errors (nothing recorded).
 */
export function applyAndRecord(db: Db, planned: PlannedImport, files: ImportFiles, ctx: ApplyContext & { notify: NotifyMode; createdBy: number | null }): StoredReport {
  const plan = planned.report
  if (!plan.ok) return plan
  return writeTransaction(db, () => {
    const runId = insertRun(db, files, { status: 'applying', notify: ctx.notify, createdAt: ctx.now, createdBy: ctx.createdBy })
    const applied = applyImport(db, plan, { ...ctx, runId })
    storeReport(db, runId, applied, { status: 'applied', appliedAt: ctx.now, appliedBy: ctx.createdBy, entries: planned.entries })
    return applied
  })
}

// ---------------------------------------------------------------------------------------------
// Jobs (the admin area).

export type JobProgress = { phase: PlanProgress['phase'] | 'applying'; done: number; total: number }

const progress = new Map<number, JobProgress>()
const running = new Set<Promise<void>>()

export function jobProgress(runId: number): JobProgress | null {
  return progress.get(runId) ?? null
}

/** Resolves when every job started so far has finished (tests, shutdown). */
export async function settleImportJobs(): Promise<void> {
  while (running.size > 0) await Promise.allSettled([...running])
}

function track(runId: number, job: () => Promise<void>, onError: (error: unknown) => void): void {
  progress.set(runId, { phase: 'reading', done: 0, total: 0 })
  const p = job()
    .catch(onError) // a job records its own failure; this catches a failure to record it, so the process never dies of it
    .finally(() => {
      progress.delete(runId)
      running.delete(p)
    })
  running.add(p)
}

/** Runs left planning or applying by a stopped process: applying is one transaction, so nothing half-done. */
export function markInterruptedRuns(db: Db): number {
  return db
    .update(importRuns)
    .set({ status: 'failed', failure: 'Gatehouse stopped while this ran; nothing was applied. Upload the files again.' })
    .where(inArray(importRuns.status, ['planning', 'applying']))
    .run().changes
}

/** What planning a stored run needs besides the run: the time it is planned at and who plans it. */
export type RunPlanContext = { now: number; actorId: number }

/** Each job's run status while it runs, and the failure recorded when it fails or its worker is lost. */
const JOB_STATES = {
  plan: { status: 'planning', failure: 'Planning failed with an unexpected error (see the server log); nothing was applied.' },
  apply: { status: 'applying', failure: 'Applying failed with an unexpected error (see the server log); nothing was applied.' },
} as const

/** Creates a run from uploaded files and plans it in the background. */
export function startPlanning(db: Db, files: ImportFiles, input: { notify: NotifyMode; now: number; createdBy: number; onError: (error: unknown) => void }): number {
  const runId = writeTransaction(db, () => insertRun(db, files, { status: 'planning', notify: input.notify, createdAt: input.now, createdBy: input.createdBy }))
  runJob(db, { kind: 'plan', runId, ctx: { now: input.now, actorId: input.createdBy } }, input.onError)
  return runId
}

/** The plan job of a run left 'planning' (startPlanning): plans its stored files and stores the report, or marks it failed. */
export async function planStoredRun(db: Db, runId: number, ctx: RunPlanContext, onProgress: (p: JobProgress) => void, onError: (error: unknown) => void): Promise<void> {
  try {
    const run = getImportRun(db, runId)
    if (!run || run.status !== 'planning') return
    const { report, entries } = await planImportAsync(db, { usersYaml: run.usersYaml, authYaml: run.authYaml, domainsYaml: run.domainsYaml, notify: run.notify, now: ctx.now, actorId: ctx.actorId }, onProgress)
    storeReport(db, runId, report, { status: 'planned', entries })
  } catch (error) {
    onError(error)
    markFailed(db, runId, 'plan')
  }
}

/**
 * Runs a job: on a file database in the import worker (job-in-worker.ts), so this event loop goes
 * on answering pages; on ':memory:' (tests) in this thread. A worker lost midway marks the run failed.
 */
function runJob(db: Db, job: ImportJob, onError: (error: unknown) => void): void {
  const onProgress = (p: JobProgress) => progress.set(job.runId, p)
  track(
    job.runId,
    () => {
      if (!db.$client.memory) return runImportJobInWorker(db.$client.name, job, { onProgress, onError, onLost: () => markFailed(db, job.runId, job.kind) })
      return job.kind === 'plan' ? planStoredRun(db, job.runId, job.ctx, onProgress, onError) : applyPlannedRun(db, job.runId, job.ctx, onProgress, onError)
    },
    onError,
  )
}

export type RunApplyContext = Omit<ApplyContext, 'notify' | 'runId'>

/**
 * The apply job of a run claimed as 'applying' (startApplying): plans again from the stored files,
 * then applies in one transaction with the run's new status; any failure rolls the transaction back
 * and marks the run failed. Runs in this thread (':memory:') or in the import worker (job-worker.ts).
 */
export async function applyPlannedRun(db: Db, runId: number, ctx: RunApplyContext, onProgress: (p: JobProgress) => void, onError: (error: unknown) => void): Promise<void> {
  try {
    const run = getImportRun(db, runId)
    if (!run || run.status !== 'applying') return
    const input = { usersYaml: run.usersYaml, authYaml: run.authYaml, domainsYaml: run.domainsYaml, notify: run.notify, now: ctx.now, actorId: ctx.actor.id }
    const { report: fresh, entries } = await planImportAsync(db, input, onProgress)
    if (!fresh.ok) {
      storeReport(db, runId, fresh, { status: 'planned' })
      return
    }
    onProgress({ phase: 'applying', done: 0, total: fresh.actions.length })
    await new Promise<void>((resolve) => setImmediate(resolve))
    writeTransaction(db, () => {
      // The privilege ceiling on the plan being applied (the page checked the one it showed): the
      // acting user, as they are now, must hold everything it hands out (SPEC §2.2).
      const actor = getUserById(db, ctx.actor.id)
      const denial = actor === null ? null : holdsEverySitePermission(resolveActor(db, actor)) ? null : denyImportPlan(db, resolveActor(db, actor), fresh)
      if (actor === null || denial) {
        db.update(importRuns).set({ status: 'failed', failure: actor === null ? 'The acting user no longer exists; nothing was applied.' : `Not applied: ${denial!.rule} (missing permission ${denial!.permission}).` }).where(eq(importRuns.id, runId)).run()
        return
      }
      const applied = applyImport(db, fresh, { ...ctx, notify: run.notify, runId })
      storeReport(db, runId, applied, { status: 'applied', appliedAt: ctx.now, appliedBy: ctx.actor.id, entries })
    })
  } catch (error) {
    onError(error)
    markFailed(db, runId, 'apply')
  }
}

/** Marks a run still in the job's status as failed (an apply's transaction rolled back: nothing was applied). */
function markFailed(db: Db, runId: number, kind: ImportJob['kind']): void {
  const { status, failure } = JOB_STATES[kind]
  db.update(importRuns)
    .set({ status: 'failed', failure })
    .where(and(eq(importRuns.id, runId), eq(importRuns.status, status)))
    .run()
}

export type StartApplyOutcome = 'started' | 'not planned' | 'has errors'

/**
 * Applies a planned run: plans again from the stored files (what is stored may have changed since),
 * then applies in one transaction with its audit event. A second click finds the run no longer
 * 'planned' and does nothing.
 */
export function startApplying(db: Db, runId: number, ctx: RunApplyContext & { onError: (error: unknown) => void }): StartApplyOutcome {
  const run = getImportRunState(db, runId)
  if (!run || run.status !== 'planned') return 'not planned'
  if (!run.ok) return 'has errors'
  const claimed = db.update(importRuns).set({ status: 'applying' }).where(and(eq(importRuns.id, runId), eq(importRuns.status, 'planned'))).run().changes
  if (claimed === 0) return 'not planned'
  const { onError, ...applyCtx } = ctx
  runJob(db, { kind: 'apply', runId, ctx: applyCtx }, onError)
  return 'started'
}
