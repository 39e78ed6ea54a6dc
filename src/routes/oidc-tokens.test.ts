// ID tokens the provider should never send: a nonce from another attempt, another audience, an
// expired token, a key outside the JWKS. A tiny loopback provider (discovery, JWKS, token endpoint)
// answers the code with a token this test signs itself with jose; openid-client checks it as it
// would any provider's.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AddressInfo } from 'node:net'
import { createServer, type Server } from 'node:http'
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from 'jose'
import { eq } from 'drizzle-orm'
import { BASE_URL, createTestEnv, createTestUser, type TestEnv } from '../test/helpers.ts'
import { createIdentityProvider } from '../models/identity-providers.ts'
import { auditEvents, outbox, roles, sessions, userIdentities, users } from '../db/schema.ts'
import { writeTransaction } from '../db/client.ts'

let server: Server
let issuer: string
let signingKey: CryptoKey
let strangerKey: CryptoKey
/** What the token endpoint answers with next. */
let nextIdToken = ''

beforeAll(async () => {
  const pair = await generateKeyPair('RS256')
  signingKey = pair.privateKey
  strangerKey = (await generateKeyPair('RS256')).privateKey
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'test-key', alg: 'RS256', use: 'sig' }
  server = createServer((req, res) => {
    const json = (body: unknown) => {
      res.writeHead(200, { 'Content-Type': 'application/json' })
      res.end(JSON.stringify(body))
    }
    if (req.url === '/.well-known/openid-configuration') {
      return json({
        issuer,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        jwks_uri: `${issuer}/jwks`,
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
        code_challenge_methods_supported: ['S256'],
        token_endpoint_auth_methods_supported: ['client_secret_basic'],
      })
    }
    if (req.url === '/jwks') return json({ keys: [jwk] })
    if (req.url === '/token' && req.method === 'POST') {
      req.resume()
      req.on('end', () => json({ access_token: 'at-123', token_type: 'Bearer', expires_in: 300, id_token: nextIdToken }))
      return
    }
    res.writeHead(404)
    res.end()
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()))
})

async function setup(env: Record<string, string> = {}) {
  const t = createTestEnv(env)
  const admin = await createTestUser(t, { role: 'admin' })
  const provider = createIdentityProvider(
    t.db,
    t.config.encryptionKey,
    { name: 'Crafted', issuer, clientId: 'gatehouse', clientSecret: 'test-secret-123', scopes: 'openid email', domains: '', trustMfa: true, autoLink: true, enabled: true },
    { actor: { id: admin.user.id, email: admin.user.email }, now: t.clock.now(), ip: '127.0.0.1' },
  )
  const u = await createTestUser(t, { email: 'alice@hospital.example' })
  writeTransaction(t.db, () => t.db.insert(userIdentities).values({ userId: u.user.id, providerId: provider.id, sub: 'alice', emailAtLink: 'alice@hospital.example', linkedAt: t.clock.now() }).run())
  return { t, provider, user: u.user }
}

/** A token for the attempt; `change` overrides claims, `key` the signing key. */
async function craft(nonce: string, change: JWTPayload = {}, key: CryptoKey = signingKey): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  const claims: JWTPayload = { iss: issuer, sub: 'alice', aud: 'gatehouse', iat: now, exp: now + 300, nonce, email: 'alice@hospital.example', email_verified: true, amr: ['pwd', 'mfa'], ...change }
  return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'test-key' }).sign(key)
}

/** Everything a refused callback must leave as it was (the audit log is checked apart). */
function snapshot(t: TestEnv) {
  return JSON.stringify([t.db.select().from(users).all(), t.db.select().from(sessions).all(), t.db.select().from(userIdentities).all(), t.db.select().from(outbox).all()])
}

/** Starts a sign-in, has the token endpoint answer with `token(nonce)`, and calls back. */
async function signInWith(t: TestEnv, providerId: number, token: (nonce: string) => Promise<string>) {
  const client = t.client()
  const started = await client.get(`/login/oidc/${providerId}`)
  expect(started.status).toBe(302)
  const auth = new URL(started.headers.get('location')!)
  expect(auth.origin + auth.pathname).toBe(`${issuer}/authorize`)
  nextIdToken = await token(auth.searchParams.get('nonce')!)
  return client.get(`/login/oidc/callback?code=any-code&state=${auth.searchParams.get('state')}`)
}

function failures(t: TestEnv) {
  return t.db.select().from(auditEvents).where(eq(auditEvents.event, 'signin.failed')).all().map((e) => JSON.parse(String(e.details)) as { provider: string; reason: string })
}

describe('ID tokens openid-client must refuse', () => {
  it('the control: a correct token from the same test provider signs in (so the refusals below are the checks, not the harness)', async () => {
    const { t, provider, user } = await setup()
    const res = await signInWith(t, provider.id, (nonce) => craft(nonce))
    expect(res.status).toBe(303)
    expect(t.db.select().from(sessions).where(eq(sessions.userId, user.id)).all()).toHaveLength(1)
  })

  const cases: [string, (nonce: string) => Promise<string>, RegExp][] = [
    ['a nonce from another attempt', () => craft('another-attempts-nonce'), /nonce/i],
    ['an ID token for another audience', (nonce) => craft(nonce, { aud: 'another-client' }), /aud/i],
    ['an expired ID token', (nonce) => craft(nonce, { iat: Math.floor(Date.now() / 1000) - 7200, exp: Math.floor(Date.now() / 1000) - 3600 }), /exp|timestamp|expired/i],
    ['an ID token signed by a key outside the provider JWKS', (nonce) => craft(nonce, {}, strangerKey), /signature|jws|verif/i],
  ]
  for (const [what, token, reason] of cases) {
    it(`${what} is refused with the 400 page, an audited signin.failed with the reason, and nothing else changes`, async () => {
      const { t, provider } = await setup()
      const before = snapshot(t)
      const auditsBefore = t.db.select().from(auditEvents).all().length
      const res = await signInWith(t, provider.id, token)
      expect(res.status).toBe(400)
      const html = await res.text()
      expect(html).toContain('Sign-in did not complete')
      expect(html).toContain('start again')
      expect(html).not.toMatch(/at .*\.[tj]s:\d+/)
      expect(snapshot(t)).toBe(before)
      const all = t.db.select().from(auditEvents).all()
      expect(all).toHaveLength(auditsBefore + 1)
      expect(all.at(-1)!.event).toBe('signin.failed')
      const failure = failures(t).at(-1)!
      expect(failure.provider).toBe('Crafted')
      expect(failure.reason).toMatch(/^invalid response: /)
      expect(failure.reason).toMatch(reason)
    })
  }
})

describe('claims an attacker controls at a provider (security review)', () => {
  it('auto_link does not fold a look-alike address onto an account: "\\u212Aate@…" (Kelvin sign) lowercases to "kate@…" in JavaScript, but is another mailbox', async () => {
    const { t, provider } = await setup()
    const kate = await createTestUser(t, { email: 'kate@hospital.example' })
    const before = snapshot(t)
    const res = await signInWith(t, provider.id, (nonce) => craft(nonce, { sub: 'mallory', email: '\u212Aate@hospital.example' }))
    expect(res.status).toBe(403)
    expect(await res.text()).toContain('No account uses this identity')
    expect(t.db.select().from(userIdentities).where(eq(userIdentities.userId, kate.user.id)).all()).toHaveLength(0)
    expect(snapshot(t)).toBe(before)
  })

  for (const [account, claimed] of [
    ['fiona@hospital.example', '\uFB01ona@hospital.example'], // the "fi" ligature (NFKC would fold it)
    ['kate@hospital.example', 'kate@hospital.example.'], // a trailing dot
    ['kate@xn--hospitl-bxa.example', 'kate@hospitäl.example'], // the same IDN, once as A-label, once as U-label
    ['kate@hospital.example', 'kate@hospital\u200B.example'], // a zero-width space
  ]) {
    it(`auto_link does not treat ${JSON.stringify(claimed)} as ${account}`, async () => {
      const { t, provider } = await setup()
      await createTestUser(t, { email: account })
      const before = snapshot(t)
      const res = await signInWith(t, provider.id, (nonce) => craft(nonce, { sub: 'mallory', email: claimed }))
      expect(res.status).toBe(403)
      expect(snapshot(t)).toBe(before)
    })
  }

  it('auto_link does not trim a padded address onto an account (" kate@…" is not kate@…)', async () => {
    const { t, provider } = await setup()
    const kate = await createTestUser(t, { email: 'kate@hospital.example' })
    const res = await signInWith(t, provider.id, (nonce) => craft(nonce, { sub: 'mallory', email: ' kate@hospital.example ' }))
    expect(res.status).toBe(403)
    expect(t.db.select().from(userIdentities).where(eq(userIdentities.userId, kate.user.id)).all()).toHaveLength(0)
  })

  it('auto_link still links the same address in another ASCII case (KATE@… is kate@…)', async () => {
    const { t, provider } = await setup()
    const kate = await createTestUser(t, { email: 'kate@hospital.example' })
    const res = await signInWith(t, provider.id, (nonce) => craft(nonce, { sub: 'kate-sub', email: 'KATE@Hospital.Example', amr: ['pwd'] }))
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toBe('/login/mfa')
    expect(t.db.select().from(userIdentities).where(eq(userIdentities.userId, kate.user.id)).all()).toHaveLength(1)
  })

  it('auto_link never links an admin account (an admin links a provider from /account); nothing is created', async () => {
    const { t, provider } = await setup()
    const root = await createTestUser(t, { email: 'root@hospital.example', role: 'admin' })
    const before = snapshot(t)
    const res = await signInWith(t, provider.id, (nonce) => craft(nonce, { sub: 'mallory', email: 'root@hospital.example' }))
    expect(res.status).toBe(403)
    expect(t.db.select().from(userIdentities).where(eq(userIdentities.userId, root.user.id)).all()).toHaveLength(0)
    expect(t.db.select().from(sessions).where(eq(sessions.userId, root.user.id)).all()).toHaveLength(0)
    expect(snapshot(t)).toBe(before)
  })

  it('auto_link never links an account whose custom site role holds admin.access, and does link one whose custom role does not', async () => {
    const { t, provider } = await setup()
    const now = t.clock.now()
    t.db.insert(roles).values([
      { name: 'user-manager', scope: 'site', permissions: ['admin.access', 'users.manage'], createdAt: now, updatedAt: now },
      { name: 'site-staff', scope: 'site', permissions: ['projects.contribute'], createdAt: now, updatedAt: now },
    ]).run()
    const manager = await createTestUser(t, { email: 'manager@hospital.example' })
    const staff = await createTestUser(t, { email: 'staff@hospital.example' })
    t.db.update(users).set({ role: 'user-manager' }).where(eq(users.id, manager.user.id)).run()
    t.db.update(users).set({ role: 'site-staff' }).where(eq(users.id, staff.user.id)).run()
    const before = snapshot(t)
    expect((await signInWith(t, provider.id, (nonce) => craft(nonce, { sub: 'mallory', email: 'manager@hospital.example' }))).status).toBe(403)
    expect(snapshot(t)).toBe(before)
    expect((await signInWith(t, provider.id, (nonce) => craft(nonce, { sub: 'steph', email: 'staff@hospital.example' }))).status).toBe(303)
    expect(t.db.select().from(userIdentities).where(eq(userIdentities.userId, staff.user.id)).all()).toHaveLength(1)
    expect(t.db.select().from(userIdentities).where(eq(userIdentities.userId, manager.user.id)).all()).toHaveLength(0)
  })

  it('auto_link never links a disabled account (it would sign in the day the account is enabled again)', async () => {
    const { t, provider } = await setup()
    const kate = await createTestUser(t, { email: 'kate@hospital.example' })
    t.db.update(users).set({ disabledAt: t.clock.now() }).where(eq(users.id, kate.user.id)).run()
    const before = snapshot(t)
    const res = await signInWith(t, provider.id, (nonce) => craft(nonce, { sub: 'mallory', email: 'kate@hospital.example' }))
    expect(res.status).toBe(403)
    expect(snapshot(t)).toBe(before)
  })

  it('trust_mfa: amr as the string "mfa" (not an array) is not a second factor', async () => {
    const { t, provider, user } = await setup()
    const res = await signInWith(t, provider.id, (nonce) => craft(nonce, { amr: 'mfa' as unknown as string[] }))
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toBe('/login/mfa')
    const session = t.db.select().from(sessions).where(eq(sessions.userId, user.id)).get()!
    expect(session.mfaVerified).toBe(false)
  })

  it('email_verified as the string "true" is not a verified email', async () => {
    const { t, provider } = await setup()
    const kate = await createTestUser(t, { email: 'kate@hospital.example' })
    const res = await signInWith(t, provider.id, (nonce) => craft(nonce, { sub: 'mallory', email: 'kate@hospital.example', email_verified: 'true' }))
    expect(res.status).toBe(403)
    expect(t.db.select().from(userIdentities).where(eq(userIdentities.userId, kate.user.id)).all()).toHaveLength(0)
  })
})

describe('the attempt cookie over https (security review)', () => {
  it('is __Host- (Secure, Path=/, no Domain), so a sibling subdomain cannot plant its own attempt; a planted unprefixed cookie finishes nothing', async () => {
    const { t, provider } = await setup({ BASE_URL: 'https://gatehouse.example' })
    const attacker = t.client()
    const started = await attacker.get(`/login/oidc/${provider.id}`)
    expect(started.status).toBe(302)
    const cookie = started.headers.get('set-cookie') ?? ''
    expect(cookie).toMatch(/^__Host-gatehouse_oidc=/)
    expect(cookie).toContain('Secure')
    expect(cookie).toContain('Path=/;')
    expect(cookie).not.toMatch(/Domain=/i)
    const auth = new URL(started.headers.get('location')!)
    nextIdToken = await craft(auth.searchParams.get('nonce')!)
    const callback = `/login/oidc/callback?code=any-code&state=${auth.searchParams.get('state')}`
    // the attacker's attempt, planted in the victim's browser under the name a sibling host can set
    const victim = t.client('198.51.100.7')
    const planted = await victim.get(callback, { Cookie: `gatehouse_oidc=${attacker.cookies.get('__Host-gatehouse_oidc')}` })
    expect(planted.status).toBe(400)
    expect(t.db.select().from(sessions).all()).toHaveLength(0)
    // the browser that started it finishes it
    const own = await attacker.get(callback)
    expect(own.status).toBe(303)
    expect(t.db.select().from(sessions).all()).toHaveLength(1)
  })
})
