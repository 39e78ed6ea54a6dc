// The audit log's hash chain (SPEC §5). Each event stores
//   hash = hex(SHA-256( previous event's hash (hex) ‖ "\n" ‖ canonical content ))
// where the first event's "previous hash" is 64 zeros and the canonical content is
//   JSON.stringify([id, at, event, actor_id, actor_email, target_type, target_id, ip, details])
// (that key order, JSON null for a NULL column, `details` as the stored JSON text). A changed,
// inserted, removed or reordered row therefore breaks the hash of that row or the next one.
import { createHash } from 'node:crypto'
import { writeTransaction, type Db } from '../db/client.ts'

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
 * Gives a hash to the events written before the chain existed (migration 0011): only a run of
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

/**
 * Recomputes the chain oldest first, streaming (one row in memory at a time), and names the first
 * event that does not match. `checkpoint` is the last event an earlier run found intact: if it is
 * gone or changed, events were removed from the end of the log.
 */
export function verifyAuditChain(db: Db, checkpoint?: AuditCheckpoint | null): AuditChainResult {
  const statement = db.$client.prepare(`select ${COLUMNS}, hash from audit_events order by id`).raw()
  let previous = GENESIS_HASH
  let previousId = 0
  let count = 0
  let checkpointSeen = checkpoint?.lastId == null
  for (const raw of statement.iterate() as IterableIterator<[...ChainRow, string | null]>) {
    const stored = raw[9]
    const row = raw.slice(0, 9) as ChainRow
    const id = row[0]
    const bad = (reason: string): AuditChainResult => ({ ok: false, count, firstBad: { id, event: row[2], reason } })
    if (stored === null) return bad('it has no hash (written around the application)')
    const expected = auditChainHash(previous, row)
    if (expected !== stored) {
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
  }
  if (!checkpointSeen) return { ok: false, count, firstBad: { id: checkpoint!.lastId!, event: '(missing)', reason: `the last event found intact before (id ${checkpoint!.lastId}) is gone: events were removed from the end of the log` } }
  return { ok: true, count, lastId: previousId === 0 ? null : previousId, headHash: previous }
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

/** Verifies the chain against the last intact checkpoint and stores the result (settings `audit_verification`). */
export function runAuditCheck(db: Db, now: number): StoredAuditCheck {
  const last = getLastAuditCheck(db)
  const lastGood: AuditCheckpoint | null = last?.result.ok ? { lastId: last.result.lastId, headHash: last.result.headHash } : (last?.checkpoint ?? null)
  const result = verifyAuditChain(db, lastGood)
  const stored: StoredAuditCheck = { at: now, result, ...(result.ok ? {} : { checkpoint: lastGood }) }
  db.$client.prepare('insert into settings (key, value) values (?, ?) on conflict (key) do update set value = excluded.value').run(SETTING_KEY, JSON.stringify(stored))
  return { at: now, result }
}

/** Daily verification in the server; the first run a minute after start. */
export function startAuditVerification(db: Db, clock: { now(): number }, hooks: { onResult: (check: StoredAuditCheck) => void; onError: (error: unknown) => void }): { stop(): void } {
  const tick = () => {
    try {
      hooks.onResult(runAuditCheck(db, clock.now()))
    } catch (error) {
      hooks.onError(error)
    }
  }
  const first = setTimeout(tick, 60_000)
  const timer = setInterval(tick, 24 * 60 * 60_000)
  first.unref()
  timer.unref()
  return {
    stop() {
      clearTimeout(first)
      clearInterval(timer)
    },
  }
}
