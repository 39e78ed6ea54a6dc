// The apply worker (see apply-in-worker.ts): its own connection to the database file, the apply job
// of one run (applyPlannedRun: one transaction, the run marked applied or failed), then it ends.
import { parentPort, workerData } from 'node:worker_threads'
import { readlinkSync } from 'node:fs'
import { setPriority } from 'node:os'
import { openDatabase } from '../db/client.ts'
import { applyPlannedRun } from './runs.ts'
import type { ApplyWorkerData, ApplyWorkerMessage } from './apply-in-worker.ts'

// Below the event loop: on Linux a thread has its own nice value (the YAML worker this one starts
// inherits it), so the import takes the CPU the pages leave and never the other way round.
try {
  const tid = Number(/task\/(\d+)$/.exec(readlinkSync('/proc/thread-self'))?.[1])
  if (Number.isInteger(tid)) setPriority(tid, 19)
} catch {
  // not Linux, or not allowed: the import then shares the CPU evenly
}

const input = workerData as ApplyWorkerData
const post = (message: ApplyWorkerMessage) => parentPort!.postMessage(message)
const db = openDatabase(input.file)
try {
  // The key arrives as a Uint8Array (structured clone); the apply derives invitation links from a Buffer.
  const ctx = { ...input.ctx, key: Buffer.from(input.ctx.key) }
  await applyPlannedRun(db, input.runId, ctx, (progress) => post({ type: 'progress', progress }), (error) => post({ type: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) }))
  post({ type: 'done' })
} finally {
  db.$client.close()
}
