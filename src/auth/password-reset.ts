import { and, eq, gt, isNull } from 'drizzle-orm'
import { passwordResetTokens, users, type User } from '../db/schema.ts'
import type { Db } from '../db/client.ts'
import { generateToken, keyedTokenHash } from './tokens.ts'

export const PASSWORD_RESET_TTL_MS = 60 * 60_000

/** Stores the keyed hash of a new 160-bit reset token for the user; returns the token itself. */
export function createPasswordResetToken(db: Db, key: Buffer, userId: number, now: number): string {
  const token = generateToken(20)
  db.insert(passwordResetTokens).values({ tokenHash: keyedTokenHash(key, token), userId, createdAt: now, expiresAt: now + PASSWORD_RESET_TTL_MS }).run()
  return token
}

/** The user a live (unused, unexpired) token belongs to, or null. */
export function getPasswordResetTokenUser(db: Db, key: Buffer, token: string, now: number): User | null {
  const row = db
    .select({ user: users })
    .from(passwordResetTokens)
    .innerJoin(users, eq(users.id, passwordResetTokens.userId))
    .where(and(eq(passwordResetTokens.tokenHash, keyedTokenHash(key, token)), isNull(passwordResetTokens.usedAt), gt(passwordResetTokens.expiresAt, now)))
    .get()
  return row?.user ?? null
}

/**
 * Marks the token used, atomically, and with it every other outstanding reset link of the same
 * account (one reset ends them all); false when it was already used or has expired.
 */
export function consumePasswordResetToken(db: Db, key: Buffer, token: string, now: number): boolean {
  const used = db
    .update(passwordResetTokens)
    .set({ usedAt: now })
    .where(and(eq(passwordResetTokens.tokenHash, keyedTokenHash(key, token)), isNull(passwordResetTokens.usedAt), gt(passwordResetTokens.expiresAt, now)))
    .returning({ userId: passwordResetTokens.userId })
    .get()
  if (!used) return false
  db.update(passwordResetTokens).set({ usedAt: now }).where(and(eq(passwordResetTokens.userId, used.userId), isNull(passwordResetTokens.usedAt))).run()
  return true
}
