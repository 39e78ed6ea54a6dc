import { Hono, type Context } from 'hono'
import { getCookie, setCookie, deleteCookie } from 'hono/cookie'
import * as client from 'openid-client'
import type { AppEnv } from '../http/context.ts'
import { publicPage, setSessionCookie } from '../auth/middleware.ts'
import { renderErrorPage } from '../http/errors.tsx'
import { limitByIp } from '../http/ip-limit.ts'
import { getIdentityProviderById, getIdentityProviderForEmail, listEnabledIdentityProviders, oidcRedirectUri } from '../models/identity-providers.ts'
import { isHtmx } from '../http/htmx.ts'
import { ProviderButtons } from '../../views/login.tsx'
import { getUserIdentity, hasIdentityAtProvider, linkUserIdentity, touchUserIdentity } from '../models/user-identities.ts'
import { getUserByEmail, getUserById } from '../models/users.ts'
import { getOidcConfiguration, hasSecondFactorAmr, OIDC_ATTEMPT_COOKIE, OIDC_ATTEMPT_MS, safeReturnTo, storeOidcAttempt, takeOidcAttempt } from '../auth/oidc.ts'
import { createSession } from '../auth/session.ts'
import { getLockedUntil } from '../auth/rate-limit.ts'
import { nextSignInStep, STEP_PAGES } from '../auth/sign-in-chain.ts'
import { recordAuditEvent } from '../models/audit.ts'
import { completeSignIn } from './login.tsx'
import type { IdentityProvider, User } from '../db/schema.ts'

// GET /login/oidc/:providerId starts an authorization-code + PKCE sign-in; GET /login/oidc/callback
// finishes it. Every check of the answer (state, nonce, signature, issuer, audience, expiry) is
// made by openid-client.

export const oidc = new Hono<AppEnv>()

function unavailable(c: Context<AppEnv>, provider: IdentityProvider, reason: string) {
  const { db, clock, log } = c.get('deps')
  log.error({ msg: 'identity provider unavailable', provider: provider.name, reason })
  recordAuditEvent(db, { event: 'idp.unavailable', at: clock.now(), targetType: 'identity_provider', targetId: provider.id, ip: c.get('clientIp'), details: { provider: provider.name, reason } })
  return renderErrorPage(c, 503, `Sign-in with ${provider.name} is not available`, `Sign-in with ${provider.name} is not available right now. Try again later, or sign in with your email and password; your administrator has been told why.`)
}

function failed(c: Context<AppEnv>, reason: string, message: string, provider: IdentityProvider | null, userId: number | null = null, status: 400 | 403 | 503 = 400) {
  const { db, clock } = c.get('deps')
  recordAuditEvent(db, { event: 'signin.failed', at: clock.now(), targetType: 'user', targetId: userId, ip: c.get('clientIp'), details: { provider: provider?.name ?? null, reason } })
  return renderErrorPage(c, status, 'Sign-in did not complete', message)
}

/** The error and the library's underlying cause (which names the claim, e.g. "nonce"), for the audit log. */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error).slice(0, 300)
  const cause = error.cause instanceof Error && error.cause.message !== error.message ? ` (${error.cause.message})` : ''
  return `${error.name}: ${error.message}${cause}`.slice(0, 300)
}

oidc.get('/login/oidc/callback', publicPage, async (c) => {
  const { db, clock, config } = c.get('deps')
  const attemptId = getCookie(c, OIDC_ATTEMPT_COOKIE)
  deleteCookie(c, OIDC_ATTEMPT_COOKIE, { path: '/login/oidc' })
  const attempt = attemptId ? takeOidcAttempt(attemptId) : null
  const again = 'Go back to the sign-in page and start again.'
  if (attempt === null) return failed(c, 'unknown or reused attempt', `This sign-in link was already used or does not belong to this browser. ${again}`, null)
  const provider = getIdentityProviderById(db, attempt.providerId)
  if (provider === null || !provider.enabled) return failed(c, 'provider disabled', `This way of signing in is no longer offered. ${again}`, provider)
  if (attempt.expiresAt <= clock.now()) return failed(c, 'attempt expired', `The sign-in took longer than 10 minutes. ${again}`, provider)
  const providerError = c.req.query('error')
  if (providerError !== undefined) {
    const denied = providerError === 'access_denied'
    return failed(c, `provider error: ${providerError.slice(0, 100)}`, denied ? `${provider.name} did not allow the sign-in. ${again}` : `${provider.name} reported a problem (${providerError.slice(0, 100)}). ${again}`, provider)
  }
  let configuration: client.Configuration
  try {
    configuration = await getOidcConfiguration(config.encryptionKey, provider)
  } catch (error) {
    return unavailable(c, provider, describe(error))
  }
  let claims: client.IDToken | undefined
  try {
    const current = new URL(c.req.url)
    const callbackUrl = new URL(oidcRedirectUri(config.baseUrl))
    callbackUrl.search = current.search
    const tokens = await client.authorizationCodeGrant(configuration, callbackUrl, { pkceCodeVerifier: attempt.codeVerifier, expectedState: attempt.state, expectedNonce: attempt.nonce, idTokenExpected: true })
    claims = tokens.claims()
  } catch (error) {
    const unreachable = error instanceof TypeError || (error instanceof Error && /fetch failed|ECONNREFUSED|timeout|aborted/i.test(`${error.message} ${String((error as { cause?: unknown }).cause ?? '')}`))
    if (unreachable) return unavailable(c, provider, describe(error))
    return failed(c, `invalid response: ${describe(error)}`, `The answer from ${provider.name} could not be verified. ${again}`, provider)
  }
  if (!claims) return failed(c, 'no id token', `The answer from ${provider.name} could not be verified. ${again}`, provider)
  const now = clock.now()
  const ip = c.get('clientIp')
  const sub = claims.sub
  const email = claims.email_verified === true && typeof claims.email === 'string' ? claims.email.toLowerCase() : null

  let user: User | null = null
  const identity = getUserIdentity(db, provider.id, sub)
  if (identity !== null) {
    user = getUserById(db, identity.userId)
  } else if (provider.autoLink && email !== null) {
    const candidate = getUserByEmail(db, email)
    if (candidate !== null && candidate.disabledAt === null && !hasIdentityAtProvider(db, candidate.id, provider.id)) {
      linkUserIdentity(db, { user: candidate, provider, sub, email, now, ip, baseUrl: config.baseUrl, how: 'auto_link' })
      user = candidate
    }
  }
  if (user === null) {
    recordAuditEvent(db, { event: 'signin.failed', at: now, targetType: 'user', targetId: null, ip, details: { provider: provider.name, reason: 'unknown identity', sub } })
    return renderErrorPage(c, 403, 'No account uses this identity', `No Gatehouse account is linked to this ${provider.name} identity${email ? ` (${email})` : ''}, and none was created. Ask a Gatehouse administrator for an invitation, or sign in with your password and link ${provider.name} from your account page.`)
  }
  if (user.disabledAt !== null) {
    recordAuditEvent(db, { event: 'signin.refused', at: now, targetType: 'user', targetId: user.id, ip, details: { reason: 'disabled', provider: provider.name } })
    return renderErrorPage(c, 403, 'Account disabled', 'This account is disabled. Contact your Gatehouse administrator.')
  }
  const lockedUntil = getLockedUntil(db, user.email, now)
  if (lockedUntil !== null) {
    recordAuditEvent(db, { event: 'signin.refused', at: now, targetType: 'user', targetId: user.id, ip, details: { reason: 'locked', provider: provider.name } })
    return renderErrorPage(c, 403, 'Sign-in locked', 'Too many failed sign-ins: sign-in is locked for now. Wait a few minutes, or ask an administrator to unlock it.')
  }
  if (identity !== null) touchUserIdentity(db, identity.id, now)
  const method = `oidc:${provider.name}`
  const { token, session } = createSession(db, { userId: user.id, now, mfaVerified: false, ip, userAgent: c.req.header('User-Agent') ?? '', authMethod: method })
  setSessionCookie(c, token)
  if (provider.trustMfa && hasSecondFactorAmr(claims.amr) && user.totpSecret !== null) {
    completeSignIn(db, { userId: user.id, email: user.email, sessionId: session.id, now, ip, method })
    session.mfaVerified = true
  }
  const step = nextSignInStep(user, session, now, config.passwordMaxAgeDays)
  if (step === null) return c.redirect(attempt.returnTo, 303)
  return c.redirect(STEP_PAGES[step], 303)
})

oidc.get('/login/oidc/:providerId{[0-9]+}', publicPage, async (c) => {
  const limited = limitByIp(c)
  if (limited) return limited
  const { db, clock, config } = c.get('deps')
  const provider = getIdentityProviderById(db, Number(c.req.param('providerId')))
  if (provider === null || !provider.enabled) return renderErrorPage(c, 404, 'Not found', 'This way of signing in is not offered.')
  let configuration: client.Configuration
  try {
    configuration = await getOidcConfiguration(config.encryptionKey, provider)
  } catch (error) {
    return unavailable(c, provider, describe(error))
  }
  const codeVerifier = client.randomPKCECodeVerifier()
  const state = client.randomState()
  const nonce = client.randomNonce()
  const now = clock.now()
  const id = storeOidcAttempt({ providerId: provider.id, state, nonce, codeVerifier, returnTo: safeReturnTo(c.req.query('return_to')), expiresAt: now + OIDC_ATTEMPT_MS }, now)
  const url = client.buildAuthorizationUrl(configuration, {
    redirect_uri: oidcRedirectUri(config.baseUrl),
    scope: provider.scopes,
    code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  })
  setCookie(c, OIDC_ATTEMPT_COOKIE, id, { httpOnly: true, sameSite: 'Lax', secure: config.secureCookies, path: '/login/oidc', maxAge: OIDC_ATTEMPT_MS / 1000 })
  return c.redirect(url.href, 302)
})

/** The sign-in page's provider buttons for the typed `email`, its provider marked (an htmx fragment of /login). */
oidc.get('/login/providers', publicPage, (c) => {
  c.header('Vary', 'HX-Request')
  if (!isHtmx(c)) return c.redirect('/login', 303)
  const { db } = c.get('deps')
  const email = (c.req.query('email') ?? '').trim().slice(0, 254)
  const suggested = getIdentityProviderForEmail(db, email)
  return c.html(<ProviderButtons providers={listEnabledIdentityProviders(db)} suggestedId={suggested?.id ?? null} domain={email.slice(email.lastIndexOf('@') + 1).toLowerCase()} />)
})
