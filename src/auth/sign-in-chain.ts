import type { Session, User } from '../db/schema.ts'
import { hasLocalPassword } from './local-password.ts'

// The sign-in chain, written once: password → (TOTP if enrolled) → must-change password →
// TOTP enrolment → recovery codes shown once → full session. A user with an authenticator proves it before changing an
// expired or temporary password; a new user sets a password first, then enrols.

export type SignInStep = 'mfa-verify' | 'change-password' | 'mfa-setup' | 'recovery-codes'

export const STEP_PAGES: Record<SignInStep, string> = {
  'mfa-verify': '/login/mfa',
  'change-password': '/password/change',
  'mfa-setup': '/mfa/setup',
  'recovery-codes': '/mfa/recovery-codes',
}

/** Never for an account without a local password: there is nothing to change. */
export function isPasswordExpired(user: User, now: number, maxAgeDays: number): boolean {
  return maxAgeDays > 0 && hasLocalPassword(user) && now - user.passwordChangedAt > maxAgeDays * 24 * 60 * 60_000
}

/** The refusal of every sign-in (password, passkey, provider) while the account's temporary password has expired. */
export const TEMPORARY_PASSWORD_EXPIRED = 'Your temporary password has expired. Ask your Gatehouse administrator to send a new one.'

/**
 * A temporary password (a new account's, or an admin reset's) not changed within its lifetime:
 * the account cannot sign in by any method until an administrator sends a new one, since the
 * chain would only lead to /password/change with a password that may no longer be used.
 */
export function isTemporaryPasswordExpired(user: Pick<User, 'temporaryPasswordExpiresAt'>, now: number): boolean {
  return user.temporaryPasswordExpiresAt !== null && user.temporaryPasswordExpiresAt < now
}

/** The step this session must pass next, or null when it is a full session. */
export function nextSignInStep(user: User, session: Session, now: number, passwordMaxAgeDays: number): SignInStep | null {
  if (user.totpSecret !== null && !session.mfaVerified) return 'mfa-verify'
  if (user.mustChangePassword || isPasswordExpired(user, now, passwordMaxAgeDays)) return 'change-password'
  if (user.totpSecret === null) return 'mfa-setup'
  // after the first enrolment, and for users enrolled before recovery codes existed
  if (user.recoveryCodesIssuedAt === null) return 'recovery-codes'
  return null
}
