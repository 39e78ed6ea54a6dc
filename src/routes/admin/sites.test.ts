import { describe, expect, it } from 'vitest'
import { eq } from 'drizzle-orm'
import { createTestEnv, createTestUser, signIn, type TestEnv } from '../../test/helpers.ts'
import { auditEvents, sites, type Site } from '../../db/schema.ts'
import { hashToken } from '../../auth/tokens.ts'

async function adminSession() {
  const t = createTestEnv()
  const admin = await createTestUser(t, { email: 'admin@example.org', role: 'admin' })
  const browser = await signIn(t, admin)
  return { t, admin, browser }
}

function siteByCode(t: TestEnv, code: string): Site | undefined {
  return t.db.select().from(sites).where(eq(sites.code, code)).get()
}

function events(t: TestEnv, event: string) {
  return t.db
    .select()
    .from(auditEvents)
    .where(eq(auditEvents.event, event))
    .orderBy(auditEvents.id)
    .all()
    .map((e) => ({ ...e, details: JSON.parse(e.details) as Record<string, unknown> }))
}

/** The key on a "shown once" page. */
function keyOnPage(html: string): string {
  const match = /<code id="site-api-key">(gh_site_[a-z2-7]+)<\/code>/.exec(html)
  if (!match) throw new Error('no key on the page')
  return match[1]!
}

async function apiStatus(t: TestEnv, key: string): Promise<number> {
  return (await t.app.request('/api/sites/v1/tasks', { headers: { Authorization: `Bearer ${key}` } })).status
}

describe('POST /admin/sites (create)', () => {
  it('creates the site and shows its key once: 200, no-store, working key, stored only as a hash, audited', async () => {
    const { t, admin, browser } = await adminSession()
    const res = await browser.post('/admin/sites', { name: ' Leeds Teaching Hospitals ', code: 'LTH', contact_email: ' PACS@Leeds.example ' })
    expect(res.status).toBe(200)
    expect(res.headers.get('Cache-Control')).toBe('no-store')
    const html = await res.text()
    expect(html).toContain('shown only once')
    const key = keyOnPage(html)

    const site = siteByCode(t, 'LTH')!
    expect(site).toMatchObject({ name: 'Leeds Teaching Hospitals', contactEmail: 'pacs@leeds.example', apiKeyHash: hashToken(key), apiKeyPrefix: key.slice(0, 14) })
    expect(JSON.stringify(t.db.$client.prepare('select * from sites').all())).not.toContain(key.slice(14))
    expect(await apiStatus(t, key)).toBe(200)

    const [created, ...more] = events(t, 'site.created')
    expect(more).toHaveLength(0)
    expect(created).toMatchObject({ actorId: admin.user.id, targetType: 'site', targetId: String(site.id) })
    expect(JSON.stringify(created)).not.toContain(key.slice(14))

    const list = await (await browser.get('/admin/sites')).text()
    expect(list).toContain(`<a href="/admin/sites/${site.id}">Leeds Teaching Hospitals</a>`)
    expect(list).toContain(`${key.slice(0, 14)}…`)
    expect(list).not.toContain(key)
    expect(await (await browser.get(`/admin/sites/${site.id}`)).text()).not.toContain(key)
  })

  it('takes the contact email as optional', async () => {
    const { t, browser } = await adminSession()
    expect((await browser.post('/admin/sites', { name: 'York', code: 'york_1', contact_email: '' })).status).toBe(200)
    expect(siteByCode(t, 'york_1')?.contactEmail).toBe('')
  })

  it('answers 422 per field for a bad or duplicate code, a missing name and a bad email, creating nothing', async () => {
    const { t, browser } = await adminSession()
    await browser.post('/admin/sites', { name: 'Leeds', code: 'LTH', contact_email: '' })
    const cases: [Record<string, string>, string, string][] = [
      [{ name: 'Other', code: 'lth', contact_email: '' }, 'code', 'exists already'],
      [{ name: 'Other', code: 'L', contact_email: '' }, 'code', '2 to 20 characters'],
      [{ name: 'Other', code: 'A'.repeat(21), contact_email: '' }, 'code', '2 to 20 characters'],
      [{ name: 'Other', code: 'has space', contact_email: '' }, 'code', '2 to 20 characters'],
      [{ name: 'Other', code: 'Zürich', contact_email: '' }, 'code', '2 to 20 characters'],
      [{ name: 'Other', code: '', contact_email: '' }, 'code', '2 to 20 characters'],
      [{ name: '', code: 'OK1', contact_email: '' }, 'name', 'Between 1 and 120'],
      [{ name: 'x'.repeat(121), code: 'OK2', contact_email: '' }, 'name', 'Between 1 and 120'],
      [{ name: 'Other', code: 'OK3', contact_email: 'not-an-email' }, 'contact_email', 'valid email'],
    ]
    for (const [fields, field, message] of cases) {
      const res = await browser.post('/admin/sites', fields)
      expect(res.status, JSON.stringify(fields)).toBe(422)
      const html = await res.text()
      expect(html, JSON.stringify(fields)).toMatch(new RegExp(`id="f-${field}-error" class="error">[^<]*${message}`))
      expect(html).not.toContain('site-api-key')
    }
    expect(t.db.select().from(sites).all()).toHaveLength(1)
    expect(events(t, 'site.created')).toHaveLength(1)
  })

  it('shows a site name with markup as text', async () => {
    const { browser } = await adminSession()
    const res = await browser.post('/admin/sites', { name: '<script>alert(1)</script>', code: 'XSS', contact_email: '' })
    expect(await res.text()).not.toContain('<script>alert(1)</script>')
    expect(await (await browser.get('/admin/sites')).text()).toContain('&lt;script&gt;alert(1)&lt;/script&gt;')
  })
})

describe('GET,POST /admin/sites/:id (edit)', () => {
  it('changes name and contact, never the code; audited as site.updated', async () => {
    const { t, browser } = await adminSession()
    await browser.post('/admin/sites', { name: 'Leeds', code: 'LTH', contact_email: '' })
    const site = siteByCode(t, 'LTH')!
    const page = await browser.get(`/admin/sites/${site.id}`)
    expect(page.status).toBe(200)
    const res = await browser.post(`/admin/sites/${site.id}`, { name: 'Leeds Teaching Hospitals', contact_email: 'it@leeds.example', code: 'CHANGED' })
    expect(res.status).toBe(303)
    expect(res.headers.get('Location')).toBe(`/admin/sites/${site.id}`)
    expect(t.db.select().from(sites).where(eq(sites.id, site.id)).get()).toMatchObject({ name: 'Leeds Teaching Hospitals', contactEmail: 'it@leeds.example', code: 'LTH', apiKeyHash: site.apiKeyHash })
    expect(events(t, 'site.updated')[0]!.details).toMatchObject({ before: { name: 'Leeds' }, after: { name: 'Leeds Teaching Hospitals', contact_email: 'it@leeds.example' } })
    expect(await (await browser.get(`/admin/sites/${site.id}`)).text()).toContain('Site saved.')
  })

  it('answers 422 for a bad email or empty name and 404 for an unknown site', async () => {
    const { t, browser } = await adminSession()
    await browser.post('/admin/sites', { name: 'Leeds', code: 'LTH', contact_email: '' })
    const site = siteByCode(t, 'LTH')!
    expect((await browser.post(`/admin/sites/${site.id}`, { name: 'Leeds', contact_email: 'nope' })).status).toBe(422)
    expect((await browser.post(`/admin/sites/${site.id}`, { name: '', contact_email: '' })).status).toBe(422)
    expect(siteByCode(t, 'LTH')).toMatchObject({ name: 'Leeds', contactEmail: '' })
    expect((await browser.get('/admin/sites/999')).status).toBe(404)
    expect((await browser.post('/admin/sites/999', { name: 'x', contact_email: '' })).status).toBe(404)
    expect((await browser.post('/admin/sites/999/rotate-key', { confirm: 'yes' })).status).toBe(404)
  })
})

describe('POST /admin/sites/:id/rotate-key', () => {
  it('asks first; then shows the new key once; the old key is refused at once and the new one works', async () => {
    const { t, admin, browser } = await adminSession()
    const oldKey = keyOnPage(await (await browser.post('/admin/sites', { name: 'Leeds', code: 'LTH', contact_email: '' })).text())
    const site = siteByCode(t, 'LTH')!

    const ask = await browser.post(`/admin/sites/${site.id}/rotate-key`)
    expect(ask.status).toBe(200)
    const question = await ask.text()
    expect(question).toContain('Rotate the API key of Leeds?')
    expect(question).toContain('name="confirm" value="yes"')
    expect(siteByCode(t, 'LTH')!.apiKeyHash).toBe(site.apiKeyHash)
    expect(await apiStatus(t, oldKey)).toBe(200)

    t.clock.advance(60_000)
    const res = await browser.post(`/admin/sites/${site.id}/rotate-key`, { confirm: 'yes' })
    expect(res.status).toBe(200)
    expect(res.headers.get('Cache-Control')).toBe('no-store')
    const newKey = keyOnPage(await res.text())
    expect(newKey).not.toBe(oldKey)
    expect(await apiStatus(t, oldKey)).toBe(401)
    expect(await apiStatus(t, newKey)).toBe(200)
    expect(siteByCode(t, 'LTH')).toMatchObject({ apiKeyHash: hashToken(newKey), keyRotatedAt: t.clock.now() })
    const [rotated] = events(t, 'site.key_rotated')
    expect(rotated).toMatchObject({ actorId: admin.user.id, targetId: String(site.id), details: { old_key_prefix: oldKey.slice(0, 14), new_key_prefix: newKey.slice(0, 14) } })
  })
})

describe('who may manage sites', () => {
  it('refuses researchers with 403 on every site page and changes nothing', async () => {
    const { t, browser } = await adminSession()
    await browser.post('/admin/sites', { name: 'Leeds', code: 'LTH', contact_email: '' })
    const site = siteByCode(t, 'LTH')!
    const researcher = await signIn(t, await createTestUser(t, { role: 'researcher' }))
    expect((await researcher.get('/admin/sites')).status).toBe(403)
    expect((await researcher.get(`/admin/sites/${site.id}`)).status).toBe(403)
    expect((await researcher.get('/admin/tasks')).status).toBe(403)
    expect((await researcher.post('/admin/sites', { name: 'Evil', code: 'EVIL', contact_email: '' })).status).toBe(403)
    expect((await researcher.post(`/admin/sites/${site.id}`, { name: 'Evil', contact_email: '' })).status).toBe(403)
    const rotate = await researcher.post(`/admin/sites/${site.id}/rotate-key`, { confirm: 'yes' })
    expect(rotate.status).toBe(403)
    expect(await rotate.text()).not.toContain('site-api-key')
    expect(t.db.select().from(sites).all()).toEqual([site])
  })

  it('links Sites and Tasks from the admin home', async () => {
    const { browser } = await adminSession()
    const html = await (await browser.get('/admin')).text()
    expect(html).toContain('<a href="/admin/sites">Sites</a>')
    expect(html).toContain('<a href="/admin/tasks">Tasks</a>')
  })
})
