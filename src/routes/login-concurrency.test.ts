// Finding 2 of issue 11: the per-account limit holds under real parallel requests against a
// listening server (argon2 runs off the event loop, so the requests really interleave).
import { afterEach, describe, expect, it } from 'vitest'
import { serve, type ServerType } from '@hono/node-server'
import type { AddressInfo } from 'node:net'
import { eq } from 'drizzle-orm'
import { createTestEnv, createTestUser, totpAt, BASE_URL, type TestEnv } from '../test/helpers.ts'
import { auditEvents, sessions, signInThrottles } from '../db/schema.ts'

const servers: ServerType[] = []
afterEach(() => {
  for (const s of servers.splice(0)) s.close()
})

async function listen(t: TestEnv): Promise<string> {
  return new Promise((resolve) => {
    const server = serve({ fetch: t.app.fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) => resolve(`http://127.0.0.1:${info.port}`))
    servers.push(server)
  })
}

function post(base: string, path: string, fields: Record<string, string>, cookie?: string) {
  return fetch(base + path, {
    method: 'POST',
    redirect: 'manual',
    body: new URLSearchParams(fields),
    headers: { Origin: BASE_URL, 'Content-Type': 'application/x-www-form-urlencoded', ...(cookie ? { Cookie: cookie } : {}) },
  })
}

function sessionCookie(res: Response): string {
  const line = res.headers.getSetCookie().find((l) => l.startsWith('session='))
  if (!line) throw new Error('no session cookie')
  return line.split(';')[0]!
}

describe('lockout under concurrency', () => {
  it('verifies at most the threshold of 20 parallel sign-ins (19 wrong, 1 right) and never signs in once the lock is reached', async () => {
    for (const threshold of [10, 3]) {
      const t = createTestEnv({ IP_RATE_BURST: '1000', LOCKOUT_THRESHOLD: String(threshold) })
      const u = await createTestUser(t)
      const base = await listen(t)
      const passwords = Array.from({ length: 20 }, (_, i) => (i === 10 ? u.password : `wrong-password-${i}`))
      const responses = await Promise.all(passwords.map((password) => post(base, '/login', { email: u.user.email, password })))
      const statuses = responses.map((r) => r.status)
      // every verified wrong password leaves one signin.failed event
      const failed = t.db.select().from(auditEvents).where(eq(auditEvents.event, 'signin.failed')).all().length
      const rightVerified = statuses[10] !== 429 ? 1 : 0
      expect(failed + rightVerified, `threshold ${threshold}: ${statuses.join(',')}`).toBeLessThanOrEqual(threshold)
      if (failed >= threshold) expect(statuses[10]).not.toBe(303)
      const row = t.db.select().from(signInThrottles).where(eq(signInThrottles.email, u.user.email)).get()
      // the right password's attempt is refunded: only the wrong ones stay counted
      expect(row?.failures ?? 0).toBe(failed)
    }
  })

  it('counts parallel TOTP codes before checking them: at most the threshold are verified, and a lock ends the step', async () => {
    const t = createTestEnv({ IP_RATE_BURST: '1000', LOCKOUT_THRESHOLD: '3' })
    const u = await createTestUser(t)
    const base = await listen(t)
    const first = await post(base, '/login', { email: u.user.email, password: u.password })
    expect(first.headers.get('Location')).toBe('/login/mfa')
    const cookie = sessionCookie(first)
    const right = totpAt(u.totpSecret!, t.clock.now())
    const wrongCode = (i: number) => String((Number(right) + 1 + i) % 1_000_000).padStart(6, '0')
    const codes = Array.from({ length: 20 }, (_, i) => (i === 19 ? right : wrongCode(i)))
    const responses = await Promise.all(codes.map((code) => post(base, '/login/mfa', { code }, cookie)))
    const outcomes = responses.map((r) => `${r.status} ${r.headers.get('Location')}`)
    const failed = t.db.select().from(auditEvents).where(eq(auditEvents.event, 'signin.failed')).all().length
    expect(failed, outcomes.join(',')).toBeLessThanOrEqual(3)
    // signed in only when the right code was verified before three wrong ones were
    if (failed === 3) expect(outcomes[19]).not.toBe('303 /')
    expect(t.db.select().from(auditEvents).where(eq(auditEvents.event, 'signin.succeeded')).all().length).toBe(outcomes[19] === '303 /' ? 1 : 0)
  })

  it('refuses /mfa/setup (page and code) of a locked account, as after an MFA reset', async () => {
    const t = createTestEnv({ IP_RATE_BURST: '1000', LOCKOUT_THRESHOLD: '3' })
    // no authenticator: what an administrator's MFA reset leaves
    const u = await createTestUser(t, { enrolled: false })
    const base = await listen(t)
    const first = await post(base, '/login', { email: u.user.email, password: u.password })
    expect(first.headers.get('Location')).toBe('/mfa/setup')
    const cookie = sessionCookie(first)
    const page = await fetch(base + '/mfa/setup', { headers: { Cookie: cookie } })
    expect(page.status).toBe(200)
    const uri = (await page.text()).match(/id="totp-uri" href="([^"]+)"/)![1]!
    const secret = new URL(uri.replaceAll('&amp;', '&')).searchParams.get('secret')!
    // someone else locks the account with wrong passwords
    for (let i = 0; i < 3; i++) {
      await post(base, '/login', { email: u.user.email, password: `wrong-${i}` })
      t.clock.advance(61_000)
    }
    expect((await fetch(base + '/mfa/setup', { redirect: 'manual', headers: { Cookie: cookie } })).status).toBe(429)
    const enrol = await post(base, '/mfa/setup', { code: totpAt(secret, t.clock.now()) }, cookie)
    expect(enrol.status).toBe(429)
    expect(t.db.select().from(sessions).all().every((s) => !s.mfaVerified)).toBe(true)
  })
})

describe('the invitation security code shares the per-account limit', () => {
  it('counts wrong codes against the invited address and refuses the right one once it is locked', async () => {
    const { createTestUser: makeUser, signIn: sign, emailsTo } = await import('../test/helpers.ts')
    const t = createTestEnv({ LOCKOUT_THRESHOLD: '2', SESSION_IDLE_MINUTES: '60000', SESSION_MAX_HOURS: '1000' })
    const admin = await sign(t, await makeUser(t, { role: 'admin', email: 'root@example.org' }))
    expect((await admin.post('/admin/invitations', { email: 'ada@example.org', role: 'researcher', organization: 'Leeds' })).status).toBe(303)
    const token = emailsTo(t.db, 'ada@example.org')[0]!.textBody.match(/\/invite\/([a-z2-7]{32})\b/)![1]!
    const browser = t.client('198.51.100.4')
    await browser.get(`/invite/${token}`)
    const form = await browser.post(`/invite/${token}`, { first_name: 'Ada', last_name: 'Lovelace', username: 'ada_l', password: 'violet-harbour-lantern-42', confirm_password: 'violet-harbour-lantern-42' })
    const tab = (await form.text()).match(/name="tab" value="([^"]*)"/)![1]!
    const code = emailsTo(t.db, 'ada@example.org').find((m) => m.subject === 'Your Gatehouse security code')!.textBody.match(/^ {4}(\S+)$/m)![1]!
    const wrong = (code[0] === 'A' ? 'B' : 'A') + code.slice(1)
    expect((await browser.post(`/invite/${token}/verify`, { security_token: wrong, tab })).status).toBe(422)
    t.clock.advance(1_000)
    await browser.post(`/invite/${token}/verify`, { security_token: wrong, tab })
    t.clock.advance(1_000)
    const right = await browser.post(`/invite/${token}/verify`, { security_token: code, tab })
    expect(right.status).toBe(429)
    expect(t.db.select().from(signInThrottles).where(eq(signInThrottles.email, 'ada@example.org')).get()?.lockedUntil).toBeGreaterThan(t.clock.now())
  })
})

describe('one TOTP code in parallel (security review)', () => {
  it('the same code posted at once by two browsers at /login/mfa and by a signed-in one to regenerate recovery codes is accepted exactly once', async () => {
    const t = createTestEnv({ IP_RATE_BURST: '1000' })
    const u = await createTestUser(t)
    const base = await listen(t)
    // a full session from an earlier step, then two new browsers at the password step
    const earlier = await post(base, '/login', { email: u.user.email, password: u.password })
    const full = sessionCookie(earlier)
    t.clock.advance(-30_000)
    expect((await post(base, '/login/mfa', { code: totpAt(u.totpSecret!, t.clock.now()) }, full)).headers.get('Location')).not.toBe('/login/mfa')
    t.clock.advance(30_000)
    const pending = await Promise.all([1, 2].map(async () => sessionCookie(await post(base, '/login', { email: u.user.email, password: u.password }))))
    const code = totpAt(u.totpSecret!, t.clock.now())
    const responses = await Promise.all([...pending.map((cookie) => post(base, '/login/mfa', { code }, cookie)), post(base, '/account/recovery-codes', { code }, full)])
    const accepted = [responses[0]!.headers.get('Location') === '/', responses[1]!.headers.get('Location') === '/', responses[2]!.status === 200]
    expect(accepted.filter(Boolean), responses.map((r) => `${r.status} ${r.headers.get('Location')}`).join(',')).toHaveLength(1)
  })
})
