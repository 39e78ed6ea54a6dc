import { and, eq, ne, sql } from 'drizzle-orm'
import { createHash, timingSafeEqual } from 'node:crypto'
import { sessions, users, type Session, type User } from '../db/schema.ts'
import { preparedOnce, type Db } from '../db/client.ts'
import { generateToken } from './tokens.ts'
import { isBusyError } from '../http/write-gate.ts'

// Sessions follow Lucia's current guide: the token is `id.secret`, only SHA-256(secret) is
// stored, and the secret is compared in constant time. Expiry is idle + absolute.

export type SessionPolicy = { idleMs: number; absoluteMs: number }
export type SessionWithUser = { session: Session; user: User }

/** How often last_active_at is written: at most once a minute per session. */
const ACTIVITY_WRITE_INTERVAL_MS = 60_000

// node:crypto (OpenSSL) rather than a JavaScript SHA-256: this runs on every request.
function hashSecret(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest()
}

export function createSession(
  db: Db,
  input: { userId: number; now: number; mfaVerified: boolean; ip: string; userAgent: string; authMethod?: string },
): { token: string; session: Session } {
  const id = generateToken(15)
  const secret = generateToken(32)
  const session: Session = {
    id,
    secretHash: hashSecret(secret),
    userId: input.userId,
    createdAt: input.now,
    lastActiveAt: input.now,
    mfaVerified: input.mfaVerified,
    ip: input.ip.slice(0, 64),
    userAgent: input.userAgent.slice(0, 256),
    authMethod: input.authMethod ?? 'password',
  }
  db.insert(sessions).values(session).run()
  return { token: `${id}.${secret}`, session }
}

// Every request runs this lookup: prepared once per database rather than built each time.
function prepareSessionLookup(db: Db) {
  return db.select().from(sessions).innerJoin(users, eq(sessions.userId, users.id)).where(eq(sessions.id, sql.placeholder('id'))).prepare()
}

/** Returns the live session and its user, or null (unknown, wrong secret, idle or too old). */
export function validateSessionToken(db: Db, token: string, now: number, policy: SessionPolicy): SessionWithUser | null {
  const [id, secret, extra] = token.split('.')
  if (!id || !secret || extra !== undefined) return null
  const row = preparedOnce(db, prepareSessionLookup).get({ id })
  if (!row) return null
  const { sessions: session, users: user } = row
  const expected = Buffer.from(session.secretHash)
  const actual = hashSecret(secret)
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) return null
  if (now - session.lastActiveAt >= policy.idleMs || now - session.createdAt >= policy.absoluteMs || user.disabledAt !== null) {
    invalidateSession(db, session.id)
    return null
  }
  if (now - session.lastActiveAt >= ACTIVITY_WRITE_INTERVAL_MS) {
    try {
      db.update(sessions).set({ lastActiveAt: now }).where(eq(sessions.id, session.id)).run()
      session.lastActiveAt = now
    } catch (error) {
      // Another connection is writing (an import applying, http/write-gate.ts runs this without the
      // busy wait): the activity is written by a later request. Its idle time only counts longer.
      if (!isBusyError(error)) throw error
    }
  }
  return { session, user }
}

export function markSessionMfaVerified(db: Db, sessionId: string): void {
  db.update(sessions).set({ mfaVerified: true }).where(eq(sessions.id, sessionId)).run()
}

export function invalidateSession(db: Db, sessionId: string): void {
  db.delete(sessions).where(eq(sessions.id, sessionId)).run()
}

/** Ends every session of the user; returns how many ended. */
export function invalidateUserSessions(db: Db, userId: number): number {
  return db.delete(sessions).where(eq(sessions.userId, userId)).run().changes
}

/** Ends every session of the user but the one given (after a self-service password change). */
export function invalidateOtherUserSessions(db: Db, userId: number, keepSessionId: string): number {
  return db.delete(sessions).where(and(eq(sessions.userId, userId), ne(sessions.id, keepSessionId))).run().changes
}

function prepareSessionList(db: Db) {
  return db.select().from(sessions).where(eq(sessions.userId, sql.placeholder('userId'))).prepare()
}

export function listUserSessions(db: Db, userId: number): Session[] {
  return preparedOnce(db, prepareSessionList).all({ userId })
}
