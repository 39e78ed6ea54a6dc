// Waiting for the database's write lock without stopping the event loop.
//
// SQLite has one writer at a time. While another connection holds the lock (the import's apply
// worker, or the CLI against a running server's database), better-sqlite3 waits for it inside
// the call (busy_timeout, 5 s), and that wait stops this thread and every page with it. So a
// request that may write first waits here, asynchronously, until the lock is free; and the
// session check of every request (which writes the session's activity now and then) runs with
// the busy wait off while this process's import worker writes, waiting here instead when it meets
// the held lock. Reads never wait (WAL).
//
// Note: a request can still meet the lock after it passed the gate (another writer started
// meanwhile); it then waits inside the call as before (busy_timeout). So can the session check
// while the CLI (another process, not noted here) applies an import.
import type { MiddlewareHandler } from 'hono'
import type { AppEnv } from './context.ts'
import type { Db } from '../db/client.ts'

type Client = Db['$client']
type Statements = { timeout: number; begin: { run(): unknown }; rollback: { run(): unknown } }

const POLL_MS = 10
const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])
const statements = new WeakMap<Client, Statements>()

function statementsOf(client: Client): Statements {
  let s = statements.get(client)
  if (!s) {
    const timeout = Number(client.pragma('busy_timeout', { simple: true })) || 0
    // Note: a PRAGMA takes effect when it is prepared, so busy_timeout cannot be a reused statement.
    s = { timeout, begin: client.prepare('BEGIN IMMEDIATE'), rollback: client.prepare('ROLLBACK') }
    statements.set(client, s)
  }
  return s
}

export function isBusyError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'SQLITE_BUSY'
}

/** Runs fn with the connection's busy wait off: a held write lock throws SQLITE_BUSY at once. */
export function withoutBusyWait<T>(db: Db, fn: () => T): T {
  const client = db.$client
  const { timeout } = statementsOf(client)
  client.pragma('busy_timeout = 0')
  try {
    return fn()
  } finally {
    client.pragma(`busy_timeout = ${timeout}`)
  }
}

/** True while another connection holds the write lock (never for ':memory:' or inside a transaction). */
export function writeLockHeldElsewhere(db: Db): boolean {
  const client = db.$client
  if (client.memory || client.inTransaction) return false
  const s = statementsOf(client)
  try {
    withoutBusyWait(db, () => s.begin.run())
  } catch (error) {
    if (isBusyError(error)) return true
    throw error
  }
  s.rollback.run()
  return false
}

/** How long a request waits here at most (then its own busy_timeout takes over, or SQLITE_BUSY). */
const MAX_WAIT_MS = 60_000

/** Resolves once no other connection holds the write lock, or after maxMs. */
export async function awaitWriteLock(db: Db, maxMs = MAX_WAIT_MS): Promise<void> {
  const until = performance.now() + maxMs
  while (performance.now() < until && writeLockHeldElsewhere(db)) await new Promise((resolve) => setTimeout(resolve, POLL_MS))
}

let writersElsewhere = 0

/**
 * Notes that this process started a writer on a connection of its own (the import's apply worker)
 * until the returned function is called. Meanwhile the session check of every request runs
 * without the busy wait (withoutBlocking); otherwise it skips that cost (about 8 µs).
 */
export function noteWriterElsewhere(): () => void {
  writersElsewhere++
  let released = false
  return () => {
    if (!released) writersElsewhere--
    released = true
  }
}

/** True while a writer noted by noteWriterElsewhere runs. */
export function writerElsewhereNoted(): boolean {
  return writersElsewhere > 0
}

/** Runs fn (a synchronous step that may write) without the busy wait; meeting a held lock, waits for it and runs fn again. */
export async function withoutBlocking<T>(db: Db, fn: () => T): Promise<T> {
  if (db.$client.memory) return fn()
  const until = performance.now() + MAX_WAIT_MS
  for (;;) {
    try {
      return withoutBusyWait(db, fn)
    } catch (error) {
      // Never the busy wait of the connection (it would stop the thread): SQLITE_BUSY after MAX_WAIT_MS.
      if (!isBusyError(error) || performance.now() >= until) throw error
    }
    await awaitWriteLock(db, until - performance.now())
  }
}

/** Requests that may write (POST, PUT, PATCH, DELETE) wait here while another connection writes. */
export const writeGate: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (UNSAFE.has(c.req.method)) await awaitWriteLock(c.get('deps').db, c.get('deps').writeWaitMs ?? MAX_WAIT_MS)
  await next()
}
