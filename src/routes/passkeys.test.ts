import { describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import { eq } from 'drizzle-orm'
import { createTestEnv, createTestUser, signIn, emailsTo, getUser, totpAt, BASE_URL, type TestClient, type TestEnv, type TestUser } from '../test/helpers.ts'
import { SoftAuthenticator, type CeremonyOverrides } from '../test/soft-authenticator.ts'
import { auditEvents, passkeys, signInThrottles, users } from '../db/schema.ts'
import { listPasskeys, removePasskey, countSecondFactors } from '../models/passkeys.ts'
import { PROJECT_ROOT } from '../paths.ts'

const RP_ID = new URL(BASE_URL).hostname

function postJson(client: TestClient, path: string, body: unknown = {}, headers: Record<string, string> = {}) {
  return client.request(path, { method: 'POST', body: JSON.stringify(body), headers: { Origin: BASE_URL, 'Content-Type': 'application/json', ...headers } })
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON as the browser script receives it
async function jsonOf(response: Promise<Response>): Promise<any> {
  return (await response).json()
}

function authenticator(options: { userVerified?: boolean; discoverable?: boolean } = {}) {
  return new SoftAuthenticator({ origin: BASE_URL, rpId: RP_ID, ...options })
}

async function register(client: TestClient, device: SoftAuthenticator, name = 'Work laptop', overrides: CeremonyOverrides = {}) {
  const options = await jsonOf(postJson(client, '/account/passkeys/options'))
  return postJson(client, '/account/passkeys', { name, response: device.register(options, overrides) })
}

/** A signed-in user with one registered passkey. */
async function userWithPasskey(t: TestEnv, device = authenticator()) {
  const u = await createTestUser(t)
  const client = await signIn(t, u)
  const res = await register(client, device)
  expect(res.status).toBe(200)
  expect(await res.json()).toEqual({ redirect: '/account#passkeys' })
  return { u, client, device }
}

/** Password step only: the session waits at /login/mfa. */
async function passwordStep(t: TestEnv, u: TestUser, client = t.client()) {
  const res = await client.post('/login', { email: u.user.email, password: u.password })
  expect(res.headers.get('Location')).toBe('/login/mfa')
  return client
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- WebAuthn options as the browser receives them
async function mfaOptions(client: TestClient): Promise<any> {
  const res = await postJson(client, '/login/mfa/passkey/options')
  expect(res.status).toBe(200)
  return res.json()
}

function events(t: TestEnv, event: string) {
  return t.db.select().from(auditEvents).where(eq(auditEvents.event, event)).all()
}

function failures(t: TestEnv, email: string) {
  return t.db.select().from(signInThrottles).where(eq(signInThrottles.email, email)).get()?.failures ?? 0
}

describe('passkey registration', () => {
  it('registers a passkey with its name: stored, listed, audited and notified', async () => {
    const t = createTestEnv()
    const { u, client, device } = await userWithPasskey(t)
    const [row] = listPasskeys(t.db, u.user.id)
    expect(row).toMatchObject({ name: 'Work laptop', credentialId: device.id, userVerifiedAtRegistration: true, lastUsedAt: null })
    expect(events(t, 'passkey.added')).toHaveLength(1)
    expect(emailsTo(t.db, u.user.email).map((e) => e.subject)).toContain('Gatehouse security: A passkey was added to your account')
    const old = await client.get('/account/passkeys')
    expect(old.status).toBe(302)
    expect(old.headers.get('Location')).toBe('/account#passkeys')
    const page = await (await client.get('/account')).text()
    expect(page).toMatch(/<section aria-labelledby="passkeys-heading" class="account-factor stack" id="passkeys">\s*<h3 id="passkeys-heading">Passkeys<\/h3>/)
    expect(page).toContain('Work laptop')
    expect(page).toContain('Passkeys need JavaScript')
    expect(page).toContain('/public/simplewebauthn-browser.umd.min.js')
  })

  it('excludes the passkeys already registered and refuses the same credential twice', async () => {
    const t = createTestEnv()
    const { client, device } = await userWithPasskey(t)
    const options = await jsonOf(postJson(client, '/account/passkeys/options'))
    expect(options.excludeCredentials.map((c: { id: string }) => c.id)).toEqual([device.id])
    expect(options.authenticatorSelection).toMatchObject({ residentKey: 'preferred', userVerification: 'preferred' })
    expect(options.rp.id).toBe(RP_ID)
    const again = await postJson(client, '/account/passkeys', { name: 'Again', response: device.register(options) })
    expect(again.status).toBe(409)
  })

  it('refuses a foreign origin, a foreign RP id, a reused or expired challenge, a bad name', async () => {
    const t = createTestEnv()
    const u = await createTestUser(t)
    const client = await signIn(t, u)
    expect((await register(client, authenticator(), 'A', { origin: 'https://evil.example' })).status).toBe(422)
    expect((await register(client, authenticator(), 'B', { rpId: 'evil.example' })).status).toBe(422)
    expect((await register(client, authenticator(), 'C', { type: 'webauthn.get' })).status).toBe(422)

    const options = await jsonOf(postJson(client, '/account/passkeys/options'))
    const device = authenticator()
    const first = await postJson(client, '/account/passkeys', { name: 'Phone', response: device.register(options) })
    expect(first.status).toBe(200)
    const second = authenticator()
    const reused = await postJson(client, '/account/passkeys', { name: 'Tablet', response: second.register(options) })
    expect(reused.status).toBe(422)

    const late = await jsonOf(postJson(client, '/account/passkeys/options'))
    t.clock.advance(5 * 60_000)
    expect((await postJson(client, '/account/passkeys', { name: 'Late', response: authenticator().register(late) })).status).toBe(422)

    const named = await jsonOf(postJson(client, '/account/passkeys/options'))
    const bad = await postJson(client, '/account/passkeys', { name: 'Line\nbreak', response: authenticator().register(named) })
    expect(bad.status).toBe(422)
    expect((await jsonOf(Promise.resolve(bad))).errors.name).toMatch(/one line/)
    expect(listPasskeys(t.db, u.user.id).map((p) => p.name)).toEqual(['Phone'])
  })

  it('binds the registration challenge to the session that asked for it', async () => {
    const t = createTestEnv()
    const u = await createTestUser(t)
    const mine = await signIn(t, u)
    const other = await signIn(t, u, t.client('198.51.100.9'))
    const options = await jsonOf(postJson(mine, '/account/passkeys/options'))
    const res = await postJson(other, '/account/passkeys', { name: 'Stolen', response: authenticator().register(options) })
    expect(res.status).toBe(422)
  })

  it('needs a full session, JSON, and a same-origin request', async () => {
    const t = createTestEnv()
    const u = await createTestUser(t)
    const pending = await passwordStep(t, u)
    expect((await postJson(pending, '/account/passkeys/options')).headers.get('Location')).toBe('/login/mfa')
    const client = await signIn(t, u)
    expect((await postJson(client, '/account/passkeys/options', {}, { Origin: 'https://evil.example' })).status).toBe(403)
    const asForm = await client.post('/account/passkeys', { name: 'No script' })
    expect(asForm.status).toBe(303)
    expect(listPasskeys(t.db, u.user.id)).toHaveLength(0)
  })
})

describe('passkey as the second factor at /login/mfa', () => {
  it('completes the sign-in, moves the counter and records the use', async () => {
    const t = createTestEnv()
    const { u, device } = await userWithPasskey(t)
    const client = await passwordStep(t, u)
    expect(await (await client.get('/login/mfa')).text()).toContain('Use a passkey')
    const options = await mfaOptions(client)
    expect(options.allowCredentials.map((c: { id: string }) => c.id)).toEqual([device.id])
    const res = await postJson(client, '/login/mfa/passkey', { response: device.assert(options) })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ redirect: '/' })
    expect((await client.get('/')).status).toBe(200)
    const [row] = listPasskeys(t.db, u.user.id)
    expect(row!.counter).toBe(device.counter)
    expect(row!.lastUsedAt).toBe(t.clock.now())
    expect(events(t, 'passkey.used')).toHaveLength(1)
    expect(JSON.parse(events(t, 'signin.succeeded').at(-1)!.details)).toMatchObject({ method: 'passkey' })
  })

  it('refuses a replayed assertion, and two parallel uses of one challenge: exactly one wins', async () => {
    const t = createTestEnv()
    const { u, device } = await userWithPasskey(t)
    const a = await passwordStep(t, u)
    const options = await mfaOptions(a)
    const assertion = device.assert(options)
    const results = await Promise.all([postJson(a, '/login/mfa/passkey', { response: assertion }), postJson(a, '/login/mfa/passkey', { response: assertion })])
    expect(results.map((r) => r.status).sort()).toEqual([200, 422])

    const b = await passwordStep(t, u)
    await mfaOptions(b) // a live challenge for this session: the old assertion still names another
    const replay = await postJson(b, '/login/mfa/passkey', { response: assertion })
    expect(replay.status).toBe(422)
    expect(failures(t, u.user.email)).toBe(1)
  })

  it('refuses a counter that goes backwards or stands still', async () => {
    const t = createTestEnv()
    const { u, device } = await userWithPasskey(t)
    const first = await passwordStep(t, u)
    device.counter = 9 // the next assertion counts 10
    expect((await postJson(first, '/login/mfa/passkey', { response: device.assert(await mfaOptions(first)) })).status).toBe(200)
    const second = await passwordStep(t, u)
    expect((await postJson(second, '/login/mfa/passkey', { response: device.assert(await mfaOptions(second), { counter: 5 }) })).status).toBe(422)
    expect((await postJson(second, '/login/mfa/passkey', { response: device.assert(await mfaOptions(second), { counter: 10 }) })).status).toBe(422)
    expect(listPasskeys(t.db, u.user.id)[0]!.counter).toBe(10)
    expect(failures(t, u.user.email)).toBe(2)
    const forward = await postJson(second, '/login/mfa/passkey', { response: device.assert(await mfaOptions(second), { counter: 11 }) })
    expect(forward.status, await forward.clone().text()).toBe(200)
    expect(listPasskeys(t.db, u.user.id)[0]!.counter).toBe(11)
  })

  it('refuses a foreign origin, a foreign RP id, an expired challenge and another user’s passkey', async () => {
    const t = createTestEnv()
    const alice = await userWithPasskey(t)
    const bob = await userWithPasskey(t)
    const client = await passwordStep(t, bob.u)
    expect((await postJson(client, '/login/mfa/passkey', { response: bob.device.assert(await mfaOptions(client), { origin: 'https://evil.example' }) })).status).toBe(422)
    expect((await postJson(client, '/login/mfa/passkey', { response: bob.device.assert(await mfaOptions(client), { rpId: 'evil.example' }) })).status).toBe(422)
    const late = await mfaOptions(client)
    t.clock.advance(5 * 60_000)
    expect((await postJson(client, '/login/mfa/passkey', { response: bob.device.assert(late) })).status).toBe(422)
    t.clock.advance(60_000)
    expect((await postJson(client, '/login/mfa/passkey', { response: alice.device.assert(await mfaOptions(client)) })).status).toBe(422)
    expect(failures(t, bob.u.user.email)).toBe(4)
    expect((await client.get('/')).headers.get('Location')).toBe('/login/mfa')
  })

  it('locks the account after the threshold of failed assertions', async () => {
    const t = createTestEnv({ LOCKOUT_THRESHOLD: '3' })
    const { u, device } = await userWithPasskey(t)
    const client = await passwordStep(t, u)
    const statuses: number[] = []
    for (let i = 0; i < 3; i++) {
      t.clock.advance(120_000)
      const res = await postJson(client, '/login/mfa/passkey', { response: device.assert(await mfaOptions(client), { origin: 'https://evil.example' }) })
      statuses.push(res.status)
    }
    expect(statuses).toEqual([422, 422, 429])
    expect(events(t, 'signin.locked')).toHaveLength(1)
  })
})

describe('passwordless sign-in at /login', () => {
  async function signInWithPasskey(client: TestClient, device: SoftAuthenticator, overrides: CeremonyOverrides = {}) {
    const options = await jsonOf(postJson(client, '/login/passkey/options'))
    expect(options.userVerification).toBe('required')
    expect(options.allowCredentials ?? []).toEqual([])
    return postJson(client, '/login/passkey', { response: device.assert(options, overrides) })
  }

  it('signs in with a passkey registered with user verification, counting as both steps', async () => {
    const t = createTestEnv()
    const { u, device } = await userWithPasskey(t)
    const client = t.client()
    expect(await (await client.get('/login')).text()).toContain('Sign in with a passkey')
    const res = await signInWithPasskey(client, device)
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ redirect: '/' })
    expect((await client.get('/')).status).toBe(200)
    expect(JSON.parse(events(t, 'signin.succeeded').at(-1)!.details)).toMatchObject({ method: 'passkey' })
    expect(getUser(t.db, u.user.id).lastSignInAt).toBe(t.clock.now())
  })

  it('refuses a passkey registered without user verification, and an assertion without it', async () => {
    const t = createTestEnv()
    const weak = await userWithPasskey(t, authenticator({ userVerified: false }))
    expect(listPasskeys(t.db, weak.u.user.id)[0]!.userVerifiedAtRegistration).toBe(false)
    expect((await signInWithPasskey(t.client(), weak.device)).status).toBe(422)

    const strong = await userWithPasskey(t)
    expect((await signInWithPasskey(t.client(), strong.device, { userVerified: false })).status).toBe(422)
    expect(failures(t, strong.u.user.email)).toBe(1)
  })

  it('binds the challenge to the browser that asked for it and uses it once', async () => {
    const t = createTestEnv()
    const { device } = await userWithPasskey(t)
    const mine = t.client()
    const options = await jsonOf(postJson(mine, '/login/passkey/options'))
    const assertion = device.assert(options)
    const thief = t.client('198.51.100.20')
    await postJson(thief, '/login/passkey/options')
    expect((await postJson(thief, '/login/passkey', { response: assertion })).status).toBe(422)
    expect((await postJson(mine, '/login/passkey', { response: assertion })).status).toBe(200)
    expect((await postJson(mine, '/login/passkey', { response: assertion })).status).toBe(422)
  })

  it('refuses a disabled account and a locked one', async () => {
    const t = createTestEnv()
    const { u, device } = await userWithPasskey(t)
    t.db.update(users).set({ disabledAt: t.clock.now() }).where(eq(users.id, u.user.id)).run()
    const disabled = t.client()
    expect((await signInWithPasskey(disabled, device)).status).toBe(403)
    expect((await disabled.get('/')).headers.get('Location')).toBe('/login')

    t.db.update(users).set({ disabledAt: null }).where(eq(users.id, u.user.id)).run()
    t.db.insert(signInThrottles).values({ email: u.user.email, failures: 10, lastFailureAt: t.clock.now(), lockedUntil: t.clock.now() + 15 * 60_000 }).onConflictDoUpdate({ target: signInThrottles.email, set: { failures: 10, lockedUntil: t.clock.now() + 15 * 60_000 } }).run()
    expect((await signInWithPasskey(t.client(), device)).status).toBe(429)
  })

  it('stops a removed passkey at once', async () => {
    const t = createTestEnv()
    const { u, client, device } = await userWithPasskey(t)
    const [row] = listPasskeys(t.db, u.user.id)
    const confirm = await client.post(`/account/passkeys/${row!.id}/remove`)
    expect(confirm.status).toBe(200)
    expect(await confirm.text()).toContain('Remove this passkey?')
    expect(listPasskeys(t.db, u.user.id)).toHaveLength(1)
    const removed = await client.post(`/account/passkeys/${row!.id}/remove`, { confirm: 'yes' })
    expect(removed.status).toBe(303)
    expect(removed.headers.get('Location')).toBe('/account#passkeys')
    expect(listPasskeys(t.db, u.user.id)).toHaveLength(0)
    expect(events(t, 'passkey.removed')).toHaveLength(1)
    expect(emailsTo(t.db, u.user.email).map((e) => e.subject)).toContain('Gatehouse security: A passkey was removed from your account')
    expect((await signInWithPasskey(t.client(), device)).status).toBe(422)
  })
})

describe('passkey removal', () => {
  it('answers 404 for another user’s passkey', async () => {
    const t = createTestEnv()
    const alice = await userWithPasskey(t)
    const bob = await userWithPasskey(t)
    const [alicesKey] = listPasskeys(t.db, alice.u.user.id)
    expect((await bob.client.post(`/account/passkeys/${alicesKey!.id}/remove`, { confirm: 'yes' })).status).toBe(404)
    expect((await bob.client.post('/account/passkeys/0x1/remove', { confirm: 'yes' })).status).toBe(404)
    expect(listPasskeys(t.db, alice.u.user.id)).toHaveLength(1)
  })

  it('never removes the last second factor (TOTP and passkeys count; recovery codes do not)', async () => {
    const t = createTestEnv()
    const { u } = await userWithPasskey(t)
    expect(countSecondFactors(t.db, u.user.id)).toBe(2)
    t.db.update(users).set({ totpSecret: null }).where(eq(users.id, u.user.id)).run()
    const user = getUser(t.db, u.user.id)
    const [row] = listPasskeys(t.db, u.user.id)
    const outcome = removePasskey(t.db, { user, passkeyId: row!.id, now: t.clock.now(), ip: '203.0.113.7', baseUrl: BASE_URL })
    expect(outcome).toEqual({ ok: false, reason: 'last-factor' })
    expect(listPasskeys(t.db, u.user.id)).toHaveLength(1)
    expect(events(t, 'passkey.removed')).toHaveLength(0)
  })
})

describe('recovery codes after a fresh passkey assertion', () => {
  it('regenerates with a passkey assertion instead of a TOTP code, once per assertion', async () => {
    const t = createTestEnv()
    const { u, client, device } = await userWithPasskey(t)
    expect(await (await client.get('/account/recovery-codes')).text()).toContain('Confirm with a passkey')
    const options = await jsonOf(postJson(client, '/account/passkeys/assertion-options'))
    const assertion = JSON.stringify(device.assert(options))
    const res = await client.post('/account/recovery-codes', { passkey_assertion: assertion })
    expect(res.status).toBe(200)
    expect(await res.text()).toMatch(/[0-9A-Z]{5}-[0-9A-Z]{5}/)
    const replay = await client.post('/account/recovery-codes', { passkey_assertion: assertion })
    expect(replay.status).toBe(422)
    expect(failures(t, u.user.email)).toBe(1)
    const foreign = await client.post('/account/recovery-codes', { passkey_assertion: JSON.stringify(device.assert(await jsonOf(postJson(client, '/account/passkeys/assertion-options')), { origin: 'https://evil.example' })) })
    expect(foreign.status).toBe(422)
  })
})

describe('admin MFA reset', () => {
  it('clears the passkeys, and the admin user page counts them', async () => {
    const t = createTestEnv()
    const { u } = await userWithPasskey(t)
    const admin = await createTestUser(t, { role: 'admin' })
    const adminClient = await signIn(t, admin)
    const page = await (await adminClient.get(`/admin/users/${u.user.id}`)).text()
    expect(page).toMatch(/<dt>Passkeys<\/dt>\s*<dd id="factor-passkeys">1<\/dd>/)
    const res = await adminClient.post(`/admin/users/${u.user.id}/reset-mfa`, { confirm: 'yes' })
    expect(res.status).toBe(303)
    expect(t.db.select().from(passkeys).where(eq(passkeys.userId, u.user.id)).all()).toHaveLength(0)
    expect(JSON.parse(events(t, 'mfa.reset')[0]!.details)).toMatchObject({ passkeys_removed: 1 })
  })
})

describe('the browser script', () => {
  it('serves the @simplewebauthn/browser bundle from public/, identical to the installed package', async () => {
    const t = createTestEnv()
    const served = await (await t.client().get('/public/simplewebauthn-browser.umd.min.js')).text()
    const installed = readFileSync(`${PROJECT_ROOT}/node_modules/@simplewebauthn/browser/dist/bundle/index.umd.min.js`, 'utf8')
    expect(served).toBe(installed)
    expect((await t.client().get('/public/passkeys.js')).status).toBe(200)
  })

  it('keeps TOTP working on the MFA page for users with a passkey', async () => {
    const t = createTestEnv()
    const { u } = await userWithPasskey(t)
    const client = await passwordStep(t, u)
    const res = await client.post('/login/mfa', { code: totpAt(u.totpSecret!, t.clock.now()) })
    expect(res.headers.get('Location')).toBe('/')
  })
})

describe('passkey ceremonies an attacker shapes (security review)', () => {
  it('one credential cannot be registered to a second account (409), and stays the first account’s', async () => {
    const t = createTestEnv()
    const { u, device } = await userWithPasskey(t)
    const other = await createTestUser(t)
    const client = await signIn(t, other)
    const res = await register(client, device, 'Borrowed')
    expect(res.status).toBe(409)
    expect(listPasskeys(t.db, other.user.id)).toHaveLength(0)
    expect(listPasskeys(t.db, u.user.id).map((p) => p.credentialId)).toEqual([device.id])
  })

  it('a discoverable sign-in whose userHandle names another account is refused, counted against the passkey’s owner, and signs nobody in', async () => {
    const t = createTestEnv()
    const { u, device } = await userWithPasskey(t)
    const victim = await createTestUser(t)
    device.userHandle = Buffer.from(String(victim.user.id)).toString('base64url')
    const client = t.client()
    const options = await jsonOf(postJson(client, '/login/passkey/options'))
    const res = await postJson(client, '/login/passkey', { response: device.assert(options) })
    expect(res.status).toBe(422)
    expect(failures(t, u.user.email)).toBe(1)
    expect(failures(t, victim.user.email)).toBe(0)
    expect(client.cookies.has('session')).toBe(false)
    expect(events(t, 'signin.succeeded').filter((e) => Number(e.targetId) === victim.user.id)).toHaveLength(0)
  })

  it('a challenge is good only for its purpose: a registration challenge does not regenerate recovery codes, a re-authentication challenge does not register', async () => {
    const t = createTestEnv()
    const { u, client, device } = await userWithPasskey(t)
    const registration = await jsonOf(postJson(client, '/account/passkeys/options'))
    const asReauth = await client.post('/account/recovery-codes', { passkey_assertion: JSON.stringify(device.assert({ ...registration, rpId: RP_ID })) })
    expect(asReauth.status).toBe(422)
    expect(failures(t, u.user.email)).toBe(1)
    expect(events(t, 'recovery_codes.issued').filter((e) => e.actorId === u.user.id && JSON.parse(e.details).via === 'regenerated')).toHaveLength(0)

    const reauth = await jsonOf(postJson(client, '/account/passkeys/assertion-options'))
    const fresh = await jsonOf(postJson(client, '/account/passkeys/options'))
    const asRegistration = await postJson(client, '/account/passkeys', { name: 'Sneaky', response: authenticator().register({ ...fresh, challenge: reauth.challenge }) })
    expect(asRegistration.status).toBe(422)
    expect(listPasskeys(t.db, u.user.id)).toHaveLength(1)
  })
})
