// A real OpenID provider (oidc-provider, in-process on a loopback port, dev login pages) for the
// tests of invitation acceptance, account linking and the import's identity checks; the browser
// side is driven through the provider's own login and consent forms.
import { BASE_URL, createTestUser, type TestClient, type TestEnv } from './helpers.ts'
import { createIdentityProvider } from '../models/identity-providers.ts'
import type { IdentityProvider } from '../db/schema.ts'
import { startOidcTestProvider, type ProviderAccounts, type TestOidcProvider } from './oidc-test-provider.ts'

export type { ProviderAccounts, TestOidcProvider } from './oidc-test-provider.ts'

export function startTestOidcProvider(accounts: ProviderAccounts): Promise<TestOidcProvider> {
  return startOidcTestProvider(accounts, { redirectUri: `${BASE_URL}/login/oidc/callback` })
}

/** A provider configured in Gatehouse (by an admin created for it) for the test provider at `issuer`. */
export async function configureTestProvider(t: TestEnv, issuer: string, opts: { name?: string; trustMfa?: boolean; autoLink?: boolean; enabled?: boolean } = {}): Promise<IdentityProvider> {
  const admin = await createTestUser(t, { role: 'admin' })
  return createIdentityProvider(
    t.db,
    t.config.encryptionKey,
    { name: opts.name ?? 'Hospital', issuer, clientId: 'gatehouse', clientSecret: 'test-secret-123', scopes: 'openid email', domains: '', trustMfa: opts.trustMfa ?? false, autoLink: opts.autoLink ?? false, enabled: opts.enabled ?? true },
    { actor: { id: admin.user.id, email: admin.user.email }, now: t.clock.now(), ip: '127.0.0.1' },
  )
}

/** The provider URL of a handoff page (a form's answer: Refresh header plus link), or of a 302. */
export function providerUrlOf(res: Response): string {
  if (res.status === 302) return res.headers.get('location')!
  const refresh = res.headers.get('refresh')
  const match = refresh?.match(/^0; url=(.+)$/)
  if (res.status !== 200 || !match) throw new Error(`not a handoff to the provider: ${res.status} ${res.headers.get('location') ?? ''}`)
  return match[1]!
}

/**
 * Follows the provider's redirects, submits its dev login (as `login`) and consent (or, with `deny`,
 * aborts at the consent: the provider answers `error=access_denied`); returns the Gatehouse callback path.
 */
export async function loginAtProvider(authUrl: string, login: string, deny = false): Promise<string> {
  const jar = new Map<string, string>()
  let url = authUrl
  let init: RequestInit = {}
  for (let i = 0; i < 20; i++) {
    const res = await fetch(url, { ...init, redirect: 'manual', headers: { ...(init.headers as Record<string, string>), Cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') } })
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';')
      const [k, ...v] = pair!.split('=')
      jar.set(k!, v.join('='))
    }
    init = {}
    const location = res.headers.get('location')
    if (location) {
      const next = new URL(location, url).href
      if (next.startsWith(BASE_URL)) return next.slice(BASE_URL.length)
      url = next
      continue
    }
    const html = await res.text()
    const action = html.match(/<form[^>]*action="([^"]+)"/)?.[1]
    if (!action) throw new Error(`provider page without a form: ${res.status} ${html.slice(0, 300)}`)
    const body = new URLSearchParams()
    for (const m of html.matchAll(/<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"/g)) body.set(m[1]!, m[2]!)
    if (html.includes('name="login"')) {
      body.set('login', login)
      body.set('password', 'any')
    }
    let target = new URL(action.replace(/&amp;/g, '&'), url).href
    if (deny && !html.includes('name="login"')) target = target.replace(/\/confirm$/, '/abort').replace(/(\/interaction\/[^/]+)$/, '$1/abort')
    url = target
    init = { method: 'POST', body, headers: { 'Content-Type': 'application/x-www-form-urlencoded' } }
  }
  throw new Error('too many steps at the provider')
}

/** Posts a form that hands off to the provider, signs in there as `login`; returns the callback path. */
export async function viaProvider(client: TestClient, path: string, fields: Record<string, string>, login: string): Promise<string> {
  const res = await client.post(path, fields)
  return loginAtProvider(providerUrlOf(res), login)
}
