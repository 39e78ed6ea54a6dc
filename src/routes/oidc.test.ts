// The OpenID Connect sign-in against a real provider (oidc-provider, in-process on a loopback
// port) driven through its own dev login and consent pages; openid-client is never mocked.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AddressInfo } from 'node:net'
import { createServer, type Server } from 'node:http'
import Provider from 'oidc-provider'
import { eq } from 'drizzle-orm'
import { BASE_URL, createTestEnv, createTestUser, signIn, totpAt, type TestClient, type TestEnv } from '../test/helpers.ts'
import { linkUserIdentity } from '../models/user-identities.ts'
import { hasLocalPassword } from '../auth/local-password.ts'
import { createIdentityProvider } from '../models/identity-providers.ts'
import { auditEvents, signInThrottles, identityProviders, userIdentities, users, sessions, outbox, roles } from '../db/schema.ts'
import { writeTransaction } from '../db/client.ts'
import { loginAtProvider } from '../test/oidc-world.ts'

const ACCOUNTS: Record<string, { email: string; email_verified: boolean }> = {
  alice: { email: 'alice@hospital.example', email_verified: true },
  bob: { email: 'bob@hospital.example', email_verified: true },
  carol: { email: 'carol@hospital.example', email_verified: true },
  stranger: { email: 'nobody@hospital.example', email_verified: true },
  dora: { email: 'dora@hospital.example', email_verified: true },
  eve: { email: 'eve@hospital.example', email_verified: false },
}

let server: Server
let issuer: string
// A second provider whose login is finished by the test itself, so it can say which `amr` the
// person used (the dev interactions cannot).
let amrServer: Server
let amrIssuer: string
let nextAmr: string[] = []

beforeAll(async () => {
  server = createServer()
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const provider = new Provider(issuer, {
    clients: [{ client_id: 'gatehouse', client_secret: 'test-secret-123', redirect_uris: [`${BASE_URL}/login/oidc/callback`], response_types: ['code'], grant_types: ['authorization_code'] }],
    claims: { openid: ['sub'], email: ['email', 'email_verified'] },
    pkce: { required: () => true },
    conformIdTokenClaims: false, // email and email_verified in the ID token, as institutional providers send them
    features: { devInteractions: { enabled: true } },
    async findAccount(_ctx: unknown, id: string) {
      const account = ACCOUNTS[id]
      if (!account) return undefined
      return { accountId: id, async claims() { return { sub: id, ...account } } }
    },
  })
  server.on('request', provider.callback())

  amrServer = createServer()
  await new Promise<void>((r) => amrServer.listen(0, '127.0.0.1', () => r()))
  amrIssuer = `http://127.0.0.1:${(amrServer.address() as AddressInfo).port}`
  const amrProvider = new Provider(amrIssuer, {
    clients: [{ client_id: 'gatehouse', client_secret: 'test-secret-123', redirect_uris: [`${BASE_URL}/login/oidc/callback`], response_types: ['code'], grant_types: ['authorization_code'] }],
    claims: { amr: null, openid: ['sub', 'amr'], email: ['email', 'email_verified'] },
    pkce: { required: () => true },
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    async findAccount(_ctx: unknown, id: string) {
      const account = ACCOUNTS[id]
      if (!account) return undefined
      return { accountId: id, async claims() { return { sub: id, ...account } } }
    },
  })
  const handle = amrProvider.callback()
  amrServer.on('request', async (req, res) => {
    if (!req.url?.startsWith('/interaction/')) return handle(req, res)
    const details = await amrProvider.interactionDetails(req, res)
    const grant = new amrProvider.Grant({ accountId: 'alice', clientId: 'gatehouse' })
    grant.addOIDCScope('openid email')
    const grantId = await grant.save()
    await amrProvider.interactionFinished(req, res, { login: { accountId: 'alice', amr: nextAmr }, consent: { grantId } }, { mergeWithLastSubmission: false })
    void details
  })
})

afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()))
  await new Promise<void>((r) => amrServer.close(() => r()))
})

async function setup(opts: { autoLink?: boolean; trustMfa?: boolean; issuerUrl?: string } = {}) {
  const t = createTestEnv()
  const admin = await createTestUser(t, { role: 'admin' })
  const p = createIdentityProvider(
    t.db,
    t.config.encryptionKey,
    { name: 'Hospital', issuer: opts.issuerUrl ?? issuer, clientId: 'gatehouse', clientSecret: 'test-secret-123', scopes: 'openid email', domains: '', trustMfa: opts.trustMfa ?? false, autoLink: opts.autoLink ?? false, enabled: true },
    { actor: { id: admin.user.id, email: admin.user.email }, now: t.clock.now(), ip: '127.0.0.1' },
  )
  return { t, provider: p }
}

async function start(client: TestClient, providerId: number, returnTo?: string) {
  const res = await client.get(`/login/oidc/${providerId}${returnTo ? `?return_to=${encodeURIComponent(returnTo)}` : ''}`)
  expect(res.status).toBe(302)
  return res.headers.get('location')!
}

function audits(t: TestEnv, event: string) {
  return t.db.select().from(auditEvents).where(eq(auditEvents.event, event)).all()
}

function link(t: TestEnv, userId: number, providerId: number, sub: string) {
  writeTransaction(t.db, () => t.db.insert(userIdentities).values({ userId, providerId, sub, emailAtLink: '', linkedAt: t.clock.now() }).run())
}

describe('OIDC sign-in', () => {
  it('sends the browser to the provider with PKCE S256, state and nonce, and a HttpOnly Lax cookie', async () => {
    const { t, provider } = await setup()
    const client = t.client()
    const res = await client.get(`/login/oidc/${provider.id}`)
    expect(res.status).toBe(302)
    const url = new URL(res.headers.get('location')!)
    expect(url.origin).toBe(issuer)
    expect(url.searchParams.get('code_challenge_method')).toBe('S256')
    expect(url.searchParams.get('state')).toBeTruthy()
    expect(url.searchParams.get('nonce')).toBeTruthy()
    expect(url.searchParams.get('redirect_uri')).toBe(`${BASE_URL}/login/oidc/callback`)
    expect(res.headers.get('set-cookie')).toMatch(/HttpOnly/i)
    expect(res.headers.get('set-cookie')).toMatch(/SameSite=Lax/i)
  })

  it('a linked identity signs in and continues to /login/mfa; the session records the provider', async () => {
    const { t, provider } = await setup()
    const u = await createTestUser(t, { email: 'alice@hospital.example' })
    link(t, u.user.id, provider.id, 'alice')
    const client = t.client()
    const callback = await loginAtProvider(await start(client, provider.id), 'alice')
    const res = await client.get(callback)
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toBe('/login/mfa')
    const s = t.db.select().from(sessions).where(eq(sessions.userId, u.user.id)).get()!
    expect(s.authMethod).toBe('oidc:Hospital')
    expect(s.mfaVerified).toBe(false)
    expect(t.db.select().from(userIdentities).where(eq(userIdentities.sub, 'alice')).get()!.lastUsedAt).not.toBeNull()
    const mfa = await client.post('/login/mfa', { code: totpAt(u.totpSecret!, t.clock.now()) })
    expect(mfa.headers.get('location')).toBe('/')
    expect(JSON.stringify(audits(t, 'signin.succeeded').at(-1)!.details)).toContain('oidc:Hospital+totp')
  })

  it('trust_mfa without a second-factor amr still asks Gatehouse factor', async () => {
    const { t, provider } = await setup({ trustMfa: true })
    const u = await createTestUser(t, { email: 'alice@hospital.example' })
    link(t, u.user.id, provider.id, 'alice')
    const client = t.client()
    const res = await client.get(await loginAtProvider(await start(client, provider.id), 'alice'))
    expect(res.headers.get('location')).toBe('/login/mfa')
  })

  it('trust_mfa with amr [mfa] completes the sign-in and names the provider', async () => {
    const { t, provider } = await setup({ trustMfa: true, issuerUrl: amrIssuer })
    const u = await createTestUser(t, { email: 'alice@hospital.example' })
    link(t, u.user.id, provider.id, 'alice')
    nextAmr = ['pwd', 'mfa']
    const client = t.client()
    const res = await client.get(await loginAtProvider(await start(client, provider.id, '/projects'), 'alice'))
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toBe('/projects')
    expect(t.db.select().from(sessions).where(eq(sessions.userId, u.user.id)).get()!.mfaVerified).toBe(true)
    expect(JSON.stringify(audits(t, 'signin.succeeded').at(-1)!.details)).toContain('oidc:Hospital')
  })

  it('trust_mfa with amr [pwd] only asks Gatehouse factor', async () => {
    const { t, provider } = await setup({ trustMfa: true, issuerUrl: amrIssuer })
    const u = await createTestUser(t, { email: 'alice@hospital.example' })
    link(t, u.user.id, provider.id, 'alice')
    nextAmr = ['pwd']
    const client = t.client()
    const res = await client.get(await loginAtProvider(await start(client, provider.id), 'alice'))
    expect(res.headers.get('location')).toBe('/login/mfa')
  })

  it('without trust_mfa, amr [mfa] still asks Gatehouse factor', async () => {
    const { t, provider } = await setup({ trustMfa: false, issuerUrl: amrIssuer })
    const u = await createTestUser(t, { email: 'alice@hospital.example' })
    link(t, u.user.id, provider.id, 'alice')
    nextAmr = ['mfa']
    const client = t.client()
    const res = await client.get(await loginAtProvider(await start(client, provider.id), 'alice'))
    expect(res.headers.get('location')).toBe('/login/mfa')
  })

  it('auto_link on links a verified matching email, audited, with a security email', async () => {
    const { t, provider } = await setup({ autoLink: true })
    const u = await createTestUser(t, { email: 'bob@hospital.example' })
    const client = t.client()
    const res = await client.get(await loginAtProvider(await start(client, provider.id), 'bob'))
    expect(res.headers.get('location')).toBe('/login/mfa')
    expect(t.db.select().from(userIdentities).where(eq(userIdentities.userId, u.user.id)).all()).toHaveLength(1)
    expect(audits(t, 'identity.linked')).toHaveLength(1)
  })

  it('auto_link off refuses the same person and creates nothing', async () => {
    const { t, provider } = await setup({ autoLink: false })
    await createTestUser(t, { email: 'bob@hospital.example' })
    const client = t.client()
    const res = await client.get(await loginAtProvider(await start(client, provider.id), 'bob'))
    expect(res.status).toBe(403)
    expect(await res.text()).toContain('No account uses this identity')
    expect(t.db.select().from(userIdentities).all()).toHaveLength(0)
    expect(t.db.select().from(sessions).all()).toHaveLength(0)
  })

  it('an unknown identity gets the page and nothing is created', async () => {
    const { t, provider } = await setup({ autoLink: true })
    const before = t.db.select().from(users).all().length
    const client = t.client()
    const res = await client.get(await loginAtProvider(await start(client, provider.id), 'stranger'))
    expect(res.status).toBe(403)
    expect(await res.text()).toContain('administrator')
    expect(t.db.select().from(users).all()).toHaveLength(before)
  })

  it('a disabled account is refused', async () => {
    const { t, provider } = await setup()
    const u = await createTestUser(t, { email: 'carol@hospital.example' })
    link(t, u.user.id, provider.id, 'carol')
    t.db.update(users).set({ disabledAt: t.clock.now() }).where(eq(users.id, u.user.id)).run()
    const client = t.client()
    const res = await client.get(await loginAtProvider(await start(client, provider.id), 'carol'))
    expect(res.status).toBe(403)
    expect(t.db.select().from(sessions).all()).toHaveLength(0)
  })

  it('a replayed callback (same cookie and state) is refused with 400', async () => {
    const { t, provider } = await setup()
    const u = await createTestUser(t, { email: 'alice@hospital.example' })
    link(t, u.user.id, provider.id, 'alice')
    const client = t.client()
    const callback = await loginAtProvider(await start(client, provider.id), 'alice')
    const cookie = client.cookies.get('gatehouse_oidc')!
    expect((await client.get(callback)).status).toBe(303)
    const replay = await client.get(callback, { Cookie: `gatehouse_oidc=${cookie}` })
    expect(replay.status).toBe(400)
    expect(audits(t, 'signin.failed').length).toBeGreaterThan(0)
  })

  it('a state mismatch is refused with 400 and no session', async () => {
    const { t, provider } = await setup()
    const u = await createTestUser(t, { email: 'alice@hospital.example' })
    link(t, u.user.id, provider.id, 'alice')
    const client = t.client()
    const callback = await loginAtProvider(await start(client, provider.id), 'alice')
    const res = await client.get(callback.replace(/state=[^&]+/, 'state=forged'))
    expect(res.status).toBe(400)
    expect(t.db.select().from(sessions).all()).toHaveLength(0)
  })

  it('error=access_denied gives 400 and an audited signin.failed', async () => {
    const { t, provider } = await setup()
    const client = t.client()
    const auth = new URL(await start(client, provider.id))
    const res = await client.get(`/login/oidc/callback?error=access_denied&state=${auth.searchParams.get('state')}`)
    expect(res.status).toBe(400)
    expect(audits(t, 'signin.failed').some((a) => JSON.stringify(a.details).includes('access_denied'))).toBe(true)
  })

  it('a provider down at start gives a plain page, no stack trace', async () => {
    const { t, provider } = await setup({ issuerUrl: 'http://127.0.0.1:9' })
    const res = await t.client().get(`/login/oidc/${provider.id}`)
    expect(res.status).toBe(503)
    const html = await res.text()
    expect(html).toContain('Sign-in with Hospital is not available right now')
    expect(html).not.toMatch(/at .*\.ts:\d+/)
  })

  for (const evil of ['//evil.example', '/\\evil.example', 'https://evil.example']) {
    it(`return_to ${JSON.stringify(evil)} is ignored: the completed sign-in lands on /`, async () => {
      const { t, provider } = await setup({ trustMfa: true, issuerUrl: amrIssuer })
      const u = await createTestUser(t, { email: 'alice@hospital.example' })
      link(t, u.user.id, provider.id, 'alice')
      nextAmr = ['mfa']
      const client = t.client()
      const res = await client.get(await loginAtProvider(await start(client, provider.id, evil), 'alice'))
      expect(res.status).toBe(303)
      expect(res.headers.get('location')).toBe('/')
    })
  }

  it('a locked account is refused and gets no session', async () => {
    const { t, provider } = await setup()
    const u = await createTestUser(t, { email: 'alice@hospital.example' })
    link(t, u.user.id, provider.id, 'alice')
    t.db.insert(signInThrottles).values({ email: u.user.email, failures: 10, lastFailureAt: t.clock.now(), lockedUntil: t.clock.now() + 15 * 60_000 }).run()
    const client = t.client()
    const res = await client.get(await loginAtProvider(await start(client, provider.id), 'alice'))
    expect(res.status).toBe(403)
    expect(t.db.select().from(sessions).all()).toHaveLength(0)
  })

  it('an attempt older than 10 minutes is refused with 400', async () => {
    const { t, provider } = await setup()
    const u = await createTestUser(t, { email: 'alice@hospital.example' })
    link(t, u.user.id, provider.id, 'alice')
    const client = t.client()
    const callback = await loginAtProvider(await start(client, provider.id), 'alice')
    t.clock.advance(10 * 60_000 + 1)
    const res = await client.get(callback)
    expect(res.status).toBe(400)
    expect(t.db.select().from(sessions).all()).toHaveLength(0)
  })

  it('two parallel callbacks with the same attempt: exactly one signs in', async () => {
    const { t, provider } = await setup()
    const u = await createTestUser(t, { email: 'alice@hospital.example' })
    link(t, u.user.id, provider.id, 'alice')
    const client = t.client()
    const callback = await loginAtProvider(await start(client, provider.id), 'alice')
    const cookie = `gatehouse_oidc=${client.cookies.get('gatehouse_oidc')}`
    const answers = await Promise.all([client.get(callback, { Cookie: cookie }), client.get(callback, { Cookie: cookie })])
    expect(answers.map((r) => r.status).sort()).toEqual([303, 400])
    expect(t.db.select().from(sessions).all()).toHaveLength(1)
  })

  it('auto_link ignores an unverified email', async () => {
    const { t, provider } = await setup({ autoLink: true })
    await createTestUser(t, { email: 'eve@hospital.example' })
    const client = t.client()
    const res = await client.get(await loginAtProvider(await start(client, provider.id), 'eve'))
    expect(res.status).toBe(403)
    expect(t.db.select().from(userIdentities).all()).toHaveLength(0)
  })

  it('a provider unreachable at the callback gives the plain 503 page and no session', async () => {
    const { t, provider } = await setup()
    const u = await createTestUser(t, { email: 'alice@hospital.example' })
    link(t, u.user.id, provider.id, 'alice')
    const client = t.client()
    const callback = await loginAtProvider(await start(client, provider.id), 'alice')
    // the provider moves away (edited to an address nobody answers): the callback cannot redeem the code
    t.db.update(identityProviders).set({ issuer: 'http://127.0.0.1:9', updatedAt: t.clock.now() + 1 }).where(eq(identityProviders.id, provider.id)).run()
    const res = await client.get(callback)
    expect(res.status).toBe(503)
    expect(await res.text()).toContain('not available right now')
    expect(t.db.select().from(sessions).all()).toHaveLength(0)
  })

  it('the sign-in page shows a button per enabled provider', async () => {
    const { t, provider } = await setup()
    const html = await (await t.client().get('/login')).text()
    expect(html).toContain(`href="/login/oidc/${provider.id}"`)
    expect(html).toContain('Sign in with Hospital')
  })
})

describe('identities: one account each, and unlinking', () => {
  function identityCount(t: TestEnv) {
    return t.db.select().from(userIdentities).all().length
  }

  it('an identity linked to one account cannot be linked to another (model): nothing is written, no email', async () => {
    const { t, provider } = await setup()
    const a = await createTestUser(t, { email: 'alice@hospital.example' })
    const b = await createTestUser(t, { email: 'b@hospital.example' })
    const input = { provider, sub: 'alice', email: 'alice@hospital.example', now: t.clock.now(), ip: '127.0.0.1', baseUrl: BASE_URL, how: 'test' }
    linkUserIdentity(t.db, { ...input, user: a.user })
    const mails = t.db.select().from(outbox).all().length
    expect(() => linkUserIdentity(t.db, { ...input, user: b.user })).toThrow()
    expect(t.db.select().from(userIdentities).all().map((i) => i.userId)).toEqual([a.user.id])
    expect(audits(t, 'identity.linked')).toHaveLength(1)
    expect(t.db.select().from(outbox).all()).toHaveLength(mails)
  })

  it('auto_link never moves an identity already linked to another account: it signs in to the linked one', async () => {
    const { t, provider } = await setup({ autoLink: true })
    const owner = await createTestUser(t, { email: 'owner@elsewhere.example' })
    const namesake = await createTestUser(t, { email: 'bob@hospital.example' })
    link(t, owner.user.id, provider.id, 'bob')
    const client = t.client()
    const res = await client.get(await loginAtProvider(await start(client, provider.id), 'bob'))
    expect(res.status).toBe(303)
    expect(t.db.select().from(sessions).get()!.userId).toBe(owner.user.id)
    expect(t.db.select().from(userIdentities).where(eq(userIdentities.userId, namesake.user.id)).all()).toHaveLength(0)
    expect(audits(t, 'identity.linked')).toHaveLength(0)
  })

  it('admin unlink: confirmation first, then audited with provider and subject, emailed; the identity then gets the unknown-identity page', async () => {
    const { t, provider } = await setup()
    const admin = await createTestUser(t, { role: 'admin' })
    const u = await createTestUser(t, { email: 'alice@hospital.example' })
    link(t, u.user.id, provider.id, 'alice')
    const identity = t.db.select().from(userIdentities).get()!
    const adminClient = await signIn(t, admin)
    const page = await (await adminClient.get(`/admin/users/${u.user.id}`)).text()
    expect(page).toContain('Linked identities')
    expect(page).toContain(`action="/admin/users/${u.user.id}/identities/${identity.id}/unlink"`)
    const ask = await adminClient.post(`/admin/users/${u.user.id}/identities/${identity.id}/unlink`)
    expect(ask.status).toBe(200)
    expect(await ask.text()).toContain('name="confirm" value="yes"')
    expect(identityCount(t)).toBe(1)
    const done = await adminClient.post(`/admin/users/${u.user.id}/identities/${identity.id}/unlink`, { confirm: 'yes' })
    expect(done.status).toBe(303)
    expect(done.headers.get('location')).toBe(`/admin/users/${u.user.id}`)
    expect(identityCount(t)).toBe(0)
    const event = audits(t, 'identity.unlinked')
    expect(event).toHaveLength(1)
    expect(JSON.parse(String(event[0]!.details))).toMatchObject({ provider: 'Hospital', sub: 'alice', by: 'admin' })
    expect(event[0]!.actorId).toBe(admin.user.id)
    expect(t.db.select().from(outbox).where(eq(outbox.recipient, u.user.email)).all().some((m) => m.subject.includes('unlinked'))).toBe(true)
    const client = t.client()
    const res = await client.get(await loginAtProvider(await start(client, provider.id), 'alice'))
    expect(res.status).toBe(403)
    expect(await res.text()).toContain('No account uses this identity')
    expect(t.db.select().from(sessions).where(eq(sessions.userId, u.user.id)).all()).toHaveLength(0)
  })

  it('admin unlink ends the sessions signed in through that provider, not the others', async () => {
    const { t, provider } = await setup()
    const admin = await createTestUser(t, { role: 'admin' })
    const u = await createTestUser(t, { email: 'alice@hospital.example' })
    link(t, u.user.id, provider.id, 'alice')
    await signIn(t, u) // a password session
    const viaProvider = t.client()
    await viaProvider.get(await loginAtProvider(await start(viaProvider, provider.id), 'alice'))
    expect(t.db.select().from(sessions).where(eq(sessions.userId, u.user.id)).all()).toHaveLength(2)
    const identity = t.db.select().from(userIdentities).get()!
    await (await signIn(t, admin)).post(`/admin/users/${u.user.id}/identities/${identity.id}/unlink`, { confirm: 'yes' })
    expect(t.db.select().from(sessions).where(eq(sessions.userId, u.user.id)).all().map((s) => s.authMethod)).toEqual(['password'])
  })

  it("admin unlink of another user's identity id is a 404 and changes nothing", async () => {
    const { t, provider } = await setup()
    const admin = await createTestUser(t, { role: 'admin' })
    const u = await createTestUser(t, { email: 'alice@hospital.example' })
    const other = await createTestUser(t, { email: 'bob@hospital.example' })
    link(t, other.user.id, provider.id, 'bob')
    const identity = t.db.select().from(userIdentities).get()!
    const adminClient = await signIn(t, admin)
    for (const path of [`/admin/users/${u.user.id}/identities/${identity.id}/unlink`, `/admin/users/${u.user.id}/identities/999999/unlink`, `/admin/users/${u.user.id}/identities/abc/unlink`]) {
      expect((await adminClient.post(path, { confirm: 'yes' })).status).toBe(404)
    }
    expect(identityCount(t)).toBe(1)
    expect(audits(t, 'identity.unlinked')).toHaveLength(0)
  })

  it('a user manager below the account (privilege ceiling) gets 403 and no unlink button', async () => {
    const { t, provider } = await setup()
    t.db.insert(roles).values({ name: 'user_manager', scope: 'site', permissions: ['admin.access', 'users.manage'], createdAt: 0, updatedAt: 0 }).run()
    const manager = await createTestUser(t, { role: 'user_manager' as 'admin' })
    const target = await createTestUser(t, { role: 'admin', email: 'alice@hospital.example' })
    link(t, target.user.id, provider.id, 'alice')
    const identity = t.db.select().from(userIdentities).get()!
    const client = await signIn(t, manager)
    expect(await (await client.get(`/admin/users/${target.user.id}`)).text()).not.toContain('/unlink"')
    const res = await client.post(`/admin/users/${target.user.id}/identities/${identity.id}/unlink`, { confirm: 'yes' })
    expect(res.status).toBe(403)
    expect(identityCount(t)).toBe(1)
  })

  it('a researcher cannot use the admin unlink route (403)', async () => {
    const { t, provider } = await setup()
    const u = await createTestUser(t, { email: 'alice@hospital.example' })
    link(t, u.user.id, provider.id, 'alice')
    const identity = t.db.select().from(userIdentities).get()!
    const res = await (await signIn(t, u)).post(`/admin/users/${u.user.id}/identities/${identity.id}/unlink`, { confirm: 'yes' })
    expect(res.status).toBe(403)
    expect(identityCount(t)).toBe(1)
  })

  it('self unlink: confirmation, then 303 to /account with a flash; the identity then gets the unknown-identity page', async () => {
    const { t, provider } = await setup()
    const u = await createTestUser(t, { email: 'alice@hospital.example' })
    link(t, u.user.id, provider.id, 'alice')
    const identity = t.db.select().from(userIdentities).get()!
    const client = await signIn(t, u)
    const ask = await client.post(`/account/identities/${identity.id}/unlink`)
    expect(ask.status).toBe(200)
    expect(await ask.text()).toContain(`action="/account/identities/${identity.id}/unlink"`)
    expect(identityCount(t)).toBe(1)
    const done = await client.post(`/account/identities/${identity.id}/unlink`, { confirm: 'yes' })
    expect(done.status).toBe(303)
    expect(done.headers.get('location')).toBe('/account')
    expect([...client.cookies.keys()]).toContain('flash')
    expect(identityCount(t)).toBe(0)
    expect(JSON.parse(String(audits(t, 'identity.unlinked')[0]!.details))).toMatchObject({ provider: 'Hospital', sub: 'alice', by: 'self' })
    expect(t.db.select().from(outbox).where(eq(outbox.recipient, u.user.email)).all().some((m) => m.subject.includes('unlinked'))).toBe(true)
    // the user's own session stays
    expect((await client.get('/projects')).status).toBe(200)
    const fresh = t.client()
    const res = await fresh.get(await loginAtProvider(await start(fresh, provider.id), 'alice'))
    expect(res.status).toBe(403)
    expect(await res.text()).toContain('No account uses this identity')
  })

  it("self unlink of another user's identity is a 404 and changes nothing; anonymous is sent to sign-in", async () => {
    const { t, provider } = await setup()
    const u = await createTestUser(t, { email: 'alice@hospital.example' })
    const other = await createTestUser(t, { email: 'bob@hospital.example' })
    link(t, other.user.id, provider.id, 'bob')
    const identity = t.db.select().from(userIdentities).get()!
    const client = await signIn(t, u)
    expect((await client.post(`/account/identities/${identity.id}/unlink`, { confirm: 'yes' })).status).toBe(404)
    expect((await client.post(`/account/identities/${identity.id}/unlink`)).status).toBe(404)
    const anonymous = await t.client().post(`/account/identities/${identity.id}/unlink`, { confirm: 'yes' })
    expect(anonymous.status).toBe(303)
    expect(anonymous.headers.get('location')).toBe('/login')
    expect(identityCount(t)).toBe(1)
    expect(audits(t, 'identity.unlinked')).toHaveLength(0)
  })

  it('unlinking the only way in (no local password, no other identity) is refused, by the user and by an admin; with a second identity it goes through', async () => {
    const { t, provider } = await setup()
    const admin = await createTestUser(t, { role: 'admin' })
    const u = await createTestUser(t, { email: 'alice@hospital.example' })
    link(t, u.user.id, provider.id, 'alice')
    const identity = t.db.select().from(userIdentities).get()!
    const client = await signIn(t, u)
    // the account becomes password-less, as one claimed through a provider is
    t.db.update(users).set({ passwordHash: '!no-local-password', claimedVia: 'Hospital' }).where(eq(users.id, u.user.id)).run()
    const self = await client.post(`/account/identities/${identity.id}/unlink`, { confirm: 'yes' })
    expect(self.status).toBe(409)
    expect(await self.text()).toContain('only way into the account')
    const adminClient = await signIn(t, admin)
    const byAdmin = await adminClient.post(`/admin/users/${u.user.id}/identities/${identity.id}/unlink`, { confirm: 'yes' })
    expect(byAdmin.status).toBe(409)
    expect(await byAdmin.text()).toContain('only way into the account')
    expect(identityCount(t)).toBe(1)
    expect(audits(t, 'identity.unlinked')).toHaveLength(0)
    expect(t.db.select().from(outbox).all().some((m) => m.subject.includes('unlinked'))).toBe(false)
    // a second provider's identity is another way in: now one of them may go
    const second = createIdentityProvider(t.db, t.config.encryptionKey, { name: 'ORCID', issuer, clientId: 'gatehouse', clientSecret: 'test-secret-123', scopes: 'openid', domains: '', trustMfa: false, autoLink: false, enabled: true }, { actor: { id: admin.user.id, email: admin.user.email }, now: t.clock.now(), ip: '127.0.0.1' })
    link(t, u.user.id, second.id, '0000-0001')
    expect((await client.post(`/account/identities/${identity.id}/unlink`, { confirm: 'yes' })).status).toBe(303)
    const last = t.db.select().from(userIdentities).get()!
    expect(last.providerId).toBe(second.id)
    expect((await adminClient.post(`/admin/users/${u.user.id}/identities/${last.id}/unlink`, { confirm: 'yes' })).status).toBe(409)
    expect(identityCount(t)).toBe(1)
  })
})

describe('unlink under parallel requests', () => {
  it('a password-less account with two identities: two parallel unlinks of both leave exactly one', async () => {
    const { t, provider } = await setup()
    const admin = t.db.select().from(users).get()!
    const second = createIdentityProvider(t.db, t.config.encryptionKey, { name: 'ORCID', issuer, clientId: 'gatehouse', clientSecret: 'test-secret-123', scopes: 'openid', domains: '', trustMfa: false, autoLink: false, enabled: true }, { actor: { id: admin.id, email: admin.email }, now: t.clock.now(), ip: '127.0.0.1' })
    const u = await createTestUser(t, { email: 'alice@hospital.example' })
    link(t, u.user.id, provider.id, 'alice')
    link(t, u.user.id, second.id, '0000-0001')
    const client = await signIn(t, u)
    t.db.update(users).set({ passwordHash: '!no-local-password' }).where(eq(users.id, u.user.id)).run()
    const ids = t.db.select().from(userIdentities).all().map((i) => i.id)
    const answers = await Promise.all(ids.map((id) => client.post(`/account/identities/${id}/unlink`, { confirm: 'yes' })))
    expect(answers.map((r) => r.status).sort()).toEqual([303, 409])
    expect(t.db.select().from(userIdentities).all()).toHaveLength(1)
    expect(audits(t, 'identity.unlinked')).toHaveLength(1)
  })
})

describe('hasLocalPassword', () => {
  it('is true only for an argon2 PHC string', () => {
    expect(hasLocalPassword({ passwordHash: '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA' })).toBe(true)
    for (const sentinel of ['', '!', '!no-local-password', 'oidc:Hospital', 'argon2id$v=19']) expect(hasLocalPassword({ passwordHash: sentinel })).toBe(false)
  })
})

describe('the sign-in page suggests the provider serving the typed address (htmx)', () => {
  async function withDomains() {
    const { t, provider } = await setup()
    const admin = t.db.select().from(users).get()!
    const ctx = { actor: { id: admin.id, email: admin.email }, now: t.clock.now(), ip: '127.0.0.1' }
    const base = { issuer, clientId: 'gatehouse', clientSecret: 'test-secret-123', scopes: 'openid', trustMfa: false, autoLink: false }
    const uni = createIdentityProvider(t.db, t.config.encryptionKey, { ...base, name: 'University', domains: 'uni.example research.uni.example', enabled: true }, ctx)
    const off = createIdentityProvider(t.db, t.config.encryptionKey, { ...base, name: 'Retired', domains: 'old.example', enabled: false }, ctx)
    return { t, hospital: provider, uni, off }
  }
  const htmx = { 'HX-Request': 'true' }

  it('the email field asks for the suggestion with hx-get once a provider serves domains; without domains it does not', async () => {
    const { t } = await setup()
    expect(await (await t.client().get('/login')).text()).not.toContain('hx-get="/login/providers"')
    const { t: t2 } = await withDomains()
    const html = await (await t2.client().get('/login')).text()
    expect(html).toMatch(/<input id="f-email"[^>]*hx-get="\/login\/providers"[^>]*hx-target="#provider-buttons"/)
    expect(html).toContain('<ul id="provider-buttons"')
    // without JavaScript every button is plain
    expect(html).not.toContain('data-suggested')
  })

  it('marks the provider whose domains include the address (any case), and only that one', async () => {
    const { t, uni, hospital } = await withDomains()
    const res = await t.client().get('/login/providers?email=Ann%40Research.Uni.Example', htmx)
    expect(res.status).toBe(200)
    expect(res.headers.get('vary')).toContain('HX-Request')
    const html = await res.text()
    expect(html.startsWith('<ul id="provider-buttons"')).toBe(true)
    expect(html).toMatch(new RegExp(`<a class="button suggested" href="/login/oidc/${uni.id}" data-suggested="true"`))
    expect(html).toContain(`<a class="button" href="/login/oidc/${hospital.id}"`)
    expect(html.match(/data-suggested/g)).toHaveLength(1)
    expect(html).toContain('signs in addresses at research.uni.example')
  })

  it('marks nothing for an address no provider serves, a sub-domain not listed, or no address; never a disabled provider', async () => {
    const { t, off } = await withDomains()
    for (const email of ['ann@elsewhere.example', 'ann@sub.uni.example', '', 'not-an-address', 'ann@old.example']) {
      const html = await (await t.client().get(`/login/providers?email=${encodeURIComponent(email)}`, htmx)).text()
      expect(html).not.toContain('data-suggested')
      expect(html).not.toContain(`/login/oidc/${off.id}"`)
    }
  })

  it('outside htmx the fragment URL sends the browser to the sign-in page', async () => {
    const { t } = await withDomains()
    const res = await t.client().get('/login/providers?email=ann%40uni.example')
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toBe('/login')
  })
})
