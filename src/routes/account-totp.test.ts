import { describe, expect, it } from 'vitest'
import { eq } from 'drizzle-orm'
import { createTestEnv, createTestUser, emailsTo, getUser, signIn, totpAt, BASE_URL, type TestEnv, type TestUser, type TestClient } from '../test/helpers.ts'
import { auditEvents, signInThrottles } from '../db/schema.ts'

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
