import { describe, expect, it } from 'vitest'
import { eq } from 'drizzle-orm'
import { createTestEnv, createTestUser, emailsTo, getUser, signIn, totpAt, BASE_URL, GOOD_PASSWORD, OTHER_GOOD_PASSWORD, type TestEnv } from '../test/helpers.ts'
import { auditEvents, recoveryCodes } from '../db/schema.ts'
import { decryptSecret } from '../auth/encryption.ts'
import { issueRecoveryCodes } from '../auth/recovery-codes.ts'

// The security notifications of SPEC §12 that the account's own changes and an admin's send,
// each read from the outbox row queued with the change.

function notices(t: TestEnv, to: string) {
  return emailsTo(t.db, to).filter((m) => m.subject.startsWith('Gatehouse security: '))
}

function expectNotice(t: TestEnv, to: string, subject: string, ip: string) {
  const found = notices(t, to).filter((m) => m.subject === `Gatehouse security: ${subject}`)
  expect(found, notices(t, to).map((m) => m.subject).join(', ')).toHaveLength(1)
  const [mail] = found
  expect(mail!.textBody).toContain(`from ${ip}`)
  expect(mail!.textBody).toContain(`${BASE_URL}/account`)
  expect(mail!.textBody).toContain('If it was not, change your password now')
  return mail!
}

describe('security notices', () => {
  it('a password changed by the user at /password/change (and none for a refused change)', async () => {
    const t = createTestEnv()
    const u = await createTestUser(t)
    const client = await signIn(t, u)
    await signIn(t, u, t.client('198.51.100.30'))
    const wrong = await client.post('/password/change', { current_password: 'not-my-password', new_password: OTHER_GOOD_PASSWORD, confirm_password: OTHER_GOOD_PASSWORD })
    expect(wrong.status).toBe(422)
    expect(notices(t, u.user.email)).toHaveLength(0)
    const res = await client.post('/password/change', { current_password: GOOD_PASSWORD, new_password: OTHER_GOOD_PASSWORD, confirm_password: OTHER_GOOD_PASSWORD })
    expect(res.status).toBe(303)
    const mail = expectNotice(t, u.user.email, 'Your password was changed', client.ip)
    expect(mail.textBody).toContain('one other session was signed out')
  })

  it('a password changed through an emailed reset link', async () => {
    const t = createTestEnv()
    const u = await createTestUser(t)
    await t.client().post('/password/forgot', { email: u.user.email })
    const link = new URL(emailsTo(t.db, u.user.email)[0]!.textBody.match(/https?:\/\/\S+\/password\/reset\/\S+/)![0]).pathname
    const browser = t.client('198.51.100.31')
    expect((await browser.post(link, { new_password: OTHER_GOOD_PASSWORD, confirm_password: OTHER_GOOD_PASSWORD })).status).toBe(303)
    expectNotice(t, u.user.email, 'Your password was reset', '198.51.100.31')
    // the spent link sends nothing more
    expect((await browser.post(link, { new_password: GOOD_PASSWORD + '-x', confirm_password: GOOD_PASSWORD + '-x' })).status).toBe(410)
    expect(notices(t, u.user.email)).toHaveLength(1)
  })

  it('a temporary password issued by an admin', async () => {
    const t = createTestEnv()
    const admin = await createTestUser(t, { role: 'admin' })
    const target = await createTestUser(t)
    const client = await signIn(t, admin, t.client('198.51.100.32'))
    expect((await client.post(`/admin/users/${target.user.id}/reset-password`)).status).toBe(200) // the question first
    expect(notices(t, target.user.email)).toHaveLength(0)
    expect((await client.post(`/admin/users/${target.user.id}/reset-password`, { confirm: 'yes' })).status).toBe(303)
    const mail = expectNotice(t, target.user.email, 'An administrator issued you a temporary password', '198.51.100.32')
    expect(mail.carriesSecret).toBe(false) // the password itself is only in the other email
    expect(mail.textBody).not.toMatch(/password: \S{16,}/)
  })

  it('the first authenticator enrolled (second factor added), not for a wrong code', async () => {
    const t = createTestEnv()
    const u = await createTestUser(t, { enrolled: false })
    const client = t.client('198.51.100.33')
    expect((await client.post('/login', { email: u.user.email, password: u.password })).headers.get('Location')).toBe('/mfa/setup')
    expect((await client.get('/mfa/setup')).status).toBe(200)
    const secret = decryptSecret(t.config.encryptionKey, getUser(t.db, u.user.id).totpPendingSecret!)!
    expect((await client.post('/mfa/setup', { code: '000000' === totpAt(secret, t.clock.now()) ? '111111' : '000000' })).status).toBe(422)
    expect(notices(t, u.user.email)).toHaveLength(0)
    expect((await client.post('/mfa/setup', { code: totpAt(secret, t.clock.now()) })).status).toBe(303)
    expectNotice(t, u.user.email, 'A second factor was added to your account', '198.51.100.33')
  })

  it('second factors reset by an admin: TOTP and recovery codes cleared, sessions ended, the user told', async () => {
    const t = createTestEnv()
    const admin = await createTestUser(t, { role: 'admin' })
    const target = await createTestUser(t)
    issueRecoveryCodes(t.db, target.user.id, t.clock.now())
    const theirs = await signIn(t, target, t.client('198.51.100.40'))
    const client = await signIn(t, admin, t.client('198.51.100.34'))
    expect((await client.post(`/admin/users/${target.user.id}/reset-mfa`, { confirm: 'yes' })).status).toBe(303)
    const after = getUser(t.db, target.user.id)
    expect(after.totpSecret).toBeNull()
    expect(after.recoveryCodesIssuedAt).toBeNull()
    expect(t.db.select().from(recoveryCodes).where(eq(recoveryCodes.userId, target.user.id)).all()).toEqual([])
    expect((await theirs.get('/')).headers.get('Location')).toBe('/login')
    expectNotice(t, target.user.email, 'Your second factors were reset by an administrator', '198.51.100.34')
  })

  it('an account locked after failed sign-ins: 12 wrong passwords send exactly one email', async () => {
    const t = createTestEnv()
    const u = await createTestUser(t)
    const statuses: number[] = []
    for (let i = 0; i < 12; i++) {
      statuses.push((await t.client(`198.51.100.${50 + i}`).post('/login', { email: u.user.email, password: 'wrong-password-xyz' })).status)
      t.clock.advance(61_000) // past the growing wait, inside the 15-minute lock
    }
    expect(statuses.slice(0, 9).every((s) => s === 422)).toBe(true)
    expect(statuses.slice(9)).toEqual([429, 429, 429])
    expect(t.db.select().from(auditEvents).where(eq(auditEvents.event, 'signin.locked')).all()).toHaveLength(1)
    const mail = expectNotice(t, u.user.email, 'Sign-in to your account was locked', '198.51.100.59')
    expect(mail.textBody).toContain('locked for 15 minutes')
  })

  it('parallel wrong attempts still send exactly one lock email; a later lock sends another', async () => {
    const t = createTestEnv({ LOCKOUT_THRESHOLD: '3' })
    const u = await createTestUser(t)
    const burst = await Promise.all(Array.from({ length: 12 }, (_, i) => t.client(`198.51.100.${100 + i}`).post('/login', { email: u.user.email, password: `wrong-password-${i}` })))
    expect(burst.filter((r) => r.status === 429).length).toBeGreaterThanOrEqual(9)
    expect(notices(t, u.user.email)).toHaveLength(1)
    t.clock.advance(16 * 60_000) // the lock has run out; three more failures lock again
    for (let i = 0; i < 3; i++) {
      await t.client(`198.51.100.${150 + i}`).post('/login', { email: u.user.email, password: 'wrong-password-again' })
    }
    expect(notices(t, u.user.email)).toHaveLength(2)
  })

  it('no lock email for an address without an account', async () => {
    const t = createTestEnv({ LOCKOUT_THRESHOLD: '3' })
    for (let i = 0; i < 3; i++) await t.client(`198.51.100.${200 + i}`).post('/login', { email: 'nobody@example.org', password: 'wrong-password-xyz' })
    expect(t.db.select().from(auditEvents).where(eq(auditEvents.event, 'signin.locked')).all()).toHaveLength(1)
    expect(emailsTo(t.db, 'nobody@example.org')).toEqual([])
  })
})
