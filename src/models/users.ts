import { clearRecoveryCodes } from '../auth/recovery-codes.ts'
import { clearPasskeys } from './passkeys.ts'
import { count, eq, sql } from 'drizzle-orm'
import { generateRandomString, type RandomReader } from '@oslojs/crypto/random'
import { randomBytes } from 'node:crypto'
import { users, type User } from '../db/schema.ts'
import { preparedOnce, writeTransaction, type Db } from '../db/client.ts'
import { queueSecurityNotice } from '../mail/security-notice.ts'
import { recordAuditEvent } from './audit.ts'
import { enqueueEmail } from '../mail/outbox.ts'
import { temporaryPasswordEmail } from '../../views/emails/temporary-password.tsx'
import { hashPassword } from '../auth/password.ts'
import { invalidateUserSessions } from '../auth/session.ts'

export const TEMPORARY_PASSWORD_TTL_MS = 7 * 24 * 60 * 60_000

const random: RandomReader = { read: (bytes) => void bytes.set(randomBytes(bytes.length)) }

/** 20 characters from 56 unambiguous letters and digits: about 116 bits. */
export function generateTemporaryPassword(): string {
  return generateRandomString(random, 'abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789', 20)
}

export function displayName(user: Pick<User, 'firstName' | 'lastName' | 'email'>): string {
  const name = `${user.firstName} ${user.lastName}`.trim()
  return name || user.email
}

export function getUserById(db: Db, id: number): User | null {
  return db.select().from(users).where(eq(users.id, id)).get() ?? null
}

const userByColumn = (column: typeof users.email | typeof users.contactEmail) => (db: Db) => db.select().from(users).where(eq(column, sql.placeholder('email'))).prepare()
const userByEmail = userByColumn(users.email)
const userByContactEmail = userByColumn(users.contactEmail)

/** Looks up by email, case-insensitively (emails are stored lower-cased). */
export function getUserByEmail(db: Db, email: string): User | null {
  return preparedOnce(db, userByEmail).get({ email: email.trim().toLowerCase() }) ?? null
}

/** An account by its sign-in address or its second address (a consortium directory's `email`). */
export function findAccountByAnyEmail(db: Db, email: string): User | null {
  return getUserByEmail(db, email) ?? preparedOnce(db, userByContactEmail).get({ email: email.trim().toLowerCase() }) ?? null
}

export function countEnabledAdmins(db: Db): number {
  return db.select({ n: count() }).from(users).where(sql`${users.role} = 'admin' and ${users.disabledAt} is null`).get()?.n ?? 0
}

export type Actor = { id: number; email: string } | null

/**
 * Creates an account with an emailed one-time temporary password (valid 7 days, must be
 * changed at first sign-in), its audit event and the email, in one transaction.
 * `passwordHash` is the hash of `temporaryPassword`, computed by the caller off the event loop.
 */
export function registerUser(
  db: Db,
  input: {
    email: string
    /** A site role name (system or custom). */
    role: string
    temporaryPassword: string
    passwordHash: string
    now: number
    actor: Actor
    ip: string | null
    baseUrl: string
    firstName?: string
    lastName?: string
    organization?: string
  },
): User {
  return writeTransaction(db, () => {
    const user = db
      .insert(users)
      .values({
        email: input.email,
        role: input.role,
        firstName: input.firstName ?? '',
        lastName: input.lastName ?? '',
        organization: input.organization ?? '',
        passwordHash: input.passwordHash,
        passwordChangedAt: input.now,
        mustChangePassword: true,
        temporaryPasswordExpiresAt: input.now + TEMPORARY_PASSWORD_TTL_MS,
        createdAt: input.now,
      })
      .returning()
      .get()
    recordAuditEvent(db, {
      event: 'user.registered',
      at: input.now,
      actor: input.actor,
      targetType: 'user',
      targetId: user.id,
      ip: input.ip,
      details: { email: user.email, role: user.role },
    })
    enqueueEmail(db, temporaryPasswordEmail({ to: user.email, password: input.temporaryPassword, loginUrl: `${input.baseUrl}/login`, reason: 'registered' }), input.now)
    return user
  })
}

/** Replaces the password hash and clears the must-change and temporary flags. Call inside a transaction. */
export function setUserPassword(db: Db, userId: number, passwordHash: string, now: number): void {
  db.update(users)
    .set({ passwordHash, passwordChangedAt: now, mustChangePassword: false, temporaryPasswordExpiresAt: null })
    .where(eq(users.id, userId))
    .run()
}

/** Generates and hashes a temporary password, then registers the user (see registerUser). */
export async function registerUserWithTemporaryPassword(
  db: Db,
  input: Omit<Parameters<typeof registerUser>[1], 'temporaryPassword' | 'passwordHash'>,
): Promise<User> {
  const temporaryPassword = generateTemporaryPassword()
  const passwordHash = await hashPassword(temporaryPassword)
  return registerUser(db, { ...input, temporaryPassword, passwordHash })
}

/**
 * Clears the user's authenticator, passkeys and recovery codes and ends all their sessions, with its audit event; the next
 * sign-in goes through enrolment. Call inside a transaction.
 */
/** Clears every second factor and ends every session (call inside the caller's transaction); the user is told by a security notice. */
export function resetUserMfa(db: Db, input: { userId: number; email: string; now: number; actor: Actor; ip: string | null; via: 'admin' | 'cli'; baseUrl: string }): void {
  db.update(users).set({ totpSecret: null, totpPendingSecret: null, totpLastStep: null, mfaEnrolledAt: null }).where(eq(users.id, input.userId)).run()
  clearRecoveryCodes(db, input.userId)
  const passkeysRemoved = clearPasskeys(db, input.userId)
  const ended = invalidateUserSessions(db, input.userId)
  recordAuditEvent(db, { event: 'mfa.reset', at: input.now, actor: input.actor, targetType: 'user', targetId: input.userId, ip: input.ip, details: { via: input.via, sessions_ended: ended, passkeys_removed: passkeysRemoved } })
  queueSecurityNotice(db, {
    to: input.email,
    subject: 'Your second factors were reset by an administrator',
    what: 'An administrator reset the second factors of your account: your authenticator app, passkeys and recovery codes no longer work, and you were signed out everywhere. At your next sign-in you set up a new authenticator.',
    now: input.now,
    ip: input.ip ?? '',
    baseUrl: input.baseUrl,
  })
}
