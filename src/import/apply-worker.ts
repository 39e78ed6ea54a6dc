// The apply worker (see apply-in-worker.ts): its own connection to the database file, the apply job
// of one run (applyPlannedRun: one transaction, the run marked applied or failed), then it ends.
import { parentPort, workerData } from 'node:worker_threads'
import { readlinkSync } from 'node:fs'
import { setPriority } from 'node:os'
import { openDatabase } from '../db/client.ts'
import { applyPlannedRun } from './runs.ts'
import type { ApplyWorkerData, ApplyWorkerMessage } from './apply-in-worker.ts'

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

const input = workerData as ApplyWorkerData
const post = (message: ApplyWorkerMessage) => parentPort!.postMessage(message)
const db = openDatabase(input.file)
try {
  // The key arrives as a Uint8Array (structured clone); the apply derives invitation links from a Buffer.
  const ctx = { ...input.ctx, key: Buffer.from(input.ctx.key) }
  await applyPlannedRun(db, input.runId, ctx, (progress) => post({ type: 'progress', progress }), (error) => post({ type: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) }))
  // The transaction left tens of megabytes in the WAL. Checkpoint them here: otherwise the event
  // loop's next write would (SQLite's automatic checkpoint runs in the committing connection),
  // copying and syncing them while every page waits. Writers wait meanwhile (the write gate).
  try {
    db.$client.pragma('wal_checkpoint(TRUNCATE)')
  } catch {
    // busy: SQLite's automatic checkpoint does it later
  }
  post({ type: 'done' })
} finally {
  db.$client.close()
}
