import { Hono } from 'hono'
import type { Context } from 'hono'
import type { AppEnv } from '../http/context.ts'
import { requireSignInStep, requireUser, clearSessionCookie } from '../auth/middleware.ts'
import { readForm } from '../http/forms.ts'
import { chrome } from '../http/page.ts'
import { limitByIp } from '../http/ip-limit.ts'
import { RecoveryCodesAccountPage, RecoveryCodesOfferPage, RecoveryCodesShownPage } from '../../views/recovery-codes.tsx'
import { countUnusedRecoveryCodes, issueFirstRecoveryCodes, issueRecoveryCodes } from '../auth/recovery-codes.ts'
import { redirectTo } from '../http/htmx.ts'
import { decryptSecret } from '../auth/encryption.ts'
import { verifyTotpCode } from '../auth/totp.ts'
import { invalidateSession } from '../auth/session.ts'
import { writeTransaction } from '../db/client.ts'
import { recordAuditEvent } from '../models/audit.ts'
import type { User } from '../db/schema.ts'
import { countPasskeys } from '../models/passkeys.ts'
import { checkFreshPasskey, FRESH_PASSKEY_REFUSED } from './fresh-passkey.ts'
import { acceptTotpStep, beginAttempt, concludeSuccess, recordFailure, throttledPage } from './login.tsx'

export const recoveryCodeRoutes = new Hono<AppEnv>()

/** New codes in one transaction with their audit event; returns the codes to show once. */
function issue(c: Context<AppEnv>, user: User, via: 'first' | 'regenerated'): string[] | null {
  const { db, clock } = c.get('deps')
  const now = clock.now()
  return writeTransaction(db, () => {
    const codes = via === 'first' ? issueFirstRecoveryCodes(db, user.id, now) : issueRecoveryCodes(db, user.id, now)
    if (codes === null) return null
    recordAuditEvent(db, { event: 'recovery_codes.issued', at: now, actor: { id: user.id, email: user.email }, targetType: 'user', targetId: user.id, ip: c.get('clientIp'), details: { via, count: codes.length } })
    return codes
  })
}

// The sign-in chain's last step (after the first enrolment, or for a user enrolled before codes existed).
recoveryCodeRoutes.get('/mfa/recovery-codes', requireSignInStep('recovery-codes'), (c) => c.html(<RecoveryCodesOfferPage chrome={chrome(c)} />))

recoveryCodeRoutes.post('/mfa/recovery-codes', requireSignInStep('recovery-codes'), (c) => {
  const codes = issue(c, c.get('auth')!.user, 'first')
  if (codes === null) return redirectTo(c, '/') // a parallel request issued them first
  return c.html(<RecoveryCodesShownPage chrome={chrome(c)} codes={codes} continueHref="/" continueLabel="I have saved my codes: continue" siteName={c.get('deps').config.siteName} />)
})

recoveryCodeRoutes.get('/account/recovery-codes', requireUser, (c) => {
  const { db } = c.get('deps')
  const userId = c.get('auth')!.user.id
  return c.html(<RecoveryCodesAccountPage chrome={chrome(c)} left={countUnusedRecoveryCodes(db, userId)} hasPasskeys={countPasskeys(db, userId) > 0} />)
})

// Regeneration needs a fresh authenticator code in the same request; a wrong or replayed one
// counts against the sign-in lockout like one at /login/mfa.
recoveryCodeRoutes.post('/account/recovery-codes', requireUser, async (c) => {
  const limited = limitByIp(c)
  if (limited) return limited
  const { db, clock, config } = c.get('deps')
  const { user, session } = c.get('auth')!
  const form = await readForm(c)
  const code = form.get('code')
  const refused = beginAttempt(c, user.email)
  if (refused) return refused
  if (form.get('passkey_assertion').trim() !== '') return regenerateAfterPasskey(c, form.get('passkey_assertion'))
  // without an authenticator app (a passkey-only account) a typed code is simply not correct
  const secret = user.totpSecret === null ? null : decryptSecret(config.encryptionKey, user.totpSecret)
  if (user.totpSecret !== null && secret === null) throw new Error(`TOTP secret of user ${user.id} cannot be decrypted with the configured key`)
  const check = secret === null ? ({ ok: false, reason: 'invalid' } as const) : verifyTotpCode(secret, code, clock.now(), user.totpLastStep)
  const accepted = check.ok && acceptTotpStep(db, user.id, check.step)
  if (!accepted) {
    const replayed = check.ok || check.reason === 'replayed'
    if (recordFailure(c, user.email, user.id, replayed ? 'totp replayed (recovery codes)' : 'totp invalid (recovery codes)')) {
      invalidateSession(db, session.id)
      clearSessionCookie(c)
      return throttledPage(c, { allowed: false, locked: true, retryAfterSeconds: config.lockoutMinutes * 60 })
    }
    const message = replayed ? 'That code has already been used. Wait for your app to show the next one.' : 'That code is not correct. Check the time on your device and try again.'
    return c.html(<RecoveryCodesAccountPage chrome={chrome(c)} left={countUnusedRecoveryCodes(db, user.id)} error={message} hasPasskeys={countPasskeys(db, user.id) > 0} />, 422)
  }
  const lockedMeanwhile = concludeSuccess(c, user.email)
  if (lockedMeanwhile) return lockedMeanwhile
  const codes = issue(c, user, 'regenerated')!
  return c.html(<RecoveryCodesShownPage chrome={chrome(c)} codes={codes} continueHref="/account/recovery-codes" continueLabel="I have saved my codes" siteName={config.siteName} />)
})

/** The passkey alternative of the fresh second factor (see fresh-passkey.ts). */
async function regenerateAfterPasskey(c: Context<AppEnv>, raw: string) {
  const { db, config } = c.get('deps')
  const { user } = c.get('auth')!
  const checked = await checkFreshPasskey(c, raw, 'recovery codes')
  if (checked instanceof Response) return checked
  if (checked === 'refused') return c.html(<RecoveryCodesAccountPage chrome={chrome(c)} left={countUnusedRecoveryCodes(db, user.id)} passkeyError={FRESH_PASSKEY_REFUSED} hasPasskeys />, 422)
  const lockedMeanwhile = concludeSuccess(c, user.email)
  if (lockedMeanwhile) return lockedMeanwhile
  const codes = issue(c, user, 'regenerated')!
  return c.html(<RecoveryCodesShownPage chrome={chrome(c)} codes={codes} continueHref="/account/recovery-codes" continueLabel="I have saved my codes" siteName={config.siteName} />)
}
