import { isIP } from 'node:net'
import { and, asc, count, eq, sql } from 'drizzle-orm'
import { identityProviders, userIdentities, type IdentityProvider } from '../db/schema.ts'
import { writeTransaction, type Db } from '../db/client.ts'
import { decryptSecret, encryptSecret } from '../auth/encryption.ts'
import { textFieldError, type FieldErrors } from '../http/forms.ts'
import { recordAuditEvent } from './audit.ts'

// OpenID Connect providers (SPEC §10): the configuration only. The client secret is stored as
// AES-256-GCM ciphertext under the server key and never leaves this module in clear except
// through decryptIdentityProviderSecret (for the sign-in flow).

export type IdpCtx = { actor: { id: number; email: string }; now: number; ip: string }

export const DEFAULT_IDP_SCOPES = 'openid email profile'
export const IDP_LIMITS = { name: 120, issuer: 500, client_id: 255, client_secret: 2000, scopes: 500, domains: 2000 } as const

/** What an admin typed, validated and normalised; clientSecret null means "keep the stored one". */
export type IdentityProviderInput = {
  name: string
  issuer: string
  clientId: string
  clientSecret: string | null
  scopes: string
  domains: string
  trustMfa: boolean
  autoLink: boolean
  enabled: boolean
}

export type IdentityProviderRow = IdentityProvider & { linkedIdentities: number }

/** The one redirect URI every provider is told about. */
export function oidcRedirectUri(baseUrl: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/login/oidc/callback`
}

/** localhost, 127.0.0.0/8 and ::1: the only hosts an http issuer may name. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase()
  if (host === 'localhost') return true
  if (isIP(host) === 4) return host.startsWith('127.')
  if (isIP(host) === 6) return host === '::1' || host === '0:0:0:0:0:0:0:1'
  return false
}

/** Why an issuer is refused, or undefined: an absolute https URL (http only on loopback), no credentials, query or fragment. */
export function issuerError(issuer: string): string | undefined {
  if (issuer.length === 0) return 'Enter the issuer URL.'
  if (issuer.length > IDP_LIMITS.issuer) return `At most ${IDP_LIMITS.issuer} characters.`
  let url: URL
  try {
    url = new URL(issuer)
  } catch {
    return 'Enter an absolute URL such as https://login.example.org/realms/main.'
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'Enter an absolute URL such as https://login.example.org/realms/main.'
  if (url.username || url.password || url.search || url.hash || issuer.includes('?') || issuer.includes('#')) return 'The issuer has no user name, password, query or fragment.'
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) return 'Use an https issuer (http is accepted only for localhost, 127.0.0.0/8 and ::1).'
  return undefined
}

const DOMAIN_PATTERN = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/

/** Splits a comma- or space-separated list into lower-cased unique domains (a leading "@" is dropped); invalid ones are returned apart. */
export function parseDomains(raw: string): { domains: string[]; invalid: string[] } {
  const domains: string[] = []
  const invalid: string[] = []
  for (const part of raw.split(/[\s,]+/u)) {
    if (part === '') continue
    const domain = part.replace(/^@/, '').toLowerCase().replace(/\.$/, '')
    if (!DOMAIN_PATTERN.test(domain)) invalid.push(part)
    else if (!domains.includes(domain)) domains.push(domain)
  }
  return { domains, invalid }
}

/** The stored domain list as an array. */
export function identityProviderDomains(provider: Pick<IdentityProvider, 'domains'>): string[] {
  return provider.domains === '' ? [] : provider.domains.split(' ')
}

const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/

/**
 * Validates the form fields of a provider; `raw` holds the fields as posted. On create a secret is
 * required; on edit an empty one means "keep". Returns the errors and, when there are none, the input.
 */
export function checkIdentityProviderFields(
  raw: Record<'name' | 'issuer' | 'client_id' | 'client_secret' | 'scopes' | 'domains', string> & { trust_mfa: boolean; auto_link: boolean; enabled: boolean },
  mode: 'create' | 'edit',
): { errors: FieldErrors; input: IdentityProviderInput } {
  const name = raw.name.trim()
  const issuer = raw.issuer.trim()
  const clientId = raw.client_id.trim()
  const secret = raw.client_secret
  const scopeList = raw.scopes.trim() === '' ? DEFAULT_IDP_SCOPES.split(' ') : [...new Set(raw.scopes.trim().split(/\s+/u))]
  const parsedDomains = parseDomains(raw.domains)
  const errors: FieldErrors = {
    name: name.length < 1 || name.length > IDP_LIMITS.name ? `Between 1 and ${IDP_LIMITS.name} characters.` : textFieldError(name),
    issuer: issuerError(issuer),
    client_id: clientId.length < 1 || clientId.length > IDP_LIMITS.client_id ? `Between 1 and ${IDP_LIMITS.client_id} characters.` : textFieldError(clientId),
    client_secret:
      secret.length > IDP_LIMITS.client_secret
        ? `At most ${IDP_LIMITS.client_secret} characters.`
        : secret === '' && mode === 'create'
          ? 'Enter the client secret the provider issued.'
          : secret !== '' && secret.trim() !== secret
            ? 'The secret has spaces at its start or end; paste it exactly.'
            : textFieldError(secret),
    scopes:
      raw.scopes.length > IDP_LIMITS.scopes
        ? `At most ${IDP_LIMITS.scopes} characters.`
        : !scopeList.every((s) => SCOPE_TOKEN.test(s))
          ? 'Scopes are separated by spaces and contain no quotes or backslashes.'
          : !scopeList.includes('openid')
            ? 'Include the scope “openid”.'
            : undefined,
    domains:
      raw.domains.length > IDP_LIMITS.domains
        ? `At most ${IDP_LIMITS.domains} characters.`
        : parsedDomains.invalid.length > 0
          ? `Not a domain name: ${parsedDomains.invalid.slice(0, 3).join(', ')}.`
          : undefined,
  }
  return {
    errors,
    input: {
      name,
      issuer,
      clientId,
      clientSecret: secret === '' ? null : secret,
      scopes: scopeList.join(' '),
      domains: parsedDomains.domains.join(' '),
      trustMfa: raw.trust_mfa,
      autoLink: raw.auto_link,
      enabled: raw.enabled,
    },
  }
}

export function getIdentityProviderById(db: Db, id: number): IdentityProvider | null {
  return db.select().from(identityProviders).where(eq(identityProviders.id, id)).get() ?? null
}

/** Names are unique regardless of case ("ORCID" and "orcid" are one provider). */
export function getIdentityProviderByName(db: Db, name: string): IdentityProvider | null {
  return db.select().from(identityProviders).where(sql`${identityProviders.name} = ${name} collate nocase`).get() ?? null
}

export function countLinkedIdentities(db: Db, providerId: number): number {
  return db.select({ n: count() }).from(userIdentities).where(eq(userIdentities.providerId, providerId)).get()?.n ?? 0
}

/** Every provider by name, with how many identities are linked through it. */
export function listIdentityProvidersWithCounts(db: Db): IdentityProviderRow[] {
  const counts = new Map(
    db
      .select({ providerId: userIdentities.providerId, n: count() })
      .from(userIdentities)
      .groupBy(userIdentities.providerId)
      .all()
      .map((r) => [r.providerId, r.n]),
  )
  return db
    .select()
    .from(identityProviders)
    .orderBy(asc(identityProviders.name), asc(identityProviders.id))
    .all()
    .map((p) => ({ ...p, linkedIdentities: counts.get(p.id) ?? 0 }))
}

/** The providers offered on the sign-in page. */
export function listEnabledIdentityProviders(db: Db): IdentityProvider[] {
  return db.select().from(identityProviders).where(eq(identityProviders.enabled, true)).orderBy(asc(identityProviders.name), asc(identityProviders.id)).all()
}

/** The enabled provider whose `domains` include the email's domain, or null. */
export function getIdentityProviderForEmail(db: Db, email: string): IdentityProvider | null {
  const domain = email.slice(email.lastIndexOf('@') + 1).toLowerCase()
  if (domain === '' || !email.includes('@')) return null
  return listEnabledIdentityProviders(db).find((p) => identityProviderDomains(p).includes(domain)) ?? null
}

/** The client secret in clear, or null when it cannot be decrypted with this key. */
export function decryptIdentityProviderSecret(key: Buffer, provider: Pick<IdentityProvider, 'clientSecret'>): string | null {
  return decryptSecret(key, provider.clientSecret)
}

/** The configuration as audited: everything but the secret. */
function publicFields(p: Omit<IdentityProviderInput, 'clientSecret'>) {
  return { name: p.name, issuer: p.issuer, client_id: p.clientId, scopes: p.scopes, domains: p.domains, trust_mfa: p.trustMfa, auto_link: p.autoLink, enabled: p.enabled }
}

function audit(db: Db, ctx: IdpCtx, event: string, provider: IdentityProvider, details: Record<string, unknown>) {
  recordAuditEvent(db, { event, at: ctx.now, actor: ctx.actor, targetType: 'identity_provider', targetId: provider.id, ip: ctx.ip, details })
}

/** Creates a provider (audited idp.created); the caller has checked the fields and that the name is free. */
export function createIdentityProvider(db: Db, key: Buffer, input: IdentityProviderInput & { clientSecret: string }, ctx: IdpCtx): IdentityProvider {
  const clientSecret = encryptSecret(key, input.clientSecret)
  return writeTransaction(db, () => {
    const provider = db
      .insert(identityProviders)
      .values({ ...input, clientSecret, createdAt: ctx.now, updatedAt: ctx.now })
      .returning()
      .get()
    audit(db, ctx, 'idp.created', provider, publicFields(provider))
    return provider
  })
}

/**
 * Saves an edit; a null secret keeps the stored one. The event is idp.disabled or idp.enabled when
 * the edit switches `enabled`, else idp.updated; its details hold before/after (never the secret).
 */
export function updateIdentityProvider(db: Db, key: Buffer, provider: IdentityProvider, input: IdentityProviderInput, ctx: IdpCtx): IdentityProvider {
  const clientSecret = input.clientSecret === null ? provider.clientSecret : encryptSecret(key, input.clientSecret)
  return writeTransaction(db, () => {
    const before = db.select().from(identityProviders).where(eq(identityProviders.id, provider.id)).get() ?? provider
    const updated = db
      .update(identityProviders)
      .set({ ...input, clientSecret, updatedAt: ctx.now })
      .where(eq(identityProviders.id, provider.id))
      .returning()
      .get()!
    const event = before.enabled && !updated.enabled ? 'idp.disabled' : !before.enabled && updated.enabled ? 'idp.enabled' : 'idp.updated'
    audit(db, ctx, event, updated, { before: publicFields(before), after: publicFields(updated), secret_changed: input.clientSecret !== null })
    return updated
  })
}

/** Switches `enabled`; 'conflict' when it is in that state already (checked inside the transaction). */
export function setIdentityProviderEnabled(db: Db, provider: IdentityProvider, enabled: boolean, ctx: IdpCtx): IdentityProvider | 'conflict' {
  return writeTransaction(db, () => {
    const updated = db
      .update(identityProviders)
      .set({ enabled, updatedAt: ctx.now })
      .where(and(eq(identityProviders.id, provider.id), eq(identityProviders.enabled, !enabled)))
      .returning()
      .get()
    if (!updated) return 'conflict'
    audit(db, ctx, enabled ? 'idp.enabled' : 'idp.disabled', updated, { name: updated.name, issuer: updated.issuer })
    return updated
  })
}

/** Deletes a provider no identity is linked through (audited idp.deleted); otherwise returns how many are linked and changes nothing. */
export function deleteIdentityProvider(db: Db, provider: IdentityProvider, ctx: IdpCtx): { deleted: true } | { deleted: false; linkedIdentities: number } {
  return writeTransaction(db, () => {
    const linked = countLinkedIdentities(db, provider.id)
    if (linked > 0) return { deleted: false, linkedIdentities: linked }
    const gone = db.delete(identityProviders).where(eq(identityProviders.id, provider.id)).returning().get()
    if (!gone) return { deleted: false, linkedIdentities: 0 }
    audit(db, ctx, 'idp.deleted', gone, publicFields(gone))
    return { deleted: true }
  })
}
