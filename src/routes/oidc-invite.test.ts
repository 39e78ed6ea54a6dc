// "Accept with <provider>" on /invite/:token against a real OpenID provider (SPEC §10 (a)).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eq } from 'drizzle-orm'
import { readFileSync } from 'node:fs'
import { createTestEnv, createTestUser, emailsTo, type TestEnv } from '../test/helpers.ts'
import { configureTestProvider, providerUrlOf, startTestOidcProvider, viaProvider, type TestOidcProvider } from '../test/oidc-world.ts'
import { auditEvents, groupMembers, groups, invitations, projectMembers, sessions, userIdentities, users, type Invitation } from '../db/schema.ts'
import { createInvitation, invitationToken } from '../models/invitations.ts'
import { hasLocalPassword, NO_LOCAL_PASSWORD } from '../auth/local-password.ts'
import { applyConsortiumStructure } from '../models/consortium.ts'
import { planImport } from '../import/plan.ts'
import { applyImport } from '../import/apply.ts'

const INVITEE = 'invitee@hospital.example'
let idp: TestOidcProvider

beforeAll(async () => {
  idp = await startTestOidcProvider({
    invitee: { email: INVITEE, email_verified: true },
    shouty: { email: 'Invitee@Hospital.Example', email_verified: true },
    other: { email: 'someone.else@hospital.example', email_verified: true },
    unverified: { email: INVITEE, email_verified: false },
    ann: { email: 'ann@alpha.edu', email_verified: true },
    // U+212A KELVIN SIGN: JavaScript's toLowerCase() makes it an ASCII "k", but it is another mailbox
    lookalike: { email: '\u212Aim@hospital.example', email_verified: true },
  })
})
afterAll(() => idp.close())

const FORM = { first_name: 'Ivy', last_name: 'Nguyen', username: 'ivy_n' }

async function world(opts: { trustMfa?: boolean } = {}) {
  const t = createTestEnv()
  const provider = await configureTestProvider(t, idp.issuer, opts)
  const inviter = await createTestUser(t, { role: 'admin', email: 'inviter@example.org' })
  const group = t.db.insert(groups).values({ name: 'Leeds', createdAt: t.clock.now() }).returning().get()
  const invitation = createInvitation(
    t.db,
    { email: INVITEE, role: 'researcher', organization: 'Leeds Teaching Hospitals', groupId: group.id, groupRole: 'member', projectGrants: [] },
    { actor: { id: inviter.user.id, email: inviter.user.email }, now: t.clock.now(), ip: null, baseUrl: 'http://gatehouse.test', key: t.config.encryptionKey, ttlMs: 48 * 3_600_000, inviter: 'Inviter' },
  )
  const token = invitationToken(t.config.encryptionKey, invitation.tokenSalt)
  return { t, provider, invitation, token, group }
}

const row = (t: TestEnv, id: number): Invitation => t.db.select().from(invitations).where(eq(invitations.id, id)).get()!
const invitee = (t: TestEnv) => t.db.select().from(users).where(eq(users.email, INVITEE)).get() ?? null
const events = (t: TestEnv, event: string) => t.db.select().from(auditEvents).where(eq(auditEvents.event, event)).all()

function expectNothingCreated(t: TestEnv, invitationId: number) {
  expect(invitee(t)).toBeNull()
  expect(t.db.select().from(userIdentities).all()).toHaveLength(0)
  expect(row(t, invitationId).status).not.toBe('accepted')
  expect(t.db.select().from(sessions).all()).toHaveLength(0)
}

describe('accepting an invitation with a provider', () => {
  it('the invitation page offers “Accept with …” per enabled provider, as a plain form button', async () => {
    const { t, provider, token } = await world()
    await configureTestProvider(t, idp.issuer, { name: 'Switched Off', enabled: false })
    const html = await (await t.client().get(`/invite/${token}`)).text()
    expect(html).toContain(`formaction="/invite/${token}/oidc"`)
    expect(html).toContain(`name="provider_id" value="${provider.id}"`)
    expect(html).toContain('Accept with Hospital')
    expect(html).not.toContain('Accept with Switched Off')
  })

  it('hands off to the provider without the invitation token in the provider URL', async () => {
    const { t, provider, token } = await world()
    const client = t.client()
    const res = await client.post(`/invite/${token}/oidc`, { ...FORM, provider_id: String(provider.id) })
    const url = providerUrlOf(res)
    expect(new URL(url).origin).toBe(idp.issuer)
    expect(url).not.toContain(token)
    expect(url).not.toContain('ivy_n')
    expect(res.headers.get('set-cookie')).toMatch(/gatehouse_oidc=.*HttpOnly/i)
    expect(await res.text()).toContain('Continue to Hospital')
  })

  it('a matching verified email (any case) creates the account claimed via the provider, without a password, grants applied, inviter emailed, then TOTP enrolment', async () => {
    const { t, provider, token, invitation, group } = await world()
    const client = t.client()
    const res = await client.get(await viaProvider(client, `/invite/${token}/oidc`, { ...FORM, provider_id: String(provider.id) }, 'shouty'))
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toBe('/mfa/setup')
    const user = invitee(t)!
    expect(user).toMatchObject({ claimedVia: 'Hospital', passwordHash: NO_LOCAL_PASSWORD, username: 'ivy_n', firstName: 'Ivy', lastName: 'Nguyen', role: 'researcher', organization: 'Leeds Teaching Hospitals' })
    expect(hasLocalPassword(user)).toBe(false)
    expect(t.db.select().from(userIdentities).where(eq(userIdentities.userId, user.id)).all()).toMatchObject([{ providerId: provider.id, sub: 'shouty', emailAtLink: INVITEE }])
    expect(t.db.select().from(groupMembers).where(eq(groupMembers.userId, user.id)).all()).toMatchObject([{ groupId: group.id, role: 'member' }])
    expect(row(t, invitation.id)).toMatchObject({ status: 'accepted', acceptedUserId: user.id })
    expect(emailsTo(t.db, 'inviter@example.org').some((m) => m.subject === 'Ivy Nguyen joined Gatehouse')).toBe(true)
    expect(emailsTo(t.db, INVITEE).some((m) => m.subject === 'Gatehouse security: Sign-in with Hospital was linked to your account')).toBe(true)
    const details = events(t, 'invitation.accepted')[0]!.details as unknown
    expect((typeof details === 'string' ? JSON.parse(details) : details).claimed_via).toBe('Hospital')
    expect(events(t, 'identity.linked')).toHaveLength(1)
    const session = t.db.select().from(sessions).where(eq(sessions.userId, user.id)).get()!
    expect(session).toMatchObject({ authMethod: 'oidc:Hospital', mfaVerified: false })
    // the enrolment page is the next step, as after any provider sign-in
    expect((await client.get('/mfa/setup')).status).toBe(200)
    expect((await client.get('/projects')).status).toBe(303)
  })

  it('with trust_mfa the new account still enrols Gatehouse’s factor', async () => {
    const { t, provider, token } = await world({ trustMfa: true })
    const client = t.client()
    const res = await client.get(await viaProvider(client, `/invite/${token}/oidc`, { ...FORM, provider_id: String(provider.id) }, 'invitee'))
    expect(res.headers.get('location')).toBe('/mfa/setup')
  })

  it('a different email at the provider is refused with 403; nothing is created and the invitation still works', async () => {
    const { t, provider, token, invitation } = await world()
    const client = t.client()
    const res = await client.get(await viaProvider(client, `/invite/${token}/oidc`, { ...FORM, provider_id: String(provider.id) }, 'other'))
    expect(res.status).toBe(403)
    const html = await res.text()
    expect(html).toContain('This is not the invited address')
    expect(html).toContain('someone.else@hospital.example')
    expectNothingCreated(t, invitation.id)
    expect(events(t, 'invitation.provider_refused')).toHaveLength(1)
    expect((await t.client().get(`/invite/${token}`)).status).toBe(200)
    // and it can still be accepted the right way
    const again = t.client()
    expect((await again.get(await viaProvider(again, `/invite/${token}/oidc`, { ...FORM, provider_id: String(provider.id) }, 'invitee'))).status).toBe(303)
    expect(invitee(t)).not.toBeNull()
  })

  it('a look-alike address at the provider ("\u212Aim@…", Kelvin sign) does not accept an invitation for kim@…', async () => {
    const { t, provider } = await world()
    const inviter = await createTestUser(t, { role: 'admin' })
    const kim = createInvitation(
      t.db,
      { email: 'kim@hospital.example', role: 'researcher', organization: 'Leeds Teaching Hospitals', groupId: null, groupRole: 'member', projectGrants: [] },
      { actor: { id: inviter.user.id, email: inviter.user.email }, now: t.clock.now(), ip: null, baseUrl: 'http://gatehouse.test', key: t.config.encryptionKey, ttlMs: 48 * 3_600_000, inviter: 'Inviter' },
    )
    const client = t.client()
    const res = await client.get(await viaProvider(client, `/invite/${invitationToken(t.config.encryptionKey, kim.tokenSalt)}/oidc`, { ...FORM, provider_id: String(provider.id) }, 'lookalike'))
    expect(res.status).toBe(403)
    expect(await res.text()).toContain('No account was created')
    expect(t.db.select().from(users).where(eq(users.email, 'kim@hospital.example')).get()).toBeUndefined()
    expect(t.db.select().from(userIdentities).all()).toHaveLength(0)
    expect(row(t, kim.id).status).not.toBe('accepted')
  })

  it('an unverified email is refused with 403 and nothing is created', async () => {
    const { t, provider, token, invitation } = await world()
    const client = t.client()
    const res = await client.get(await viaProvider(client, `/invite/${token}/oidc`, { ...FORM, provider_id: String(provider.id) }, 'unverified'))
    expect(res.status).toBe(403)
    expect(await res.text()).toContain('did not confirm your email address')
    expectNothingCreated(t, invitation.id)
  })

  it('an identity already linked to another account is refused with 409 and nothing is created', async () => {
    const { t, provider, token, invitation } = await world()
    const holder = await createTestUser(t, { email: 'holder@example.org' })
    t.db.insert(userIdentities).values({ userId: holder.user.id, providerId: provider.id, sub: 'invitee', linkedAt: t.clock.now() }).run()
    const client = t.client()
    const res = await client.get(await viaProvider(client, `/invite/${token}/oidc`, { ...FORM, provider_id: String(provider.id) }, 'invitee'))
    expect(res.status).toBe(409)
    expect(invitee(t)).toBeNull()
    expect(t.db.select().from(userIdentities).all()).toHaveLength(1)
    expect(row(t, invitation.id).status).not.toBe('accepted')
  })

  it('an invitation that expires while the person is at the provider is refused with 410', async () => {
    const { t, provider, token, invitation } = await world()
    const client = t.client()
    const callback = await viaProvider(client, `/invite/${token}/oidc`, { ...FORM, provider_id: String(provider.id) }, 'invitee')
    t.db.update(invitations).set({ expiresAt: t.clock.now() }).where(eq(invitations.id, invitation.id)).run()
    const res = await client.get(callback)
    expect(res.status).toBe(410)
    expectNothingCreated(t, invitation.id)
  })

  it('an expired, withdrawn or used invitation cannot start the provider flow', async () => {
    const { t, provider, token, invitation } = await world()
    t.db.update(invitations).set({ status: 'revoked' }).where(eq(invitations.id, invitation.id)).run()
    const res = await t.client().post(`/invite/${token}/oidc`, { ...FORM, provider_id: String(provider.id) })
    expect(res.status).toBe(410)
    expect(res.headers.get('refresh')).toBeNull()
    t.db.update(invitations).set({ status: 'sent', expiresAt: t.clock.now() - 1 }).where(eq(invitations.id, invitation.id)).run()
    expect((await t.client().post(`/invite/${token}/oidc`, { ...FORM, provider_id: String(provider.id) })).status).toBe(410)
  })

  it('an invitation accepted with a password meanwhile is refused at the callback', async () => {
    const { t, provider, token, invitation } = await world()
    const client = t.client()
    const callback = await viaProvider(client, `/invite/${token}/oidc`, { ...FORM, provider_id: String(provider.id) }, 'invitee')
    t.db.update(invitations).set({ status: 'accepted' }).where(eq(invitations.id, invitation.id)).run()
    expect((await client.get(callback)).status).toBe(410)
    expect(invitee(t)).toBeNull()
  })

  it('two parallel callbacks for the same invitation create exactly one account', async () => {
    const { t, provider, token } = await world()
    const a = t.client()
    const b = t.client()
    const [ca, cb] = await Promise.all([
      viaProvider(a, `/invite/${token}/oidc`, { ...FORM, provider_id: String(provider.id) }, 'invitee'),
      viaProvider(b, `/invite/${token}/oidc`, { ...FORM, provider_id: String(provider.id) }, 'invitee'),
    ])
    const answers = await Promise.all([a.get(ca), b.get(cb)])
    expect(answers.map((r) => r.status).sort()).toEqual([303, 410])
    expect(t.db.select().from(users).where(eq(users.email, INVITEE)).all()).toHaveLength(1)
    expect(t.db.select().from(userIdentities).all()).toHaveLength(1)
    expect(events(t, 'invitation.accepted')).toHaveLength(1)
  })

  it('invalid answers are refused with 422 (values kept) and nobody is sent to the provider', async () => {
    const { t, provider, token } = await world()
    const res = await t.client().post(`/invite/${token}/oidc`, { first_name: 'Ivy', last_name: '', username: 'x', provider_id: String(provider.id) })
    expect(res.status).toBe(422)
    expect(res.headers.get('refresh')).toBeNull()
    const html = await res.text()
    expect(html).toContain('Enter your last name.')
    expect(html).toContain('value="Ivy"')
  })

  it('an unknown or disabled provider is 404', async () => {
    const { t, token } = await world()
    const off = await configureTestProvider(t, idp.issuer, { name: 'Off', enabled: false })
    expect((await t.client().post(`/invite/${token}/oidc`, { ...FORM, provider_id: String(off.id) })).status).toBe(404)
    expect((await t.client().post(`/invite/${token}/oidc`, { ...FORM, provider_id: '99999' })).status).toBe(404)
  })

  it('a foreign Origin is refused', async () => {
    const { t, provider, token } = await world()
    const res = await t.client().post(`/invite/${token}/oidc`, { ...FORM, provider_id: String(provider.id) }, { Origin: 'https://evil.example' })
    expect(res.status).toBe(403)
    expect(res.headers.get('refresh')).toBeNull()
  })

  it('an invitation from the consortium import is accepted through the provider too', async () => {
    const t = createTestEnv()
    const provider = await configureTestProvider(t, idp.issuer)
    const admin = await createTestUser(t, { role: 'admin', email: 'coordinator@example.org' })
    const structure = { studies: { adrc: 'primary' as const }, dataTypes: ['form'], centres: { 1: { group: 'alpha', studies: ['adrc'] } }, adminGroup: 'nacc' }
    expect(applyConsortiumStructure(t.db, structure, { actor: { id: admin.user.id, email: admin.user.email }, now: t.clock.now(), ip: '' }).ok).toBe(true)
    const read = (name: string) => readFileSync(new URL(`../import/fixtures/${name}`, import.meta.url), 'utf8')
    const report = planImport(t.db, { usersYaml: read('directory/one-invite.yaml'), authYaml: read('auth/basic.yaml'), domainsYaml: null, now: t.clock.now() })
    expect(report.errors).toEqual([])
    applyImport(t.db, report, { actor: { id: admin.user.id, email: admin.user.email }, now: t.clock.now(), ip: '', baseUrl: 'http://gatehouse.test', key: t.config.encryptionKey, ttlMs: 48 * 3_600_000, inviter: 'Coordinator' })
    const imported = t.db.select().from(invitations).where(eq(invitations.email, 'ann@alpha.edu')).get()!
    const token = invitationToken(t.config.encryptionKey, imported.tokenSalt)
    const client = t.client()
    const form = await (await client.get(`/invite/${token}`)).text()
    expect(form).toContain('value="Ann"')
    const res = await client.get(await viaProvider(client, `/invite/${token}/oidc`, { first_name: 'Ann', last_name: 'Smith', username: 'ann_s', provider_id: String(provider.id) }, 'ann'))
    expect(res.headers.get('location')).toBe('/mfa/setup')
    const ann = t.db.select().from(users).where(eq(users.email, 'ann@alpha.edu')).get()!
    expect(ann).toMatchObject({ claimedVia: 'Hospital', contactEmail: 'ann.smith@alpha.edu', passwordHash: NO_LOCAL_PASSWORD })
    expect(imported.projectGrants.length).toBeGreaterThan(0)
    const granted = t.db.select().from(projectMembers).where(eq(projectMembers.userId, ann.id)).all()
    expect(granted.map((m) => ({ projectId: m.projectId, roleId: m.roleId }))).toEqual(imported.projectGrants)
  })
})

