// Applying a large import is one transaction of a few seconds (10,000 entries: about 2 s) that
// would stop this thread's event loop, and every page with it. On a file database it runs in a
// worker thread instead (apply-worker.ts) with a connection of its own: the same applyPlannedRun
// (runs.ts), the same single transaction. In WAL mode the pages' reads go on meanwhile; writers
// wait for the transaction (busy_timeout; the write gate of http/write-gate.ts makes requests
// wait without blocking this thread).
import { Worker } from 'node:worker_threads'
import type { JobProgress, RunApplyContext } from './runs.ts'
import { noteWriterElsewhere } from '../http/write-gate.ts'

/** Messages from the worker. */
export type ApplyWorkerMessage = { type: 'progress'; progress: JobProgress } | { type: 'error'; message: string } | { type: 'done' }

export type ApplyWorkerData = { file: string; runId: number; ctx: RunApplyContext }

/**
 * Runs the apply job of `runId` in a worker on `file`; resolves when the worker has ended. A worker
 * that ends without finishing (it could not start, or it died) has rolled back (its connection
 * closed mid-transaction): `onLost` marks the run failed.
 */
export function applyInWorker(file: string, runId: number, ctx: RunApplyContext, on: { onProgress: (p: JobProgress) => void; onError: (error: unknown) => void; onLost: () => void }): Promise<void> {
  // From the sources (tests, `npm run dev`) the worker is TypeScript: it registers tsx first, as
  // directory-parallel.ts does.
  const fromSource = import.meta.url.endsWith('.ts')
  const url = new URL(`./apply-worker.${fromSource ? 'ts' : 'js'}`, import.meta.url)
  const workerData: ApplyWorkerData = { file, runId, ctx }
  const release = noteWriterElsewhere()
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
    worker.on('message', (message: ApplyWorkerMessage) => {
      if (message.type === 'progress') on.onProgress(message.progress)
      else if (message.type === 'error') on.onError(new Error(message.message))
      else if (message.type === 'done' && !finished) {
        finished = true
        resolve()
      }
    })
    worker.once('error', (error) => lost(error))
    worker.once('exit', (code) => lost(new Error(`the import apply worker stopped (exit code ${code}) before it finished`)))
  }).finally(release)
}
