import { and, desc, eq, ne, sql } from 'drizzle-orm'
import { auditEvents, sessions, users, type AuditEvent, type User } from '../db/schema.ts'
import { writeTransaction, type Db } from '../db/client.ts'
import { recordAuditEvent } from './audit.ts'

// The signed-in user's own account (SPEC §11): each change is a guarded statement plus its
// audit event in one transaction; the actor is always the user themselves.

export type SelfContext = { user: User; now: number; ip: string }

function actorOf(ctx: SelfContext) {
  return { id: ctx.user.id, email: ctx.user.email }
}

/** First and last name (validated by the caller); audited as `user.updated` like an admin's edit. False when nothing changed. */
export function updateOwnName(db: Db, input: { firstName: string; lastName: string }, ctx: SelfContext): boolean {
  const { user } = ctx
  if (input.firstName === user.firstName && input.lastName === user.lastName) return false
  writeTransaction(db, () => {
    db.update(users).set(input).where(eq(users.id, user.id)).run()
    recordAuditEvent(db, {
      event: 'user.updated',
      at: ctx.now,
      actor: actorOf(ctx),
      targetType: 'user',
      targetId: user.id,
      ip: ctx.ip,
      details: { email: user.email, via: 'account', before: { first_name: user.firstName, last_name: user.lastName }, after: { first_name: input.firstName, last_name: input.lastName } },
    })
  })
  return true
}

/** Ends one of the user's own sessions; false when it is not theirs or has ended already. */
export function revokeOwnSession(db: Db, sessionId: string, ctx: SelfContext & { currentSessionId: string }): boolean {
  return writeTransaction(db, () => {
    const ended = db.delete(sessions).where(and(eq(sessions.id, sessionId), eq(sessions.userId, ctx.user.id))).run().changes
    if (ended === 0) return false
    recordAuditEvent(db, { event: 'session.revoked', at: ctx.now, actor: actorOf(ctx), targetType: 'user', targetId: ctx.user.id, ip: ctx.ip, details: { session: sessionId.slice(0, 6), via: 'account', current: sessionId === ctx.currentSessionId } })
    return true
  })
}

/** "Sign out everywhere else": every session of the user but the current one; returns how many ended. */
export function revokeOtherOwnSessions(db: Db, ctx: SelfContext & { currentSessionId: string }): number {
  return writeTransaction(db, () => {
    const ended = db.delete(sessions).where(and(eq(sessions.userId, ctx.user.id), ne(sessions.id, ctx.currentSessionId))).run().changes
    if (ended > 0) recordAuditEvent(db, { event: 'session.revoked_others', at: ctx.now, actor: actorOf(ctx), targetType: 'user', targetId: ctx.user.id, ip: ctx.ip, details: { sessions_ended: ended, via: 'account' } })
    return ended
  })
}

/**
 * The audit events that concern the security of an account: sign-ins and their failures and
 * locks, passwords, second factors and recovery codes, sessions, identities, disable/enable/unlock.
 */
export const SECURITY_EVENT_PATTERNS = ['signin.%', 'signout', 'password.%', 'mfa.%', 'recovery_code%', 'passkey.%', 'session.%', 'identity.%', 'user.disabled', 'user.enabled', 'user.unlocked', 'user.role_changed'] as const

/**
 * The user's own last `limit` security events: those whose target is their account, whoever
 * acted (they, an admin, or nobody for a failed sign-in). One query on audit_events_target_idx:
 * SQLite keeps the rowid (the id) at the end of that index, so the newest come first without a sort.
 */
export function listOwnSecurityEvents(db: Db, userId: number, limit = 50): AuditEvent[] {
  return ownSecurityEventsQuery(db, userId, limit).all()
}

/** The query of listOwnSecurityEvents (its plan is tested). */
export function ownSecurityEventsQuery(db: Db, userId: number, limit: number) {
  const kinds = sql.join(SECURITY_EVENT_PATTERNS.map((p) => (p.includes('%') ? sql`${auditEvents.event} like ${p}` : sql`${auditEvents.event} = ${p}`)), sql` or `)
  return db
    .select()
    .from(auditEvents)
    .where(and(eq(auditEvents.targetType, 'user'), eq(auditEvents.targetId, String(userId)), sql`(${kinds})`))
    .orderBy(desc(auditEvents.id))
    .limit(limit)
}
