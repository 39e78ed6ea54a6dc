import { describe, expect, it } from 'vitest'
import { eq } from 'drizzle-orm'
import { createTestEnv, createTestUser, emailsTo, getUser, signIn, totpAt, BASE_URL, type TestClient, type TestEnv, type TestUser } from '../test/helpers.ts'
import { SoftAuthenticator } from '../test/soft-authenticator.ts'
import { auditEvents, recoveryCodes, signInThrottles } from '../db/schema.ts'
import { countUnusedRecoveryCodes, issueRecoveryCodes } from '../auth/recovery-codes.ts'

/** Password step only: the client stands at /login/mfa. */
async function atMfaStep(t: TestEnv, u: TestUser, client = t.client()) {
  const res = await client.post('/login', { email: u.user.email, password: u.password })
  expect(res.headers.get('Location'), `${res.status} ${res.status === 303 ? '' : (await res.text()).slice(-600)}`).toBe('/login/mfa')
  return client
}

function codesOnPage(html: string): string[] {
  const pre = /<pre id="recovery-codes"[^>]*>([\s\S]*?)<\/pre>/.exec(html)
  expect(pre).not.toBeNull()
  return pre![1]!.trim().split('\n').map((s) => s.trim())
}

function events(t: TestEnv, event: string) {
  return t.db.select().from(auditEvents).where(eq(auditEvents.event, event)).all()
}

describe('signing in with a recovery code', () => {
  it('signs in once with a code; the second use of the same code is refused', async () => {
    const t = createTestEnv()
    const u = await createTestUser(t)
    const codes = issueRecoveryCodes(t.db, u.user.id, t.clock.now())
    const client = await atMfaStep(t, u)
    const first = await client.post('/login/mfa', { recovery_code: codes[3]!.toLowerCase().replace('-', ' ') })
    expect(first.status).toBe(303)
    expect(first.headers.get('Location')).toBe('/')
    expect((await client.get('/')).status).toBe(200)
    expect(events(t, 'recovery_code.used')).toHaveLength(1)
    expect(events(t, 'signin.succeeded').at(-1)!.details).toContain('recovery code')

    const again = await atMfaStep(t, u)
    const second = await again.post('/login/mfa', { recovery_code: codes[3]! })
    expect(second.status).toBe(422)
    expect(await second.text()).toContain('That recovery code is not correct or has already been used.')
    expect((await again.get('/')).headers.get('Location')).toBe('/login/mfa')
    expect(countUnusedRecoveryCodes(t.db, u.user.id)).toBe(9)
  })

  it('lets exactly one of two parallel uses of one code win', async () => {
    const t = createTestEnv()
    const u = await createTestUser(t)
    const [code] = issueRecoveryCodes(t.db, u.user.id, t.clock.now())
    const a = await atMfaStep(t, u)
    const b = await atMfaStep(t, u, t.client('203.0.113.8'))
    const results = await Promise.all([a.post('/login/mfa', { recovery_code: code! }), b.post('/login/mfa', { recovery_code: code! })])
    expect(results.map((r) => r.status).sort()).toEqual([303, 422])
    expect(events(t, 'recovery_code.used')).toHaveLength(1)
    expect(emailsTo(t.db, u.user.email)).toHaveLength(1)
  })

  it('counts a wrong recovery code toward the lockout and locks at the configured threshold', async () => {
    const t = createTestEnv({ LOCKOUT_THRESHOLD: '3' })
    const u = await createTestUser(t)
    const codes = issueRecoveryCodes(t.db, u.user.id, t.clock.now())
    const client = await atMfaStep(t, u)
    expect((await client.post('/login/mfa', { recovery_code: 'AAAAA-AAAAA' })).status).toBe(422)
    expect((await client.post('/login/mfa', { recovery_code: 'not a code' })).status).toBe(422)
    expect(t.db.select().from(signInThrottles).where(eq(signInThrottles.email, u.user.email)).get()!.failures).toBe(2)
    const third = await client.post('/login/mfa', { recovery_code: 'BBBBB-BBBBB' })
    expect(third.status).toBe(429)
    expect(events(t, 'signin.locked')).toHaveLength(1)
    // locked: even a right code does not sign in now, and is not consumed
    const fresh = t.client('203.0.113.9')
    expect((await fresh.post('/login', { email: u.user.email, password: u.password })).status).toBe(429)
    expect(countUnusedRecoveryCodes(t.db, u.user.id)).toBe(10)
    expect(codes).toHaveLength(10)
  })

  it('queues a security email in the outbox when a code is used, and audits it', async () => {
    const t = createTestEnv()
    const u = await createTestUser(t)
    const codes = issueRecoveryCodes(t.db, u.user.id, t.clock.now())
    const client = await atMfaStep(t, u)
    await client.post('/login/mfa', { recovery_code: codes[0]! })
    const mails = emailsTo(t.db, u.user.email)
    expect(mails).toHaveLength(1)
    expect(mails[0]!.subject).toContain('A recovery code was used to sign in')
    expect(mails[0]!.textBody).toContain('9 unused codes are left')
    expect(mails[0]!.textBody).toContain('203.0.113.7')
    const audit = events(t, 'recovery_code.used')[0]!
    expect(Number(audit.targetId)).toBe(u.user.id)
    expect(audit.details).toContain('"left":9')
  })

  it('says so after the sign-in when 3 or fewer codes are left, and not with 4', async () => {
    const t = createTestEnv()
    const u = await createTestUser(t)
    const codes = issueRecoveryCodes(t.db, u.user.id, t.clock.now())
    let client = t.client()
    for (const code of codes.slice(0, 5)) {
      client = await atMfaStep(t, u)
      await client.post('/login/mfa', { recovery_code: code })
    }
    // 5 left now; one more → 4 left: no warning
    client = await atMfaStep(t, u)
    await client.post('/login/mfa', { recovery_code: codes[5]! })
    expect(await (await client.get('/')).text()).not.toContain('unused recovery code')
    client = await atMfaStep(t, u)
    await client.post('/login/mfa', { recovery_code: codes[6]! })
    const home = await (await client.get('/')).text()
    expect(home).toContain('3 unused recovery codes are left.')
  })
})

describe('the sign-in chain offers codes', () => {
  it('after the first enrolment: codes shown once, then home; the shown codes work', async () => {
    const t = createTestEnv()
    const u = await createTestUser(t, { enrolled: false })
    const client = t.client()
    expect((await client.post('/login', { email: u.user.email, password: u.password })).headers.get('Location')).toBe('/mfa/setup')
    const setup = await (await client.get('/mfa/setup')).text()
    const secret = /id="totp-secret">([^<]+)</.exec(setup)![1]!.replace(/\s+/g, '')
    expect((await client.post('/mfa/setup', { code: totpAt(secret, t.clock.now()) })).status).toBe(303)
    expect((await client.get('/')).headers.get('Location')).toBe('/mfa/recovery-codes')
    const offer = await client.get('/mfa/recovery-codes')
    expect(offer.status).toBe(200)
    const shown = await client.post('/mfa/recovery-codes')
    expect(shown.status).toBe(200)
    const html = await shown.text()
    const codes = codesOnPage(html)
    expect(codes).toHaveLength(10)
    expect(html).toContain('download="gatehouse-recovery-codes.txt"')
    expect(html).toContain('data-copy-target="recovery-codes"')
    expect(html).toContain('<script src="/public/copy-key.js" defer=""></script>')
    expect((await client.get('/')).status).toBe(200)
    // shown only once: the chain step is over
    expect((await client.post('/mfa/recovery-codes')).headers.get('Location')).toBe('/')
    t.clock.advance(60_000)
    const next = await atMfaStep(t, { ...u, totpSecret: secret })
    expect((await next.post('/login/mfa', { recovery_code: codes[9]! })).status).toBe(303)
  })

  it('shows the first set once even to two parallel requests: one gets codes, the other goes home', async () => {
    const t = createTestEnv()
    const u = await createTestUser(t, { recoveryCodesIssued: false })
    const client = await atMfaStep(t, u)
    expect((await client.post('/login/mfa', { code: totpAt(u.totpSecret!, t.clock.now()) })).status).toBe(303)
    const [a, b] = await Promise.all([client.post('/mfa/recovery-codes'), client.post('/mfa/recovery-codes')])
    expect([a.status, b.status].sort()).toEqual([200, 303])
    const shown = codesOnPage(await (a.status === 200 ? a : b).text())
    expect(events(t, 'recovery_codes.issued')).toHaveLength(1)
    const other = await atMfaStep(t, u, t.client('203.0.113.8'))
    expect((await other.post('/login/mfa', { recovery_code: shown[0]! })).status).toBe(303)
  })

  it('for an existing user enrolled before codes existed, at the next sign-in', async () => {
    const t = createTestEnv()
    const u = await createTestUser(t, { recoveryCodesIssued: false })
    const client = await atMfaStep(t, u)
    const mfa = await client.post('/login/mfa', { code: totpAt(u.totpSecret!, t.clock.now()) })
    expect(mfa.status).toBe(303)
    expect((await client.get('/')).headers.get('Location')).toBe('/mfa/recovery-codes')
    expect((await client.get('/projects')).headers.get('Location')).toBe('/mfa/recovery-codes')
    expect(codesOnPage(await (await client.post('/mfa/recovery-codes')).text())).toHaveLength(10)
    expect(getUser(t.db, u.user.id).recoveryCodesIssuedAt).not.toBeNull()
    expect((await client.get('/')).status).toBe(200)
  })
})

describe('regenerating at /account/recovery-codes', () => {
  it('shows how many are left', async () => {
    const t = createTestEnv()
    const u = await createTestUser(t)
    const codes = issueRecoveryCodes(t.db, u.user.id, t.clock.now())
    const client = await signIn(t, u)
    const page = await client.get('/account/recovery-codes')
    expect(page.status).toBe(200)
    expect(await page.text()).toContain('10 unused recovery codes are left.')
    expect(codes).toHaveLength(10)
    expect(await (await client.get('/account')).text()).toContain('href="/account/recovery-codes"')
  })

  it('needs a fresh valid TOTP code: wrong or replayed refused 422 and the old codes still work', async () => {
    const t = createTestEnv()
    const u = await createTestUser(t)
    const codes = issueRecoveryCodes(t.db, u.user.id, t.clock.now())
    const client = t.client()
    await client.post('/login', { email: u.user.email, password: u.password })
    const used = totpAt(u.totpSecret!, t.clock.now())
    expect((await client.post('/login/mfa', { code: used })).status).toBe(303)
    const replayed = await client.post('/account/recovery-codes', { code: used })
    expect(replayed.status).toBe(422)
    expect(await replayed.text()).toContain('already been used')
    const wrong = await client.post('/account/recovery-codes', { code: '000000' === used ? '111111' : '000000' })
    expect(wrong.status).toBe(422)
    expect(await wrong.text()).toContain('That code is not correct')
    expect((await client.post('/account/recovery-codes', {})).status).toBe(422)
    expect(events(t, 'recovery_codes.issued')).toHaveLength(0)
    expect(t.db.select().from(signInThrottles).where(eq(signInThrottles.email, u.user.email)).get()!.failures).toBe(3)
    t.clock.advance(60_000) // past the back-off after three failures
    const other = await atMfaStep(t, u, t.client('203.0.113.8'))
    expect((await other.post('/login/mfa', { recovery_code: codes[0]! })).status).toBe(303)
  })

  it('with a fresh code makes 10 new codes and kills the old ones', async () => {
    const t = createTestEnv()
    const u = await createTestUser(t)
    const old = issueRecoveryCodes(t.db, u.user.id, t.clock.now())
    const client = await signIn(t, u)
    const res = await client.post('/account/recovery-codes', { code: totpAt(u.totpSecret!, t.clock.now()) })
    expect(res.status).toBe(200)
    const fresh = codesOnPage(await res.text())
    expect(fresh).toHaveLength(10)
    expect(fresh.filter((c) => old.includes(c))).toEqual([])
    expect(events(t, 'recovery_codes.issued')).toHaveLength(1)
    const a = await atMfaStep(t, u, t.client('203.0.113.8'))
    expect((await a.post('/login/mfa', { recovery_code: old[0]! })).status).toBe(422)
    expect((await a.post('/login/mfa', { recovery_code: fresh[0]! })).status).toBe(303)
  })

  it('refuses a foreign Origin', async () => {
    const t = createTestEnv()
    const u = await createTestUser(t)
    const old = issueRecoveryCodes(t.db, u.user.id, t.clock.now())
    const client = await signIn(t, u)
    const res = await client.post('/account/recovery-codes', { code: totpAt(u.totpSecret!, t.clock.now()) }, { Origin: 'https://evil.example' })
    expect(res.status).toBe(403)
    const recovery = await atMfaStep(t, u, t.client('203.0.113.8'))
    const foreign = await recovery.post('/login/mfa', { recovery_code: old[0]! }, { Origin: 'https://evil.example' })
    expect(foreign.status).toBe(403)
    expect(countUnusedRecoveryCodes(t.db, u.user.id)).toBe(10)
    expect(BASE_URL).not.toBe('https://evil.example')
  })

  it('is for signed-in users only', async () => {
    const t = createTestEnv()
    expect((await t.client().get('/account/recovery-codes')).headers.get('Location')).toBe('/login')
    const u = await createTestUser(t)
    const half = await atMfaStep(t, u)
    expect((await half.post('/account/recovery-codes', { code: totpAt(u.totpSecret!, t.clock.now()) })).headers.get('Location')).toBe('/login/mfa')
  })
})

describe('admin MFA reset', () => {
  it('clears the codes; the next sign-in enrols and offers new ones', async () => {
    const t = createTestEnv()
    const admin = await createTestUser(t, { role: 'admin' })
    const u = await createTestUser(t)
    const codes = issueRecoveryCodes(t.db, u.user.id, t.clock.now())
    const client = await signIn(t, admin)
    expect((await client.post(`/admin/users/${u.user.id}/reset-mfa`, { confirm: 'yes' })).status).toBe(303)
    expect(t.db.select().from(recoveryCodes).where(eq(recoveryCodes.userId, u.user.id)).all()).toEqual([])
    expect(getUser(t.db, u.user.id).recoveryCodesIssuedAt).toBeNull()
    const next = t.client('203.0.113.8')
    expect((await next.post('/login', { email: u.user.email, password: u.password })).headers.get('Location')).toBe('/mfa/setup')
    expect((await next.post('/login/mfa', { recovery_code: codes[0]! })).headers.get('Location')).toBe('/mfa/setup')
  })
})

describe('lockout at /account/recovery-codes', () => {
  it('locks after the configured number of wrong codes and ends the session', async () => {
    const t = createTestEnv({ LOCKOUT_THRESHOLD: '2' })
    const u = await createTestUser(t)
    issueRecoveryCodes(t.db, u.user.id, t.clock.now())
    const client = await signIn(t, u)
    expect((await client.post('/account/recovery-codes', { code: 'abcdef' })).status).toBe(422)
    const locked = await client.post('/account/recovery-codes', { code: '12' })
    expect(locked.status).toBe(429)
    expect(events(t, 'signin.locked')).toHaveLength(1)
    expect((await client.get('/account/recovery-codes')).headers.get('Location')).toBe('/login')
    expect(events(t, 'recovery_codes.issued')).toHaveLength(0)
  })
})

describe('every sign-in says so when 3 or fewer codes are left', () => {
  const RP_ID = new URL(BASE_URL).hostname
  const postJson = (client: TestClient, path: string, body: unknown = {}) => client.request(path, { method: 'POST', body: JSON.stringify(body), headers: { Origin: BASE_URL, 'Content-Type': 'application/json' } })
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON as the browser script receives it
  const jsonOf = async (res: Promise<Response>): Promise<any> => (await res).json()

  /** Issues a fresh set and marks all but `left` of them used. */
  function leaveCodes(t: TestEnv, userId: number, left: number) {
    issueRecoveryCodes(t.db, userId, t.clock.now())
    const rows = t.db.select().from(recoveryCodes).where(eq(recoveryCodes.userId, userId)).all()
    for (const row of rows.slice(left)) t.db.update(recoveryCodes).set({ usedAt: t.clock.now() }).where(eq(recoveryCodes.id, row.id)).run()
    expect(countUnusedRecoveryCodes(t.db, userId)).toBe(left)
  }

  const flashOf = (html: string) => /<p class="flash flash-info"[^>]*>([^<]*)<\/p>/.exec(html)?.[1] ?? null

  async function totpSignInHome(t: TestEnv, u: TestUser) {
    const client = await atMfaStep(t, u)
    const res = await client.post('/login/mfa', { code: totpAt(u.totpSecret!, t.clock.now()) })
    expect(res.headers.get('Location')).toBe('/')
    t.clock.advance(30_000)
    return (await client.get('/')).text()
  }

  it('after a TOTP sign-in: with 3 left the home page says so, with 4 it does not, and the notice shows once', async () => {
    const t = createTestEnv()
    const u = await createTestUser(t)
    leaveCodes(t, u.user.id, 4)
    expect(flashOf(await totpSignInHome(t, u))).toBeNull()
    leaveCodes(t, u.user.id, 3)
    const client = await atMfaStep(t, u)
    await client.post('/login/mfa', { code: totpAt(u.totpSecret!, t.clock.now()) })
    t.clock.advance(30_000)
    expect(flashOf(await (await client.get('/')).text())).toBe('3 unused recovery codes are left. Make new ones on your account page, under Recovery codes.')
    expect(flashOf(await (await client.get('/')).text())).toBeNull()
  })

  it('with none left it says so; a user who never had codes is offered them instead', async () => {
    const t = createTestEnv()
    const u = await createTestUser(t)
    leaveCodes(t, u.user.id, 0)
    expect(flashOf(await totpSignInHome(t, u))).toMatch(/^No unused recovery codes are left\./)
    const fresh = await createTestUser(t, { recoveryCodesIssued: false })
    const client = await atMfaStep(t, fresh)
    await client.post('/login/mfa', { code: totpAt(fresh.totpSecret!, t.clock.now()) })
    const offer = await client.get('/mfa/recovery-codes')
    expect(offer.status).toBe(200)
    expect(await offer.text()).not.toContain('unused recovery code')
  })

  it('after a passkey as the second factor, and after a passkey sign-in on its own', async () => {
    const t = createTestEnv()
    const u = await createTestUser(t)
    const client = await signIn(t, u)
    const device = new SoftAuthenticator({ origin: BASE_URL, rpId: RP_ID })
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- WebAuthn options as the browser script receives them
    const registration: any = await (await postJson(client, '/account/passkeys/options')).json()
    expect((await postJson(client, '/account/passkeys', { name: 'Key', response: device.register(registration) })).status).toBe(200)
    leaveCodes(t, u.user.id, 1)

    const second = await atMfaStep(t, u)
    const options = await jsonOf(postJson(second, '/login/mfa/passkey/options'))
    const done = await postJson(second, '/login/mfa/passkey', { response: device.assert(options) })
    expect(await done.json()).toEqual({ redirect: '/' })
    expect(flashOf(await (await second.get('/')).text())).toBe('1 unused recovery code is left. Make new ones on your account page, under Recovery codes.')

    const alone = t.client('203.0.113.44')
    const signInOptions = await jsonOf(postJson(alone, '/login/passkey/options'))
    const signedIn = await postJson(alone, '/login/passkey', { response: device.assert(signInOptions) })
    expect(await signedIn.json()).toEqual({ redirect: '/' })
    expect(flashOf(await (await alone.get('/')).text())).toMatch(/^1 unused recovery code is left\./)
  })
})
