import type { Context } from 'hono'
import { setCookie } from 'hono/cookie'
import * as client from 'openid-client'
import type { AppEnv } from '../http/context.ts'
import { setSessionCookie } from '../auth/middleware.ts'
import { renderErrorPage } from '../http/errors.tsx'
import { oidcRedirectUri } from '../models/identity-providers.ts'
import { touchUserIdentity } from '../models/user-identities.ts'
import { getOidcConfiguration, hasSecondFactorAmr, oidcAttemptCookie, OIDC_ATTEMPT_MS, storeOidcAttempt, type OidcPurpose } from '../auth/oidc.ts'
import { createSession } from '../auth/session.ts'
import { getLockedUntil } from '../auth/rate-limit.ts'
import { isTemporaryPasswordExpired, nextSignInStep, STEP_PAGES, TEMPORARY_PASSWORD_EXPIRED } from '../auth/sign-in-chain.ts'
import { recordAuditEvent } from '../models/audit.ts'
import { completeSignIn, flashLowRecoveryCodes } from './login.tsx'
import type { IdentityProvider, User } from '../db/schema.ts'
import { chrome } from '../http/page.ts'
import { ProviderHandoffPage } from '../../views/oidc-handoff.tsx'

// The pieces of the OpenID Connect flow shared by its three starts (sign-in at /login/oidc/:id,
// "Accept with …" on an invitation, "Link …" on the account) and by the callback's three ends.

/** The plain page for a provider that cannot be reached or is misconfigured; the reason is logged and audited. */
export function providerUnavailable(c: Context<AppEnv>, provider: IdentityProvider, reason: string) {
  const { db, clock, log } = c.get('deps')
  log.error({ msg: 'identity provider unavailable', provider: provider.name, reason })
  recordAuditEvent(db, { event: 'idp.unavailable', at: clock.now(), targetType: 'identity_provider', targetId: provider.id, ip: c.get('clientIp'), details: { provider: provider.name, reason } })
  return renderErrorPage(c, 503, `Sign-in with ${provider.name} is not available`, `Sign-in with ${provider.name} is not available right now. Try again later, or sign in with your email and password; your administrator has been told why.`)
}

/** A refused callback: audited as signin.failed with the reason; nothing else changes. */
export function oidcFailed(c: Context<AppEnv>, reason: string, message: string, provider: IdentityProvider | null, userId: number | null = null, status: 400 | 403 | 409 | 410 | 503 = 400, title = 'Sign-in did not complete') {
  const { db, clock } = c.get('deps')
  recordAuditEvent(db, { event: 'signin.failed', at: clock.now(), targetType: 'user', targetId: userId, ip: c.get('clientIp'), details: { provider: provider?.name ?? null, reason } })
  return renderErrorPage(c, status, title, message)
}

/** The error and the library's underlying cause (which names the claim, e.g. "nonce"), for the audit log. */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error).slice(0, 300)
  const cause = error.cause instanceof Error && error.cause.message !== error.message ? ` (${error.cause.message})` : ''
  return `${error.name}: ${error.message}${cause}`.slice(0, 300)
}

/**
 * Sends the browser to the provider (PKCE S256, state, nonce): a 302, or after a form (`fromForm`) a
 * page that moves on by its Refresh header. The attempt, with its purpose, stays on the server behind
 * the HttpOnly cookie: nothing of it travels in the URL to the provider.
 */
export async function startOidcFlow(c: Context<AppEnv>, provider: IdentityProvider, input: { returnTo: string; purpose: OidcPurpose; fromForm?: boolean }) {
  const { clock, config } = c.get('deps')
  let configuration: client.Configuration
  try {
    configuration = await getOidcConfiguration(config.encryptionKey, provider)
  } catch (error) {
    return providerUnavailable(c, provider, describeError(error))
  }
  const codeVerifier = client.randomPKCECodeVerifier()
  const state = client.randomState()
  const nonce = client.randomNonce()
  const now = clock.now()
  const id = storeOidcAttempt({ providerId: provider.id, state, nonce, codeVerifier, returnTo: input.returnTo, expiresAt: now + OIDC_ATTEMPT_MS, purpose: input.purpose }, now)
  const url = client.buildAuthorizationUrl(configuration, {
    redirect_uri: oidcRedirectUri(config.baseUrl),
    scope: provider.scopes,
    code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  })
  const cookie = oidcAttemptCookie(config.secureCookies)
  setCookie(c, cookie.name, id, { httpOnly: true, sameSite: 'Lax', secure: config.secureCookies, path: cookie.path, maxAge: OIDC_ATTEMPT_MS / 1000 })
  if (!input.fromForm) return c.redirect(url.href, 302)
  // Note: a form's POST answered with a redirect to the provider would be blocked by CSP form-action 'self'
  c.header('Refresh', `0; url=${url.href}`)
  return c.html(<ProviderHandoffPage chrome={chrome(c)} providerName={provider.name} url={url.href} />)
}

/**
 * A provider sign-in of a known account, from here on like a password sign-in: disabled and
 * locked accounts refused, a session that records the provider, then the rest of the sign-in
 * chain (Gatehouse's factor, or enrolment), unless trust_mfa and a second-factor `amr` complete it.
 */
export function continueProviderSignIn(c: Context<AppEnv>, input: { user: User; provider: IdentityProvider; amr: unknown; identityId: number | null; returnTo: string }) {
  const { db, clock, config } = c.get('deps')
  const { user, provider } = input
  const now = clock.now()
  const ip = c.get('clientIp')
  if (user.disabledAt !== null) {
    recordAuditEvent(db, { event: 'signin.refused', at: now, targetType: 'user', targetId: user.id, ip, details: { reason: 'disabled', provider: provider.name } })
    return renderErrorPage(c, 403, 'Account disabled', 'This account is disabled. Contact your Gatehouse administrator.')
  }
  if (isTemporaryPasswordExpired(user, now)) {
    recordAuditEvent(db, { event: 'signin.refused', at: now, targetType: 'user', targetId: user.id, ip, details: { reason: 'temporary password expired', provider: provider.name } })
    return renderErrorPage(c, 403, 'Temporary password expired', TEMPORARY_PASSWORD_EXPIRED)
  }
  const lockedUntil = getLockedUntil(db, user.email, now)
  if (lockedUntil !== null) {
    recordAuditEvent(db, { event: 'signin.refused', at: now, targetType: 'user', targetId: user.id, ip, details: { reason: 'locked', provider: provider.name } })
    return renderErrorPage(c, 403, 'Sign-in locked', 'Too many failed sign-ins: sign-in is locked for now. Wait a few minutes, or ask an administrator to unlock it.')
  }
  if (input.identityId !== null) touchUserIdentity(db, input.identityId, now)
  const method = `oidc:${provider.name}`
  const { token, session } = createSession(db, { userId: user.id, now, mfaVerified: false, ip, userAgent: c.req.header('User-Agent') ?? '', authMethod: method })
  setSessionCookie(c, token)
  if (provider.trustMfa && hasSecondFactorAmr(input.amr) && user.totpSecret !== null) {
    completeSignIn(db, { userId: user.id, email: user.email, sessionId: session.id, now, ip, method })
    flashLowRecoveryCodes(c, user)
    session.mfaVerified = true
  }
  const step = nextSignInStep(user, session, now, config.passwordMaxAgeDays)
  if (step === null) return c.redirect(input.returnTo, 303)
  return c.redirect(STEP_PAGES[step], 303)
}
