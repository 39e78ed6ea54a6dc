// Finding 4 of issue 11: a used reset link kills the others; at most 3 reset emails per account
// per hour (answer byte-identical); invitation and security-code resends limited the same way.
import { describe, expect, it } from 'vitest'
import { desc, eq } from 'drizzle-orm'
import { createTestEnv, createTestUser, signIn, emailsTo, GOOD_PASSWORD, OTHER_GOOD_PASSWORD, type TestEnv } from '../test/helpers.ts'
import { invitations, passwordResetTokens } from '../db/schema.ts'
import { pruneExpiredRows } from '../models/housekeeping.ts'
import { hashToken, keyedTokenHash } from '../auth/tokens.ts'

const MIN = 60_000
const RESET_SUBJECT = /reset/i

function resetLinks(t: TestEnv, email: string): string[] {
  return emailsTo(t.db, email)
    .map((m) => m.textBody.match(/https?:\/\/\S+\/password\/reset\/\S+/)?.[0])
    .filter((u): u is string => u !== undefined)
    .map((u) => new URL(u).pathname)
}

describe('password reset links', () => {
  it('using one kills every other outstanding link of the account', async () => {
    const t = createTestEnv()
    const u = await createTestUser(t, { email: 'ada@example.org' })
    const browser = t.client()
    for (let i = 0; i < 3; i++) await browser.post('/password/forgot', { email: u.user.email })
    const [newest, middle, oldest] = resetLinks(t, u.user.email)
    expect(oldest).toBeDefined()
    expect((await browser.post(middle!, { new_password: OTHER_GOOD_PASSWORD, confirm_password: OTHER_GOOD_PASSWORD })).status).toBe(303)
    for (const link of [newest!, oldest!]) {
      expect((await browser.get(link)).status, link).toBe(410)
      expect((await browser.post(link, { new_password: 'another-fine-password-77', confirm_password: 'another-fine-password-77' })).status, link).toBe(410)
    }
  })

  it('sends at most 3 reset emails per account per hour, with a byte-identical answer whether sent, throttled or unknown', async () => {
    const t = createTestEnv()
    const u = await createTestUser(t, { email: 'ada@example.org' })
    const browser = t.client()
    const bodies: string[] = []
    for (let i = 0; i < 5; i++) {
      const res = await browser.post('/password/forgot', { email: u.user.email })
      expect(res.status).toBe(200)
      bodies.push(await res.text())
      t.clock.advance(MIN)
    }
    const unknown = await browser.post('/password/forgot', { email: 'nobody@example.org' })
    bodies.push(await unknown.text())
    expect(new Set(bodies).size).toBe(1)
    expect(emailsTo(t.db, u.user.email).filter((m) => RESET_SUBJECT.test(m.subject))).toHaveLength(3)
    t.clock.advance(60 * MIN)
    await browser.post('/password/forgot', { email: u.user.email })
    expect(emailsTo(t.db, u.user.email).filter((m) => RESET_SUBJECT.test(m.subject))).toHaveLength(4)
  })
})

describe('password reset links at rest', () => {
  it('are stored under a keyed hash (HMAC with the server key), not a bare SHA-256', async () => {
    const t = createTestEnv()
    const u = await createTestUser(t, { email: 'ada@example.org' })
    await t.client().post('/password/forgot', { email: u.user.email })
    const link = resetLinks(t, u.user.email)[0]!
    const token = link.split('/').pop()!
    const row = t.db.select().from(passwordResetTokens).get()!
    expect(row.tokenHash).not.toBe(hashToken(token))
    expect(row.tokenHash).toMatch(/^[0-9a-f]{64}$/)
    expect(row.tokenHash).toBe(keyedTokenHash(t.config.encryptionKey, token))
    // another server key gives another hash: the stored hash alone cannot be checked against guesses
    expect(keyedTokenHash(Buffer.alloc(32, 1), token)).not.toBe(row.tokenHash)
    expect((await t.client().get(link)).status).toBe(200)
  })

  it('housekeeping keeps used links of the last hour, so using one does not reset the hourly count', async () => {
    const t = createTestEnv()
    const u = await createTestUser(t, { email: 'ada@example.org' })
    const browser = t.client()
    for (let i = 0; i < 3; i++) await browser.post('/password/forgot', { email: u.user.email })
    const [link] = resetLinks(t, u.user.email)
    expect((await browser.post(link!, { new_password: OTHER_GOOD_PASSWORD, confirm_password: OTHER_GOOD_PASSWORD })).status).toBe(303)
    pruneExpiredRows(t.db, t.clock.now())
    await browser.post('/password/forgot', { email: u.user.email })
    expect(resetLinks(t, u.user.email)).toHaveLength(3)
  })
})

describe('invitation resends', () => {
  async function invited() {
    const t = createTestEnv({ SESSION_IDLE_MINUTES: '60000', SESSION_MAX_HOURS: '1000' })
    const admin = await signIn(t, await createTestUser(t, { role: 'admin', email: 'root@example.org' }))
    expect((await admin.post('/admin/invitations', { email: 'ada@example.org', role: 'researcher', organization: 'Leeds' })).status).toBe(303)
    const invitation = t.db.select().from(invitations).orderBy(desc(invitations.id)).get()!
    return { t, admin, invitation }
  }

  it('lets an administrator resend an invitation at most 3 times an hour, then answers 429 saying so', async () => {
    const { t, admin, invitation } = await invited()
    for (let i = 0; i < 3; i++) {
      expect((await admin.post(`/admin/invitations/${invitation.id}/resend`)).status).toBe(303)
      t.clock.advance(MIN)
    }
    const res = await admin.post(`/admin/invitations/${invitation.id}/resend`)
    expect(res.status).toBe(429)
    expect(await res.text()).toContain('sent 3 times in the last hour')
    expect(emailsTo(t.db, 'ada@example.org')).toHaveLength(4) // the invitation and 3 resends
    // also through "save and resend" on the edit form
    const edit = await admin.post(`/admin/invitations/${invitation.id}`, { role: 'researcher', organization: 'Leeds', resend: 'on' })
    expect(edit.status).toBe(429)
    expect(emailsTo(t.db, 'ada@example.org')).toHaveLength(4)
    t.clock.advance(60 * MIN)
    expect((await admin.post(`/admin/invitations/${invitation.id}/resend`)).status).toBe(303)
  })

  it('emails at most 3 security codes per invitation per hour', async () => {
    const { t } = await invited()
    const token = emailsTo(t.db, 'ada@example.org')[0]!.textBody.match(/\/invite\/([a-z2-7]{32})\b/)![1]!
    const browser = t.client('198.51.100.4')
    const form = { first_name: 'Ada', last_name: 'Lovelace', username: 'ada_l', password: GOOD_PASSWORD, confirm_password: GOOD_PASSWORD }
    for (let i = 0; i < 3; i++) {
      await browser.get(`/invite/${token}`)
      expect((await browser.post(`/invite/${token}`, form)).status).toBe(200)
      t.clock.advance(MIN)
    }
    await browser.get(`/invite/${token}`)
    const fourth = await browser.post(`/invite/${token}`, form)
    expect(fourth.status).toBe(429)
    expect(await fourth.text()).toContain('security codes')
    expect(emailsTo(t.db, 'ada@example.org').filter((m) => m.subject === 'Your Gatehouse security code')).toHaveLength(3)
    t.clock.advance(60 * MIN)
    await browser.get(`/invite/${token}`)
    expect((await browser.post(`/invite/${token}`, form)).status).toBe(200)
  })
})
