import { describe, expect, it } from 'vitest'
import { eq } from 'drizzle-orm'
import { BASE_URL, createTestEnv, createTestUser, signIn, type TestEnv } from '../../test/helpers.ts'
import { auditEvents, identityProviders, userIdentities } from '../../db/schema.ts'
import { decryptIdentityProviderSecret, deleteIdentityProvider, getIdentityProviderById, getIdentityProviderForEmail, isLoopbackHost } from '../../models/identity-providers.ts'

// Provider configuration (issue 13 item 1, SPEC §10): the secret is encrypted and never shown or
// audited; https issuers only except loopback; delete only without linked identities.

const SECRET = 'sUp3r-s3cret-client-value-9f8e7d'

const FORM = {
  name: 'Leeds Keycloak',
  issuer: 'https://login.leeds.example/realms/main',
  client_id: 'gatehouse',
  client_secret: SECRET,
  scopes: 'openid email profile',
  domains: 'Leeds.example, @nhs.example  leeds.example',
  trust_mfa: 'on',
  enabled: 'on',
}

async function world() {
  const t = createTestEnv()
  const admin = await createTestUser(t, { email: 'admin@example.org', role: 'admin' })
  const browser = await signIn(t, admin)
  return { t, admin, browser }
}

function events(t: TestEnv, event?: string) {
  return t.db
    .select()
    .from(auditEvents)
    .all()
    .filter((e) => event === undefined || e.event === event)
}

function allIdpEvents(t: TestEnv) {
  return events(t).filter((e) => e.event.startsWith('idp.'))
}

async function create(browser: Awaited<ReturnType<typeof world>>['browser'], fields: Record<string, string> = {}) {
  return browser.post('/admin/identity-providers', { ...FORM, ...fields })
}

function onlyProvider(t: TestEnv) {
  const rows = t.db.select().from(identityProviders).all()
  expect(rows).toHaveLength(1)
  return rows[0]!
}

function linkIdentity(t: TestEnv, providerId: number, userId: number) {
  t.db.insert(userIdentities).values({ userId, providerId, sub: 'sub-123', emailAtLink: 'admin@example.org', linkedAt: t.clock.now() }).run()
}

describe('/admin/identity-providers: create', () => {
  it('creates a provider (normalised domains, checkboxes present = on), audited without the secret; the secret is stored encrypted and never in HTML', async () => {
    const { t, browser } = await world()
    const form = await browser.get('/admin/identity-providers/new')
    expect(form.status).toBe(200)
    const formHtml = await form.text()
    for (const field of ['name', 'issuer', 'client_id', 'client_secret', 'scopes', 'domains', 'trust_mfa', 'auto_link', 'enabled']) expect(formHtml).toContain(`name="${field}"`)
    expect(formHtml).toContain(`${BASE_URL}/login/oidc/callback`)

    const res = await create(browser)
    expect(res.status).toBe(303)
    const p = onlyProvider(t)
    expect(res.headers.get('Location')).toBe(`/admin/identity-providers/${p.id}`)
    expect(p).toMatchObject({ name: 'Leeds Keycloak', issuer: FORM.issuer, clientId: 'gatehouse', scopes: 'openid email profile', domains: 'leeds.example nhs.example', trustMfa: true, autoLink: false, enabled: true })
    expect(p.clientSecret).not.toContain(SECRET)
    expect(p.clientSecret.startsWith('v1:')).toBe(true)
    expect(decryptIdentityProviderSecret(t.config.encryptionKey, p)).toBe(SECRET)

    const created = events(t, 'idp.created')
    expect(created).toHaveLength(1)
    expect(created[0]!.targetId).toBe(String(p.id))
    expect(JSON.parse(created[0]!.details)).toMatchObject({ name: 'Leeds Keycloak', issuer: FORM.issuer, client_id: 'gatehouse', trust_mfa: true, auto_link: false, enabled: true })
    expect(created[0]!.details).not.toContain(SECRET)
    expect(created[0]!.details).not.toContain(p.clientSecret)

    const page = await browser.get(`/admin/identity-providers/${p.id}`)
    expect(page.status).toBe(200)
    const html = await page.text()
    expect(html).not.toContain(SECRET)
    expect(html).not.toContain(p.clientSecret)
    expect(html).toContain(`<code id="redirect-uri">${BASE_URL}/login/oidc/callback</code>`)
    expect(html).toContain('<code id="scopes">openid email profile</code>')
    expect(html).toContain('Leave blank to keep the current secret')

    const list = await (await browser.get('/admin/identity-providers')).text()
    expect(list).toContain('Leeds Keycloak')
    expect(list).toContain(FORM.issuer)
    expect(list).toContain('leeds.example, nhs.example')
    expect(list).not.toContain(SECRET)
    expect(getIdentityProviderForEmail(t.db, 'someone@NHS.example')?.id).toBe(p.id)
    expect(getIdentityProviderForEmail(t.db, 'someone@other.example')).toBeNull()

    const audit = await (await browser.get('/admin/audit')).text()
    expect(audit).toContain(`<a href="/admin/identity-providers/${p.id}">Leeds Keycloak</a>`)
    expect(audit).not.toContain(SECRET)
  })

  it('defaults blank scopes to "openid email profile"; absent checkboxes are off', async () => {
    const { t, browser } = await world()
    const res = await browser.post('/admin/identity-providers', { name: 'ORCID', issuer: 'https://orcid.org', client_id: 'APP-1', client_secret: 'x', scopes: '', domains: '' })
    expect(res.status).toBe(303)
    expect(onlyProvider(t)).toMatchObject({ scopes: 'openid email profile', domains: '', trustMfa: false, autoLink: false, enabled: false })
  })

  it.each([
    ['http issuer', { issuer: 'http://login.leeds.example/realms/main' }, 'issuer', 'https'],
    ['malformed issuer', { issuer: 'not a url' }, 'issuer', 'absolute URL'],
    ['issuer with a query', { issuer: 'https://login.leeds.example/?x=1' }, 'issuer', 'no user name, password, query or fragment'],
    ['javascript: issuer', { issuer: 'javascript:alert(1)' }, 'issuer', 'absolute URL'],
    ['no secret', { client_secret: '' }, 'client_secret', 'Enter the client secret'],
    ['no client id', { client_id: '' }, 'client_id', 'Between 1 and 255'],
    ['scopes without openid', { scopes: 'email profile' }, 'scopes', 'openid'],
    ['a bad domain', { domains: 'leeds.example, not_a_domain!' }, 'domains', 'Not a domain name: not_a_domain!'],
    ['oversized name', { name: 'n'.repeat(121) }, 'name', 'Between 1 and 120'],
    ['oversized issuer', { issuer: `https://a.example/${'p'.repeat(500)}` }, 'issuer', 'At most 500'],
    ['oversized client id', { client_id: 'c'.repeat(256) }, 'client_id', 'Between 1 and 255'],
    ['oversized secret', { client_secret: 's'.repeat(2001) }, 'client_secret', 'At most 2000'],
    ['oversized scopes', { scopes: `openid ${'s'.repeat(500)}` }, 'scopes', 'At most 500'],
    ['oversized domains', { domains: 'a.example '.repeat(250) }, 'domains', 'At most 2000'],
    ['a control character in the name', { name: 'Leeds\u0000' }, 'name', 'control characters'],
  ])('refuses %s with 422 naming the field, keeps the values but never the secret, creates nothing', async (_label, fields, field, message) => {
    const { t, browser } = await world()
    const res = await create(browser, fields)
    expect(res.status).toBe(422)
    const html = await res.text()
    expect(html).toContain(`id="f-${field}-error"`)
    expect(html).toContain(message)
    if (field !== 'client_id') expect(html).toContain('value="gatehouse"')
    expect(html).not.toContain(SECRET)
    expect(t.db.select().from(identityProviders).all()).toHaveLength(0)
    expect(allIdpEvents(t)).toHaveLength(0)
  })

  it.each(['http://localhost:8080/realms/test', 'http://127.0.0.1:4000', 'http://127.45.6.7/op', 'http://[::1]:9000/'])('accepts the loopback http issuer %s', async (issuer) => {
    const { t, browser } = await world()
    expect((await create(browser, { issuer })).status).toBe(303)
    expect(onlyProvider(t).issuer).toBe(issuer)
  })

  it('knows loopback from look-alikes', () => {
    expect(isLoopbackHost('localhost')).toBe(true)
    expect(isLoopbackHost('[::1]')).toBe(true)
    expect(isLoopbackHost('127.255.0.1')).toBe(true)
    expect(isLoopbackHost('localhost.evil.example')).toBe(false)
    expect(isLoopbackHost('128.0.0.1')).toBe(false)
    expect(isLoopbackHost('127.0.0.1.evil.example')).toBe(false)
    expect(isLoopbackHost('::2')).toBe(false)
  })

  it('refuses a duplicate name (case-insensitively) with 422', async () => {
    const { t, browser } = await world()
    expect((await create(browser)).status).toBe(303)
    const res = await create(browser, { name: 'LEEDS keycloak', issuer: 'https://other.example' })
    expect(res.status).toBe(422)
    expect(await res.text()).toContain('A provider with this name exists already.')
    expect(t.db.select().from(identityProviders).all()).toHaveLength(1)
  })
})

describe('/admin/identity-providers/:id: edit, disable, enable, delete', () => {
  async function withProvider() {
    const w = await world()
    expect((await create(w.browser)).status).toBe(303)
    return { ...w, provider: onlyProvider(w.t) }
  }

  it('a blank secret on edit keeps the stored one; the edit is audited with before/after and no secret', async () => {
    const { t, browser, provider } = await withProvider()
    const res = await browser.post(`/admin/identity-providers/${provider.id}`, { ...FORM, client_secret: '', name: 'Leeds SSO', auto_link: 'on' })
    expect(res.status).toBe(303)
    const after = getIdentityProviderById(t.db, provider.id)!
    expect(after).toMatchObject({ name: 'Leeds SSO', autoLink: true, clientSecret: provider.clientSecret })
    const updated = events(t, 'idp.updated')
    expect(updated).toHaveLength(1)
    expect(JSON.parse(updated[0]!.details)).toMatchObject({ before: { name: 'Leeds Keycloak', auto_link: false }, after: { name: 'Leeds SSO', auto_link: true }, secret_changed: false })
    expect(updated[0]!.details).not.toContain(SECRET)
  })

  it('a new secret on edit replaces it, encrypted, and is neither shown nor audited', async () => {
    const { t, browser, provider } = await withProvider()
    const NEW = 'brand-new-secret-4711-abcdef'
    expect((await browser.post(`/admin/identity-providers/${provider.id}`, { ...FORM, client_secret: NEW })).status).toBe(303)
    const after = getIdentityProviderById(t.db, provider.id)!
    expect(after.clientSecret).not.toContain(NEW)
    expect(decryptIdentityProviderSecret(t.config.encryptionKey, after)).toBe(NEW)
    const updated = events(t, 'idp.updated')
    expect(JSON.parse(updated[0]!.details)).toMatchObject({ secret_changed: true })
    for (const e of events(t)) expect(e.details).not.toContain(NEW)
    expect(await (await browser.get(`/admin/identity-providers/${provider.id}`)).text()).not.toContain(NEW)
  })

  it('an invalid edit answers 422 with the values kept (not the secret) and changes nothing', async () => {
    const { t, browser, provider } = await withProvider()
    const res = await browser.post(`/admin/identity-providers/${provider.id}`, { ...FORM, name: 'Renamed', issuer: 'http://evil.example', client_secret: 'typed-but-refused-secret' })
    expect(res.status).toBe(422)
    const html = await res.text()
    expect(html).toContain('value="Renamed"')
    expect(html).toContain('Use an https issuer')
    expect(html).not.toContain('typed-but-refused-secret')
    expect(getIdentityProviderById(t.db, provider.id)).toEqual(provider)
    expect(events(t, 'idp.updated')).toHaveLength(0)
  })

  it('keeping its own name is not a duplicate; taking another provider’s name is', async () => {
    const { t, browser, provider } = await withProvider()
    expect((await create(browser, { name: 'ORCID' })).status).toBe(303)
    expect((await browser.post(`/admin/identity-providers/${provider.id}`, { ...FORM, client_secret: '' })).status).toBe(303)
    const res = await browser.post(`/admin/identity-providers/${provider.id}`, { ...FORM, name: 'orcid', client_secret: '' })
    expect(res.status).toBe(422)
    expect(getIdentityProviderById(t.db, provider.id)!.name).toBe('Leeds Keycloak')
  })

  it('disable asks first, then disables (idp.disabled); enable restores it; repeating answers 409', async () => {
    const { t, browser, provider } = await withProvider()
    const ask = await browser.post(`/admin/identity-providers/${provider.id}/disable`)
    expect(ask.status).toBe(200)
    expect(await ask.text()).toContain('name="confirm" value="yes"')
    expect(getIdentityProviderById(t.db, provider.id)!.enabled).toBe(true)
    expect(events(t, 'idp.disabled')).toHaveLength(0)

    expect((await browser.post(`/admin/identity-providers/${provider.id}/disable`, { confirm: 'yes' })).status).toBe(303)
    expect(getIdentityProviderById(t.db, provider.id)!.enabled).toBe(false)
    expect(events(t, 'idp.disabled')).toHaveLength(1)
    expect(getIdentityProviderForEmail(t.db, 'a@leeds.example')).toBeNull()
    expect((await browser.post(`/admin/identity-providers/${provider.id}/disable`, { confirm: 'yes' })).status).toBe(409)
    expect(events(t, 'idp.disabled')).toHaveLength(1)

    expect((await browser.post(`/admin/identity-providers/${provider.id}/enable`)).status).toBe(303)
    expect(getIdentityProviderById(t.db, provider.id)!.enabled).toBe(true)
    expect(events(t, 'idp.enabled')).toHaveLength(1)
    expect((await browser.post(`/admin/identity-providers/${provider.id}/enable`)).status).toBe(409)
  })

  it('unticking "enabled" in the edit form is audited as idp.disabled', async () => {
    const { t, browser, provider } = await withProvider()
    const { enabled: _enabled, ...withoutEnabled } = FORM
    expect((await browser.post(`/admin/identity-providers/${provider.id}`, { ...withoutEnabled, client_secret: '' })).status).toBe(303)
    expect(getIdentityProviderById(t.db, provider.id)!.enabled).toBe(false)
    expect(events(t, 'idp.disabled')).toHaveLength(1)
    expect(events(t, 'idp.updated')).toHaveLength(0)
  })

  it('delete asks first, then deletes (idp.deleted, no secret)', async () => {
    const { t, browser, provider } = await withProvider()
    const ask = await browser.post(`/admin/identity-providers/${provider.id}/delete`)
    expect(ask.status).toBe(200)
    expect(await ask.text()).toContain(`Delete ${provider.name}?`)
    expect(getIdentityProviderById(t.db, provider.id)).not.toBeNull()
    const res = await browser.post(`/admin/identity-providers/${provider.id}/delete`, { confirm: 'yes' })
    expect(res.status).toBe(303)
    expect(res.headers.get('Location')).toBe('/admin/identity-providers')
    expect(getIdentityProviderById(t.db, provider.id)).toBeNull()
    const deleted = events(t, 'idp.deleted')
    expect(deleted).toHaveLength(1)
    expect(deleted[0]!.details).not.toContain(SECRET)
  })

  it('delete with a linked identity answers 409 (asked or confirmed) and changes nothing', async () => {
    const { t, admin, browser, provider } = await withProvider()
    linkIdentity(t, provider.id, admin.user.id)
    const page = await (await browser.get(`/admin/identity-providers/${provider.id}`)).text()
    expect(page).toContain('One identity is linked through this provider')
    expect(page).not.toContain(`action="/admin/identity-providers/${provider.id}/delete"`)
    expect(await (await browser.get('/admin/identity-providers')).text()).toMatch(/<td>1<\/td>/)
    for (const fields of [{}, { confirm: 'yes' }] as Record<string, string>[]) {
      const res = await browser.post(`/admin/identity-providers/${provider.id}/delete`, fields)
      expect(res.status).toBe(409)
      expect(await res.text()).toContain('cannot be deleted, only disabled')
    }
    expect(getIdentityProviderById(t.db, provider.id)).toEqual(provider)
    expect(t.db.select().from(userIdentities).where(eq(userIdentities.providerId, provider.id)).all()).toHaveLength(1)
    expect(events(t, 'idp.deleted')).toHaveLength(0)
  })

  it('refuses to change the issuer while identities are linked (422), but other fields still save', async () => {
    const { t, admin, browser, provider } = await withProvider()
    linkIdentity(t, provider.id, admin.user.id)
    const res = await browser.post(`/admin/identity-providers/${provider.id}`, { ...FORM, client_secret: '', issuer: 'https://other-idp.example' })
    expect(res.status).toBe(422)
    expect(await res.text()).toContain('linked through this issuer, so it cannot change')
    expect(getIdentityProviderById(t.db, provider.id)).toEqual(provider)
    expect((await browser.post(`/admin/identity-providers/${provider.id}`, { ...FORM, client_secret: '', name: 'Leeds SSO' })).status).toBe(303)
    expect(getIdentityProviderById(t.db, provider.id)!).toMatchObject({ name: 'Leeds SSO', issuer: FORM.issuer })
  })

  it('a changed issuer never inherits the stored secret (it would be sent to the new issuer’s token endpoint): 422 on the secret, nothing changes; with a new secret it saves', async () => {
    const { t, browser, provider } = await withProvider()
    const res = await browser.post(`/admin/identity-providers/${provider.id}`, { ...FORM, client_secret: '', issuer: 'https://collector.evil.example' })
    expect(res.status).toBe(422)
    expect(await res.text()).toContain('Enter the client secret again')
    expect(getIdentityProviderById(t.db, provider.id)).toEqual(provider)
    const NEW = 'secret-issued-by-the-new-issuer-1234'
    expect((await browser.post(`/admin/identity-providers/${provider.id}`, { ...FORM, client_secret: NEW, issuer: 'https://login.other.example' })).status).toBe(303)
    const after = getIdentityProviderById(t.db, provider.id)!
    expect(after.issuer).toBe('https://login.other.example')
    expect(decryptIdentityProviderSecret(t.config.encryptionKey, after)).toBe(NEW)
  })

  it('the model refuses the delete inside its transaction too, when an identity was linked after the page was loaded', async () => {
    const { t, admin, provider } = await withProvider()
    linkIdentity(t, provider.id, admin.user.id)
    const result = deleteIdentityProvider(t.db, provider, { actor: { id: admin.user.id, email: admin.user.email }, now: t.clock.now(), ip: '203.0.113.1' })
    expect(result).toEqual({ deleted: false, linkedIdentities: 1 })
    expect(getIdentityProviderById(t.db, provider.id)).toEqual(provider)
    expect(events(t, 'idp.deleted')).toHaveLength(0)
  })

  it('answers 404 for an unknown or malformed id', async () => {
    const { browser, provider } = await withProvider()
    for (const id of [String(provider.id + 100), '0x1', '01']) {
      expect((await browser.get(`/admin/identity-providers/${id}`)).status).toBe(404)
      expect((await browser.post(`/admin/identity-providers/${id}`, FORM)).status).toBe(404)
      expect((await browser.post(`/admin/identity-providers/${id}/disable`, { confirm: 'yes' })).status).toBe(404)
      expect((await browser.post(`/admin/identity-providers/${id}/delete`, { confirm: 'yes' })).status).toBe(404)
    }
  })
})

describe('/admin/identity-providers: refusals', () => {
  it('refuses a non-admin with 403 naming identity_providers.manage, on every page, and changes nothing', async () => {
    const { t, browser } = await world()
    expect((await create(browser)).status).toBe(303)
    const provider = onlyProvider(t)
    const researcher = await signIn(t, await createTestUser(t, { email: 'r@example.org', role: 'researcher' }))
    const tries = [
      researcher.get('/admin/identity-providers'),
      researcher.get('/admin/identity-providers/new'),
      researcher.get(`/admin/identity-providers/${provider.id}`),
      researcher.post('/admin/identity-providers', { ...FORM, name: 'Evil' }),
      researcher.post(`/admin/identity-providers/${provider.id}`, { ...FORM, name: 'Evil', issuer: 'https://evil.example' }),
      researcher.post(`/admin/identity-providers/${provider.id}/disable`, { confirm: 'yes' }),
      researcher.post(`/admin/identity-providers/${provider.id}/delete`, { confirm: 'yes' }),
    ]
    for (const res of await Promise.all(tries)) {
      expect(res.status).toBe(403)
      expect(await res.text()).toContain('identity_providers.manage')
    }
    expect(getIdentityProviderById(t.db, provider.id)).toEqual(provider)
    expect(t.db.select().from(identityProviders).all()).toHaveLength(1)
    expect(allIdpEvents(t).map((e) => e.event)).toEqual(['idp.created'])
  })

  it('sends anonymous visitors to sign in', async () => {
    const { t } = await world()
    const res = await t.client().get('/admin/identity-providers')
    expect(res.status).toBe(303)
    expect(res.headers.get('Location')).toMatch(/^\/login/)
  })

  it('refuses a form from a foreign Origin and changes nothing', async () => {
    const { t, browser } = await world()
    expect((await create(browser)).status).toBe(303)
    const provider = onlyProvider(t)
    const evil = { Origin: 'https://evil.example' }
    expect((await browser.post('/admin/identity-providers', { ...FORM, name: 'Evil' }, evil)).status).toBe(403)
    expect((await browser.post(`/admin/identity-providers/${provider.id}`, { ...FORM, issuer: 'https://evil.example' }, evil)).status).toBe(403)
    expect((await browser.post(`/admin/identity-providers/${provider.id}/delete`, { confirm: 'yes' }, evil)).status).toBe(403)
    expect(getIdentityProviderById(t.db, provider.id)).toEqual(provider)
    expect(t.db.select().from(identityProviders).all()).toHaveLength(1)
  })

  it('the admin navigation lists the area for admins only', async () => {
    const { t, browser } = await world()
    expect(await (await browser.get('/admin')).text()).toContain('href="/admin/identity-providers"')
    const researcher = await signIn(t, await createTestUser(t, { email: 'r2@example.org', role: 'researcher' }))
    expect(await (await researcher.get('/')).text()).not.toContain('href="/admin/identity-providers"')
  })
})
