import { Hono } from 'hono'
import { getCookie, deleteCookie } from 'hono/cookie'
import * as client from 'openid-client'
import type { AppEnv } from '../http/context.ts'
import { publicPage } from '../auth/middleware.ts'
import { renderErrorPage } from '../http/errors.tsx'
import { limitByIp } from '../http/ip-limit.ts'
import { getIdentityProviderById, getIdentityProviderForEmail, listEnabledIdentityProviders, oidcRedirectUri } from '../models/identity-providers.ts'
import { isHtmx } from '../http/htmx.ts'
import { ProviderButtons } from '../../views/login.tsx'
import { getUserIdentity, hasIdentityAtProvider, linkUserIdentity } from '../models/user-identities.ts'
import { getUserByEmail, getUserById } from '../models/users.ts'
import { getOidcConfiguration, oidcAttemptCookie, safeReturnTo, takeOidcAttempt, verifiedEmailClaim } from '../auth/oidc.ts'
import { recordAuditEvent } from '../models/audit.ts'
import { continueProviderSignIn, describeError, oidcFailed, providerUnavailable, startOidcFlow } from './oidc-flow.tsx'
import { finishInvitationWithProvider, finishLinkWithProvider } from './oidc-claims.tsx'
import { mayAutoLink } from '../authz/policy.ts'
import { resolveActor } from '../models/roles.ts'
import type { User } from '../db/schema.ts'

// GET /login/oidc/:providerId starts an authorization-code + PKCE sign-in; GET /login/oidc/callback
// finishes it. Every check of the answer (state, nonce, signature, issuer, audience, expiry) is
// made by openid-client.

export const oidc = new Hono<AppEnv>()

oidc.get('/login/oidc/callback', publicPage, async (c) => {
  const { db, clock, config } = c.get('deps')
  const cookie = oidcAttemptCookie(config.secureCookies)
  const attemptId = getCookie(c, cookie.name)
  deleteCookie(c, cookie.name, { path: cookie.path, secure: config.secureCookies })
  const attempt = attemptId ? takeOidcAttempt(attemptId) : null
  const again = 'Go back to the sign-in page and start again.'
  if (attempt === null) return oidcFailed(c, 'unknown or reused attempt', `This sign-in link was already used or does not belong to this browser. ${again}`, null)
  const provider = getIdentityProviderById(db, attempt.providerId)
  if (provider === null || !provider.enabled) return oidcFailed(c, 'provider disabled', `This way of signing in is no longer offered. ${again}`, provider)
  if (attempt.expiresAt <= clock.now()) return oidcFailed(c, 'attempt expired', `The sign-in took longer than 10 minutes. ${again}`, provider)
  const providerError = c.req.query('error')
  if (providerError !== undefined) {
    const denied = providerError === 'access_denied'
    return oidcFailed(c, `provider error: ${providerError.slice(0, 100)}`, denied ? `${provider.name} did not allow the sign-in. ${again}` : `${provider.name} reported a problem (${providerError.slice(0, 100)}). ${again}`, provider)
  }
  let configuration: client.Configuration
  try {
    configuration = await getOidcConfiguration(config.encryptionKey, provider)
  } catch (error) {
    return providerUnavailable(c, provider, describeError(error))
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
    if (unreachable) return providerUnavailable(c, provider, describeError(error))
    return oidcFailed(c, `invalid response: ${describeError(error)}`, `The answer from ${provider.name} could not be verified. ${again}`, provider)
  }
  if (!claims) return oidcFailed(c, 'no id token', `The answer from ${provider.name} could not be verified. ${again}`, provider)
  const now = clock.now()
  const ip = c.get('clientIp')
  const sub = claims.sub
  const email = verifiedEmailClaim(claims)
  const purpose = attempt.purpose ?? { kind: 'signin' }
  if (purpose.kind === 'invite') return finishInvitationWithProvider(c, { provider, purpose, sub, email, claims })
  if (purpose.kind === 'link') return finishLinkWithProvider(c, { provider, purpose, sub, email, returnTo: attempt.returnTo })

  let user: User | null = null
  const identity = getUserIdentity(db, provider.id, sub)
  if (identity !== null) {
    user = getUserById(db, identity.userId)
  } else if (provider.autoLink && email !== null) {
    // the stored address must equal the claim exactly (getUserByEmail folds case itself), and an
    // admin account is never auto-linked: its holder links a provider from /account (README)
    const candidate = getUserByEmail(db, email)
    if (candidate !== null && candidate.email === email && mayAutoLink(resolveActor(db, candidate)) && !hasIdentityAtProvider(db, candidate.id, provider.id)) {
      linkUserIdentity(db, { user: candidate, provider, sub, email, now, ip, baseUrl: config.baseUrl, how: 'auto_link' })
      user = candidate
    }
  }
  if (user === null) {
    recordAuditEvent(db, { event: 'signin.failed', at: now, targetType: 'user', targetId: null, ip, details: { provider: provider.name, reason: 'unknown identity', sub } })
    return renderErrorPage(c, 403, 'No account uses this identity', `No Gatehouse account is linked to this ${provider.name} identity${email ? ` (${email})` : ''}, and none was created. Ask a Gatehouse administrator for an invitation, or sign in with your password and link ${provider.name} from your account page.`)
  }
  return continueProviderSignIn(c, { user, provider, amr: claims.amr, identityId: identity?.id ?? null, returnTo: attempt.returnTo })
})

oidc.get('/login/oidc/:providerId{[0-9]+}', publicPage, async (c) => {
  const limited = limitByIp(c)
  if (limited) return limited
  const { db } = c.get('deps')
  const provider = getIdentityProviderById(db, Number(c.req.param('providerId')))
  if (provider === null || !provider.enabled) return renderErrorPage(c, 404, 'Not found', 'This way of signing in is not offered.')
  return startOidcFlow(c, provider, { returnTo: safeReturnTo(c.req.query('return_to')), purpose: { kind: 'signin' } })
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
