import { Hono, type Context } from 'hono'
import type { AppEnv } from '../http/context.ts'
import { publicPage, requireSignInStep } from '../auth/middleware.ts'
import { readForm, normalizeEmail, normalizePassword, hasErrors, type FieldErrors, type FormData } from '../http/forms.ts'
import { chrome } from '../http/page.ts'
import { redirectTo } from '../http/htmx.ts'
import { limitByIp } from '../http/ip-limit.ts'
import { gonePage } from '../http/errors.tsx'
import { setFlash } from '../http/flash.ts'
import { NoLocalPasswordPage, PasswordChangePage, PasswordForgotPage, PasswordResetPage } from '../../views/password.tsx'
import { hasLocalPassword } from '../auth/local-password.ts'
import { sendProviderSignInReminder, signInProviderNames } from '../models/password-less.ts'
import { checkPasswordPolicy, hashPassword, verifyPasswordHash } from '../auth/password.ts'
import { isPasswordExpired, nextSignInStep, STEP_PAGES } from '../auth/sign-in-chain.ts'
import { invalidateOtherUserSessions, invalidateUserSessions } from '../auth/session.ts'
import { consumePasswordResetToken, createPasswordResetToken, getPasswordResetTokenUser } from '../auth/password-reset.ts'
import { getUserByEmail, setUserPassword } from '../models/users.ts'
import { recordAuditEvent } from '../models/audit.ts'
import { enqueueEmail } from '../mail/outbox.ts'
import { queueSecurityNotice } from '../mail/security-notice.ts'
import { passwordResetEmail } from '../../views/emails/password-reset.tsx'
import { writeTransaction } from '../db/client.ts'
import { resetEmailsInLastHour, SENDS_PER_HOUR } from '../auth/send-limits.ts'
import type { User } from '../db/schema.ts'

export const password = new Hono<AppEnv>()

/** Per-field errors for a new password and its confirmation, under the policy of SPEC §3.2. */
function checkNewPassword(c: Context<AppEnv>, form: FormData, user: User): FieldErrors {
  const { config } = c.get('deps')
  const newPassword = normalizePassword(form.get('new_password'))
  const policy = checkPasswordPolicy(newPassword, {
    minLength: config.passwordMinLength,
    email: user.email,
    username: user.username,
    forbiddenWords: ['gatehouse', config.siteName],
  })
  return {
    new_password: policy ?? undefined,
    confirm_password: !policy && normalizePassword(form.get('confirm_password')) !== newPassword ? 'The two passwords do not match.' : undefined,
  }
}

function changeReason(c: Context<AppEnv>, user: User): 'temporary' | 'expired' | 'voluntary' {
  if (user.mustChangePassword) return 'temporary'
  const { clock, config } = c.get('deps')
  return isPasswordExpired(user, clock.now(), config.passwordMaxAgeDays) ? 'expired' : 'voluntary'
}

/** The page for an account without a local password: it signs in through its provider(s) and has nothing to change here. */
function noLocalPasswordPage(c: Context<AppEnv>, user: User, status: 200 | 409) {
  return c.html(<NoLocalPasswordPage chrome={chrome(c)} providers={signInProviderNames(c.get('deps').db, user)} />, status)
}

password.get('/password/change', requireSignInStep('change-password', { alsoWhenComplete: true }), (c) => {
  const { user } = c.get('auth')!
  if (!hasLocalPassword(user)) return noLocalPasswordPage(c, user, 200)
  return c.html(<PasswordChangePage chrome={chrome(c)} reason={changeReason(c, user)} email={user.email} minLength={c.get('deps').config.passwordMinLength} />)
})

password.post('/password/change', requireSignInStep('change-password', { alsoWhenComplete: true }), async (c) => {
  const limited = limitByIp(c)
  if (limited) return limited
  const { db, clock, config } = c.get('deps')
  const { user, session } = c.get('auth')!
  if (!hasLocalPassword(user)) return noLocalPasswordPage(c, user, 409)
  const form = await readForm(c)
  const errors = checkNewPassword(c, form, user)
  const typedCurrent = form.get('current_password')
  const current = normalizePassword(typedCurrent)
  const currentOk = (await verifyPasswordHash(user.passwordHash, current)) || (typedCurrent !== current && (await verifyPasswordHash(user.passwordHash, typedCurrent)))
  if (!currentOk) errors.current_password = 'This is not your current password.'
  else if (!errors.new_password && normalizePassword(form.get('new_password')) === current) errors.new_password = 'Choose a password different from the current one.'
  if (hasErrors(errors)) {
    return c.html(<PasswordChangePage chrome={chrome(c)} reason={changeReason(c, user)} email={user.email} errors={errors} minLength={config.passwordMinLength} />, 422)
  }
  const hash = await hashPassword(normalizePassword(form.get('new_password')))
  const now = clock.now()
  writeTransaction(db, () => {
    setUserPassword(db, user.id, hash, now)
    const ended = invalidateOtherUserSessions(db, user.id, session.id)
    recordAuditEvent(db, { event: 'password.changed', at: now, actor: { id: user.id, email: user.email }, targetType: 'user', targetId: user.id, ip: c.get('clientIp'), details: { other_sessions_ended: ended, was: changeReason(c, user) } })
    queueSecurityNotice(db, { to: user.email, subject: 'Your password was changed', what: `The password of your account was changed${ended > 0 ? `, and ${ended === 1 ? 'one other session was' : `${ended} other sessions were`} signed out` : ''}.`, now, ip: c.get('clientIp'), baseUrl: config.baseUrl })
  })
  c.get('deps').onEmailQueued?.()
  const updated = { ...user, mustChangePassword: false, passwordChangedAt: now }
  const step = nextSignInStep(updated, session, now, config.passwordMaxAgeDays)
  setFlash(c, 'success', 'Your password has been changed.')
  return redirectTo(c, step === null ? '/' : STEP_PAGES[step])
})

password.get('/password/forgot', publicPage, (c) => c.html(<PasswordForgotPage chrome={chrome(c)} />))

password.post('/password/forgot', publicPage, async (c) => {
  const limited = limitByIp(c)
  if (limited) return limited
  const { db, clock, config } = c.get('deps')
  const raw = (await readForm(c)).get('email')
  const email = normalizeEmail(raw)
  if (email === null) return c.html(<PasswordForgotPage chrome={chrome(c)} email={raw} error="Enter a valid email address." />, 422)
  const user = getUserByEmail(db, email)
  // Note: the answer is the same whether or not the account exists; only the outbox differs.
  // At most SENDS_PER_HOUR reset emails per account per hour; beyond, nothing is sent (the answer
  // stays the same), counted inside the transaction so parallel requests cannot exceed it.
  if (user && user.disabledAt === null && !hasLocalPassword(user)) {
    // no password to reset: an email naming the provider(s) instead, under the same hourly limit
    if (sendProviderSignInReminder(db, user, { now: clock.now(), ip: c.get('clientIp'), baseUrl: config.baseUrl })) c.get('deps').onEmailQueued?.()
  } else if (user && user.disabledAt === null) {
    const now = clock.now()
    const sent = writeTransaction(db, () => {
      if (resetEmailsInLastHour(db, user.id, now) >= SENDS_PER_HOUR) {
        recordAuditEvent(db, { event: 'password.reset_throttled', at: now, targetType: 'user', targetId: user.id, ip: c.get('clientIp'), details: { per_hour: SENDS_PER_HOUR } })
        return false
      }
      const token = createPasswordResetToken(db, config.encryptionKey, user.id, now)
      enqueueEmail(db, passwordResetEmail({ to: user.email, resetUrl: `${config.baseUrl}/password/reset/${token}` }), now)
      recordAuditEvent(db, { event: 'password.reset_requested', at: now, targetType: 'user', targetId: user.id, ip: c.get('clientIp') })
      return true
    })
    if (sent) c.get('deps').onEmailQueued?.()
  }
  return c.html(<PasswordForgotPage chrome={chrome(c)} sent />)
})

function deadResetLink(c: Context<AppEnv>) {
  return gonePage(c, 'This link no longer works', 'Password reset links work once, for one hour. Ask for a new one from the “Forgot your password?” page.')
}

password.get('/password/reset/:token', publicPage, (c) => {
  const { db, clock, config } = c.get('deps')
  const user = getPasswordResetTokenUser(db, config.encryptionKey, c.req.param('token'), clock.now())
  if (!user) return deadResetLink(c)
  return c.html(<PasswordResetPage chrome={chrome(c)} action={c.req.path} email={user.email} minLength={config.passwordMinLength} />)
})

password.post('/password/reset/:token', publicPage, async (c) => {
  const limited = limitByIp(c)
  if (limited) return limited
  const { db, clock, config } = c.get('deps')
  const token = c.req.param('token')
  const user = getPasswordResetTokenUser(db, config.encryptionKey, token, clock.now())
  if (!user) return deadResetLink(c)
  const form = await readForm(c)
  const errors = checkNewPassword(c, form, user)
  if (hasErrors(errors)) {
    return c.html(<PasswordResetPage chrome={chrome(c)} action={c.req.path} email={user.email} errors={errors} minLength={config.passwordMinLength} />, 422)
  }
  const hash = await hashPassword(normalizePassword(form.get('new_password')))
  const now = clock.now()
  const done = writeTransaction(db, () => {
    if (!consumePasswordResetToken(db, config.encryptionKey, token, now)) return false
    setUserPassword(db, user.id, hash, now)
    const ended = invalidateUserSessions(db, user.id)
    recordAuditEvent(db, { event: 'password.reset', at: now, targetType: 'user', targetId: user.id, ip: c.get('clientIp'), details: { method: 'emailed link', sessions_ended: ended } })
    queueSecurityNotice(db, { to: user.email, subject: 'Your password was reset', what: 'The password of your account was changed through an emailed reset link, and you were signed out everywhere.', now, ip: c.get('clientIp'), baseUrl: config.baseUrl })
    return true
  })
  if (done) c.get('deps').onEmailQueued?.()
  if (!done) return deadResetLink(c)
  setFlash(c, 'success', 'Your password has been changed. Sign in with it; your authenticator code is still required.')
  return redirectTo(c, '/login')
})
