import { joinOrWriteTransaction, preparedOnce, type Db } from '../db/client.ts'
import { auditChainHash, GENESIS_HASH, type ChainRow } from './audit-chain.ts'

export type AuditInput = {
  event: string
  at: number
  actor?: { id: number; email: string } | null
  targetType?: string | null
  targetId?: string | number | null
  ip?: string | null
  details?: Record<string, unknown>
}

const prepareLastEvent = (db: Db) => db.$client.prepare('select id, hash from audit_events order by id desc limit 1')
const prepareInsert = (db: Db) => db.$client.prepare('insert into audit_events (id, at, event, actor_id, actor_email, target_type, target_id, ip, details, hash) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')

/**
 * Appends one audit event, chained to the one before it (models/audit-chain.ts); call it inside
 * the transaction of the change it records (alone, it opens its own). Note: the last event is read
 * inside the write transaction (BEGIN IMMEDIATE), so concurrent writers cannot fork the chain.
 */
export function recordAuditEvent(db: Db, input: AuditInput): void {
  joinOrWriteTransaction(db, () => {
    const last = preparedOnce(db, prepareLastEvent).get() as { id: number; hash: string | null } | undefined
    const row: ChainRow = [
      (last?.id ?? 0) + 1,
      input.at,
      input.event,
      input.actor?.id ?? null,
      input.actor?.email ?? null,
      input.targetType ?? null,
      input.targetId == null ? null : String(input.targetId),
      input.ip ?? null,
      JSON.stringify(input.details ?? {}),
    ]
    preparedOnce(db, prepareInsert).run(...row, auditChainHash(last?.hash ?? GENESIS_HASH, row))
  })
}
