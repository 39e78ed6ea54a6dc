import { describe, expect, it } from 'vitest'
import { eq } from 'drizzle-orm'
import { createTestEnv, createTestUser, signIn, totpAt, emailsTo, getUser, GOOD_PASSWORD, OTHER_GOOD_PASSWORD } from '../test/helpers.ts'
import { auditEvents, sessions } from '../db/schema.ts'
import { verifyPasswordHash } from '../auth/password.ts'

const MIN = 60_000

function resetLinkFrom(text: string): string {
  const url = text.match(/https?:\/\/\S+\/password\/reset\/\S+/)?.[0]
  if (!url) throw new Error('no reset link in the email')
  return new URL(url).pathname
}

describe('changing your own password', () => {
  it('refuses with a per-field message: wrong current password, too short, common, sequence, repetition, own email, mismatch', async () => {
    const t = createTestEnv()
    const u = await createTestUser(t, { email: 'grace.hopper@example.org' })
    const browser = await signIn(t, u)
    const cases: [Record<string, string>, string, string][] = [
      [{ current_password: 'not-my-password!!', new_password: OTHER_GOOD_PASSWORD, confirm_password: OTHER_GOOD_PASSWORD }, 'current_password', 'not your current password'],
      [{ current_password: u.password, new_password: 'short-one', confirm_password: 'short-one' }, 'new_password', 'at least 12'],
      [{ current_password: u.password, new_password: 'x'.repeat(257), confirm_password: 'x'.repeat(257) }, 'new_password', 'at most 256'],
      [{ current_password: u.password, new_password: 'qwertyuiop123', confirm_password: 'qwertyuiop123' }, 'new_password', 'common'],
      [{ current_password: u.password, new_password: 'password2024!', confirm_password: 'password2024!' }, 'new_password', 'common password'],
      [{ current_password: u.password, new_password: 'abcdefghijklmn', confirm_password: 'abcdefghijklmn' }, 'new_password', 'sequence'],
      [{ current_password: u.password, new_password: 'bluebluebluebluebl'.slice(0, 16), confirm_password: 'bluebluebluebluebl'.slice(0, 16) }, 'new_password', 'repeats'],
      [{ current_password: u.password, new_password: 'my-grace.hopper-pass', confirm_password: 'my-grace.hopper-pass' }, 'new_password', 'email'],
      [{ current_password: u.password, new_password: 'gatehouse-is-my-castle', confirm_password: 'gatehouse-is-my-castle' }, 'new_password', 'Gatehouse'],
      [{ current_password: u.password, new_password: OTHER_GOOD_PASSWORD, confirm_password: OTHER_GOOD_PASSWORD + 'x' }, 'confirm_password', 'do not match'],
      [{ current_password: u.password, new_password: u.password, confirm_password: u.password }, 'new_password', 'different'],
    ]
    for (const [fields, field, message] of cases) {
      const res = await browser.post('/password/change', fields)
      expect(res.status, message).toBe(422)
      const html = await res.text()
      const error = html.match(new RegExp(`id="f-${field}-error"[^>]*>([^<]*)<`))?.[1] ?? ''
      expect(error.toLowerCase(), message).toContain(message.toLowerCase())
    }
    expect(await verifyPasswordHash(getUser(t.db, u.user.id).passwordHash, u.password)).toBe(true)
  })

  it('keeps the current session and ends every other one', async () => {
    const t = createTestEnv()
    const u = await createTestUser(t)
    const laptop = await signIn(t, u)
    const phone = await signIn(t, u, t.client())
    const res = await laptop.post('/password/change', { current_password: u.password, new_password: OTHER_GOOD_PASSWORD, confirm_password: OTHER_GOOD_PASSWORD })
    expect(res.status).toBe(303)
    expect((await laptop.get('/')).status).toBe(200)
    expect((await phone.get('/')).headers.get('Location')).toBe('/login')
    expect(t.db.select().from(sessions).where(eq(sessions.userId, u.user.id)).all()).toHaveLength(1)
    expect(await verifyPasswordHash(getUser(t.db, u.user.id).passwordHash, OTHER_GOOD_PASSWORD)).toBe(true)
  })
})

describe('forgot password', () => {
  it('answers the same whether or not the email exists, and emails only a real account', async () => {
    const t = createTestEnv()
    const u = await createTestUser(t)
    const known = await t.client().post('/password/forgot', { email: u.user.email.toUpperCase() })
    const unknown = await t.client().post('/password/forgot', { email: 'nobody@example.org' })
    expect(known.status).toBe(200)
    expect(unknown.status).toBe(200)
    expect(await known.text()).toBe(await unknown.text())
    expect(emailsTo(t.db, u.user.email)).toHaveLength(1)
    expect(emailsTo(t.db, 'nobody@example.org')).toHaveLength(0)
  })

  it('resets with the emailed link once, ends every session, and still requires TOTP afterwards', async () => {
    const t = createTestEnv()
    const u = await createTestUser(t)
    const oldSession = await signIn(t, u)
    await t.client().post('/password/forgot', { email: u.user.email })
    const mail = emailsTo(t.db, u.user.email)[0]!
    const link = resetLinkFrom(mail.textBody)
    expect(mail.htmlBody).toContain(link)
    expect(link.length).toBeGreaterThan('/password/reset/'.length + 30) // 160-bit token

    const browser = t.client()
    expect((await browser.get(link)).status).toBe(200)
    const weak = await browser.post(link, { new_password: 'password', confirm_password: 'password' })
    expect(weak.status).toBe(422)
    const res = await browser.post(link, { new_password: OTHER_GOOD_PASSWORD, confirm_password: OTHER_GOOD_PASSWORD })
    expect(res.status).toBe(303)
    expect(res.headers.get('Location')).toBe('/login')
    expect((await oldSession.get('/')).headers.get('Location')).toBe('/login')

    const reused = await browser.post(link, { new_password: GOOD_PASSWORD + '-again', confirm_password: GOOD_PASSWORD + '-again' })
    expect(reused.status).toBe(410)
    expect((await browser.get(link)).status).toBe(410)
    expect(await verifyPasswordHash(getUser(t.db, u.user.id).passwordHash, OTHER_GOOD_PASSWORD)).toBe(true)

    const login = await browser.post('/login', { email: u.user.email, password: OTHER_GOOD_PASSWORD })
    expect(login.headers.get('Location')).toBe('/login/mfa')
    expect((await browser.post('/login/mfa', { code: totpAt(u.totpSecret!, t.clock.now()) })).headers.get('Location')).toBe('/')
    expect(t.db.select().from(auditEvents).where(eq(auditEvents.event, 'password.reset')).all()).toHaveLength(1)
  })

  it('refuses a link older than one hour, and an unknown one, with the same dead-end page', async () => {
    const t = createTestEnv()
    const u = await createTestUser(t)
    await t.client().post('/password/forgot', { email: u.user.email })
    const link = resetLinkFrom(emailsTo(t.db, u.user.email)[0]!.textBody)
    t.clock.advance(59 * MIN)
    expect((await t.client().get(link)).status).toBe(200)
    t.clock.advance(2 * MIN)
    const expired = await t.client().post(link, { new_password: OTHER_GOOD_PASSWORD, confirm_password: OTHER_GOOD_PASSWORD })
    expect(expired.status).toBe(410)
    const unknown = await t.client().get('/password/reset/' + 'a'.repeat(32))
    expect(unknown.status).toBe(410)
    expect(await unknown.text()).toBe(await (await t.client().get(link)).text())
    expect(await verifyPasswordHash(getUser(t.db, u.user.id).passwordHash, u.password)).toBe(true)
  })
})
