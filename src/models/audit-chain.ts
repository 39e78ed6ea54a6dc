// The audit log's hash chain (SPEC §5). Each event stores
//   hash = hex(SHA-256( previous event's hash (hex) ‖ "\n" ‖ canonical content ))
// where the first event's "previous hash" is 64 zeros and the canonical content is
//   JSON.stringify([id, at, event, actor_id, actor_email, target_type, target_id, ip, details])
// (that key order, JSON null for a NULL column, `details` as the stored JSON text). A changed,
// inserted, removed or reordered row therefore breaks the hash of that row or the next one.
import { createHash } from 'node:crypto'
import { writeTransaction, type Db } from '../db/client.ts'
import { startPeriodic } from './periodic.ts'

export const GENESIS_HASH = '0'.repeat(64)

/** The columns of one event, in canonical order. */
export type ChainRow = [id: number, at: number, event: string, actorId: number | null, actorEmail: string | null, targetType: string | null, targetId: string | null, ip: string | null, details: string]

export function canonicalAuditContent(row: ChainRow): string {
  return JSON.stringify(row)
}

export function auditChainHash(previousHash: string, row: ChainRow): string {
  return createHash('sha256').update(previousHash).update('\n').update(canonicalAuditContent(row)).digest('hex')
}

const COLUMNS = 'id, at, event, actor_id, actor_email, target_type, target_id, ip, details'

/**
 * Gives a hash to the events written before the chain existed (migration 0009): only a run of
 * NULL hashes at the start of the log, oldest first, in one write transaction. A NULL hash after a
 * hashed event is left alone: no event is written that way, so verification reports it.
 */
export function backfillAuditHashes(db: Db): number {
  const sqlite = db.$client
  return writeTransaction(db, () => {
    const firstHashed = sqlite.prepare('select min(id) from audit_events where hash is not null').pluck().get() as number | null
    const select = sqlite.prepare(`select ${COLUMNS} from audit_events where hash is null and id > ? ${firstHashed === null ? '' : 'and id < ?'} order by id limit 1000`).raw()
    const update = sqlite.prepare('update audit_events set hash = ? where id = ? and hash is null')
    let previous = GENESIS_HASH
    let after = 0
    let count = 0
    for (;;) {
      const rows = (firstHashed === null ? select.all(after) : select.all(after, firstHashed)) as ChainRow[]
      if (rows.length === 0) return count
      for (const row of rows) {
        previous = auditChainHash(previous, row)
        update.run(previous, row[0])
        count++
      }
      after = rows.at(-1)![0]
    }
  })
}

export type AuditChainResult =
  | { ok: true; count: number; lastId: number | null; headHash: string }
  | { ok: false; count: number; firstBad: { id: number; event: string; reason: string } }

type StoredRow = [...ChainRow, string | null]

/** The chain check, one row at a time: `step` answers the first bad event, `finish` the result. */
function chainChecker(checkpoint: AuditCheckpoint | null | undefined) {
  let previous = GENESIS_HASH
  let previousId = 0
  let count = 0
  let checkpointSeen = checkpoint?.lastId == null
  return {
    step(raw: StoredRow): AuditChainResult | null {
      const stored = raw[9]
      const row = raw.slice(0, 9) as ChainRow
      const id = row[0]
      const bad = (reason: string): AuditChainResult => ({ ok: false, count, firstBad: { id, event: row[2], reason } })
      if (stored === null) return bad('it has no hash (written around the application)')
      if (auditChainHash(previous, row) !== stored) {
        if (id !== previousId + 1) return bad(`its hash does not match: the event(s) between id ${previousId} and id ${id} are missing`)
        return bad(previousId === 0 ? 'its hash does not match its content (changed, or events before it removed)' : `its hash does not match its content and the previous event (id ${previousId}): it was changed, inserted or moved`)
      }
      if (checkpoint && checkpoint.lastId === id) {
        if (checkpoint.headHash !== stored) return bad('it differs from when the chain was last found intact')
        checkpointSeen = true
      }
      previous = stored
      previousId = id
      count++
      return null
    },
    finish(): AuditChainResult {
      if (!checkpointSeen) return { ok: false, count, firstBad: { id: checkpoint!.lastId!, event: '(missing)', reason: `the last event found intact before (id ${checkpoint!.lastId}) is gone: events were removed from the end of the log` } }
      return { ok: true, count, lastId: previousId === 0 ? null : previousId, headHash: previous }
    },
  }
}

/**
 * Recomputes the chain oldest first, streaming (one row in memory at a time), and names the first
 * event that does not match. `checkpoint` is the last event an earlier run found intact: if it is
 * gone or changed, events were removed from the end of the log. Synchronous: for the CLI.
 */
export function verifyAuditChain(db: Db, checkpoint?: AuditCheckpoint | null): AuditChainResult {
  const checker = chainChecker(checkpoint)
  for (const raw of db.$client.prepare(`select ${COLUMNS}, hash from audit_events order by id`).raw().iterate() as IterableIterator<StoredRow>) {
    const bad = checker.step(raw)
    if (bad) return bad
  }
  return checker.finish()
}

/**
 * verifyAuditChain for the running server: reads `chunk` events at a time by keyset (no statement
 * stays open on the shared connection) and lets other work run between chunks, so a large log does
 * not stall requests. Events appended meanwhile are checked too.
 */
export async function verifyAuditChainInChunks(db: Db, checkpoint?: AuditCheckpoint | null, chunk = 5_000): Promise<AuditChainResult> {
  const checker = chainChecker(checkpoint)
  const select = db.$client.prepare(`select ${COLUMNS}, hash from audit_events where id > ? order by id limit ?`).raw()
  let after = 0
  for (;;) {
    const rows = select.all(after, chunk) as StoredRow[]
    if (rows.length === 0) return checker.finish()
    for (const raw of rows) {
      const bad = checker.step(raw)
      if (bad) return bad
    }
    after = rows.at(-1)![0]
    await new Promise((resolve) => setImmediate(resolve))
  }
}

export type AuditCheckpoint = { lastId: number | null; headHash: string }

/** One stored run; after a failed run, `checkpoint` keeps the last intact one for the next run. */
export type StoredAuditCheck = { at: number; result: AuditChainResult; checkpoint?: AuditCheckpoint | null }

const SETTING_KEY = 'audit_verification'

export function getLastAuditCheck(db: Db): StoredAuditCheck | null {
  const value = db.$client.prepare('select value from settings where key = ?').pluck().get(SETTING_KEY) as string | undefined
  if (value === undefined) return null
  try {
    return JSON.parse(value) as StoredAuditCheck
  } catch {
    return null
  }
}

function lastIntactCheckpoint(db: Db): AuditCheckpoint | null {
  const last = getLastAuditCheck(db)
  return last?.result.ok ? { lastId: last.result.lastId, headHash: last.result.headHash } : (last?.checkpoint ?? null)
}

function storeAuditCheck(db: Db, now: number, result: AuditChainResult, lastGood: AuditCheckpoint | null): StoredAuditCheck {
  const stored: StoredAuditCheck = { at: now, result, ...(result.ok ? {} : { checkpoint: lastGood }) }
  db.$client.prepare('insert into settings (key, value) values (?, ?) on conflict (key) do update set value = excluded.value').run(SETTING_KEY, JSON.stringify(stored))
  return { at: now, result }
}

/** Verifies the chain against the last intact checkpoint and stores the result (settings `audit_verification`). */
export function runAuditCheck(db: Db, now: number): StoredAuditCheck {
  const lastGood = lastIntactCheckpoint(db)
  return storeAuditCheck(db, now, verifyAuditChain(db, lastGood), lastGood)
}

/** runAuditCheck in chunks (verifyAuditChainInChunks), for the server. */
export async function runAuditCheckInChunks(db: Db, clock: { now(): number }): Promise<StoredAuditCheck> {
  const lastGood = lastIntactCheckpoint(db)
  const result = await verifyAuditChainInChunks(db, lastGood)
  return storeAuditCheck(db, clock.now(), result, lastGood)
}

/** Daily verification in the server; the first run a minute after start. */
export function startAuditVerification(db: Db, clock: { now(): number }, hooks: { onResult: (check: StoredAuditCheck) => void; onError: (error: unknown) => void }): { stop(): void } {
  let running = false
  const tick = () => {
    if (running || !db.$client.open) return
    running = true
    runAuditCheckInChunks(db, clock)
      .then(hooks.onResult, hooks.onError)
      .finally(() => (running = false))
  }
  return startPeriodic(tick, { firstAfterMs: 60_000, everyMs: 24 * 60 * 60_000 })
}
