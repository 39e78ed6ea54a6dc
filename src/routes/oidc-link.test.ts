// Linking a provider identity from the account while signed in (SPEC §10 (b)), against a real provider.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eq } from 'drizzle-orm'
import { createTestEnv, createTestUser, emailsTo, signIn, type TestEnv } from '../test/helpers.ts'
import { configureTestProvider, startTestOidcProvider, viaProvider, loginAtProvider, type TestOidcProvider } from '../test/oidc-world.ts'
import { auditEvents, userIdentities } from '../db/schema.ts'

let idp: TestOidcProvider
beforeAll(async () => {
  idp = await startTestOidcProvider({ alice: { email: 'alice@hospital.example', email_verified: true } })
})
afterAll(() => idp.close())

async function world() {
  const t = createTestEnv()
  const provider = await configureTestProvider(t, idp.issuer)
  const u = await createTestUser(t, { email: 'alice@example.org' })
  const client = await signIn(t, u)
  return { t, provider, u, client }
}

const identities = (t: TestEnv) => t.db.select().from(userIdentities).all()
const events = (t: TestEnv, event: string) => t.db.select().from(auditEvents).where(eq(auditEvents.event, event)).all()

describe('linking a provider from the account', () => {
  it('the account page offers “Link <provider>” as a plain form, and lists the identity with an unlink form once linked', async () => {
    const { t, provider, u, client } = await world()
    const before = await (await client.get('/account')).text()
    expect(before).toContain('action="/account/identities/link"')
    expect(before).toContain(`name="provider_id" value="${provider.id}"`)
    expect(before).toContain('Link Hospital')
    const res = await client.get(await viaProvider(client, '/account/identities/link', { provider_id: String(provider.id), return_to: '/account' }, 'alice'))
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toBe('/account')
    expect(identities(t)).toMatchObject([{ userId: u.user.id, providerId: provider.id, sub: 'alice', emailAtLink: 'alice@hospital.example' }])
    expect(events(t, 'identity.linked')).toHaveLength(1)
    expect(JSON.stringify(events(t, 'identity.linked')[0]!.details)).toContain('account')
    expect(emailsTo(t.db, u.user.email).some((m) => m.subject === 'Gatehouse security: Sign-in with Hospital was linked to your account')).toBe(true)
    const after = await (await client.get('/account')).text()
    expect(after).toContain(`action="/account/identities/${identities(t)[0]!.id}/unlink"`)
    expect(after).not.toContain('Link Hospital')
    expect(after).toContain('is now linked')
  })

  it('the linked identity then signs the account in', async () => {
    const { t, provider, u, client } = await world()
    await client.get(await viaProvider(client, '/account/identities/link', { provider_id: String(provider.id) }, 'alice'))
    const fresh = t.client()
    const start = await fresh.get(`/login/oidc/${provider.id}`)
    const res = await fresh.get(await loginAtProvider(start.headers.get('location')!, 'alice'))
    expect(res.headers.get('location')).toBe('/login/mfa')
    expect(events(t, 'signin.failed')).toHaveLength(0)
    void u
  })

  it('refuses an identity already linked to another account (409), linking nothing', async () => {
    const { t, provider, u, client } = await world()
    const other = await createTestUser(t, { email: 'other@example.org' })
    t.db.insert(userIdentities).values({ userId: other.user.id, providerId: provider.id, sub: 'alice', linkedAt: t.clock.now() }).run()
    const res = await client.get(await viaProvider(client, '/account/identities/link', { provider_id: String(provider.id) }, 'alice'))
    expect(res.status).toBe(409)
    expect(await res.text()).toContain('belongs to another account')
    expect(identities(t).filter((i) => i.userId === u.user.id)).toHaveLength(0)
    expect(events(t, 'identity.linked')).toHaveLength(0)
    expect(events(t, 'identity.link_refused')).toHaveLength(1)
  })

  it('refuses an identity linked to this account meanwhile (409), nothing changes', async () => {
    const { t, provider, u, client } = await world()
    const callback = await viaProvider(client, '/account/identities/link', { provider_id: String(provider.id) }, 'alice')
    t.db.insert(userIdentities).values({ userId: u.user.id, providerId: provider.id, sub: 'alice', linkedAt: t.clock.now() }).run()
    const res = await client.get(callback)
    expect(res.status).toBe(409)
    expect(await res.text()).toContain('already linked to your account')
    expect(identities(t)).toHaveLength(1)
  })

  it('refuses when the session ended while the person was at the provider (403)', async () => {
    const { t, provider, client } = await world()
    const callback = await viaProvider(client, '/account/identities/link', { provider_id: String(provider.id) }, 'alice')
    const attempt = client.cookies.get('gatehouse_oidc')!
    await client.post('/logout')
    const res = await client.get(callback, { Cookie: `gatehouse_oidc=${attempt}` })
    expect(res.status).toBe(403)
    expect(identities(t)).toHaveLength(0)
  })

  it('refuses when another session (a new sign-in) carries the callback (403)', async () => {
    const { t, provider, u, client } = await world()
    const callback = await viaProvider(client, '/account/identities/link', { provider_id: String(provider.id) }, 'alice')
    const attempt = client.cookies.get('gatehouse_oidc')!
    const other = await signIn(t, u)
    const res = await other.get(callback, { Cookie: `gatehouse_oidc=${attempt}; session=${other.cookies.get('session')}` })
    expect(res.status).toBe(403)
    expect(identities(t)).toHaveLength(0)
  })

  it('refuses a second identity at a provider already linked (409) before going there', async () => {
    const { t, provider, u, client } = await world()
    t.db.insert(userIdentities).values({ userId: u.user.id, providerId: provider.id, sub: 'earlier', linkedAt: t.clock.now() }).run()
    const res = await client.post('/account/identities/link', { provider_id: String(provider.id) })
    expect(res.status).toBe(409)
    expect(res.headers.get('refresh')).toBeNull()
  })

  it('anonymous, foreign-Origin and disabled-provider requests start nothing', async () => {
    const { t, provider, client } = await world()
    const anon = await t.client().post('/account/identities/link', { provider_id: String(provider.id) })
    expect(anon.status).toBe(303)
    expect(anon.headers.get('location')).toBe('/login')
    const foreign = await client.post('/account/identities/link', { provider_id: String(provider.id) }, { Origin: 'https://evil.example' })
    expect(foreign.status).toBe(403)
    expect(foreign.headers.get('refresh')).toBeNull()
    const off = await configureTestProvider(t, idp.issuer, { name: 'Off', enabled: false })
    expect((await client.post('/account/identities/link', { provider_id: String(off.id) })).status).toBe(404)
    expect((await client.post('/account/identities/link', { provider_id: 'abc' })).status).toBe(404)
  })

  it('a return_to to another site is ignored', async () => {
    const { provider, client } = await world()
    const res = await client.get(await viaProvider(client, '/account/identities/link', { provider_id: String(provider.id), return_to: '//evil.example' }, 'alice'))
    expect(res.headers.get('location')).toBe('/')
  })
})
