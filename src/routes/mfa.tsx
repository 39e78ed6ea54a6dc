import { Hono } from 'hono'
import { eq } from 'drizzle-orm'
import QRCode from 'qrcode'
import type { AppEnv } from '../http/context.ts'
import { requireSignInStep } from '../auth/middleware.ts'
import { readForm } from '../http/forms.ts'
import { chrome } from '../http/page.ts'
import { redirectTo } from '../http/htmx.ts'
import { limitByIp } from '../http/ip-limit.ts'
import { MfaSetupPage } from '../../views/mfa.tsx'
import { createTotpUri, generateTotpSecret, verifyTotpCode } from '../auth/totp.ts'
import { decryptSecret, encryptSecret } from '../auth/encryption.ts'
import { users, type User } from '../db/schema.ts'
import { writeTransaction } from '../db/client.ts'
import { recordAuditEvent } from '../models/audit.ts'
import { queueSecurityNotice } from '../mail/security-notice.ts'
import { beginAttempt, completeSignIn, concludeSuccess, recordFailure, throttledPage } from './login.tsx'
import { getLockedUntil } from '../auth/rate-limit.ts'
import { clearSessionCookie } from '../auth/middleware.ts'
import { invalidateSession } from '../auth/session.ts'
import type { Context } from 'hono'

export const mfa = new Hono<AppEnv>()

/** The secret being enrolled: kept (encrypted) across reloads so a scanned code stays valid. */
function getOrCreatePendingSecret(c: Context<AppEnv>, user: User): string {
  const { db, config } = c.get('deps')
  const existing = user.totpPendingSecret ? decryptSecret(config.encryptionKey, user.totpPendingSecret) : null
  if (existing) return existing
  const secret = generateTotpSecret()
  db.update(users).set({ totpPendingSecret: encryptSecret(config.encryptionKey, secret) }).where(eq(users.id, user.id)).run()
  return secret
}

async function renderSetup(c: Context<AppEnv>, user: User, error?: string, status: 200 | 422 = 200) {
  const secret = getOrCreatePendingSecret(c, user)
  const uri = createTotpUri(secret, user.email, c.get('deps').config.siteName)
  const qrSvg = await QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 })
  return c.html(<MfaSetupPage chrome={chrome(c)} secret={secret} uri={uri} qrSvg={qrSvg} error={error} />, status)
}

/** A locked account does not enrol (the lock covers every step of the sign-in chain). */
function lockedPage(c: Context<AppEnv>) {
  const { db, clock } = c.get('deps')
  const until = getLockedUntil(db, c.get('auth')!.user.email, clock.now())
  return until === null ? null : throttledPage(c, { allowed: false, locked: true, retryAfterSeconds: Math.ceil((until - clock.now()) / 1000) })
}

mfa.get('/mfa/setup', requireSignInStep('mfa-setup'), (c) => lockedPage(c) ?? renderSetup(c, c.get('auth')!.user))

mfa.post('/mfa/setup', requireSignInStep('mfa-setup'), async (c) => {
  const limited = limitByIp(c)
  if (limited) return limited
  const { db, clock, config } = c.get('deps')
  const { user, session } = c.get('auth')!
  const code = (await readForm(c)).get('code')
  const refused = beginAttempt(c, user.email)
  if (refused) return refused
  const secret = getOrCreatePendingSecret(c, user)
  const now = clock.now()
  const check = verifyTotpCode(secret, code, now, null)
  if (!check.ok) {
    if (recordFailure(c, user.email, user.id, 'totp enrolment invalid')) {
      invalidateSession(db, session.id)
      clearSessionCookie(c)
      return throttledPage(c, { allowed: false, locked: true, retryAfterSeconds: config.lockoutMinutes * 60 })
    }
    return renderSetup(c, user, 'That code is not correct. Check that the time on your device is right, then enter the code your app shows now.', 422)
  }
  const lockedMeanwhile = concludeSuccess(c, user.email)
  if (lockedMeanwhile) return lockedMeanwhile
  writeTransaction(db, () => {
    db.update(users)
      .set({ totpSecret: encryptSecret(config.encryptionKey, secret), totpPendingSecret: null, totpLastStep: check.step, mfaEnrolledAt: now })
      .where(eq(users.id, user.id))
      .run()
    recordAuditEvent(db, { event: 'mfa.enrolled', at: now, actor: { id: user.id, email: user.email }, targetType: 'user', targetId: user.id, ip: c.get('clientIp') })
    queueSecurityNotice(db, { to: user.email, subject: 'A second factor was added to your account', what: 'An authenticator app was set up as the second factor of your account.', now, ip: c.get('clientIp'), baseUrl: config.baseUrl })
  })
  c.get('deps').onEmailQueued?.()
  completeSignIn(db, { userId: user.id, email: user.email, sessionId: session.id, now, ip: c.get('clientIp'), method: 'totp enrolment' })
  return redirectTo(c, '/')
})
