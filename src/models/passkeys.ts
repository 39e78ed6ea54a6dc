import { and, asc, count, eq, gt, lte, or, sql } from 'drizzle-orm'
import { writeTransaction, type Db } from '../db/client.ts'
import { passkeys, users, webauthnChallenges, type Passkey, type User } from '../db/schema.ts'
import { recordAuditEvent } from './audit.ts'
import { queueSecurityNotice } from '../mail/security-notice.ts'

// Passkeys (SPEC §11): the credentials and the challenges of their ceremonies. Verification itself
// is @simplewebauthn/server's (routes/passkeys.tsx); this module stores what it verified.

/** A challenge is good for this long, once. */
export const CHALLENGE_TTL_MS = 5 * 60_000
export const PASSKEY_NAME_MAX = 60

export type ChallengePurpose = 'register' | 'second-factor' | 'sign-in' | 'reauth'
type Context = { now: number; ip: string; baseUrl: string }

export function listPasskeys(db: Db, userId: number): Passkey[] {
  return db.select().from(passkeys).where(eq(passkeys.userId, userId)).orderBy(asc(passkeys.createdAt), asc(passkeys.id)).all()
}

export function countPasskeys(db: Db, userId: number): number {
  return db.select({ n: count() }).from(passkeys).where(eq(passkeys.userId, userId)).get()!.n
}

export function getPasskeyByCredentialId(db: Db, credentialId: string): Passkey | null {
  return db.select().from(passkeys).where(eq(passkeys.credentialId, credentialId)).get() ?? null
}

/** One of the user's own passkeys, or null (unknown, or another user's). */
export function getOwnPasskey(db: Db, userId: number, passkeyId: number): Passkey | null {
  return db.select().from(passkeys).where(and(eq(passkeys.id, passkeyId), eq(passkeys.userId, userId))).get() ?? null
}

/** The user's second factors: the authenticator app (one) plus each passkey. Recovery codes are not one. */
export function countSecondFactors(db: Db, userId: number): number {
  const user = db.select({ totp: users.totpSecret }).from(users).where(eq(users.id, userId)).get()
  return (user?.totp ? 1 : 0) + countPasskeys(db, userId)
}

/** Why a passkey name is refused, or undefined. */
export function passkeyNameError(name: string): string | undefined {
  if (name === '') return 'Give the passkey a name, such as the device it is on.'
  if (name.length > PASSKEY_NAME_MAX) return `Use at most ${PASSKEY_NAME_MAX} characters.`
  if (/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/u.test(name)) return 'Use one line of plain text: no line breaks, tabs or other control characters.'
  return undefined
}

/**
 * Stores a verified registration with its audit event and security notice in one transaction.
 * Null when the credential is already registered (to anyone).
 */
export function addPasskey(
  db: Db,
  input: {
    user: User
    name: string
    credential: { id: string; publicKey: Uint8Array; counter: number; transports?: string[] }
    deviceType: string
    backedUp: boolean
    userVerifiedAtRegistration: boolean
  } & Context,
): Passkey | null {
  const { user } = input
  return writeTransaction(db, () => {
    const row = db
      .insert(passkeys)
      .values({
        userId: user.id,
        credentialId: input.credential.id,
        publicKey: Buffer.from(input.credential.publicKey),
        counter: input.credential.counter,
        transports: (input.credential.transports ?? []).join(','),
        deviceType: input.deviceType,
        backedUp: input.backedUp,
        userVerifiedAtRegistration: input.userVerifiedAtRegistration,
        name: input.name,
        createdAt: input.now,
      })
      .onConflictDoNothing({ target: passkeys.credentialId })
      .returning()
      .get()
    if (!row) return null
    recordAuditEvent(db, { event: 'passkey.added', at: input.now, actor: { id: user.id, email: user.email }, targetType: 'user', targetId: user.id, ip: input.ip, details: { passkey: row.id, name: row.name, passwordless: row.userVerifiedAtRegistration } })
    queueSecurityNotice(db, { to: user.email, subject: 'A passkey was added to your account', what: `A passkey named "${row.name}" was added as a second factor to your account.`, now: input.now, ip: input.ip, baseUrl: input.baseUrl })
    return row
  })
}

export type RemovePasskeyOutcome = { ok: true; passkey: Passkey } | { ok: false; reason: 'not-found' | 'last-factor' }

/** Removes one of the user's own passkeys, never their last second factor; audited and notified. */
export function removePasskey(db: Db, input: { user: User; passkeyId: number } & Context): RemovePasskeyOutcome {
  const { user } = input
  return writeTransaction(db, () => {
    const row = db.select().from(passkeys).where(and(eq(passkeys.id, input.passkeyId), eq(passkeys.userId, user.id))).get()
    if (!row) return { ok: false, reason: 'not-found' } as const
    if (countSecondFactors(db, user.id) <= 1) return { ok: false, reason: 'last-factor' } as const
    db.delete(passkeys).where(eq(passkeys.id, row.id)).run()
    recordAuditEvent(db, { event: 'passkey.removed', at: input.now, actor: { id: user.id, email: user.email }, targetType: 'user', targetId: user.id, ip: input.ip, details: { passkey: row.id, name: row.name } })
    queueSecurityNotice(db, { to: user.email, subject: 'A passkey was removed from your account', what: `The passkey named "${row.name}" was removed from your account and no longer signs in.`, now: input.now, ip: input.ip, baseUrl: input.baseUrl })
    return { ok: true, passkey: row } as const
  })
}

/**
 * Records a verified assertion: the counter moves forward with one conditional UPDATE (a parallel
 * assertion that got there first, or a passkey removed meanwhile, makes this false), audited.
 */
export function recordPasskeyUse(db: Db, input: { passkey: Passkey; user: User; newCounter: number; purpose: ChallengePurpose; now: number; ip: string }): boolean {
  return writeTransaction(db, () => {
    const moved = db
      .update(passkeys)
      .set({ counter: input.newCounter, lastUsedAt: input.now })
      .where(and(eq(passkeys.id, input.passkey.id), or(sql`${passkeys.counter} < ${input.newCounter}`, and(eq(passkeys.counter, 0), sql`${input.newCounter} = 0`))))
      .run().changes
    if (moved !== 1) return false
    recordAuditEvent(db, { event: 'passkey.used', at: input.now, actor: { id: input.user.id, email: input.user.email }, targetType: 'user', targetId: input.user.id, ip: input.ip, details: { passkey: input.passkey.id, name: input.passkey.name, purpose: input.purpose } })
    return true
  })
}

/** Stores a new challenge (and sweeps expired ones). */
export function storeChallenge(db: Db, input: { challenge: string; purpose: ChallengePurpose; binding: string; userId: number | null; now: number }): void {
  writeTransaction(db, () => {
    db.delete(webauthnChallenges).where(lte(webauthnChallenges.expiresAt, input.now)).run()
    db.insert(webauthnChallenges).values({ challenge: input.challenge, purpose: input.purpose, binding: input.binding, userId: input.userId, expiresAt: input.now + CHALLENGE_TTL_MS }).run()
  })
}

/**
 * Takes the challenge with one DELETE: true only for the one caller that removes a live challenge
 * of this purpose and binding (a second use, a parallel use, an expired or foreign one: false).
 */
export function consumeChallenge(db: Db, input: { challenge: string; purpose: ChallengePurpose; binding: string; now: number }): boolean {
  return (
    db
      .delete(webauthnChallenges)
      .where(and(eq(webauthnChallenges.challenge, input.challenge), eq(webauthnChallenges.purpose, input.purpose), eq(webauthnChallenges.binding, input.binding), gt(webauthnChallenges.expiresAt, input.now)))
      .run().changes === 1
  )
}

/** Removes all the user's passkeys (admin MFA reset; call inside its transaction). */
export function clearPasskeys(db: Db, userId: number): number {
  return db.delete(passkeys).where(eq(passkeys.userId, userId)).run().changes
}
