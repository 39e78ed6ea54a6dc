import { and, isNotNull, isNull, lt, or } from 'drizzle-orm'
import { passwordResetTokens, sessions, signInThrottles } from '../db/schema.ts'
import type { Db } from '../db/client.ts'
import type { Clock } from '../http/context.ts'
import { SEND_WINDOW_MS } from '../auth/send-limits.ts'

const DAY_MS = 24 * 60 * 60_000

/** Deletes rows that can no longer matter: sessions idle for a day, stale throttles, old reset tokens. */
export function pruneExpiredRows(db: Db, now: number): void {
  db.delete(sessions).where(lt(sessions.lastActiveAt, now - DAY_MS)).run()
  db.delete(signInThrottles)
    .where(and(lt(signInThrottles.lastFailureAt, now - DAY_MS), or(isNull(signInThrottles.lockedUntil), lt(signInThrottles.lockedUntil, now))))
    .run()
  // used links stay for the hour in which they count towards the reset-email limit (send-limits.ts)
  db.delete(passwordResetTokens)
    .where(or(lt(passwordResetTokens.expiresAt, now - DAY_MS), and(isNotNull(passwordResetTokens.usedAt), lt(passwordResetTokens.createdAt, now - SEND_WINDOW_MS))))
    .run()
}

export function startHousekeeping(db: Db, clock: Clock): NodeJS.Timeout {
  const timer = setInterval(() => pruneExpiredRows(db, clock.now()), 60 * 60_000)
  timer.unref()
  pruneExpiredRows(db, clock.now())
  return timer
}
