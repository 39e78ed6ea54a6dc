import { eq } from 'drizzle-orm'
import { signInThrottles } from '../db/schema.ts'
import type { Db } from '../db/client.ts'

/** Token bucket per key (client IP): `capacity` attempts at once, refilling `perSecond`. */
export class TokenBucketLimiter {
  private readonly buckets = new Map<string, { tokens: number; updatedAt: number }>()
  constructor(
    private readonly capacity: number,
    private readonly perSecond: number,
  ) {}

  /** Takes one token; returns 0 when allowed, else the seconds to wait. */
  consume(key: string, now: number): number {
    const bucket = this.refill(key, now)
    if (bucket.tokens < 1) return Math.ceil((1 - bucket.tokens) / this.perSecond)
    bucket.tokens -= 1
    return 0
  }

  private refill(key: string, now: number) {
    let bucket = this.buckets.get(key)
    if (!bucket) {
      if (this.buckets.size >= 100_000) this.prune(now)
      bucket = { tokens: this.capacity, updatedAt: now }
      this.buckets.set(key, bucket)
    }
    bucket.tokens = Math.min(this.capacity, bucket.tokens + ((now - bucket.updatedAt) / 1000) * this.perSecond)
    bucket.updatedAt = now
    return bucket
  }

  private prune(now: number) {
    for (const [key, bucket] of this.buckets) {
      if (bucket.tokens + ((now - bucket.updatedAt) / 1000) * this.perSecond >= this.capacity) this.buckets.delete(key)
    }
  }
}

export type LockoutPolicy = { threshold: number; lockMs: number }

export type ThrottleState = { allowed: true } | { allowed: false; retryAfterSeconds: number; locked: boolean }

/** Wait after n consecutive failures: none for the first two, then 1, 2, 4 … 60 seconds. */
export function failureDelayMs(failures: number): number {
  if (failures < 3) return 0
  return Math.min(2 ** (failures - 3), 60) * 1000
}

// Counters are keyed by lower-cased email whether or not an account exists, so the answers
// (and the lockout) look the same for unknown addresses and never reveal whether one exists.

export function checkSignInThrottle(db: Db, email: string, now: number): ThrottleState {
  const row = db.select().from(signInThrottles).where(eq(signInThrottles.email, email)).get()
  if (!row) return { allowed: true }
  if (row.lockedUntil !== null && row.lockedUntil > now) {
    return { allowed: false, locked: true, retryAfterSeconds: Math.ceil((row.lockedUntil - now) / 1000) }
  }
  if (row.lockedUntil !== null) return { allowed: true } // lock served; the next failure counts from 1
  const waitUntil = row.lastFailureAt + failureDelayMs(row.failures)
  if (waitUntil > now) return { allowed: false, locked: false, retryAfterSeconds: Math.ceil((waitUntil - now) / 1000) }
  return { allowed: true }
}

/** Counts a failure; returns true when this failure locked the account. */
export function recordSignInFailure(db: Db, email: string, now: number, policy: LockoutPolicy): boolean {
  const row = db.select().from(signInThrottles).where(eq(signInThrottles.email, email)).get()
  const previous = row && (row.lockedUntil === null || row.lockedUntil > now) ? row.failures : 0
  const failures = previous + 1
  const lockedUntil = failures >= policy.threshold ? now + policy.lockMs : null
  db.insert(signInThrottles)
    .values({ email, failures, lastFailureAt: now, lockedUntil })
    .onConflictDoUpdate({ target: signInThrottles.email, set: { failures, lastFailureAt: now, lockedUntil } })
    .run()
  return lockedUntil !== null
}

export function clearSignInFailures(db: Db, email: string): void {
  db.delete(signInThrottles).where(eq(signInThrottles.email, email)).run()
}

/** Locked until (ms), or null when the account is not locked now. */
export function getLockedUntil(db: Db, email: string, now: number): number | null {
  const row = db.select().from(signInThrottles).where(eq(signInThrottles.email, email)).get()
  return row?.lockedUntil != null && row.lockedUntil > now ? row.lockedUntil : null
}

// Race-proof lockout (issue 11, finding 2): an attempt is counted BEFORE its password or code is
// verified, in one SQLite statement, so parallel requests can never verify more attempts than the
// threshold; a successful one is refunded afterwards, and the lock is checked again after verifying.

/** The wait (ms) after `failures` failures, as an SQL expression over the column (same as failureDelayMs). */
const DELAY_SQL = `CASE WHEN failures < 3 THEN 0 ELSE min(1 << min(failures - 3, 6), 60) * 1000 END`

/**
 * Counts one attempt against the email atomically (last_failure_at moves only when an attempt
 * fails, so a refunded success leaves no wait behind); refused (nothing counted) while the account is
 * locked, inside the wait after recent failures, or when the attempts in flight and failed already
 * reach the threshold.
 */
export function beginSignInAttempt(db: Db, email: string, now: number, policy: LockoutPolicy): ThrottleState {
  const counted = db.$client
    .prepare(
      `INSERT INTO sign_in_throttles (email, failures, last_failure_at, locked_until) VALUES (@email, 1, @now, NULL)
       ON CONFLICT (email) DO UPDATE SET
         failures = CASE WHEN locked_until IS NOT NULL THEN 1 ELSE failures + 1 END,
         locked_until = NULL
       WHERE (locked_until IS NOT NULL AND locked_until <= @now)
          OR (locked_until IS NULL AND failures < @threshold AND last_failure_at + ${DELAY_SQL} <= @now)
       RETURNING failures`,
    )
    .get({ email, now, threshold: policy.threshold }) as { failures: number } | undefined
  if (counted) return { allowed: true }
  const row = db.select().from(signInThrottles).where(eq(signInThrottles.email, email)).get()
  if (row?.lockedUntil != null && row.lockedUntil > now) return { allowed: false, locked: true, retryAfterSeconds: Math.ceil((row.lockedUntil - now) / 1000) }
  if (row && row.failures >= policy.threshold) return { allowed: false, locked: true, retryAfterSeconds: Math.ceil(policy.lockMs / 1000) }
  const waitUntil = (row?.lastFailureAt ?? now) + failureDelayMs(row?.failures ?? 0)
  return { allowed: false, locked: false, retryAfterSeconds: Math.max(1, Math.ceil((waitUntil - now) / 1000)) }
}

/** The counted attempt failed: it stays counted; locks when the failures reach the threshold. True when this call locked. */
export function concludeFailedAttempt(db: Db, email: string, now: number, policy: LockoutPolicy): boolean {
  const locked = db.$client
    .prepare(
      `UPDATE sign_in_throttles SET locked_until = @until, last_failure_at = @now
       WHERE email = @email AND failures >= @threshold AND (locked_until IS NULL OR locked_until <= @now) RETURNING 1 AS one`,
    )
    .get({ email, now, until: now + policy.lockMs, threshold: policy.threshold })
  // (re-created should housekeeping have removed the row while this attempt was verified)
  if (!locked) db.insert(signInThrottles).values({ email, failures: 1, lastFailureAt: now, lockedUntil: null }).onConflictDoUpdate({ target: signInThrottles.email, set: { lastFailureAt: now } }).run()
  return locked !== undefined
}

/**
 * The counted attempt succeeded: it is taken back. Returns the lock still standing (reached
 * meanwhile by other attempts), in which case the success must be refused.
 */
export function concludeSucceededAttempt(db: Db, email: string, now: number): ThrottleState {
  const row = db.$client
    .prepare(`UPDATE sign_in_throttles SET failures = max(failures - 1, 0) WHERE email = ? RETURNING locked_until AS lockedUntil`)
    .get(email) as { lockedUntil: number | null } | undefined
  if (row?.lockedUntil != null && row.lockedUntil > now) return { allowed: false, locked: true, retryAfterSeconds: Math.ceil((row.lockedUntil - now) / 1000) }
  return { allowed: true }
}
