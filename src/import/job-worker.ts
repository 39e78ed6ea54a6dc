// The import job worker (see job-in-worker.ts): its own connection to the database file, one job
// of one run (planStoredRun: the plan stored, the run marked planned or failed; applyPlannedRun: one
// transaction, the run marked applied or failed), then it ends.
import { parentPort, workerData } from 'node:worker_threads'
import { readlinkSync } from 'node:fs'
import { setPriority } from 'node:os'
import { openDatabase } from '../db/client.ts'
import { applyPlannedRun, planStoredRun, type JobProgress } from './runs.ts'
import type { ImportJobData, ImportJobMessage } from './job-in-worker.ts'

// Below the event loop: on Linux a thread has its own nice value (the YAML worker this one starts
// inherits it). At nice 10 the scheduler gives the event loop about nine times the import's share
// when both want a core, so pages keep answering; 19 would let any other busy process on the host
// starve the import (a 10,000-entry apply stalled past 90 s on a crowded machine).
const WORKER_NICE = 10
try {
  const tid = Number(/task\/(\d+)$/.exec(readlinkSync('/proc/thread-self'))?.[1])
  if (Number.isInteger(tid)) setPriority(tid, WORKER_NICE)
} catch {
  // not Linux, or not allowed: the import then shares the CPU evenly
}

const { file, job } = workerData as ImportJobData
const post = (message: ImportJobMessage) => parentPort!.postMessage(message)
const onProgress = (progress: JobProgress) => post({ type: 'progress', progress })
const onError = (error: unknown) => post({ type: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) })
const db = openDatabase(file)
try {
  if (job.kind === 'plan') await planStoredRun(db, job.runId, job.ctx, onProgress, onError)
  // The key arrives as a Uint8Array (structured clone); the apply derives invitation links from a Buffer.
  else await applyPlannedRun(db, job.runId, { ...job.ctx, key: Buffer.from(job.ctx.key) }, onProgress, onError)
  // The job left megabytes in the WAL (the report; an apply's transaction: tens of megabytes).
  // Checkpoint them here: otherwise the event loop's next write would (SQLite's automatic
  // checkpoint runs in the committing connection), copying and syncing them while every page
  // waits. Writers wait meanwhile (the write gate).
  try {
    db.$client.pragma('wal_checkpoint(TRUNCATE)')
  } catch {
    // busy: SQLite's automatic checkpoint does it later
  }
  post({ type: 'done' })
} finally {
  db.$client.close()
}
