import { and, count, eq, gt, inArray } from 'drizzle-orm'
import { auditEvents, passwordResetTokens } from '../db/schema.ts'
import type { Db } from '../db/client.ts'

// Emails that carry a secret are limited per account (reset) or per invitation (resends and
// security codes): at most SENDS_PER_HOUR in any sliding hour. Counted from what each send leaves
// behind (the reset token row; the invitation's audit event), inside the sender's write
// transaction, so parallel requests cannot exceed the limit.

export const SENDS_PER_HOUR = 3
export const SEND_WINDOW_MS = 60 * 60_000

/** How many reset links the user was sent in the last hour. */
export function resetEmailsInLastHour(db: Db, userId: number, now: number): number {
  return db
    .select({ n: count() })
    .from(passwordResetTokens)
    .where(and(eq(passwordResetTokens.userId, userId), gt(passwordResetTokens.createdAt, now - SEND_WINDOW_MS)))
    .get()!.n
}

/** How many of `events` the invitation had in the last hour (its sends, from the audit trail). */
export function invitationSendsInLastHour(db: Db, invitationId: number, events: readonly string[], now: number): number {
  return db
    .select({ n: count() })
    .from(auditEvents)
    .where(and(eq(auditEvents.targetType, 'invitation'), eq(auditEvents.targetId, String(invitationId)), inArray(auditEvents.event, [...events]), gt(auditEvents.at, now - SEND_WINDOW_MS)))
    .get()!.n
}

export const INVITATION_RESEND_EVENTS = ['invitation.resent'] as const
export const SECURITY_CODE_EVENTS = ['invitation.security_token_sent'] as const

/** Thrown from inside a sender's transaction when its limit is reached: nothing was changed or sent. */
export class SendLimitReached extends Error {
  constructor() {
    super(`at most ${SENDS_PER_HOUR} such emails per hour`)
  }
}
