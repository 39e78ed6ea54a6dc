import { describe, expect, it } from 'vitest'
import { eq } from 'drizzle-orm'
import { createTestEnv, createTestUser, emailsTo, getUser, signIn, totpAt, BASE_URL, type TestEnv, type TestUser, type TestClient } from '../test/helpers.ts'
import { auditEvents, signInThrottles } from '../db/schema.ts'
import { SoftAuthenticator } from '../test/soft-authenticator.ts'

// Replacing the authenticator from /account (SPEC §11, issue 14 item 4), over HTTP.

function newSecretFrom(html: string): { secret: string; token: string } {
  const secret = /<code id="totp-secret">([^<]+)<\/code>/.exec(html)?.[1]?.replace(/\s+/g, '')
  const token = /name="replace_token" value="([^"]+)"/.exec(html)?.[1]
  expect(secret, 'the new secret on the page').toBeTruthy()
  expect(token, 'the replace_token on the page').toBeTruthy()
  return { secret: secret!, token: token! }
}

/** Step 1 with a fresh code from the current secret; returns the new secret and the step-2 token. */
async function startReplacement(t: TestEnv, u: TestUser, client: TestClient) {
  const res = await client.post('/account/totp', { code: totpAt(u.totpSecret!, t.clock.now()) })
  expect(res.status).toBe(200)
  const html = await res.text()
  expect(html).toContain('id="totp-uri"')
  return newSecretFrom(html)
}

/** A fresh sign-in with this TOTP secret's current code: the status of the /login/mfa answer. */
async function signInStatus(t: TestEnv, u: TestUser, secret: string) {
  t.clock.advance(30_000)
  const client = t.client('198.51.100.77')
  await client.post('/login', { email: u.user.email, password: u.password })
  return (await client.post('/login/mfa', { code: totpAt(secret, t.clock.now()) })).status
}

const events = (t: TestEnv, event: string) => t.db.select().from(auditEvents).where(eq(auditEvents.event, event)).all()

describe('replacing the authenticator at /account/totp', () => {
  it('fresh code, new secret, confirmation: then the old secret stops working at once and the new one signs in; audited and emailed', async () => {
    const t = createTestEnv()
    const u = await createTestUser(t)
    const client = await signIn(t, u)
    expect((await client.get('/account/totp')).status).toBe(200)
    const { secret, token } = await startReplacement(t, u, client)
    expect(secret).not.toBe(u.totpSecret)
    // until confirmed, the old secret is still the one in use
    expect(getUser(t.db, u.user.id).totpSecret).toBe(u.user.totpSecret)
    const done = await client.post('/account/totp', { replace_token: token, new_code: totpAt(secret, t.clock.now()) })
    expect(done.status).toBe(303)
    expect(done.headers.get('Location')).toBe('/account')
    expect(await (await client.get('/account')).text()).toContain('Your authenticator has been replaced.')
    expect(getUser(t.db, u.user.id).totpPendingSecret).toBeNull()

    expect(await signInStatus(t, u, u.totpSecret!)).toBe(422)
    expect(await signInStatus(t, u, secret)).toBe(303)

    expect(events(t, 'mfa.replaced')).toHaveLength(1)
    expect(events(t, 'mfa.replaced')[0]).toMatchObject({ actorId: u.user.id, targetId: String(u.user.id) })
    const [notice] = emailsTo(t.db, u.user.email).filter((m) => m.subject === 'Gatehouse security: Your second factor was replaced')
    expect(notice!.textBody).toContain(`from ${client.ip}`)
    expect(notice!.textBody).toContain(`${BASE_URL}/account`)
    // the confirmation form is spent
    const again = await client.post('/account/totp', { replace_token: token, new_code: totpAt(secret, t.clock.now() + 30_000) })
    expect(again.headers.get('Location')).toBe('/account/totp')
    expect(events(t, 'mfa.replaced')).toHaveLength(1)
  })

  it('refuses a replayed fresh code (422, counted against the lockout) and shows no new secret', async () => {
    const t = createTestEnv()
    const u = await createTestUser(t)
    const signInAt = t.clock.now()
    const client = await signIn(t, u) // used the code of signInAt's step
    const res = await client.post('/account/totp', { code: totpAt(u.totpSecret!, signInAt) })
    expect(res.status).toBe(422)
    const html = await res.text()
    expect(html).toContain('That code has already been used.')
    expect(html).not.toContain('totp-secret')
    expect(getUser(t.db, u.user.id).totpPendingSecret).toBeNull()
    expect(t.db.select().from(signInThrottles).where(eq(signInThrottles.email, u.user.email)).get()!.failures).toBe(1)
    const wrong = await client.post('/account/totp', { code: '12345x' })
    expect(wrong.status).toBe(422)
  })

  it('a wrong confirmation code answers 422 with the same new secret, and the old secret keeps working', async () => {
    const t = createTestEnv()
    const u = await createTestUser(t)
    const client = await signIn(t, u)
    const { secret, token } = await startReplacement(t, u, client)
    const wrongCode = totpAt(u.totpSecret!, t.clock.now() + 30_000) // a code of the old secret is wrong here
    const res = await client.post('/account/totp', { replace_token: token, new_code: wrongCode === totpAt(secret, t.clock.now()) ? '000000' : wrongCode })
    expect(res.status).toBe(422)
    expect(newSecretFrom(await res.text())).toEqual({ secret, token })
    expect(getUser(t.db, u.user.id).totpSecret).toBe(u.user.totpSecret)
    expect(events(t, 'mfa.replaced')).toHaveLength(0)
    expect(await signInStatus(t, u, u.totpSecret!)).toBe(303)
  })

  it('refuses a confirmation without step 1, from another session, with an altered token, or after 10 minutes', async () => {
    const t = createTestEnv()
    const u = await createTestUser(t)
    const client = await signIn(t, u)
    const forged = await client.post('/account/totp', { replace_token: `${t.clock.now() + 60_000}.AAAA`, new_code: '123456' })
    expect(forged.headers.get('Location')).toBe('/account/totp')

    const { secret, token } = await startReplacement(t, u, client)
    t.clock.advance(30_000) // the other browser signs in with the next code
    const other = await signIn(t, u, t.client('198.51.100.60'))
    const fromOther = await other.post('/account/totp', { replace_token: token, new_code: totpAt(secret, t.clock.now()) })
    expect(fromOther.headers.get('Location')).toBe('/account/totp')
    const [expires, mac] = token.split('.')
    const stretched = await client.post('/account/totp', { replace_token: `${Number(expires) + 3_600_000}.${mac}`, new_code: totpAt(secret, t.clock.now()) })
    expect(stretched.headers.get('Location')).toBe('/account/totp')
    t.clock.advance(10 * 60_000 + 1)
    const late = await client.post('/account/totp', { replace_token: token, new_code: totpAt(secret, t.clock.now()) })
    expect(late.headers.get('Location')).toBe('/account/totp')
    expect(getUser(t.db, u.user.id).totpSecret).toBe(u.user.totpSecret)
    expect(events(t, 'mfa.replaced')).toHaveLength(0)
  })

  it('a newer step 1 makes the earlier confirmation form stale', async () => {
    const t = createTestEnv()
    const u = await createTestUser(t)
    const client = await signIn(t, u)
    const first = await startReplacement(t, u, client)
    t.clock.advance(30_000)
    const second = await startReplacement(t, u, client)
    const stale = await client.post('/account/totp', { replace_token: first.token, new_code: totpAt(first.secret, t.clock.now()) })
    expect(stale.headers.get('Location')).toBe('/account/totp')
    const ok = await client.post('/account/totp', { replace_token: second.token, new_code: totpAt(second.secret, t.clock.now()) })
    expect(ok.headers.get('Location')).toBe('/account')
  })

  it('sends an anonymous request to sign in and refuses a foreign Origin', async () => {
    const t = createTestEnv()
    expect((await t.client().get('/account/totp')).headers.get('Location')).toBe('/login')
    const u = await createTestUser(t)
    const client = await signIn(t, u)
    expect((await client.post('/account/totp', { code: totpAt(u.totpSecret!, t.clock.now()) }, { Origin: 'https://evil.example' })).status).toBe(403)
    expect(getUser(t.db, u.user.id).totpPendingSecret).toBeNull()
  })
})

describe('a fresh passkey assertion as step 1 of /account/totp', () => {
  const RP_ID = new URL(BASE_URL).hostname
  const postJson = (client: TestClient, path: string, body: unknown = {}) => client.request(path, { method: 'POST', body: JSON.stringify(body), headers: { Origin: BASE_URL, 'Content-Type': 'application/json' } })
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- WebAuthn options as the browser script receives them
  const reauthOptions = async (client: TestClient): Promise<any> => {
    const res = await postJson(client, '/account/passkeys/assertion-options')
    expect(res.status).toBe(200)
    return res.json()
  }
  const failures = (t: TestEnv, email: string) => t.db.select().from(signInThrottles).where(eq(signInThrottles.email, email)).get()?.failures ?? 0

  /** A signed-in user with one registered passkey (through the real registration routes). */
  async function withPasskey(t: TestEnv, u?: TestUser) {
    const user = u ?? (await createTestUser(t))
    const client = await signIn(t, user)
    const device = new SoftAuthenticator({ origin: BASE_URL, rpId: RP_ID })
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- WebAuthn options as the browser script receives them
    const options: any = await (await postJson(client, '/account/passkeys/options')).json()
    expect((await postJson(client, '/account/passkeys', { name: 'Laptop', response: device.register(options) })).status).toBe(200)
    return { u: user, client, device }
  }

  it('offers the passkey on step 1 only to users with a passkey', async () => {
    const t = createTestEnv()
    const plain = await signIn(t, await createTestUser(t))
    expect(await (await plain.get('/account/totp')).text()).not.toContain('name="passkey_assertion"')
    const { client } = await withPasskey(t)
    const page = await (await client.get('/account/totp')).text()
    expect(page).toContain('name="passkey_assertion"')
    expect(page).toContain('data-passkey="reauth"')
    expect(page).toContain('Passkeys need JavaScript')
  })

  it('accepts a fresh assertion: the new secret is shown and confirms; the old secret stops working', async () => {
    const t = createTestEnv()
    const { u, client, device } = await withPasskey(t)
    const res = await client.post('/account/totp', { passkey_assertion: JSON.stringify(device.assert(await reauthOptions(client))) })
    expect(res.status).toBe(200)
    const { secret, token } = newSecretFrom(await res.text())
    expect(getUser(t.db, u.user.id).totpSecret).toBe(u.user.totpSecret)
    const done = await client.post('/account/totp', { replace_token: token, new_code: totpAt(secret, t.clock.now()) })
    expect(done.headers.get('Location')).toBe('/account')
    expect(events(t, 'mfa.replaced')).toHaveLength(1)
    expect(await signInStatus(t, u, u.totpSecret!)).toBe(422)
    expect(await signInStatus(t, u, secret)).toBe(303)
  })

  it('refuses a replayed assertion and an old signature counter (422, counted), and shows no new secret', async () => {
    const t = createTestEnv()
    const { u, client, device } = await withPasskey(t)
    const assertion = JSON.stringify(device.assert(await reauthOptions(client)))
    expect((await client.post('/account/totp', { passkey_assertion: assertion })).status).toBe(200)
    const pendingAfterFirst = getUser(t.db, u.user.id).totpPendingSecret
    const replay = await client.post('/account/totp', { passkey_assertion: assertion })
    expect(replay.status).toBe(422)
    const html = await replay.text()
    expect(html).toContain('The passkey could not be verified.')
    expect(html).not.toContain('totp-secret')
    expect(failures(t, u.user.email)).toBe(1)
    // a fresh challenge, but the authenticator's counter goes back: a cloned key
    const cloned = await client.post('/account/totp', { passkey_assertion: JSON.stringify(device.assert(await reauthOptions(client), { counter: 1 })) })
    expect(cloned.status).toBe(422)
    expect(failures(t, u.user.email)).toBe(2)
    expect(getUser(t.db, u.user.id).totpPendingSecret).toBe(pendingAfterFirst)
    expect(events(t, 'signin.failed').map((e) => JSON.parse(e.details).reason)).toEqual(['passkey invalid (replace authenticator)', 'passkey replayed (replace authenticator)']) // the spent challenge, then the counter
  })

  it("refuses another user's passkey", async () => {
    const t = createTestEnv()
    const alice = await withPasskey(t)
    t.clock.advance(30_000)
    const bob = await withPasskey(t)
    const res = await alice.client.post('/account/totp', { passkey_assertion: JSON.stringify(bob.device.assert(await reauthOptions(alice.client))) })
    expect(res.status).toBe(422)
    expect(await res.text()).not.toContain('totp-secret')
    expect(getUser(t.db, alice.u.user.id).totpPendingSecret).toBeNull()
    expect(failures(t, alice.u.user.email)).toBe(1)
  })

  it('refuses an assertion for a challenge of another session of the same user', async () => {
    const t = createTestEnv()
    const { u, client, device } = await withPasskey(t)
    t.clock.advance(30_000)
    const other = await signIn(t, u, t.client('198.51.100.61'))
    const res = await client.post('/account/totp', { passkey_assertion: JSON.stringify(device.assert(await reauthOptions(other))) })
    expect(res.status).toBe(422)
    expect(getUser(t.db, u.user.id).totpPendingSecret).toBeNull()
    expect(failures(t, u.user.email)).toBe(1)
  })

  it('refuses malformed assertions and ends the session at the lockout threshold', async () => {
    const t = createTestEnv({ LOCKOUT_THRESHOLD: '2' })
    const { u, client } = await withPasskey(t)
    expect((await client.post('/account/totp', { passkey_assertion: '{not json' })).status).toBe(422)
    const locked = await client.post('/account/totp', { passkey_assertion: 'x'.repeat(20_000) })
    expect(locked.status).toBe(429)
    expect(events(t, 'signin.locked')).toHaveLength(1)
    expect((await client.get('/account')).headers.get('Location')).toBe('/login')
    expect(getUser(t.db, u.user.id).totpPendingSecret).toBeNull()
  })
})
