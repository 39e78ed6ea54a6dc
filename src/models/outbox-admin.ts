import { and, count, desc, eq, isNull, lt, sql } from 'drizzle-orm'
import { outbox, type OutboxMessage } from '../db/schema.ts'
import { writeTransaction, type Db } from '../db/client.ts'
import { recordAuditEvent } from './audit.ts'

export const OUTBOX_STATUSES = ['queued', 'sent', 'failed', 'logged'] as const

export const OUTBOX_PAGE_SIZE = 50

/** Newest first, a page at a time: `before` is the id the next page starts below (keyset paging). */
export function listOutbox(db: Db, input: { status: string; before: number | null }): { messages: OutboxMessage[]; nextBefore: number | null } {
  const conditions = [
    (OUTBOX_STATUSES as readonly string[]).includes(input.status) ? eq(outbox.status, input.status as OutboxMessage['status']) : undefined,
    input.before ? lt(outbox.id, input.before) : undefined,
  ].filter((x) => x !== undefined)
  const rows = db.select().from(outbox).where(and(...conditions)).orderBy(desc(outbox.id)).limit(OUTBOX_PAGE_SIZE + 1).all()
  const messages = rows.slice(0, OUTBOX_PAGE_SIZE)
  return { messages, nextBefore: rows.length > OUTBOX_PAGE_SIZE ? messages.at(-1)!.id : null }
}

export function getOutboxMessage(db: Db, id: number): OutboxMessage | null {
  return db.select().from(outbox).where(eq(outbox.id, id)).get() ?? null
}

/** False when the stored text is gone: empty, or a placeholder such as "[removed after delivery]". */
export function isOutboxBodyKept(message: Pick<OutboxMessage, 'textBody' | 'bodyRemovedAt'>): boolean {
  return message.bodyRemovedAt === null && message.textBody.trim() !== ''
}

export function countOutbox(db: Db): Record<string, number> {
  return Object.fromEntries(db.select({ status: outbox.status, n: count() }).from(outbox).groupBy(outbox.status).all().map((r) => [r.status, r.n]))
}

/** Queues a failed message again for a fresh day of retries; false when it is not failed. */
export function retryFailedEmail(db: Db, id: number, audit: { at: number; actor: { id: number; email: string }; ip: string }): boolean {
  return writeTransaction(db, () => {
    const changed = db
      .update(outbox)
      .set({ status: 'queued', nextAttemptAt: audit.at, createdAt: audit.at, lastError: sql`'retry requested: ' || coalesce(${outbox.lastError}, '')` })
      // a failed message whose secret was removed cannot be sent again (it would arrive empty)
      .where(and(eq(outbox.id, id), eq(outbox.status, 'failed'), isNull(outbox.bodyRemovedAt)))
      .run().changes
    if (changed > 0) recordAuditEvent(db, { ...audit, event: 'outbox.retried', targetType: 'email', targetId: id })
    return changed > 0
  })
}

/** Queued messages that should have gone out more than `olderThanMs` ago. */
export function countOverdueEmails(db: Db, now: number, olderThanMs: number): number {
  return db.select({ n: count() }).from(outbox).where(and(eq(outbox.status, 'queued'), lt(outbox.nextAttemptAt, now - olderThanMs))).get()?.n ?? 0
}
