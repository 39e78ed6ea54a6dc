import { Hono, type Context } from 'hono'
import { and, eq } from 'drizzle-orm'
import { createHmac, timingSafeEqual } from 'node:crypto'
import QRCode from 'qrcode'
import type { AppEnv } from '../http/context.ts'
import { requireUser, clearSessionCookie } from '../auth/middleware.ts'
import { readForm } from '../http/forms.ts'
import { chrome } from '../http/page.ts'
import { redirectTo } from '../http/htmx.ts'
import { setFlash } from '../http/flash.ts'
import { limitByIp } from '../http/ip-limit.ts'
import { TotpReplaceConfirmPage, TotpReplaceStartPage } from '../../views/account-totp.tsx'
import { createTotpUri, generateTotpSecret, verifyTotpCode } from '../auth/totp.ts'
import { decryptSecret, encryptSecret } from '../auth/encryption.ts'
import { invalidateSession } from '../auth/session.ts'
import { writeTransaction } from '../db/client.ts'
import { users, type User } from '../db/schema.ts'
import { recordAuditEvent } from '../models/audit.ts'
import { queueSecurityNotice } from '../mail/security-notice.ts'
import { countPasskeys } from '../models/passkeys.ts'
import { checkFreshPasskey, FRESH_PASSKEY_REFUSED } from './fresh-passkey.ts'
import { acceptTotpStep, beginAttempt, concludeSuccess, recordFailure, throttledPage } from './login.tsx'

// GET,POST /account/totp: replacing the authenticator (SPEC §11). Step 1 takes a fresh code from
// the current secret (replay refused, counted against the lockout) or a fresh passkey assertion
// (`passkey_assertion`, as for recovery codes: fresh-passkey.ts) and stores a new pending
// secret; step 2 confirms a code from the new one, and only then the new secret replaces the old.
// The step-2 form carries `replace_token`: an HMAC over this session, the pending secret's
// ciphertext and an expiry, so another session, a stale form or a skipped step 1 cannot confirm.

export const accountTotp = new Hono<AppEnv>()

const REPLACE_WINDOW_MS = 10 * 60_000

function tokenMac(c: Context<AppEnv>, sessionId: string, pendingCiphertext: string, expiresAt: number): Buffer {
  const key = createHmac('sha256', c.get('deps').config.encryptionKey).update('gatehouse totp replacement v1').digest()
  return createHmac('sha256', key).update(`${sessionId}\n${pendingCiphertext}\n${expiresAt}`).digest()
}

function replaceToken(c: Context<AppEnv>, sessionId: string, pendingCiphertext: string, expiresAt: number): string {
  return `${expiresAt}.${tokenMac(c, sessionId, pendingCiphertext, expiresAt).toString('base64url')}`
}

/** True when the token was made by step 1 for this session and this pending secret, and has not expired. */
function isValidReplaceToken(c: Context<AppEnv>, token: string, sessionId: string, pendingCiphertext: string | null): boolean {
  if (pendingCiphertext === null) return false
  const [expires, mac, extra] = token.split('.')
  if (!expires || !mac || extra !== undefined || !/^\d{1,16}$/.test(expires)) return false
  const expiresAt = Number(expires)
  if (expiresAt <= c.get('deps').clock.now()) return false
  const given = Buffer.from(mac, 'base64url')
  const expected = tokenMac(c, sessionId, pendingCiphertext, expiresAt)
  return given.length === expected.length && timingSafeEqual(given, expected)
}

async function renderConfirm(c: Context<AppEnv>, user: User, secret: string, token: string, error?: string) {
  const uri = createTotpUri(secret, user.email, c.get('deps').config.siteName)
  const qrSvg = await QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 })
  return c.html(<TotpReplaceConfirmPage chrome={chrome(c)} secret={secret} uri={uri} qrSvg={qrSvg} token={token} error={error} />, error ? 422 : 200)
}

/** A failed code at either step: counted like one at /login/mfa; on the lock this session ends. */
function refuseCode(c: Context<AppEnv>, user: User, reason: string) {
  const { db, config } = c.get('deps')
  if (recordFailure(c, user.email, user.id, reason)) {
    invalidateSession(db, c.get('auth')!.session.id)
    clearSessionCookie(c)
    return throttledPage(c, { allowed: false, locked: true, retryAfterSeconds: config.lockoutMinutes * 60 })
  }
  return null
}

/** Only an account with an authenticator app replaces it (a full session has one today; kept for other factors). */
function noAuthenticator(c: Context<AppEnv>) {
  setFlash(c, 'info', 'Your account has no authenticator app to replace.')
  return redirectTo(c, '/account')
}

function hasPasskeys(c: Context<AppEnv>): boolean {
  return countPasskeys(c.get('deps').db, c.get('auth')!.user.id) > 0
}

accountTotp.get('/account/totp', requireUser, (c) => (c.get('auth')!.user.totpSecret === null ? noAuthenticator(c) : c.html(<TotpReplaceStartPage chrome={chrome(c)} hasPasskeys={hasPasskeys(c)} />)))

accountTotp.post('/account/totp', requireUser, async (c) => {
  const limited = limitByIp(c)
  if (limited) return limited
  const form = await readForm(c)
  if (form.get('replace_token') !== '') return confirmNewAuthenticator(c, form.get('replace_token'), form.get('new_code'))
  return proveCurrentAuthenticator(c, form.get('code'), form.get('passkey_assertion'))
})

/** Step 1: a fresh code from the current authenticator, or a fresh assertion by one of the user's passkeys. */
async function proveCurrentAuthenticator(c: Context<AppEnv>, code: string, passkeyAssertion: string) {
  const { db, clock, config } = c.get('deps')
  const { user } = c.get('auth')!
  if (user.totpSecret === null) return noAuthenticator(c)
  const refused = beginAttempt(c, user.email)
  if (refused) return refused
  if (passkeyAssertion.trim() !== '') {
    const checked = await checkFreshPasskey(c, passkeyAssertion, 'replace authenticator')
    if (checked instanceof Response) return checked
    if (checked === 'refused') return c.html(<TotpReplaceStartPage chrome={chrome(c)} hasPasskeys passkeyError={FRESH_PASSKEY_REFUSED} />, 422)
    return startNewSecret(c)
  }
  const current = decryptSecret(config.encryptionKey, user.totpSecret ?? '')
  if (current === null) throw new Error(`TOTP secret of user ${user.id} cannot be decrypted with the configured key`)
  const check = verifyTotpCode(current, code, clock.now(), user.totpLastStep)
  if (!(check.ok && acceptTotpStep(db, user.id, check.step))) {
    const replayed = check.ok || check.reason === 'replayed'
    const locked = refuseCode(c, user, replayed ? 'totp replayed (replace authenticator)' : 'totp invalid (replace authenticator)')
    if (locked) return locked
    const message = replayed ? 'That code has already been used. Wait for your app to show the next one.' : 'That code is not correct. Check the time on your device and try again.'
    return c.html(<TotpReplaceStartPage chrome={chrome(c)} error={message} hasPasskeys={hasPasskeys(c)} />, 422)
  }
  return startNewSecret(c)
}

/** After a fresh second factor: a new pending secret and the step-2 form bound to this session. */
async function startNewSecret(c: Context<AppEnv>) {
  const { db, clock, config } = c.get('deps')
  const { user, session } = c.get('auth')!
  const lockedMeanwhile = concludeSuccess(c, user.email)
  if (lockedMeanwhile) return lockedMeanwhile
  const secret = generateTotpSecret()
  const ciphertext = encryptSecret(config.encryptionKey, secret)
  db.update(users).set({ totpPendingSecret: ciphertext }).where(eq(users.id, user.id)).run()
  return renderConfirm(c, user, secret, replaceToken(c, session.id, ciphertext, clock.now() + REPLACE_WINDOW_MS))
}

async function confirmNewAuthenticator(c: Context<AppEnv>, token: string, code: string) {
  const { db, clock, config } = c.get('deps')
  const { user, session } = c.get('auth')!
  const pending = user.totpPendingSecret
  const expired = () => {
    setFlash(c, 'error', 'That replacement form has expired or was replaced by a newer one. Start again: your current authenticator still works.')
    return redirectTo(c, '/account/totp')
  }
  if (!isValidReplaceToken(c, token, session.id, pending)) return expired()
  const secret = decryptSecret(config.encryptionKey, pending!)
  if (secret === null) return expired()
  const refused = beginAttempt(c, user.email)
  if (refused) return refused
  const now = clock.now()
  const check = verifyTotpCode(secret, code, now, null)
  if (!check.ok) {
    const locked = refuseCode(c, user, 'totp invalid (new authenticator)')
    if (locked) return locked
    return renderConfirm(c, user, secret, token, 'That code is not correct. Check that the time on your device is right, then enter the code the new app shows now.')
  }
  const lockedMeanwhile = concludeSuccess(c, user.email)
  if (lockedMeanwhile) return lockedMeanwhile
  const replaced = writeTransaction(db, () => {
    // guarded by the pending ciphertext: of two parallel confirmations one replaces, the other finds it gone
    const changed = db
      .update(users)
      .set({ totpSecret: pending, totpPendingSecret: null, totpLastStep: check.step, mfaEnrolledAt: now })
      .where(and(eq(users.id, user.id), eq(users.totpPendingSecret, pending!)))
      .run().changes
    if (changed === 0) return false
    recordAuditEvent(db, { event: 'mfa.replaced', at: now, actor: { id: user.id, email: user.email }, targetType: 'user', targetId: user.id, ip: c.get('clientIp'), details: { factor: 'totp' } })
    queueSecurityNotice(db, { to: user.email, subject: 'Your second factor was replaced', what: 'The authenticator app of your account was replaced by a new one: codes from the previous app no longer work.', now, ip: c.get('clientIp'), baseUrl: config.baseUrl })
    return true
  })
  if (!replaced) return expired()
  c.get('deps').onEmailQueued?.()
  setFlash(c, 'success', 'Your authenticator has been replaced. Use the new app from now on.')
  return redirectTo(c, '/account')
}
