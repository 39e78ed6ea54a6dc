// Accounts claimed through an identity provider have no local password (SPEC §10, issue 13 item 5):
// the password form answers them as a wrong password, "forgot password" names the provider
// instead of sending a reset link, and /password/change has nothing to change.
import { describe, expect, it } from 'vitest'
import { eq } from 'drizzle-orm'
import { createTestEnv, createTestUser, emailsTo, GOOD_PASSWORD, signIn, type TestEnv } from '../test/helpers.ts'
import { configureTestProvider } from '../test/oidc-world.ts'
import { auditEvents, identityProviders, passwordResetTokens, signInThrottles, userIdentities, users } from '../db/schema.ts'
import { createInvitation } from '../models/invitations.ts'
import { acceptInvitationWithIdentity } from '../models/invitation-identity.ts'
import { NO_LOCAL_PASSWORD } from '../auth/local-password.ts'
import { verifyPasswordHash } from '../auth/password.ts'
import { createSession } from '../auth/session.ts'
import { encryptSecret } from '../auth/encryption.ts'
import { generateTotpSecret } from '../auth/totp.ts'
import { isPasswordExpired, nextSignInStep } from '../auth/sign-in-chain.ts'

const EMAIL = 'claimed@hospital.example'

/** An account created by the real "Accept with Hospital" code (no network needed below the callback). */
async function passwordLess(env: Record<string, string> = {}) {
  const t = createTestEnv(env)
  const provider = await configureTestProvider(t, 'http://127.0.0.1:9')
  const invitation = createInvitation(
    t.db,
    { email: EMAIL, role: 'researcher', organization: '', groupId: null, groupRole: null, projectGrants: [] },
    { actor: null, now: t.clock.now(), ip: null, baseUrl: 'http://gatehouse.test', key: t.config.encryptionKey, ttlMs: 48 * 3_600_000, inviter: 'Admin' },
  )
  const outcome = acceptInvitationWithIdentity(t.db, invitation.id, { firstName: 'Cleo', lastName: 'Ames', username: 'cleo', provider, sub: 'cleo-sub', email: EMAIL }, { actor: null, now: t.clock.now(), ip: '127.0.0.1', baseUrl: 'http://gatehouse.test' })
  if (!outcome.ok) throw new Error(outcome.reason)
  const local = await createTestUser(t, { email: 'local@hospital.example' })
  return { t, user: outcome.user, local }
}

const failures = (t: TestEnv, email: string) => t.db.select().from(signInThrottles).where(eq(signInThrottles.email, email)).get()?.failures ?? 0
const reminders = (t: TestEnv) => emailsTo(t.db, EMAIL).filter((m) => m.subject === 'How you sign in to Gatehouse')
const body = async (res: Response) => (await res.text()).replace(/<input type="hidden"[^>]*>/g, '')

describe('the password form for an account without a local password', () => {
  it('gives exactly the wrong-password answer (status and page) and counts the failure', async () => {
    const { t, local } = await passwordLess()
    const wrong = await t.client().post('/login', { email: local.user.email, password: 'not-the-password-at-all' })
    const none = await t.client().post('/login', { email: EMAIL, password: 'not-the-password-at-all' })
    expect(none.status).toBe(wrong.status)
    expect(none.status).toBe(422)
    expect((await body(none)).replace(EMAIL, 'X')).toBe((await body(wrong)).replace(local.user.email, 'X'))
    expect(failures(t, EMAIL)).toBe(1)
    expect(t.db.select().from(auditEvents).where(eq(auditEvents.event, 'signin.failed')).all().at(-1)!.details).toContain('password')
  })

  it('the sentinel itself, and any other string, never verifies (and verifying it does not throw)', async () => {
    await expect(verifyPasswordHash(NO_LOCAL_PASSWORD, NO_LOCAL_PASSWORD)).resolves.toBe(false)
    const { t } = await passwordLess()
    for (const guess of [NO_LOCAL_PASSWORD, '', GOOD_PASSWORD]) {
      const res = await t.client().post('/login', { email: EMAIL, password: guess })
      expect(res.status).toBe(422)
    }
    expect(t.db.select().from(users).where(eq(users.email, EMAIL)).get()!.passwordHash).toBe(NO_LOCAL_PASSWORD)
  })

  it('locks after the threshold like wrong passwords do', async () => {
    const { t } = await passwordLess({ LOCKOUT_THRESHOLD: '3' })
    const statuses: number[] = []
    for (let i = 0; i < 4; i++) statuses.push((await t.client().post('/login', { email: EMAIL, password: `guess-number-${i}-abcdef` })).status)
    expect(statuses).toEqual([422, 422, 429, 429])
    expect(t.db.select().from(auditEvents).where(eq(auditEvents.event, 'signin.locked')).all()).toHaveLength(1)
  })
})

describe('"forgot password" for an account without a local password', () => {
  it('answers as for every address, and emails the provider’s name instead of a reset link', async () => {
    const { t, local } = await passwordLess()
    const pages = await Promise.all([EMAIL, local.user.email, 'nobody@hospital.example'].map(async (email) => {
      const res = await t.client().post('/password/forgot', { email })
      return [res.status, await body(res)] as const
    }))
    expect(new Set(pages.map((p) => p[0]))).toEqual(new Set([200]))
    expect(pages[0]![1]).toBe(pages[1]![1])
    expect(pages[0]![1]).toBe(pages[2]![1])
    const mail = reminders(t)
    expect(mail).toHaveLength(1)
    expect(mail[0]!.textBody).toContain('you sign in with Hospital')
    expect(mail[0]!.textBody).not.toContain('/password/reset/')
    expect(t.db.select().from(passwordResetTokens).where(eq(passwordResetTokens.userId, (await t.db.select().from(users).where(eq(users.email, EMAIL)).get())!.id)).all()).toHaveLength(0)
    // the local account still gets its reset link
    expect(emailsTo(t.db, local.user.email)[0]!.textBody).toContain('/password/reset/')
  })

  it('sends at most 3 in an hour, then again after the hour', async () => {
    const { t } = await passwordLess()
    for (let i = 0; i < 5; i++) expect((await t.client().post('/password/forgot', { email: EMAIL })).status).toBe(200)
    expect(reminders(t)).toHaveLength(3)
    expect(t.db.select().from(auditEvents).where(eq(auditEvents.event, 'password.reset_throttled')).all()).toHaveLength(2)
    t.clock.advance(60 * 60_000 + 1)
    await t.client().post('/password/forgot', { email: EMAIL })
    expect(reminders(t)).toHaveLength(4)
  })

  it('sends nothing for a disabled account', async () => {
    const { t, user } = await passwordLess()
    t.db.update(users).set({ disabledAt: t.clock.now() }).where(eq(users.id, user.id)).run()
    expect((await t.client().post('/password/forgot', { email: EMAIL })).status).toBe(200)
    expect(reminders(t)).toHaveLength(0)
  })
})

/** The password-less account, enrolled, with a full session signed in through its provider. */
async function signedIn() {
  const w = await passwordLess()
  const secret = generateTotpSecret()
  w.t.db.update(users).set({ totpSecret: encryptSecret(w.t.config.encryptionKey, secret), mfaEnrolledAt: w.t.clock.now(), recoveryCodesIssuedAt: w.t.clock.now() }).where(eq(users.id, w.user.id)).run()
  const { token } = createSession(w.t.db, { userId: w.user.id, now: w.t.clock.now(), mfaVerified: true, ip: '127.0.0.1', userAgent: 'test', authMethod: 'oidc:Hospital' })
  const client = w.t.client()
  client.cookies.set('session', token)
  return { ...w, client }
}

describe('/password/change for an account without a local password', () => {
  it('says the account signs in through its provider and offers no form', async () => {
    const { client } = await signedIn()
    const res = await client.get('/password/change')
    expect(res.status).toBe(200)
    const html = await res.text()
    expect(html).toContain('no Gatehouse password')
    expect(html).toContain('Hospital')
    expect(html).not.toContain('name="new_password"')
  })

  it('refuses a posted change (409) and sets no password', async () => {
    const { t, client, user } = await signedIn()
    const res = await client.post('/password/change', { current_password: NO_LOCAL_PASSWORD, new_password: 'violet-harbour-lantern-99', confirm_password: 'violet-harbour-lantern-99' })
    expect(res.status).toBe(409)
    expect(t.db.select().from(users).where(eq(users.id, user.id)).get()!.passwordHash).toBe(NO_LOCAL_PASSWORD)
  })

  it('a maximum password age never sends it to change a password it does not have', async () => {
    const { t, user } = await signedIn()
    const now = t.clock.now() + 400 * 86_400_000
    const row = t.db.select().from(users).where(eq(users.id, user.id)).get()!
    expect(isPasswordExpired(row, now, 90)).toBe(false)
    expect(isPasswordExpired({ ...row, passwordHash: '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA' }, now, 90)).toBe(true)
    expect(nextSignInStep(row, { mfaVerified: true } as never, now, 90)).toBeNull()
  })
})

describe('/account for an account without a local password', () => {
  const unlinkForms = (html: string) => [...html.matchAll(/action="\/account\/identities\/(\d+)\/unlink"/g)].map((m) => Number(m[1]))

  it('says it signs in through its provider, with no change-password link', async () => {
    const { client } = await signedIn()
    const html = await (await client.get('/account')).text()
    expect(html).toContain('id="account-no-password"')
    expect(html).toMatch(/you sign in with <strong>Hospital<\/strong>/)
    expect(html).not.toContain('href="/password/change"')
  })

  it('offers no unlink for its only identity (the route refuses it: 409); a second identity makes both unlinkable', async () => {
    const { t, client, user } = await signedIn()
    const only = t.db.select().from(userIdentities).where(eq(userIdentities.userId, user.id)).get()!
    const html = await (await client.get('/account')).text()
    expect(unlinkForms(html)).toEqual([])
    expect(html).toContain('Only way in')
    expect(html).toContain('id="linked-identities-only-way-in"')
    expect((await client.post(`/account/identities/${only.id}/unlink`, { confirm: 'yes' })).status).toBe(409)

    const second = await configureTestProvider(t, 'http://127.0.0.1:10', { name: 'University' })
    t.db.insert(userIdentities).values({ userId: user.id, providerId: second.id, sub: 'cleo-uni', linkedAt: t.clock.now() }).run()
    const both = await (await client.get('/account')).text()
    expect(unlinkForms(both)).toHaveLength(2)
    expect(both).not.toContain('Only way in')
  })

  it('an account with a password keeps the change link and the unlink button of its one identity', async () => {
    const { t, local } = await passwordLess()
    const provider = t.db.select().from(identityProviders).get()!
    const identity = t.db.insert(userIdentities).values({ userId: local.user.id, providerId: provider.id, sub: 'local-sub', linkedAt: t.clock.now() }).returning().get()
    const client = await signIn(t, local)
    const html = await (await client.get('/account')).text()
    expect(html).toContain('href="/password/change"')
    expect(html).not.toContain('id="account-no-password"')
    expect(unlinkForms(html)).toEqual([identity.id])
  })
})
