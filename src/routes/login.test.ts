import { describe, expect, it } from 'vitest'
import { eq } from 'drizzle-orm'
import { createTestEnv, createTestUser, signIn, totpAt, emailsTo, getUser, GOOD_PASSWORD, OTHER_GOOD_PASSWORD, T0 } from '../test/helpers.ts'
import { registerUserWithTemporaryPassword } from '../models/users.ts'
import { auditEvents, sessions, users } from '../db/schema.ts'
import { createApp } from '../app.ts'

const MIN = 60_000

function temporaryPasswordFrom(text: string): string {
  const match = text.match(/^ {4}(\S+)$/m)
  if (!match) throw new Error('no password in email')
  return match[1]!
}

function secretFromSetupPage(html: string): string {
  const uri = html.match(/id="totp-uri" href="([^"]+)"/)?.[1]
  if (!uri) throw new Error('no #totp-uri on the page')
  return new URL(uri.replaceAll('&amp;', '&')).searchParams.get('secret')!
}

function events(t: ReturnType<typeof createTestEnv>, event: string) {
  return t.db.select().from(auditEvents).where(eq(auditEvents.event, event)).all()
}

describe('sign-in chain', () => {
  it('takes a registered user from the emailed temporary password through password change and TOTP enrolment to home, and nowhere else before', async () => {
    const t = createTestEnv()
    await registerUserWithTemporaryPassword(t.db, { email: 'new.admin@example.org', role: 'admin', now: t.clock.now(), actor: null, ip: null, baseUrl: t.config.baseUrl })
    const [mail] = emailsTo(t.db, 'new.admin@example.org')
    const temporary = temporaryPasswordFrom(mail!.textBody)
    expect(temporary.length).toBeGreaterThanOrEqual(16)

    const browser = t.client()
    let res = await browser.post('/login', { email: 'New.Admin@Example.org', password: temporary })
    expect(res.status).toBe(303)
    expect(res.headers.get('Location')).toBe('/password/change')

    // nothing else is reachable yet, htmx requests included
    for (const path of ['/', '/admin', '/mfa/setup', '/login/mfa']) {
      const r = await browser.get(path)
      expect(r.status, path).toBe(303)
      expect(r.headers.get('Location'), path).toBe('/password/change')
    }
    const hx = await browser.get('/admin', { 'HX-Request': 'true' })
    expect(hx.status).toBe(200)
    expect(hx.headers.get('HX-Redirect')).toBe('/password/change')

    res = await browser.post('/password/change', { current_password: temporary, new_password: GOOD_PASSWORD, confirm_password: GOOD_PASSWORD })
    expect(res.headers.get('Location')).toBe('/mfa/setup')
    expect((await browser.get('/')).headers.get('Location')).toBe('/mfa/setup')

    const setup = await browser.get('/mfa/setup')
    expect(setup.status).toBe(200)
    const page = await setup.text()
    expect(page).toContain('<svg')
    const secret = secretFromSetupPage(page)
    expect(secret).toMatch(/^[A-Z2-7]{32}$/) // 20 bytes
    // reloading keeps the same secret, so a code scanned earlier still works
    expect(secretFromSetupPage(await (await browser.get('/mfa/setup')).text())).toBe(secret)

    res = await browser.post('/mfa/setup', { code: '000000' === totpAt(secret, t.clock.now()) ? '111111' : '000000' })
    expect(res.status).toBe(422)
    res = await browser.post('/mfa/setup', { code: totpAt(secret, t.clock.now()) })
    expect(res.status).toBe(303)
    expect(res.headers.get('Location')).toBe('/')
    // the last step: recovery codes, shown once (src/routes/recovery-codes.test.ts)
    expect((await browser.get('/')).headers.get('Location')).toBe('/mfa/recovery-codes')
    expect((await browser.post('/mfa/recovery-codes')).status).toBe(200)
    const home = await browser.get('/')
    expect(home.status).toBe(200)
    expect(await home.text()).toContain('Welcome')
    expect((await browser.get('/admin')).status).toBe(200)

    const user = t.db.select().from(users).where(eq(users.email, 'new.admin@example.org')).get()!
    expect(user.mustChangePassword).toBe(false)
    expect(user.totpSecret).not.toContain(secret) // encrypted at rest
    expect(user.totpSecret).toMatch(/^v1:/)
    expect(events(t, 'mfa.enrolled')).toHaveLength(1)
    expect(events(t, 'password.changed')).toHaveLength(1)
    expect(events(t, 'signin.succeeded')).toHaveLength(1)
  })

  it('asks an enrolled user for a TOTP code before anything else', async () => {
    const t = createTestEnv()
    const u = await createTestUser(t)
    const browser = t.client()
    const res = await browser.post('/login', { email: u.user.email, password: u.password })
    expect(res.headers.get('Location')).toBe('/login/mfa')
    expect((await browser.get('/')).headers.get('Location')).toBe('/login/mfa')
    expect((await browser.get('/password/change')).headers.get('Location')).toBe('/login/mfa')
    expect((await browser.get('/mfa/setup')).headers.get('Location')).toBe('/login/mfa')
  })

  it('answers the same for an unknown email and a wrong password', async () => {
    const t = createTestEnv()
    const u = await createTestUser(t)
    const wrong = await t.client().post('/login', { email: u.user.email, password: 'not-the-password-at-all' })
    const unknown = await t.client().post('/login', { email: 'nobody@example.org', password: 'not-the-password-at-all' })
    expect(wrong.status).toBe(422)
    expect(unknown.status).toBe(422)
    const strip = (html: string) => html.replace(/value="[^"]*"/g, '')
    expect(strip(await wrong.text())).toBe(strip(await unknown.text()))
    expect(events(t, 'signin.failed')).toHaveLength(2)
  })

  it('refuses a replayed TOTP code, and accepts one step either side but not two', async () => {
    const t = createTestEnv()
    const u = await createTestUser(t)
    const code = totpAt(u.totpSecret!, t.clock.now())
    const first = t.client()
    await first.post('/login', { email: u.user.email, password: u.password })
    expect((await first.post('/login/mfa', { code })).headers.get('Location')).toBe('/')

    const second = t.client()
    await second.post('/login', { email: u.user.email, password: u.password })
    const replay = await second.post('/login/mfa', { code })
    expect(replay.status).toBe(422)
    expect(await replay.text()).toContain('already been used')
    expect(events(t, 'signin.failed').at(-1)!.details).toContain('totp replayed')

    t.clock.advance(60_000)
    const previousStep = totpAt(u.totpSecret!, t.clock.now() - 30_000)
    expect((await second.post('/login/mfa', { code: previousStep })).headers.get('Location')).toBe('/')

    const third = t.client()
    t.clock.advance(120_000)
    await third.post('/login', { email: u.user.email, password: u.password })
    expect((await third.post('/login/mfa', { code: totpAt(u.totpSecret!, t.clock.now() + 60_000) })).status).toBe(422)
    expect((await third.post('/login/mfa', { code: totpAt(u.totpSecret!, t.clock.now() + 30_000) })).headers.get('Location')).toBe('/')
  })

  it('slows down repeated failures, locks after 10 for 15 minutes, keeps the lock across a restart, and lets the right password in afterwards', async () => {
    const t = createTestEnv()
    const u = await createTestUser(t)
    const browser = t.client()
    for (let i = 1; i <= 10; i++) {
      const res = await browser.post('/login', { email: u.user.email, password: `wrong password ${i}` })
      expect(res.status, `attempt ${i}`).toBe(i === 10 ? 429 : 422)
      if (i === 3) {
        const early = await browser.post('/login', { email: u.user.email, password: u.password })
        expect(early.status).toBe(429) // growing wait: even the right password must wait
        expect(Number(early.headers.get('Retry-After'))).toBeGreaterThan(0)
      }
      t.clock.advance(61_000)
    }
    expect(events(t, 'signin.locked')).toHaveLength(1)

    // a restart: a new app over the same database still refuses
    const restarted = createApp({ ...t.deps })
    const res = await restarted.request('/login', { method: 'POST', body: new URLSearchParams({ email: u.user.email, password: u.password }), headers: { Origin: t.config.baseUrl, 'Content-Type': 'application/x-www-form-urlencoded' } })
    expect(res.status).toBe(429)
    const retryAfter = Number(res.headers.get('Retry-After'))
    expect(retryAfter).toBeGreaterThan(5 * 60)
    expect(retryAfter).toBeLessThanOrEqual(15 * 60)

    t.clock.advance(15 * MIN)
    await signIn(t, u, browser)
    expect((await browser.get('/')).status).toBe(200)
  })

  it('counts wrong TOTP codes towards the lockout and ends the half-done session when it locks', async () => {
    const t = createTestEnv({ LOCKOUT_THRESHOLD: '3' })
    const u = await createTestUser(t)
    const browser = t.client()
    await browser.post('/login', { email: u.user.email, password: u.password })
    const bad = totpAt(u.totpSecret!, t.clock.now() + 5 * 60_000)
    expect((await browser.post('/login/mfa', { code: bad })).status).toBe(422)
    t.clock.advance(61_000)
    expect((await browser.post('/login/mfa', { code: bad })).status).toBe(422)
    t.clock.advance(61_000)
    expect((await browser.post('/login/mfa', { code: bad })).status).toBe(429)
    expect((await browser.get('/')).headers.get('Location')).toBe('/login')
  })

  it('locks an unknown email exactly like a real one, so the lock reveals nothing', async () => {
    const t = createTestEnv({ LOCKOUT_THRESHOLD: '2' })
    const browser = t.client()
    expect((await browser.post('/login', { email: 'ghost@example.org', password: 'whatever-password' })).status).toBe(422)
    expect((await browser.post('/login', { email: 'ghost@example.org', password: 'whatever-password' })).status).toBe(429)
  })

  it('limits attempts per IP across accounts (20 at once, one more per second)', async () => {
    const t = createTestEnv()
    const sprayer = t.client('198.51.100.1')
    for (let i = 0; i < 20; i++) {
      expect((await sprayer.post('/login', { email: `victim${i}@example.org`, password: 'Spring2026!Spring' })).status).toBe(422)
    }
    const limited = await sprayer.post('/login', { email: 'victim99@example.org', password: 'Spring2026!Spring' })
    expect(limited.status).toBe(429)
    expect(limited.headers.get('Retry-After')).toBe('1')
    expect((await t.client('198.51.100.2').post('/login', { email: 'victim99@example.org', password: 'x-x-x-x-x-x-x' })).status).toBe(422)
    t.clock.advance(1_000)
    expect((await sprayer.post('/login', { email: 'victim98@example.org', password: 'Spring2026!Spring' })).status).toBe(422)
  })

  it('refuses a disabled account and an expired temporary password', async () => {
    const t = createTestEnv()
    const disabled = await createTestUser(t)
    t.db.update(users).set({ disabledAt: T0 }).where(eq(users.id, disabled.user.id)).run()
    const res = await t.client().post('/login', { email: disabled.user.email, password: disabled.password })
    expect(res.status).toBe(403)
    expect(await res.text()).toContain('disabled')

    await registerUserWithTemporaryPassword(t.db, { email: 'late@example.org', role: 'observer', now: t.clock.now(), actor: null, ip: null, baseUrl: t.config.baseUrl })
    const temporary = temporaryPasswordFrom(emailsTo(t.db, 'late@example.org')[0]!.textBody)
    t.clock.advance(7 * 24 * 60 * MIN + 1)
    const late = await t.client().post('/login', { email: 'late@example.org', password: temporary })
    expect(late.status).toBe(403)
    expect(await late.text()).toContain('temporary password has expired')
  })

  it('ends a session after 30 idle minutes and after 12 hours in any case', async () => {
    const t = createTestEnv()
    const u = await createTestUser(t)
    const browser = await signIn(t, u)
    t.clock.advance(29 * MIN)
    expect((await browser.get('/')).status).toBe(200)
    t.clock.advance(30 * MIN)
    expect((await browser.get('/')).headers.get('Location')).toBe('/login')

    const busy = await signIn(t, u, t.client())
    for (let i = 0; i < 12 * 3; i++) {
      t.clock.advance(20 * MIN)
      const res = await busy.get('/')
      if (i < 12 * 3 - 1) expect(res.status, `after ${(i + 1) * 20} minutes`).toBe(200)
      else expect(res.headers.get('Location')).toBe('/login')
    }
  })

  it('lists your sessions on the home page, marking this browser', async () => {
    const t = createTestEnv()
    const u = await createTestUser(t)
    await signIn(t, u, t.client('198.51.100.9'))
    const html = await (await (await signIn(t, u)).get('/')).text()
    expect(html.match(/\(this browser\)/g)).toHaveLength(1)
    expect(html).toContain('198.51.100.9')
  })

  it('signs out: the session is deleted, not just the cookie', async () => {
    const t = createTestEnv()
    const u = await createTestUser(t)
    const browser = await signIn(t, u)
    const cookie = [...browser.cookies].map(([k, v]) => `${k}=${v}`).join('; ')
    expect((await browser.post('/logout')).headers.get('Location')).toBe('/login')
    expect(t.db.select().from(sessions).where(eq(sessions.userId, u.user.id)).all()).toHaveLength(0)
    const replayedCookie = await t.client().get('/', { Cookie: cookie })
    expect(replayedCookie.headers.get('Location')).toBe('/login')
  })

  it('sends a user whose password is older than PASSWORD_MAX_AGE_DAYS to change it, after the TOTP step', async () => {
    const t = createTestEnv({ PASSWORD_MAX_AGE_DAYS: '90' })
    const u = await createTestUser(t)
    t.clock.advance(91 * 24 * 60 * MIN)
    const browser = t.client()
    expect((await browser.post('/login', { email: u.user.email, password: u.password })).headers.get('Location')).toBe('/login/mfa')
    expect((await browser.post('/login/mfa', { code: totpAt(u.totpSecret!, t.clock.now()) })).headers.get('Location')).toBe('/')
    expect((await browser.get('/')).headers.get('Location')).toBe('/password/change')
    const page = await (await browser.get('/password/change')).text()
    expect(page).toContain('expired')
    const res = await browser.post('/password/change', { current_password: u.password, new_password: OTHER_GOOD_PASSWORD, confirm_password: OTHER_GOOD_PASSWORD })
    expect(res.headers.get('Location')).toBe('/')
    expect((await browser.get('/')).status).toBe(200)
    expect(getUser(t.db, u.user.id).passwordChangedAt).toBe(t.clock.now())
  })

  it('keeps other users out of the admin home with a 403 that names the permission', async () => {
    const t = createTestEnv()
    const researcher = await createTestUser(t, { role: 'researcher' })
    const browser = await signIn(t, researcher)
    const res = await browser.get('/admin')
    expect(res.status).toBe(403)
    expect(await res.text()).toContain('admin.access')
  })
})
