import { createHash, randomInt } from 'node:crypto'
import { and, count, eq, isNull } from 'drizzle-orm'
import type { Db } from '../db/client.ts'
import { recoveryCodes, users } from '../db/schema.ts'

// Recovery codes (SPEC §11): 10 single-use codes of 10 Crockford base32 characters (50 bits each),
// drawn with node:crypto's CSPRNG. Only SHA-256 of the normalised code is stored: 50 random bits
// per code cannot be guessed offline in useful time for an online-only, lockout-counted secret,
// and a plain hash (no server key) keeps the codes valid if the encryption key is rotated.

export const RECOVERY_CODE_COUNT = 10
export const RECOVERY_CODE_LENGTH = 10
/** With this many or fewer left, the user is told to make new ones. */
export const RECOVERY_CODES_LOW = 3

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'

/** Ten new distinct codes, as shown to the user ("XXXXX-XXXXX"). */
export function generateRecoveryCodes(): string[] {
  const codes = new Set<string>()
  while (codes.size < RECOVERY_CODE_COUNT) {
    let code = ''
    for (let i = 0; i < RECOVERY_CODE_LENGTH; i++) code += ALPHABET[randomInt(ALPHABET.length)]
    codes.add(`${code.slice(0, 5)}-${code.slice(5)}`)
  }
  return [...codes]
}

/** Upper-case, spaces and hyphens removed, Crockford aliases (O→0, I/L→1); null when not a code's shape. */
export function normalizeRecoveryCode(input: string): string | null {
  const cleaned = input.toUpperCase().replace(/[\s-]+/g, '').replace(/O/g, '0').replace(/[IL]/g, '1')
  if (cleaned.length !== RECOVERY_CODE_LENGTH) return null
  for (const ch of cleaned) if (!ALPHABET.includes(ch)) return null
  return cleaned
}

export function hashRecoveryCode(normalized: string): string {
  return createHash('sha256').update(normalized, 'utf8').digest('hex')
}

/**
 * Replaces the user's codes with a new set (call inside the caller's transaction) and returns
 * the codes to show once.
 */
export function issueRecoveryCodes(db: Db, userId: number, now: number): string[] {
  const codes = generateRecoveryCodes()
  db.update(users).set({ recoveryCodesIssuedAt: now }).where(eq(users.id, userId)).run()
  db.delete(recoveryCodes).where(eq(recoveryCodes.userId, userId)).run()
  db.insert(recoveryCodes)
    .values(codes.map((code) => ({ userId, codeHash: hashRecoveryCode(normalizeRecoveryCode(code)!), createdAt: now })))
    .run()
  return codes
}

/**
 * The first set, issued only while the user has none (the sign-in chain's step): of two parallel
 * requests exactly one gets codes, the other null, so no set is shown that was already replaced.
 */
export function issueFirstRecoveryCodes(db: Db, userId: number, now: number): string[] | null {
  const claimed = db.update(users).set({ recoveryCodesIssuedAt: now }).where(and(eq(users.id, userId), isNull(users.recoveryCodesIssuedAt))).run().changes
  return claimed === 1 ? issueRecoveryCodes(db, userId, now) : null
}

/** Removes every code (admin MFA reset); the next sign-in offers a new set. */
export function clearRecoveryCodes(db: Db, userId: number): void {
  db.delete(recoveryCodes).where(eq(recoveryCodes.userId, userId)).run()
  db.update(users).set({ recoveryCodesIssuedAt: null }).where(eq(users.id, userId)).run()
}

/**
 * Marks the code used with one conditional UPDATE: of two parallel uses of one code exactly one
 * changes the row. False when the code is wrong, already used or another user's.
 */
export function consumeRecoveryCode(db: Db, userId: number, input: string, now: number): boolean {
  const normalized = normalizeRecoveryCode(input)
  if (normalized === null) return false
  return (
    db
      .update(recoveryCodes)
      .set({ usedAt: now })
      .where(and(eq(recoveryCodes.userId, userId), eq(recoveryCodes.codeHash, hashRecoveryCode(normalized)), isNull(recoveryCodes.usedAt)))
      .run().changes === 1
  )
}

export function countUnusedRecoveryCodes(db: Db, userId: number): number {
  return db
    .select({ n: count() })
    .from(recoveryCodes)
    .where(and(eq(recoveryCodes.userId, userId), isNull(recoveryCodes.usedAt)))
    .get()!.n
}
