// The wrong-IdP check of SPEC §6.5 on accounts claimed for real: invitations accepted through a
// real OpenID provider (two provider configurations, "University of Michigan" and "ORCID") and
// one accepted with a password, then an import whose domain config expects the university.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import { createTestEnv, createTestUser, GOOD_PASSWORD, type TestEnv } from '../test/helpers.ts'
import { hashPassword } from '../auth/password.ts'
import { configureTestProvider, startTestOidcProvider, viaProvider, type TestOidcProvider } from '../test/oidc-world.ts'
import { users } from '../db/schema.ts'
import { createInvitation, invitationToken, startInvitationAcceptance, verifyInvitationSecurityToken } from '../models/invitations.ts'
import { applyConsortiumStructure } from '../models/consortium.ts'
import { planImport } from './plan.ts'

const UMICH = 'University of Michigan'
let idp: TestOidcProvider
beforeAll(async () => {
  idp = await startTestOidcProvider({
    wendy: { email: 'wendy@umich.edu', email_verified: true },
    bea: { email: 'bea@umich.edu', email_verified: true },
  })
})
afterAll(() => idp.close())

const DOMAINS = `
idp_domain:
  institutional_idp:
    - domain: umich.edu
      idp_name: ${UMICH}
  fallback_domains: [gmail.com]
  fallback_idp: ORCID
`
const entry = (email: string, first: string, last: string) => `- active: true
  adcid: 1
  auth_email: ${email}
  authorizations: { approve_data: false, audit_data: false, view_reports: true, study_id: adrc, submit: [] }
  email: ${email}
  name: { first_name: ${first}, last_name: ${last} }
  org_name: Alpha ADRC
`
const DIRECTORY = entry('wendy@umich.edu', 'Wendy', 'Orr') + entry('bea@umich.edu', 'Bea', 'Tate') + entry('zed@umich.edu', 'Zed', 'Ross')

function invite(t: TestEnv, email: string) {
  return createInvitation(t.db, { email, role: 'researcher', organization: 'Alpha ADRC', groupId: null, groupRole: null, projectGrants: [] }, { actor: null, now: t.clock.now(), ip: null, baseUrl: 'http://gatehouse.test', key: t.config.encryptionKey, ttlMs: 48 * 3_600_000, inviter: 'Admin' })
}

async function acceptThrough(t: TestEnv, providerId: number, email: string, login: string, username: string) {
  const token = invitationToken(t.config.encryptionKey, invite(t, email).tokenSalt)
  const client = t.client()
  const res = await client.get(await viaProvider(client, `/invite/${token}/oidc`, { first_name: login, last_name: 'X', username, provider_id: String(providerId) }, login))
  expect(res.headers.get('location')).toBe('/mfa/setup')
}

describe('wrong identity provider, on accounts claimed through real providers', () => {
  it('flags the account claimed through ORCID where the university is expected; not the one claimed through the university, never the password one', async () => {
    const t = createTestEnv()
    const umich = await configureTestProvider(t, idp.issuer, { name: UMICH })
    const orcid = await configureTestProvider(t, idp.issuer, { name: 'ORCID' })
    await acceptThrough(t, orcid.id, 'wendy@umich.edu', 'wendy', 'wendy')
    await acceptThrough(t, umich.id, 'bea@umich.edu', 'bea', 'bea')
    // zed accepts with a password (the security-code path)
    const zedInvitation = invite(t, 'zed@umich.edu')
    const { tabBinding, securityToken } = startInvitationAcceptance(t.db, zedInvitation, { firstName: 'Zed', lastName: 'Ross', username: 'zed', passwordHash: await hashPassword(GOOD_PASSWORD) }, { actor: null, now: t.clock.now(), ip: null, key: t.config.encryptionKey })
    expect(verifyInvitationSecurityToken(t.db, zedInvitation, { code: securityToken, tabBinding }, { actor: null, now: t.clock.now(), ip: null, key: t.config.encryptionKey }).ok).toBe(true)
    const claimed = Object.fromEntries(t.db.select({ email: users.email, via: users.claimedVia }).from(users).all().map((r) => [r.email, r.via]))
    expect(claimed).toMatchObject({ 'wendy@umich.edu': 'ORCID', 'bea@umich.edu': UMICH, 'zed@umich.edu': 'local' })

    const admin = await createTestUser(t, { role: 'admin' })
    const structure = { studies: { adrc: 'primary' as const }, dataTypes: ['form'], centres: { 1: { group: 'alpha', studies: ['adrc'] } }, adminGroup: 'nacc' }
    expect(applyConsortiumStructure(t.db, structure, { actor: { id: admin.user.id, email: admin.user.email }, now: t.clock.now(), ip: '' }).ok).toBe(true)
    const authYaml = readFileSync(new URL('./fixtures/auth/basic.yaml', import.meta.url), 'utf8')
    const report = planImport(t.db, { usersYaml: DIRECTORY, authYaml, domainsYaml: DOMAINS, now: t.clock.now() })
    expect(report.errors).toEqual([])
    expect(report.flags).toEqual([{ entry: 0, email: 'wendy@umich.edu', type: 'wrong_idp', matches: ['wendy@umich.edu'], message: `wendy@umich.edu was claimed through ORCID, but umich.edu expects ${UMICH}` }])
  })
})
