// Planning a large import (YAML parsing and the checks: about 3 s for 10,000 entries) and applying
// it (one transaction of a few seconds) would each stop this thread's event loop, and every page
// with it. On a file database both run in a worker thread instead (job-worker.ts) with a connection
// of its own: the same planStoredRun and applyPlannedRun (runs.ts), the same single transaction.
// In WAL mode the pages' reads go on meanwhile; writers wait for the transaction (busy_timeout; the
// write gate of http/write-gate.ts makes requests wait without blocking this thread).
import { Worker } from 'node:worker_threads'
import type { JobProgress, RunApplyContext, RunPlanContext } from './runs.ts'
import { noteWriterElsewhere } from '../http/write-gate.ts'

/** Messages from the worker. */
export type ImportJobMessage = { type: 'progress'; progress: JobProgress } | { type: 'error'; message: string } | { type: 'done' }

/** What the worker does: plan a run left 'planning', or apply one claimed as 'applying'. */
export type ImportJob = { kind: 'plan'; runId: number; ctx: RunPlanContext } | { kind: 'apply'; runId: number; ctx: RunApplyContext }

export type ImportJobData = { file: string; job: ImportJob }

/**
 * Runs `job` in a worker on `file`; resolves when the worker has ended. A worker that ends without
 * finishing (it could not start, or it died) has rolled back (its connection closed mid-transaction):
 * `onLost` marks the run failed.
 */
export function runImportJobInWorker(file: string, job: ImportJob, on: { onProgress: (p: JobProgress) => void; onError: (error: unknown) => void; onLost: () => void }): Promise<void> {
  // From the sources (tests, `npm run dev`) the worker is TypeScript: it registers tsx first, as
  // directory-parallel.ts does.
  const fromSource = import.meta.url.endsWith('.ts')
  const url = new URL(`./job-worker.${fromSource ? 'ts' : 'js'}`, import.meta.url)
  const workerData: ImportJobData = { file, job }
  // Planning only reads until it stores its report; only an apply holds the write lock for long.
  const release = job.kind === 'apply' ? noteWriterElsewhere() : () => {}
  return new Promise<void>((resolve) => {
    let finished = false
    const lost = (error: unknown) => {
      if (finished) return
      finished = true
      on.onError(error)
      try {
        on.onLost()
      } finally {
        resolve()
      }
    }
    let worker: Worker
    try {
      worker = fromSource
        ? new Worker(`import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(url.href)}) })`, { eval: true, workerData })
        : new Worker(url, { workerData })
    } catch (error) {
      return lost(error)
    }
    worker.on('message', (message: ImportJobMessage) => {
      if (message.type === 'progress') on.onProgress(message.progress)
      else if (message.type === 'error') on.onError(new Error(message.message))
      else if (message.type === 'done' && !finished) {
        finished = true
        resolve()
      }
    })
    worker.once('error', (error) => lost(error))
    worker.once('exit', (code) => lost(new Error(`the import ${job.kind} worker stopped (exit code ${code}) before it finished`)))
  }).finally(release)
}
