import * as client from 'openid-client'
import { randomBytes } from 'node:crypto'
import type { IdentityProvider } from '../db/schema.ts'
import { decryptIdentityProviderSecret, isLoopbackHost } from '../models/identity-providers.ts'

// The OpenID Connect client side (SPEC §10), all validation done by openid-client. Discovered
// configurations are cached per provider version (id + updated_at); sign-in attempts live in
// memory for 10 minutes, keyed by a random id held in an HttpOnly cookie, and are taken once.

/**
 * The attempt cookie: over https `__Host-` (Secure, Path=/, no Domain), like the session cookie, so
 * a sibling subdomain cannot plant an attempt of its own (a sign-in into the planter's account);
 * over http (tests, loopback) a plain cookie on the callback's path.
 */
export function oidcAttemptCookie(secureCookies: boolean): { name: string; path: string } {
  return secureCookies ? { name: '__Host-gatehouse_oidc', path: '/' } : { name: 'gatehouse_oidc', path: '/login/oidc' }
}
export const OIDC_ATTEMPT_MS = 10 * 60_000
/** `amr` values that show a second factor (SPEC §10). */
export const SECOND_FACTOR_AMR = ['mfa', 'otp', 'hwk', 'swk', 'sms', 'fpt', 'face']

const configurations = new Map<string, Promise<client.Configuration>>()

/**
 * The discovered configuration of a provider; http is allowed only for loopback issuers.
 * Note: openid-client skips the ID token's JWS signature check for tokens from the token endpoint
 * unless told otherwise (TLS vouches for the issuer); SPEC §10 wants it checked against the JWKS.
 */
export function getOidcConfiguration(key: Buffer, provider: IdentityProvider): Promise<client.Configuration> {
  // keyed by the provider's version and what discovery depends on, so an edit is never served stale
  const cacheKey = `${provider.id}:${provider.updatedAt}:${provider.issuer}:${provider.clientId}:${provider.clientSecret}`
  const cached = configurations.get(cacheKey)
  if (cached) return cached
  const secret = decryptIdentityProviderSecret(key, provider)
  if (secret === null) return Promise.reject(new Error('the client secret cannot be decrypted with the configured key'))
  const issuer = new URL(provider.issuer)
  const loopback = issuer.protocol === 'http:' && isLoopbackHost(issuer.hostname)
  const pending = client.discovery(issuer, provider.clientId, secret, undefined, { execute: loopback ? [client.allowInsecureRequests, client.enableNonRepudiationChecks] : [client.enableNonRepudiationChecks], timeout: 10 })
  for (const k of configurations.keys()) if (k.startsWith(`${provider.id}:`)) configurations.delete(k)
  configurations.set(cacheKey, pending)
  pending.catch(() => configurations.delete(cacheKey)) // a provider that was down is asked again next time
  return pending
}

/** What the attempt is for: a sign-in, accepting an invitation (with the form's answers), or linking to the signed-in account. */
export type OidcPurpose =
  | { kind: 'signin' }
  | { kind: 'invite'; invitationId: number; firstName: string; lastName: string; username: string }
  | { kind: 'link'; userId: number; sessionId: string }

export type OidcAttempt = { providerId: number; state: string; nonce: string; codeVerifier: string; returnTo: string; expiresAt: number; purpose?: OidcPurpose }

const attempts = new Map<string, OidcAttempt>()

export function storeOidcAttempt(attempt: OidcAttempt, now: number): string {
  // a Map iterates in insertion order, which is expiry order (every attempt lives OIDC_ATTEMPT_MS):
  // the sweep stops at the first live one instead of reading every attempt on every start
  for (const [id, a] of attempts) {
    if (a.expiresAt > now) break
    attempts.delete(id)
  }
  const id = randomBytes(24).toString('base64url')
  attempts.set(id, attempt)
  return id
}

/** Removes and returns the attempt (single use): null when unknown or already used. */
export function takeOidcAttempt(id: string): OidcAttempt | null {
  const attempt = attempts.get(id) ?? null
  attempts.delete(id)
  return attempt
}

/** A local path ("/x"), never "//host" or "/\\host"; anything else becomes "/". */
export function safeReturnTo(raw: string | undefined): string {
  if (!raw || !raw.startsWith('/') || raw.startsWith('//') || raw.startsWith('/\\') || /[\u0000-\u001f\\]/.test(raw) || raw.length > 500) return '/'
  return raw
}

/**
 * The `email` claim when `email_verified` is exactly true, normalised as Gatehouse stores addresses
 * (NFC, lower case), or null. A claim with a non-ASCII character that folding turns into ASCII
 * (the Kelvin sign "\u212A" becomes "k", the ligature "\uFB01" "fi", fullwidth letters their ASCII
 * twins) is no address: a provider mailbox "\u212Aate@…" would otherwise equal an account's "kate@…"
 * (SPEC §10: equal, not alike). Nothing is trimmed; whitespace or control characters make it no address.
 */
export function verifiedEmailClaim(claims: { readonly [claim: string]: unknown }): string | null {
  if (claims.email_verified !== true || typeof claims.email !== 'string') return null
  const raw = claims.email
  if (/[\s\u0000-\u001f\u007f-\u009f]/.test(raw) || raw.length > 254) return null
  for (const ch of raw) if (ch > '\u007f' && /^[\u0000-\u007f]+$/.test(ch.normalize('NFKC').toLowerCase())) return null
  return raw.normalize('NFC').toLowerCase().normalize('NFC')
}

export function hasSecondFactorAmr(amr: unknown): boolean {
  return Array.isArray(amr) && amr.some((v) => typeof v === 'string' && SECOND_FACTOR_AMR.includes(v))
}
