import { Hono } from 'hono'
import type { Context } from 'hono'
import { getCookie, setCookie, deleteCookie } from 'hono/cookie'
import type { AppEnv } from '../http/context.ts'
import { clearSessionCookie, publicPage, requireSignInStep, requireUser, setSessionCookie } from '../auth/middleware.ts'
import { idParam, readForm } from '../http/forms.ts'
import { chrome } from '../http/page.ts'
import { setFlash } from '../http/flash.ts'
import { redirectTo } from '../http/htmx.ts'
import { describeWait, notFoundPage } from '../http/errors.tsx'
import { ConfirmPage } from '../../views/components/confirm.tsx'
import { addPasskey, countPasskeys, getOwnPasskey, passkeyNameError, removePasskey } from '../models/passkeys.ts'
import { getUserById } from '../models/users.ts'
import { recordAuditEvent } from '../models/audit.ts'
import { bindingFor, findAssertedPasskey, finishPasskeyRegistration, startPasskeyAssertion, startPasskeyRegistration, verifyPasskeyAssertion } from '../auth/webauthn.ts'
import { beginSignInAttempt, concludeSucceededAttempt, type ThrottleState } from '../auth/rate-limit.ts'
import { createSession, invalidateSession } from '../auth/session.ts'
import { isTemporaryPasswordExpired, nextSignInStep, STEP_PAGES, TEMPORARY_PASSWORD_EXPIRED } from '../auth/sign-in-chain.ts'
import { generateToken, hashToken } from '../auth/tokens.ts'
import { completeSignIn, flashLowRecoveryCodes, lockoutPolicy, recordFailure } from './login.tsx'

// Passkeys (SPEC §11). Every ceremony is JSON between public/passkeys.js and these routes:
// success answers { redirect }, a refusal { error } with its status (422 refused, 404 unknown,
// 403 disabled, 429 throttled or locked). Challenges are single use, 5 minutes, bound to the
// session, or for the passwordless sign-in to a pre-auth cookie set by its options request.
//   GET /account/passkeys                                 → /account#passkeys (the section lives there)
//   POST /account/passkeys/options, /account/passkeys     register (full session)
//   POST /account/passkeys/:id/remove                     confirm, then remove (a form)
//   POST /account/passkeys/assertion-options              a fresh assertion (recovery codes)
//   POST /login/mfa/passkey/options, /login/mfa/passkey   second factor (pending session)
//   POST /login/passkey/options, /login/passkey           passwordless sign-in (both steps)

export const passkeyRoutes = new Hono<AppEnv>()

const REFUSED = 'The passkey could not be verified. Try again, or use your authenticator code.'

/** The JSON body, or null when it is not JSON (the scripts always send application/json). */
async function readJson(c: Context<AppEnv>): Promise<Record<string, unknown> | null> {
  if (c.req.header('Content-Type')?.split(';')[0]?.trim().toLowerCase() !== 'application/json') return null
  try {
    const body: unknown = await c.req.json()
    return typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : null
  } catch {
    return null
  }
}

function badRequest(c: Context<AppEnv>) {
  return c.json({ error: 'The request was not understood. Reload the page and try again.' }, 400)
}

function throttled(c: Context<AppEnv>, throttle: ThrottleState & { allowed: false }) {
  c.header('Retry-After', String(throttle.retryAfterSeconds))
  const wait = describeWait(throttle.retryAfterSeconds)
  return c.json({ error: throttle.locked ? `Too many failed sign-ins: sign-in is locked for ${wait}. An administrator can unlock it sooner.` : `Too many failed sign-ins. Wait ${wait} before trying again.` }, 429)
}

/** The per-IP limit of every secret-checking route, as JSON. */
function ipLimited(c: Context<AppEnv>) {
  const { ipLimiter, clock } = c.get('deps')
  const wait = ipLimiter.consume(c.get('clientIp'), clock.now())
  if (wait === 0) return null
  c.header('Retry-After', String(wait))
  return c.json({ error: `Too many attempts from your network. Try again in ${describeWait(wait)}.` }, 429)
}

// ---- registration and removal (a full session) ----

// The passkeys live on the account page; this address (bookmarks, older links) leads there.
passkeyRoutes.get('/account/passkeys', requireUser, (c) => c.redirect('/account#passkeys', 302))

passkeyRoutes.post('/account/passkeys/options', requireUser, async (c) => {
  const { db, config, clock } = c.get('deps')
  const { user, session } = c.get('auth')!
  return c.json(await startPasskeyRegistration(db, config, { user, sessionId: session.id, now: clock.now() }))
})

passkeyRoutes.post('/account/passkeys', requireUser, async (c) => {
  const body = await readJson(c)
  if (body === null) {
    // the form submitted without its script (Enter in the name field, JavaScript off)
    setFlash(c, 'error', 'Adding a passkey needs JavaScript. Your authenticator app keeps working without it.')
    return redirectTo(c, '/account#passkeys')
  }
  const { db, config, clock } = c.get('deps')
  const { user, session } = c.get('auth')!
  const name = typeof body.name === 'string' ? body.name.normalize('NFC').trim() : ''
  const nameError = passkeyNameError(name)
  if (nameError) return c.json({ error: nameError, errors: { name: nameError } }, 422)
  const now = clock.now()
  const verified = await finishPasskeyRegistration(db, config, { response: body.response, sessionId: session.id, now })
  if (verified === null) return c.json({ error: 'The passkey could not be registered: the request expired or was not valid. Try again.' }, 422)
  const added = addPasskey(db, { user, name, ...verified, now, ip: c.get('clientIp'), baseUrl: config.baseUrl })
  if (added === null) return c.json({ error: 'This passkey is already registered.' }, 409)
  setFlash(c, 'success', `Passkey “${added.name}” added.`)
  return c.json({ redirect: '/account#passkeys' })
})

passkeyRoutes.post('/account/passkeys/:id/remove', requireUser, async (c) => {
  const { db, config, clock } = c.get('deps')
  const { user } = c.get('auth')!
  const id = idParam(c.req.param('id'))
  const passkey = id === null ? null : getOwnPasskey(db, user.id, id)
  if (passkey === null) return notFoundPage(c)
  const form = await readForm(c)
  if (form.get('confirm') !== 'yes') {
    return c.html(
      <ConfirmPage
        chrome={chrome(c)}
        title="Remove this passkey?"
        question={`The passkey “${passkey.name}” stops working at once: it no longer signs you in or confirms your identity. You can add it again later.`}
        button="Remove passkey"
        action={`/account/passkeys/${passkey.id}/remove`}
        cancel="/account#passkeys"
      />,
    )
  }
  const outcome = removePasskey(db, { user, passkeyId: passkey.id, now: clock.now(), ip: c.get('clientIp'), baseUrl: config.baseUrl })
  if (!outcome.ok && outcome.reason === 'not-found') return notFoundPage(c)
  if (!outcome.ok) {
    setFlash(c, 'error', 'This passkey is your last second factor: add another passkey or an authenticator app before removing it.')
    return redirectTo(c, '/account#passkeys')
  }
  setFlash(c, 'success', `Passkey “${outcome.passkey.name}” removed.`)
  return redirectTo(c, '/account#passkeys')
})

/** Options for a fresh assertion by one of the user's passkeys (regenerating recovery codes). */
passkeyRoutes.post('/account/passkeys/assertion-options', requireUser, async (c) => {
  const { db, config, clock } = c.get('deps')
  const { user, session } = c.get('auth')!
  if (countPasskeys(db, user.id) === 0) return c.json({ error: 'You have no passkey: use your authenticator code.' }, 404)
  return c.json(await startPasskeyAssertion(db, config, { purpose: 'reauth', binding: bindingFor({ sessionId: session.id }), user, now: clock.now() }))
})

// ---- the second factor at /login/mfa (a session that passed the password step) ----

passkeyRoutes.post('/login/mfa/passkey/options', requireSignInStep('mfa-verify'), async (c) => {
  const { db, config, clock } = c.get('deps')
  const { user, session } = c.get('auth')!
  if (countPasskeys(db, user.id) === 0) return c.json({ error: 'You have no passkey: enter your authenticator code.' }, 404)
  return c.json(await startPasskeyAssertion(db, config, { purpose: 'second-factor', binding: bindingFor({ sessionId: session.id }), user, now: clock.now() }))
})

passkeyRoutes.post('/login/mfa/passkey', requireSignInStep('mfa-verify'), async (c) => {
  const limited = ipLimited(c)
  if (limited) return limited
  const body = await readJson(c)
  if (body === null) return badRequest(c)
  const { db, config, clock } = c.get('deps')
  const { user, session } = c.get('auth')!
  const throttle = beginSignInAttempt(db, user.email, clock.now(), lockoutPolicy(c))
  if (!throttle.allowed) return throttled(c, throttle)
  const found = findAssertedPasskey(db, body.response)
  const passkey = found !== null && found.userId === user.id ? found : null
  const now = clock.now()
  const outcome = passkey === null ? ({ ok: false, reason: 'invalid' } as const) : await verifyPasskeyAssertion(db, config, { response: body.response, passkey, user, purpose: 'second-factor', binding: bindingFor({ sessionId: session.id }), requireUserVerification: false, now, ip: c.get('clientIp') })
  if (!outcome.ok) {
    if (recordFailure(c, user.email, user.id, outcome.reason === 'replayed' ? 'passkey replayed' : 'passkey invalid')) {
      invalidateSession(db, session.id)
      clearSessionCookie(c)
      return throttled(c, { allowed: false, locked: true, retryAfterSeconds: config.lockoutMinutes * 60 })
    }
    return c.json({ error: REFUSED }, 422)
  }
  const lockedMeanwhile = concludeSucceededAttempt(db, user.email, now)
  if (!lockedMeanwhile.allowed) {
    invalidateSession(db, session.id)
    clearSessionCookie(c)
    return throttled(c, lockedMeanwhile)
  }
  completeSignIn(db, { userId: user.id, email: user.email, sessionId: session.id, now, ip: c.get('clientIp'), method: session.authMethod.startsWith('oidc:') ? `${session.authMethod}+passkey` : 'passkey' })
  flashLowRecoveryCodes(c, user)
  return c.json({ redirect: '/' })
})

// ---- passwordless sign-in at /login (both steps) ----

function preauthCookieName(c: Context<AppEnv>): string {
  return c.get('deps').config.secureCookies ? '__Host-passkey-signin' : 'passkey-signin'
}

passkeyRoutes.post('/login/passkey/options', publicPage, async (c) => {
  const limited = ipLimited(c)
  if (limited) return limited
  const { db, config, clock } = c.get('deps')
  // Note: the cookie binds the challenge to this browser; a second tab reuses it.
  let token = getCookie(c, preauthCookieName(c))
  if (!token || !/^[a-z2-7]{52}$/.test(token)) {
    token = generateToken(32)
    setCookie(c, preauthCookieName(c), token, { httpOnly: true, sameSite: 'Strict', secure: config.secureCookies, path: '/', maxAge: 5 * 60 })
  }
  return c.json(await startPasskeyAssertion(db, config, { purpose: 'sign-in', binding: bindingFor({ preauthHash: hashToken(token) }), user: null, now: clock.now() }))
})

passkeyRoutes.post('/login/passkey', publicPage, async (c) => {
  const limited = ipLimited(c)
  if (limited) return limited
  const body = await readJson(c)
  if (body === null) return badRequest(c)
  const { db, config, clock } = c.get('deps')
  const token = getCookie(c, preauthCookieName(c))
  if (!token) return c.json({ error: 'The sign-in expired. Try again.' }, 422)
  const passkey = findAssertedPasskey(db, body.response)
  const user = passkey === null ? null : getUserById(db, passkey.userId)
  if (passkey === null || user === null) return c.json({ error: 'This passkey is not registered here. Sign in with your password and authenticator code.' }, 422)
  if (!passkey.userVerifiedAtRegistration) return c.json({ error: 'This passkey works only as the second step: sign in with your password first.' }, 422)
  const throttle = beginSignInAttempt(db, user.email, clock.now(), lockoutPolicy(c))
  if (!throttle.allowed) return throttled(c, throttle)
  const now = clock.now()
  const outcome = await verifyPasskeyAssertion(db, config, { response: body.response, passkey, user, purpose: 'sign-in', binding: bindingFor({ preauthHash: hashToken(token) }), requireUserVerification: true, now, ip: c.get('clientIp') })
  if (!outcome.ok) {
    if (recordFailure(c, user.email, user.id, outcome.reason === 'replayed' ? 'passkey replayed' : 'passkey invalid')) return throttled(c, { allowed: false, locked: true, retryAfterSeconds: config.lockoutMinutes * 60 })
    return c.json({ error: REFUSED }, 422)
  }
  const lockedMeanwhile = concludeSucceededAttempt(db, user.email, now)
  if (!lockedMeanwhile.allowed) return throttled(c, lockedMeanwhile)
  if (user.disabledAt !== null) {
    recordAuditEvent(db, { event: 'signin.refused', at: now, targetType: 'user', targetId: user.id, ip: c.get('clientIp'), details: { reason: 'disabled', method: 'passkey' } })
    return c.json({ error: 'This account is disabled. Contact your Gatehouse administrator.' }, 403)
  }
  // as the password form refuses it: no session that could only wait at /password/change
  if (isTemporaryPasswordExpired(user, now)) {
    recordAuditEvent(db, { event: 'signin.refused', at: now, targetType: 'user', targetId: user.id, ip: c.get('clientIp'), details: { reason: 'temporary password expired', method: 'passkey' } })
    return c.json({ error: TEMPORARY_PASSWORD_EXPIRED }, 403)
  }
  deleteCookie(c, preauthCookieName(c), { path: '/', secure: config.secureCookies })
  const { token: sessionToken, session } = createSession(db, { userId: user.id, now, mfaVerified: false, ip: c.get('clientIp'), userAgent: c.req.header('User-Agent') ?? '', authMethod: 'passkey' })
  completeSignIn(db, { userId: user.id, email: user.email, sessionId: session.id, now, ip: c.get('clientIp'), method: 'passkey' })
  setSessionCookie(c, sessionToken)
  flashLowRecoveryCodes(c, user)
  const step = nextSignInStep(user, { ...session, mfaVerified: true }, now, config.passwordMaxAgeDays)
  return c.json({ redirect: step === null ? '/' : STEP_PAGES[step] })
})
