import { describe, expect, it } from 'vitest'
import { desc, eq } from 'drizzle-orm'
import { createTestEnv, createTestUser, signIn, emailsTo, GOOD_PASSWORD, type TestClient, type TestEnv } from '../test/helpers.ts'
import { auditEvents, groupMembers, groups, invitations, projectMembers, projects, roles, sessions, users, type Invitation } from '../db/schema.ts'
import { hashToken, keyedTokenHash } from '../auth/tokens.ts'
import { verifyPasswordHash } from '../auth/password.ts'
import { registerUserWithTemporaryPassword } from '../models/users.ts'

// The invitee's side of SPEC §3.1: the emailed link, the acceptance form, the emailed
// tab-bound security token, the account it creates, and every dead end on the way.

const MIN = 60_000
const HOUR = 60 * MIN
const INVITEE = 'ada.lovelace@example.org'
const CODE_ALPHABET = /^[0-9A-HJKMNP-TV-Z]{6}$/ // Crockford's base32: 32 symbols, no I, L, O, U

type Env = TestEnv & { admin: TestClient; adminId: number }

async function setup(env: Record<string, string> = {}): Promise<Env> {
  const t = createTestEnv(env)
  const admin = await createTestUser(t, { role: 'admin', email: 'root@example.org' })
  t.db.update(users).set({ firstName: 'Grace', lastName: 'Hopper' }).where(eq(users.id, admin.user.id)).run()
  return Object.assign(t, { admin: await signIn(t, admin), adminId: admin.user.id })
}

function roleId(t: TestEnv, name: string): number {
  return t.db.select().from(roles).where(eq(roles.name, name)).get()!.id
}

function invitationRow(t: TestEnv, email = INVITEE): Invitation {
  return t.db.select().from(invitations).where(eq(invitations.email, email)).orderBy(desc(invitations.id)).get()!
}

function events(t: TestEnv, event: string) {
  return t.db.select().from(auditEvents).where(eq(auditEvents.event, event)).all()
}

/** The link token from the newest invitation email in the outbox. */
function linkTokenFromOutbox(t: TestEnv, email = INVITEE): string {
  const mail = emailsTo(t.db, email).find((m) => m.subject === 'You are invited to Gatehouse')
  if (!mail) throw new Error(`no invitation email to ${email}`)
  const match = mail.textBody.match(/\/invite\/([a-z2-7]{32})\b/)
  if (!match) throw new Error('no link in the invitation email')
  return match[1]!
}

/** The security code from the newest security-code email in the outbox. */
function codeFromOutbox(t: TestEnv, email = INVITEE): string {
  const mail = emailsTo(t.db, email).find((m) => m.subject === 'Your Gatehouse security code')
  if (!mail) throw new Error(`no security code email to ${email}`)
  return mail.textBody.match(/^ {4}(\S+)$/m)![1]!
}

function securityCodeEmails(t: TestEnv, email = INVITEE) {
  return emailsTo(t.db, email).filter((m) => m.subject === 'Your Gatehouse security code')
}

/** The value rendered into the verify page's hidden `tab` field. */
function tabFrom(html: string): string {
  const match = html.match(/<input type="hidden" name="tab" value="([^"]*)"/)
  if (!match) throw new Error('no hidden tab field on the page')
  return match[1]!
}

/** A code that is certainly not `code` (same shape). */
function wrongCode(code: string): string {
  return (code[0] === 'A' ? 'B' : 'A') + code.slice(1)
}

/** The admin invites INVITEE over HTTP; returns the link token read from the outbox. */
async function invite(t: Env, fields: Record<string, string | string[]> = {}): Promise<string> {
  const res = await t.admin.post('/admin/invitations', { email: INVITEE, role: 'researcher', organization: 'Leeds Teaching Hospitals', ...fields })
  expect(res.status).toBe(303)
  return linkTokenFromOutbox(t, typeof fields.email === 'string' ? fields.email.trim().toLowerCase() : INVITEE)
}

const FORM = { first_name: 'Ada', last_name: 'Lovelace', username: 'ada_l', password: GOOD_PASSWORD, confirm_password: GOOD_PASSWORD }

/** Opens the link and fills the form in `browser`; returns the verify page's tab value. */
async function fillForm(t: Env, token: string, browser: TestClient, fields: Partial<typeof FORM> = {}): Promise<string> {
  expect((await browser.get(`/invite/${token}`)).status).toBe(200)
  const res = await browser.post(`/invite/${token}`, { ...FORM, ...fields })
  expect(res.status).toBe(200)
  return tabFrom(await res.text())
}

describe('the invitation link: dead ends', () => {
  it('answers 404 for an unknown token, on every invitation route, without revealing anything', async () => {
    const t = await setup()
    const token = await invite(t)
    const unknown = 'a'.repeat(32)
    const browser = t.client()
    for (const res of [await browser.get(`/invite/${unknown}`), await browser.post(`/invite/${unknown}`, FORM), await browser.post(`/invite/${unknown}/verify`, { security_token: 'ABCDEF', tab: 'x' })]) {
      expect(res.status).toBe(404)
      const html = await res.text()
      expect(html).toContain('This invitation link is not valid')
      expect(html).toContain('ask your Gatehouse administrator for a new invitation')
      expect(html).not.toContain(INVITEE)
      expect(html).not.toContain('Leeds')
      expect(html).not.toContain('name="first_name"')
      expect(html).not.toContain(token)
    }
    // a near miss of the real token is just as unknown
    expect((await browser.get(`/invite/${token.slice(0, -1)}${token.endsWith('a') ? 'b' : 'a'}`)).status).toBe(404)
    expect(invitationRow(t).status).toBe('sent')
    expect(events(t, 'invitation.link_visited')).toHaveLength(0)
  })

  it('answers 410 "expired" once 48 hours have passed (not a millisecond before), on the form and on the code', async () => {
    const t = await setup()
    const token = await invite(t)
    const browser = t.client()
    const tab = await fillForm(t, token, browser)
    const code = codeFromOutbox(t)
    t.clock.advance(48 * HOUR - 1 - (t.clock.now() - invitationRow(t).createdAt))
    expect((await t.client().get(`/invite/${token}`)).status).toBe(200)
    t.clock.advance(1)
    for (const res of [await browser.get(`/invite/${token}`), await browser.post(`/invite/${token}`, FORM), await browser.post(`/invite/${token}/verify`, { security_token: code, tab })]) {
      expect(res.status).toBe(410)
      const html = await res.text()
      expect(html).toContain('This invitation has expired')
      expect(html).toContain('Ask your Gatehouse administrator to send you a new invitation')
      expect(html).not.toContain('name="first_name"')
    }
    expect(t.db.select().from(users).where(eq(users.email, INVITEE)).get()).toBeUndefined()
  })

  it('answers 410 "withdrawn" at once after the admin deletes the invitation, even with a code outstanding', async () => {
    const t = await setup()
    const token = await invite(t)
    const browser = t.client()
    const tab = await fillForm(t, token, browser)
    const code = codeFromOutbox(t)
    expect((await t.admin.post(`/admin/invitations/${invitationRow(t).id}/delete`, { confirm: 'yes' })).status).toBe(303)
    for (const res of [await browser.post(`/invite/${token}/verify`, { security_token: code, tab }), await browser.get(`/invite/${token}`), await browser.post(`/invite/${token}`, FORM)]) {
      expect(res.status).toBe(410)
      const html = await res.text()
      expect(html).toContain('This invitation was withdrawn')
      expect(html).toContain('Ask your Gatehouse administrator for a new invitation if you still need one')
    }
    expect(t.db.select().from(users).where(eq(users.email, INVITEE)).get()).toBeUndefined()
    expect(invitationRow(t)).toMatchObject({ status: 'revoked', securityTokenHash: null, tabBindingHash: null, pendingPasswordHash: null })
  })

  it('answers 410 "already used" once accepted, and tells the invitee to sign in', async () => {
    const t = await setup()
    const token = await invite(t)
    const browser = t.client()
    const tab = await fillForm(t, token, browser)
    const code = codeFromOutbox(t)
    expect((await browser.post(`/invite/${token}/verify`, { security_token: code, tab })).status).toBe(303)
    const stranger = t.client('198.51.100.9')
    for (const res of [await stranger.get(`/invite/${token}`), await stranger.post(`/invite/${token}`, { ...FORM, username: 'someone' }), await browser.post(`/invite/${token}/verify`, { security_token: code, tab })]) {
      expect(res.status).toBe(410)
      const html = await res.text()
      expect(html).toContain('This invitation has already been used')
      expect(html).toContain('Sign in with its email address and password')
      expect(html).toContain('href="/login"')
    }
    expect(t.db.select().from(users).where(eq(users.email, INVITEE)).all()).toHaveLength(1)
    expect(events(t, 'invitation.accepted')).toHaveLength(1)
  })
})

describe('the acceptance form', () => {
  it('shows the invited address and the SPEC §7 fields with labels and autocomplete hints', async () => {
    const t = await setup()
    const token = await invite(t)
    const res = await t.client().get(`/invite/${token}`)
    expect(res.status).toBe(200)
    const html = await res.text()
    expect(html).toContain(INVITEE)
    expect(html).toContain(`action="/invite/${token}"`)
    for (const name of ['first_name', 'last_name', 'username', 'password', 'confirm_password']) {
      expect(html, name).toContain(`name="${name}"`)
      expect(html, name).toContain(`<label for="f-${name}"`)
    }
    expect(html).toMatch(/name="username"[^>]*autocomplete="username"/)
    expect(html).toMatch(/name="password"[^>]*autocomplete="new-password"/)
  })

  it('refuses each invalid answer with a per-field 422 that keeps the values (never the password), and sends no code', async () => {
    const t = await setup()
    const token = await invite(t)
    const taken = await createTestUser(t, { email: 'taken@example.org' })
    t.db.update(users).set({ username: 'Taken_Name' }).where(eq(users.id, taken.user.id)).run()
    const browser = t.client()
    await browser.get(`/invite/${token}`)

    const cases: [Partial<typeof FORM>, string, RegExp][] = [
      [{ username: 'a' }, 'username', /2 to 20 letters, digits/],
      [{ username: 'a'.repeat(21) }, 'username', /2 to 20 letters, digits/],
      [{ username: 'ada lovelace' }, 'username', /2 to 20 letters, digits/],
      [{ username: 'ada.l' }, 'username', /2 to 20 letters, digits/],
      [{ username: 'adä' }, 'username', /2 to 20 letters, digits/],
      [{ username: 'taken_NAME' }, 'username', /This username is taken/],
      [{ password: 'password1234', confirm_password: 'password1234' }, 'password', /(?:This password is too common|is a common password)/],
      [{ password: 'Zq9#xk', confirm_password: 'Zq9#xk' }, 'password', /Use at least 12 characters/],
      [{ username: 'lantern', password: GOOD_PASSWORD, confirm_password: GOOD_PASSWORD }, 'password', /The password may not contain your username/],
      [{ password: 'ada.lovelace-and-friends', confirm_password: 'ada.lovelace-and-friends' }, 'password', /The password may not contain your email address/],
      [{ confirm_password: `${GOOD_PASSWORD}x` }, 'confirm_password', /The two passwords do not match/],
      [{ first_name: '  ' }, 'first_name', /Enter your first name/],
      [{ last_name: '' }, 'last_name', /Enter your last name/],
    ]
    for (const [fields, field, message] of cases) {
      const res = await browser.post(`/invite/${token}`, { ...FORM, ...fields })
      const label = JSON.stringify(fields)
      expect(res.status, label).toBe(422)
      const html = await res.text()
      expect(html, label).toMatch(new RegExp(`id="f-${field}-error"[^>]*>${message.source}`))
      // the other fields keep what was typed; passwords are never echoed back
      if (field !== 'username') expect(html, label).toContain(`value="${fields.username ?? FORM.username}"`)
      if (field !== 'first_name') expect(html, label).toContain('value="Ada"')
      expect(html, label).not.toContain(fields.password ?? FORM.password)
      expect(html, label).not.toContain('name="tab"')
    }
    // widths at the edges are fine: 2 and 20 characters
    expect((await browser.post(`/invite/${token}`, { ...FORM, username: 'ab' })).status).toBe(200)
    expect((await browser.post(`/invite/${token}`, { ...FORM, username: 'A-b_'.padEnd(20, '9') })).status).toBe(200)
    expect(securityCodeEmails(t)).toHaveLength(2)
    expect(t.db.select().from(users).where(eq(users.email, INVITEE)).get()).toBeUndefined()
  })

  it('on a valid form, answers 200 with a hidden tab field and emails a 6-character code that is stored only as a hash', async () => {
    const t = await setup()
    const token = await invite(t)
    const browser = t.client()
    await browser.get(`/invite/${token}`)
    const res = await browser.post(`/invite/${token}`, FORM)
    expect(res.status).toBe(200) // not a redirect: the tab value exists only in this page
    const html = await res.text()
    const tab = tabFrom(html)
    expect(tab.length).toBeGreaterThanOrEqual(32)
    expect(html).toContain(`action="/invite/${token}/verify"`)
    expect(html).toContain('name="security_token"')
    expect(html).toMatch(/name="security_token"[^>]*autocomplete="one-time-code"/)
    expect(html).toContain(INVITEE)
    expect(html).not.toContain(GOOD_PASSWORD)

    const mails = securityCodeEmails(t)
    expect(mails).toHaveLength(1)
    const code = codeFromOutbox(t)
    expect(code).toMatch(CODE_ALPHABET)
    expect(mails[0]!.textBody).toContain('60 minutes')
    expect(html).not.toContain(code)

    const row = invitationRow(t)
    // the 6-character code is stored under a keyed hash (a bare SHA-256 of 30 bits is guessed offline)
    expect(row.securityTokenHash).toBe(keyedTokenHash(t.config.encryptionKey, code))
    expect(row.securityTokenHash).not.toBe(hashToken(code))
    expect(row.tabBindingHash).toBe(hashToken(tab))
    expect(row.securityTokenExpiresAt).toBe(t.clock.now() + 60 * MIN)
    expect(row.securityTokenFailures).toBe(0)
    expect(row).toMatchObject({ pendingFirstName: 'Ada', pendingLastName: 'Lovelace', pendingUsername: 'ada_l' })
    expect(await verifyPasswordHash(row.pendingPasswordHash!, GOOD_PASSWORD)).toBe(true)
    for (const [column, value] of Object.entries(row)) {
      expect(String(JSON.stringify(value)).toUpperCase(), column).not.toContain(code)
      expect(String(JSON.stringify(value)), column).not.toContain(tab)
      expect(String(JSON.stringify(value)), column).not.toContain(GOOD_PASSWORD)
    }
    for (const e of t.db.select().from(auditEvents).all()) expect(e.details.toUpperCase()).not.toContain(code)
    expect(events(t, 'invitation.security_token_sent')).toHaveLength(1)
    // nothing exists yet
    expect(t.db.select().from(users).where(eq(users.email, INVITEE)).get()).toBeUndefined()
    expect(row.status).toBe('link visited')
  })
})

describe('the security token', () => {
  it('counts wrong codes ("N tries left", keeping the tab), locks after 5 so that even the right code is refused, and reopening the link starts again', async () => {
    const t = await setup()
    const token = await invite(t)
    const browser = t.client()
    const tab = await fillForm(t, token, browser)
    const code = codeFromOutbox(t)
    for (const left of [4, 3, 2, 1]) {
      t.clock.advance(MIN) // past the per-account wait after repeated failures (shared with sign-in)
      const res = await browser.post(`/invite/${token}/verify`, { security_token: wrongCode(code), tab })
      expect(res.status).toBe(422)
      const html = await res.text()
      expect(html).toMatch(new RegExp(`id="f-security_token-error"[^>]*>That code is not right. ${left} (tries|try) left`))
      expect(tabFrom(html)).toBe(tab)
    }
    t.clock.advance(MIN)
    const fifth = await browser.post(`/invite/${token}/verify`, { security_token: wrongCode(code), tab })
    expect(fifth.status).toBe(429)
    expect(await fifth.text()).toContain('Too many wrong codes')
    t.clock.advance(MIN)
    const right = await browser.post(`/invite/${token}/verify`, { security_token: code, tab })
    expect(right.status).toBe(429)
    const lockedPage = await right.text()
    expect(lockedPage).toContain('Open the invitation link again')
    expect(lockedPage).toContain(`href="/invite/${token}"`)
    expect(t.db.select().from(users).where(eq(users.email, INVITEE)).get()).toBeUndefined()
    expect(events(t, 'invitation.security_token_failed')).toHaveLength(5)
    expect(invitationRow(t).securityTokenFailures).toBe(5)

    // reopening the link starts the form again: the old code is gone, a new one works
    t.clock.advance(MIN)
    const again = await browser.get(`/invite/${token}`)
    expect(again.status).toBe(200)
    expect(await again.text()).toContain('name="first_name"')
    expect(invitationRow(t)).toMatchObject({ securityTokenHash: null, tabBindingHash: null, pendingPasswordHash: null, securityTokenFailures: 0 })
    const stale = await browser.post(`/invite/${token}/verify`, { security_token: code, tab })
    expect(stale.status).toBe(303)
    expect(stale.headers.get('Location')).toBe(`/invite/${token}`)
    const tab2 = tabFrom(await (await browser.post(`/invite/${token}`, FORM)).text())
    const code2 = codeFromOutbox(t)
    expect(tab2).not.toBe(tab)
    const ok = await browser.post(`/invite/${token}/verify`, { security_token: code2, tab: tab2 })
    expect(ok.status).toBe(303)
    expect(ok.headers.get('Location')).toBe('/mfa/setup')
  })

  it('issues a new code on each form submit that replaces the old one: the old code is refused, the new one works', async () => {
    const t = await setup()
    const token = await invite(t)
    const browser = t.client()
    const tab1 = await fillForm(t, token, browser)
    const code1 = codeFromOutbox(t)
    const second = await browser.post(`/invite/${token}`, { ...FORM, username: 'ada_two' })
    expect(second.status).toBe(200)
    const tab2 = tabFrom(await second.text())
    const code2 = codeFromOutbox(t)
    expect(securityCodeEmails(t)).toHaveLength(2)
    expect(tab2).not.toBe(tab1)
    expect(invitationRow(t).securityTokenHash).toBe(keyedTokenHash(t.config.encryptionKey, code2))
    if (code1 !== code2) {
      const old = await browser.post(`/invite/${token}/verify`, { security_token: code1, tab: tab2 })
      expect(old.status).toBe(422)
      expect(await old.text()).toContain('4 tries left')
    }
    // the first page's tab no longer counts either
    expect((await browser.post(`/invite/${token}/verify`, { security_token: code2, tab: tab1 })).status).toBe(403)
    expect(t.db.select().from(users).where(eq(users.email, INVITEE)).get()).toBeUndefined()
    const ok = await browser.post(`/invite/${token}/verify`, { security_token: code2, tab: tab2 })
    expect(ok.status).toBe(303)
    // the answers of the latest form win
    expect(t.db.select().from(users).where(eq(users.email, INVITEE)).get()!.username).toBe('ada_two')
  })

  it('refuses the right code from another tab (another or no tab value) with 403, and creates no account', async () => {
    const t = await setup()
    const token = await invite(t)
    const browser = t.client()
    const tab = await fillForm(t, token, browser)
    const code = codeFromOutbox(t)
    const elsewhere = t.client() // a copied URL in another window: same code, no tab value of its own
    const attempts = [
      await browser.post(`/invite/${token}/verify`, { security_token: code, tab: 'b'.repeat(32) }),
      await browser.post(`/invite/${token}/verify`, { security_token: code }),
      await browser.post(`/invite/${token}/verify`, { security_token: code, tab: '' }),
      await elsewhere.post(`/invite/${token}/verify`, { security_token: code }),
    ]
    for (const res of attempts) {
      expect(res.status).toBe(403)
      const html = await res.text()
      expect(html).toContain('Use the tab where you filled in the form')
      expect(html).toContain(`href="/invite/${token}"`)
    }
    expect(t.db.select().from(users).where(eq(users.email, INVITEE)).get()).toBeUndefined()
    expect(t.db.select().from(sessions).all()).toHaveLength(1) // the admin's only
    expect(invitationRow(t).status).toBe('link visited')
    // back in the right tab, the same code still works
    const ok = await browser.post(`/invite/${token}/verify`, { security_token: code, tab })
    expect(ok.status).toBe(303)
  })

  it('refuses the code after 60 minutes with 410 (not before); reopening the link and submitting again gets a fresh one', async () => {
    const t = await setup()
    const token = await invite(t)
    const browser = t.client()
    const tab = await fillForm(t, token, browser)
    const code = codeFromOutbox(t)
    t.clock.advance(60 * MIN - 1)
    const early = await browser.post(`/invite/${token}/verify`, { security_token: wrongCode(code), tab })
    expect(early.status).toBe(422) // still live
    t.clock.advance(1)
    const late = await browser.post(`/invite/${token}/verify`, { security_token: code, tab })
    expect(late.status).toBe(410)
    const html = await late.text()
    expect(html).toContain('The security code has expired')
    expect(html).toContain('Open the invitation link again')
    expect(t.db.select().from(users).where(eq(users.email, INVITEE)).get()).toBeUndefined()
    const tab2 = await fillForm(t, token, browser)
    const ok = await browser.post(`/invite/${token}/verify`, { security_token: codeFromOutbox(t), tab: tab2 })
    expect(ok.status).toBe(303)
  })

  it('accepts the code typed in lower case, with spaces, and with O for 0 and I or L for 1', async () => {
    const t = await setup()
    const token = await invite(t)
    const browser = t.client()
    const tab = await fillForm(t, token, browser)
    // the code is random; plant a known one (as its hash) to exercise the confusable letters
    t.db.update(invitations).set({ securityTokenHash: keyedTokenHash(t.config.encryptionKey, 'K0B1Z1') }).where(eq(invitations.id, invitationRow(t).id)).run()
    const wrong = await browser.post(`/invite/${token}/verify`, { security_token: 'KUB1Z1', tab })
    expect(wrong.status).toBe(422)
    const ok = await browser.post(`/invite/${token}/verify`, { security_token: ' kob-lz i ', tab })
    expect(ok.status).toBe(303)
    expect(ok.headers.get('Location')).toBe('/mfa/setup')
  })

  it('accepts the real emailed code in lower case', async () => {
    const t = await setup()
    const token = await invite(t)
    const browser = t.client()
    const tab = await fillForm(t, token, browser)
    const typed = codeFromOutbox(t).toLowerCase().replaceAll('0', 'o').replaceAll('1', 'l')
    const ok = await browser.post(`/invite/${token}/verify`, { security_token: typed, tab })
    expect(ok.status).toBe(303)
  })

  it('refuses with 409 when the chosen username was taken between the form and the code, and creates nothing', async () => {
    const t = await setup()
    const token = await invite(t)
    const browser = t.client()
    const tab = await fillForm(t, token, browser)
    const other = await createTestUser(t, { email: 'quick@example.org' })
    t.db.update(users).set({ username: 'ADA_L' }).where(eq(users.id, other.user.id)).run()
    const res = await browser.post(`/invite/${token}/verify`, { security_token: codeFromOutbox(t), tab })
    expect(res.status).toBe(409)
    expect(await res.text()).toContain('That username was taken meanwhile')
    expect(t.db.select().from(users).where(eq(users.email, INVITEE)).get()).toBeUndefined()
    expect(invitationRow(t).status).toBe('link visited')
  })
})

describe('accepting', () => {
  it('creates the account with its role, names, username, organisation, password and memberships in one POST, emails the inviter and goes on to TOTP enrolment', async () => {
    const t = await setup()
    const owner = await createTestUser(t, { email: 'owner@example.org' })
    const group = t.db.insert(groups).values({ name: 'Leeds', createdAt: 0 }).returning().get()
    const p1 = t.db.insert(projects).values({ name: 'Cardiac MRI', ownerId: owner.user.id, groupId: group.id, createdAt: 0, updatedAt: 0 }).returning().get()
    const p2 = t.db.insert(projects).values({ name: 'Chest CT', ownerId: owner.user.id, createdAt: 0, updatedAt: 0 }).returning().get()
    const token = await invite(t, { role: 'viewer', group_id: String(group.id), group_role: 'group_admin', project_ids: [String(p1.id), String(p2.id)], project_role: 'read-only' })
    const browser = t.client()
    const tab = await fillForm(t, token, browser, { username: 'Ada_L' })
    const code = codeFromOutbox(t)
    const usersBefore = t.db.select().from(users).all().length
    t.clock.advance(5 * MIN)

    const res = await browser.post(`/invite/${token}/verify`, { security_token: code, tab })
    expect(res.status).toBe(303)
    expect(res.headers.get('Location')).toBe('/mfa/setup')
    expect(res.headers.getSetCookie().some((c) => /^session=/.test(c) && /HttpOnly/i.test(c))).toBe(true)

    const user = t.db.select().from(users).where(eq(users.email, INVITEE)).get()!
    expect(t.db.select().from(users).all()).toHaveLength(usersBefore + 1)
    expect(user).toMatchObject({ role: 'observer', firstName: 'Ada', lastName: 'Lovelace', username: 'Ada_L', organization: 'Leeds Teaching Hospitals', mustChangePassword: false, totpSecret: null, disabledAt: null, createdAt: t.clock.now() })
    expect(await verifyPasswordHash(user.passwordHash, GOOD_PASSWORD)).toBe(true)
    expect(t.db.select().from(groupMembers).where(eq(groupMembers.userId, user.id)).all()).toEqual([expect.objectContaining({ groupId: group.id, role: 'group_admin' })])
    const memberships = t.db.select().from(projectMembers).where(eq(projectMembers.userId, user.id)).all()
    expect(memberships.map((m) => [m.projectId, m.roleId]).sort()).toEqual([
      [p1.id, roleId(t, 'read-only')],
      [p2.id, roleId(t, 'read-only')],
    ])

    const row = invitationRow(t)
    expect(row).toMatchObject({ status: 'accepted', acceptedUserId: user.id, acceptedAt: t.clock.now(), securityTokenHash: null, tabBindingHash: null, pendingPasswordHash: null })
    const accepted = events(t, 'invitation.accepted')
    expect(accepted).toHaveLength(1)
    expect(accepted[0]).toMatchObject({ actorId: user.id, targetType: 'invitation', targetId: String(row.id) })
    expect(JSON.parse(accepted[0]!.details)).toMatchObject({ user_id: user.id, username: 'Ada_L', role: 'observer' })

    const [toInviter] = emailsTo(t.db, 'root@example.org')
    expect(toInviter!.subject).toBe('Ada Lovelace joined Gatehouse')
    expect(toInviter!.textBody).toContain('"Ada_L"')

    // the new user enrols next, in this very browser, and can reach nothing else first
    const setupPage = await browser.get('/mfa/setup')
    expect(setupPage.status).toBe(200)
    expect(await setupPage.text()).toContain('id="totp-uri"')
    const home = await browser.get('/')
    expect(home.status).toBe(303)
    expect(home.headers.get('Location')).toBe('/mfa/setup')
    const session = t.db.select().from(sessions).where(eq(sessions.userId, user.id)).get()!
    expect(session.mfaVerified).toBe(false)

    // the password works at /login (any case of the email), which also leads to enrolment
    const other = t.client('198.51.100.20')
    const login = await other.post('/login', { email: 'Ada.Lovelace@Example.org', password: GOOD_PASSWORD })
    expect(login.status).toBe(303)
    expect(login.headers.get('Location')).toBe('/mfa/setup')

    // the link is spent
    const again = await t.client('198.51.100.21').get(`/invite/${token}`)
    expect(again.status).toBe(410)
    expect(await again.text()).toContain('This invitation has already been used')
  })

  it('grants nothing beyond the role when the invitation names no group or project', async () => {
    const t = await setup()
    const token = await invite(t, { organization: '' })
    const browser = t.client()
    const tab = await fillForm(t, token, browser)
    expect((await browser.post(`/invite/${token}/verify`, { security_token: codeFromOutbox(t), tab })).status).toBe(303)
    const user = t.db.select().from(users).where(eq(users.email, INVITEE)).get()!
    expect(user).toMatchObject({ role: 'researcher', organization: '' })
    expect(t.db.select().from(groupMembers).where(eq(groupMembers.userId, user.id)).all()).toHaveLength(0)
    expect(t.db.select().from(projectMembers).where(eq(projectMembers.userId, user.id)).all()).toHaveLength(0)
  })
})

describe('an account for the invited address appearing meanwhile', () => {
  it('refuses to accept with a clear message (not a 500) when the CLI created an account for the invited email after the invitation', async () => {
    const t = await setup()
    const token = await invite(t)
    const browser = t.client()
    const tab = await fillForm(t, token, browser)
    // `npm run cli -- create-admin EMAIL` only checks for an existing account, not for an invitation
    await registerUserWithTemporaryPassword(t.db, { email: INVITEE, role: 'admin', now: t.clock.now(), actor: null, ip: null, baseUrl: t.config.baseUrl })
    const res = await browser.post(`/invite/${token}/verify`, { security_token: codeFromOutbox(t), tab })
    expect(res.status).not.toBe(500)
    expect([409, 410]).toContain(res.status)
    expect(t.db.select().from(users).where(eq(users.email, INVITEE)).all()).toHaveLength(1)
    expect(invitationRow(t).acceptedUserId).toBeNull()
  })
})

describe('an invitation made by a consortium import', () => {
  it('prefills the name from the directory, and the new account keeps the directory email as its second address', async () => {
    const t = await setup()
    const token = await invite(t)
    t.db.update(invitations).set({ firstName: 'Ada', lastName: 'Byron', contactEmail: 'ada.byron@alpha.edu' }).where(eq(invitations.email, INVITEE)).run()
    const browser = t.client()
    const html = await (await browser.get(`/invite/${token}`)).text()
    expect(html).toMatch(/name="first_name"[^>]*value="Ada"/)
    expect(html).toMatch(/name="last_name"[^>]*value="Byron"/)
    const res = await browser.post(`/invite/${token}`, { ...FORM, last_name: 'Lovelace' })
    const tab = tabFrom(await res.text())
    expect((await browser.post(`/invite/${token}/verify`, { security_token: codeFromOutbox(t), tab })).status).toBe(303)
    const user = t.db.select().from(users).where(eq(users.email, INVITEE)).get()!
    expect(user).toMatchObject({ lastName: 'Lovelace', contactEmail: 'ada.byron@alpha.edu', claimedVia: 'local' })
  })
})
