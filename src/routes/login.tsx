import { Hono } from 'hono'
import { eq, and, or, isNull, lt } from 'drizzle-orm'
import type { AppEnv } from '../http/context.ts'
import { publicPage, requireSignInStep, setSessionCookie, clearSessionCookie } from '../auth/middleware.ts'
import { readForm, normalizeEmail, normalizePassword } from '../http/forms.ts'
import { chrome } from '../http/page.ts'
import { redirectTo } from '../http/htmx.ts'
import { tooManyRequestsPage, describeWait } from '../http/errors.tsx'
import { limitByIp } from '../http/ip-limit.ts'
import { LoginPage, LoginMfaPage } from '../../views/login.tsx'
import { getUserByEmail } from '../models/users.ts'
import { listEnabledIdentityProviders } from '../models/identity-providers.ts'
import { getDummyPasswordHash, verifyPasswordHash } from '../auth/password.ts'
import { hasLocalPassword } from '../auth/local-password.ts'
import { beginSignInAttempt, clearSignInFailures, concludeFailedAttempt, concludeSucceededAttempt, type ThrottleState } from '../auth/rate-limit.ts'
import { createSession, invalidateSession, markSessionMfaVerified } from '../auth/session.ts'
import { isTemporaryPasswordExpired, nextSignInStep, STEP_PAGES, TEMPORARY_PASSWORD_EXPIRED } from '../auth/sign-in-chain.ts'
import { decryptSecret } from '../auth/encryption.ts'
import { verifyTotpCode } from '../auth/totp.ts'
import { recordAuditEvent } from '../models/audit.ts'
import { writeTransaction, type Db } from '../db/client.ts'
import { users, type User } from '../db/schema.ts'
import { consumeRecoveryCode, countUnusedRecoveryCodes, RECOVERY_CODES_LOW } from '../auth/recovery-codes.ts'
import { queueSecurityNotice } from '../mail/security-notice.ts'
import { setFlash } from '../http/flash.ts'
import { countPasskeys } from '../models/passkeys.ts'
import type { Context } from 'hono'

export const login = new Hono<AppEnv>()

const INCORRECT = 'Email or password is incorrect.'

export function lockoutPolicy(c: Context<AppEnv>) {
  const { config } = c.get('deps')
  return { threshold: config.lockoutThreshold, lockMs: config.lockoutMinutes * 60_000 }
}

/** The 429 page for a refused attempt. */
export function throttledPage(c: Context<AppEnv>, throttle: ThrottleState & { allowed: false }) {
  return tooManyRequestsPage(c, throttle.retryAfterSeconds, lockedMessage(throttle.retryAfterSeconds, throttle.locked))
}

/** Counts an attempt for the email before its secret is verified: null when allowed, else the 429 page. */
export function beginAttempt(c: Context<AppEnv>, email: string) {
  const throttle = beginSignInAttempt(c.get('deps').db, email, c.get('deps').clock.now(), lockoutPolicy(c))
  return throttle.allowed ? null : throttledPage(c, throttle)
}

/** The verified attempt was right: refunded; the 429 page when a lock was reached meanwhile, else null. */
export function concludeSuccess(c: Context<AppEnv>, email: string) {
  const throttle = concludeSucceededAttempt(c.get('deps').db, email, c.get('deps').clock.now())
  return throttle.allowed ? null : throttledPage(c, throttle)
}

function lockedMessage(seconds: number, locked: boolean): string {
  return locked
    ? `Too many failed sign-ins: sign-in is locked for ${describeWait(seconds)}. An administrator can unlock it sooner.`
    : `Too many failed sign-ins. Wait ${describeWait(seconds)} before trying again.`
}

/** Concludes a counted attempt as failed (password or TOTP), with its audit events, in one transaction. */
export function recordFailure(c: Context<AppEnv>, email: string, userId: number | null, reason: string): boolean {
  const { db, clock, config } = c.get('deps')
  const now = clock.now()
  const locked = writeTransaction(db, () => {
    const locked = concludeFailedAttempt(db, email, now, lockoutPolicy(c))
    const base = { at: now, targetType: 'user', targetId: userId, ip: c.get('clientIp') }
    recordAuditEvent(db, { ...base, event: 'signin.failed', details: { email, reason } })
    if (locked) recordAuditEvent(db, { ...base, event: 'signin.locked', details: { email, minutes: config.lockoutMinutes } })
    // Note: only the failure that set the lock gets locked = true (a conditional UPDATE), so one email per lock.
    if (locked && userId !== null) {
      queueSecurityNotice(db, {
        to: email,
        subject: 'Sign-in to your account was locked',
        what: `After ${config.lockoutThreshold} failed sign-in attempts in a row, sign-in to your account is locked for ${config.lockoutMinutes} minutes. An administrator can unlock it sooner.`,
        now,
        ip: c.get('clientIp'),
        baseUrl: config.baseUrl,
      })
    }
    return locked
  })
  if (locked && userId !== null) c.get('deps').onEmailQueued?.()
  return locked
}

login.get('/login', publicPage, (c) => {
  const auth = c.get('auth')
  if (auth) {
    const { clock, config } = c.get('deps')
    const step = nextSignInStep(auth.user, auth.session, clock.now(), config.passwordMaxAgeDays)
    return c.redirect(step === null ? '/' : STEP_PAGES[step], 303)
  }
  return c.html(<LoginPage chrome={chrome(c)} providers={listEnabledIdentityProviders(c.get('deps').db)} />)
})

login.post('/login', publicPage, async (c) => {
  const limited = limitByIp(c)
  if (limited) return limited
  const { db, clock } = c.get('deps')
  const form = await readForm(c)
  const rawEmail = form.get('email')
  const typed = form.get('password')
  const password = normalizePassword(typed)
  const email = normalizeEmail(rawEmail)
  if (email === null || password === '' || password.length > 1024) {
    return c.html(<LoginPage chrome={chrome(c)} providers={listEnabledIdentityProviders(db)} email={rawEmail} error={email === null ? 'Enter a valid email address.' : 'Enter your password.'} />, 422)
  }
  const refused = beginAttempt(c, email)
  if (refused) return refused

  const user = getUserByEmail(db, email)
  // NFC first; a password set before passwords were normalised may be stored as typed then
  // Note: an account without a local password is answered as a wrong password, after the same dummy hash as an unknown email
  const passwordOk = user && hasLocalPassword(user)
    ? (await verifyPasswordHash(user.passwordHash, password)) || (typed !== password && (await verifyPasswordHash(user.passwordHash, typed)))
    : await verifyPasswordHash(await getDummyPasswordHash(), password).then(() => false)
  if (!user || !passwordOk) {
    const locked = recordFailure(c, email, user?.id ?? null, 'password')
    if (locked) return tooManyRequestsPage(c, c.get('deps').config.lockoutMinutes * 60, lockedMessage(c.get('deps').config.lockoutMinutes * 60, true))
    return c.html(<LoginPage chrome={chrome(c)} providers={listEnabledIdentityProviders(db)} email={rawEmail} error={INCORRECT} />, 422)
  }
  const lockedMeanwhile = concludeSuccess(c, email)
  if (lockedMeanwhile) return lockedMeanwhile
  const now = clock.now()
  const refusal =
    user.disabledAt !== null
      ? 'This account is disabled. Contact your Gatehouse administrator.'
      : isTemporaryPasswordExpired(user, now)
        ? TEMPORARY_PASSWORD_EXPIRED
        : null
  if (refusal) {
    recordAuditEvent(db, { event: 'signin.refused', at: now, targetType: 'user', targetId: user.id, ip: c.get('clientIp'), details: { reason: user.disabledAt !== null ? 'disabled' : 'temporary password expired' } })
    return c.html(<LoginPage chrome={chrome(c)} providers={listEnabledIdentityProviders(db)} email={rawEmail} error={refusal} />, 403)
  }
  const { token, session } = createSession(db, { userId: user.id, now, mfaVerified: false, ip: c.get('clientIp'), userAgent: c.req.header('User-Agent') ?? '' })
  setSessionCookie(c, token)
  const step = nextSignInStep(user, session, now, c.get('deps').config.passwordMaxAgeDays)
  return redirectTo(c, step === null ? '/' : STEP_PAGES[step])
})

login.get('/login/mfa', requireSignInStep('mfa-verify'), (c) => c.html(<LoginMfaPage chrome={chrome(c)} hasPasskeys={countPasskeys(c.get('deps').db, c.get('auth')!.user.id) > 0} />))

login.post('/login/mfa', requireSignInStep('mfa-verify'), async (c) => {
  const limited = limitByIp(c)
  if (limited) return limited
  const { db, clock, config } = c.get('deps')
  const { user, session } = c.get('auth')!
  const form = await readForm(c)
  const code = form.get('code')
  const refused = beginAttempt(c, user.email)
  if (refused) return refused
  if (form.get('recovery_code').trim() !== '') return signInWithRecoveryCode(c, form.get('recovery_code'))

  const secret = decryptSecret(config.encryptionKey, user.totpSecret ?? '')
  if (secret === null) throw new Error(`TOTP secret of user ${user.id} cannot be decrypted with the configured key`)
  const now = clock.now()
  const check = verifyTotpCode(secret, code, now, user.totpLastStep)
  const accepted = check.ok && acceptTotpStep(db, user.id, check.step)
  if (!accepted) {
    const reason = check.ok || check.reason === 'replayed' ? 'totp replayed' : 'totp invalid'
    if (recordFailure(c, user.email, user.id, reason)) {
      invalidateSession(db, session.id)
      clearSessionCookie(c)
      return tooManyRequestsPage(c, config.lockoutMinutes * 60, lockedMessage(config.lockoutMinutes * 60, true))
    }
    const message = reason === 'totp replayed' ? 'That code has already been used. Wait for your app to show the next one.' : 'That code is not correct. Check the time on your device and try again.'
    return c.html(<LoginMfaPage chrome={chrome(c)} error={message} hasPasskeys={countPasskeys(db, user.id) > 0} />, 422)
  }
  const lockedMeanwhile = concludeSuccess(c, user.email)
  if (lockedMeanwhile) {
    invalidateSession(db, session.id)
    clearSessionCookie(c)
    return lockedMeanwhile
  }
  // a provider sign-in that still needed Gatehouse's factor is audited as both: `oidc:<name>+totp`
  completeSignIn(db, { userId: user.id, email: user.email, sessionId: session.id, now, ip: c.get('clientIp'), method: session.authMethod.startsWith('oidc:') ? `${session.authMethod}+totp` : 'totp' })
  flashLowRecoveryCodes(c, user)
  return redirectTo(c, '/')
})

/**
 * The "use a recovery code" path of /login/mfa, after the attempt was counted: the code is
 * consumed by one conditional UPDATE, audited and emailed in one transaction; a wrong or used
 * code is a failed attempt like a wrong TOTP code.
 */
function signInWithRecoveryCode(c: Context<AppEnv>, input: string) {
  const { db, clock, config } = c.get('deps')
  const { user, session } = c.get('auth')!
  const now = clock.now()
  const left = writeTransaction(db, () => {
    if (!consumeRecoveryCode(db, user.id, input, now)) return null
    const remaining = countUnusedRecoveryCodes(db, user.id)
    recordAuditEvent(db, { event: 'recovery_code.used', at: now, actor: { id: user.id, email: user.email }, targetType: 'user', targetId: user.id, ip: c.get('clientIp'), details: { left: remaining } })
    queueSecurityNotice(db, {
      to: user.email,
      subject: 'A recovery code was used to sign in',
      what: `A recovery code was used instead of your authenticator to sign in to your account. ${remaining === 1 ? '1 unused code is' : `${remaining} unused codes are`} left.`,
      now,
      ip: c.get('clientIp'),
      baseUrl: config.baseUrl,
    })
    return remaining
  })
  if (left === null) {
    if (recordFailure(c, user.email, user.id, 'recovery code invalid')) {
      invalidateSession(db, session.id)
      clearSessionCookie(c)
      return tooManyRequestsPage(c, config.lockoutMinutes * 60, lockedMessage(config.lockoutMinutes * 60, true))
    }
    return c.html(<LoginMfaPage chrome={chrome(c)} hasPasskeys={countPasskeys(db, user.id) > 0} recoveryError="That recovery code is not correct or has already been used." />, 422)
  }
  const lockedMeanwhile = concludeSuccess(c, user.email)
  if (lockedMeanwhile) {
    invalidateSession(db, session.id)
    clearSessionCookie(c)
    return lockedMeanwhile
  }
  completeSignIn(db, { userId: user.id, email: user.email, sessionId: session.id, now, ip: c.get('clientIp'), method: 'recovery code' })
  flashLowRecoveryCodes(c, user)
  return redirectTo(c, '/')
}

/** Records the step as used; false when another request used it (or a later one) first. */
export function acceptTotpStep(db: Db, userId: number, step: number): boolean {
  return (
    db
      .update(users)
      .set({ totpLastStep: step })
      .where(and(eq(users.id, userId), or(isNull(users.totpLastStep), lt(users.totpLastStep, step))))
      .run().changes === 1
  )
}

/**
 * After a completed sign-in (any method): with 3 or fewer recovery codes left of an issued set, the
 * next page says so (SPEC §11). A user who never had codes is offered them by the sign-in chain instead.
 */
export function flashLowRecoveryCodes(c: Context<AppEnv>, user: Pick<User, 'id' | 'recoveryCodesIssuedAt'>): void {
  if (user.recoveryCodesIssuedAt === null) return
  const left = countUnusedRecoveryCodes(c.get('deps').db, user.id)
  if (left > RECOVERY_CODES_LOW) return
  setFlash(c, 'info', `${left === 0 ? 'No' : left} unused recovery code${left === 1 ? ' is' : 's are'} left. Make new ones on your account page, under Recovery codes.`)
}

/** The session becomes full: failures cleared, last sign-in recorded, audited. */
export function completeSignIn(db: Db, input: { userId: number; email: string; sessionId: string; now: number; ip: string; method: string }): void {
  writeTransaction(db, () => {
    markSessionMfaVerified(db, input.sessionId)
    clearSignInFailures(db, input.email)
    db.update(users).set({ lastSignInAt: input.now }).where(eq(users.id, input.userId)).run()
    recordAuditEvent(db, { event: 'signin.succeeded', at: input.now, actor: { id: input.userId, email: input.email }, targetType: 'user', targetId: input.userId, ip: input.ip, details: { method: input.method } })
  })
}

login.post('/logout', publicPage, (c) => {
  const auth = c.get('auth')
  if (auth) {
    const { db, clock } = c.get('deps')
    writeTransaction(db, () => {
      invalidateSession(db, auth.session.id)
      recordAuditEvent(db, { event: 'signout', at: clock.now(), actor: { id: auth.user.id, email: auth.user.email }, targetType: 'user', targetId: auth.user.id, ip: c.get('clientIp') })
    })
  }
  clearSessionCookie(c)
  return redirectTo(c, '/login')
})
