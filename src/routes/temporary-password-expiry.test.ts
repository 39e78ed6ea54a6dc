// An expired temporary password (an admin reset not followed in time) stops every way in, as the
// password form does: the passkey sign-in and the provider sign-in answer the same refusal and
// leave no session waiting at /password/change. Against the real WebAuthn verification (a
// software authenticator) and a real OpenID provider (oidc-provider on loopback).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eq } from 'drizzle-orm'
import { createTestEnv, createTestUser, emailsTo, signIn, BASE_URL, type TestClient, type TestEnv, type TestUser } from '../test/helpers.ts'
import { SoftAuthenticator } from '../test/soft-authenticator.ts'
import { configureTestProvider, loginAtProvider, startTestOidcProvider, type TestOidcProvider } from '../test/oidc-world.ts'
import { linkUserIdentity } from '../models/user-identities.ts'
import { resetUserPassword } from '../models/user-admin.ts'
import { getUserById } from '../models/users.ts'
import { TEMPORARY_PASSWORD_TTL_MS } from '../models/users.ts'
import { auditEvents, sessions } from '../db/schema.ts'
import { TEMPORARY_PASSWORD_EXPIRED } from '../auth/sign-in-chain.ts'
import type { PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server'

const RP_ID = new URL(BASE_URL).hostname
let idp: TestOidcProvider

beforeAll(async () => {
  idp = await startTestOidcProvider({ nora: { email: 'nora@hospital.example', email_verified: true } })
})
afterAll(() => idp.close())

function postJson(client: TestClient, path: string, body: unknown = {}) {
  return client.request(path, { method: 'POST', body: JSON.stringify(body), headers: { Origin: BASE_URL, 'Content-Type': 'application/json' } })
}

function refusals(t: TestEnv) {
  return t.db.select().from(auditEvents).where(eq(auditEvents.event, 'signin.refused')).all().map((e) => JSON.parse(e.details) as Record<string, unknown>)
}

/** An admin resets `u`'s password (the real model action: temporary password, 7 days, sessions ended). */
async function adminReset(t: TestEnv, u: TestUser) {
  const admin = await createTestUser(t, { role: 'admin', email: 'root@example.org' })
  const outcome = await resetUserPassword(t.db, getUserById(t.db, u.user.id)!, { actor: { id: admin.user.id, email: admin.user.email }, now: t.clock.now(), ip: '127.0.0.1', baseUrl: t.config.baseUrl })
  expect(outcome.ok).toBe(true)
}

async function passkeySignIn(client: TestClient, device: SoftAuthenticator) {
  const options = (await (await postJson(client, '/login/passkey/options')).json()) as PublicKeyCredentialRequestOptionsJSON
  return postJson(client, '/login/passkey', { response: device.assert(options) })
}

describe('passkey sign-in with an expired temporary password', () => {
  async function world() {
    const t = createTestEnv()
    const u = await createTestUser(t, { email: 'pia@example.org' })
    const device = new SoftAuthenticator({ origin: BASE_URL, rpId: RP_ID })
    const client = await signIn(t, u)
    const options = (await (await postJson(client, '/account/passkeys/options')).json()) as PublicKeyCredentialCreationOptionsJSON
    expect((await postJson(client, '/account/passkeys', { name: 'Laptop', response: device.register(options) })).status).toBe(200)
    await adminReset(t, u)
    return { t, u, device }
  }

  it('within the temporary password’s lifetime, the passkey leads to the password change', async () => {
    const { t, device } = await world()
    t.clock.advance(TEMPORARY_PASSWORD_TTL_MS - 60_000)
    const res = await passkeySignIn(t.client(), device)
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ redirect: '/password/change' })
  })

  it('after it, the passkey sign-in is refused as the password form refuses it: 403, audited, no session', async () => {
    const { t, u, device } = await world()
    t.clock.advance(TEMPORARY_PASSWORD_TTL_MS + 60_000)
    const client = t.client()
    const res = await passkeySignIn(client, device)
    expect(res.status).toBe(403)
    expect(await res.json()).toEqual({ error: TEMPORARY_PASSWORD_EXPIRED })
    expect(t.db.select().from(sessions).where(eq(sessions.userId, u.user.id)).all()).toHaveLength(0)
    expect((await client.get('/password/change')).headers.get('Location')).toBe('/login')
    expect(refusals(t)).toContainEqual({ reason: 'temporary password expired', method: 'passkey' })
    // the password form, with the temporary password from the reset email, says the same
    const mail = emailsTo(t.db, u.user.email).find((e) => /^ {4}\S{16,}$/m.test(e.textBody))!
    const temporary = /^ {4}(\S{16,})$/m.exec(mail.textBody)![1]!
    const form = await t.client().post('/login', { email: u.user.email, password: temporary })
    expect(form.status).toBe(403)
    expect(await form.text()).toContain(TEMPORARY_PASSWORD_EXPIRED)
  })
})

describe('provider sign-in with an expired temporary password', () => {
  async function world() {
    const t = createTestEnv()
    const provider = await configureTestProvider(t, idp.issuer)
    const u = await createTestUser(t, { email: 'nora@hospital.example' })
    linkUserIdentity(t.db, { user: u.user, provider, sub: 'nora', email: u.user.email, now: t.clock.now(), ip: '127.0.0.1', baseUrl: t.config.baseUrl, how: 'account' })
    await adminReset(t, u)
    return { t, u, provider }
  }

  async function viaProviderSignIn(t: TestEnv, providerId: number) {
    const client = t.client()
    const start = await client.get(`/login/oidc/${providerId}`)
    expect(start.status).toBe(302)
    const res = await client.get(await loginAtProvider(start.headers.get('location')!, 'nora'))
    return { client, res }
  }

  it('within the lifetime, the provider sign-in continues to Gatehouse’s factor', async () => {
    const { t, provider } = await world()
    t.clock.advance(TEMPORARY_PASSWORD_TTL_MS - 60_000)
    const { res } = await viaProviderSignIn(t, provider.id)
    expect(res.status).toBe(303)
    expect(res.headers.get('Location')).toBe('/login/mfa')
  })

  it('after it, the provider sign-in is refused with the same sentence: 403, audited with the provider, no session', async () => {
    const { t, u, provider } = await world()
    t.clock.advance(TEMPORARY_PASSWORD_TTL_MS + 60_000)
    const { client, res } = await viaProviderSignIn(t, provider.id)
    expect(res.status).toBe(403)
    expect(await res.text()).toContain(TEMPORARY_PASSWORD_EXPIRED)
    expect(t.db.select().from(sessions).where(eq(sessions.userId, u.user.id)).all()).toHaveLength(0)
    expect((await client.get('/')).headers.get('Location')).toBe('/login')
    expect(refusals(t)).toContainEqual({ reason: 'temporary password expired', provider: 'Hospital' })
  })
})
