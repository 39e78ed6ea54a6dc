import { auditEvents } from '../db/schema.ts'
import type { Db } from '../db/client.ts'

export type AuditInput = {
  event: string
  at: number
  actor?: { id: number; email: string } | null
  targetType?: string | null
  targetId?: string | number | null
  ip?: string | null
  details?: Record<string, unknown>
}

/** Appends one audit event; call it inside the transaction of the change it records. */
export function recordAuditEvent(db: Db, input: AuditInput): void {
  db.insert(auditEvents)
    .values({
      at: input.at,
      event: input.event,
      actorId: input.actor?.id ?? null,
      actorEmail: input.actor?.email ?? null,
      targetType: input.targetType ?? null,
      targetId: input.targetId == null ? null : String(input.targetId),
      ip: input.ip ?? null,
      details: JSON.stringify(input.details ?? {}),
    })
    .run()
}
