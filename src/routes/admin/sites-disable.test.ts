import { describe, expect, it } from 'vitest'
import { and, eq } from 'drizzle-orm'
import { BASE_URL, createTestEnv, createTestUser, signIn, type TestEnv } from '../../test/helpers.ts'
import { auditEvents, files, models, projectSites, projects, sites, tasks, type Site } from '../../db/schema.ts'
import { createSite, disableSite, getSiteById } from '../../models/sites.ts'
import { approveProjectSites, createProject, saveCohortQuery } from '../../models/projects.ts'
import { startTraining } from '../../models/models.ts'

// Disabling a site (issue 15 §6): its key is refused by the site API (401, code site_disabled),
// it is not offered for staging or training, nothing is deleted, and enabling restores the key.

async function world() {
  const t = createTestEnv()
  const admin = await createTestUser(t, { email: 'admin@example.org', role: 'admin' })
  const browser = await signIn(t, admin)
  const ctx = () => ({ actor: { id: admin.user.id, email: admin.user.email }, now: t.clock.now(), ip: '203.0.113.1' })
  const leeds = createSite(t.db, { name: 'Leeds', code: 'LTH', contactEmail: '' }, ctx())
  const york = createSite(t.db, { name: 'York', code: 'YORK', contactEmail: '' }, ctx())
  return { t, admin, browser, ctx, leeds, york }
}

function site(t: TestEnv, id: number): Site {
  return getSiteById(t.db, id)!
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

function api(t: TestEnv, key: string) {
  const send = (method: string, path: string, body?: string) =>
    t.app.request(`/api/sites/v1${path}`, { method, body, headers: { Authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) } })
  return { get: (path: string) => send('GET', path), post: (path: string, json?: unknown) => send('POST', path, json === undefined ? undefined : JSON.stringify(json)) }
}

async function expectSiteDisabled(res: Response) {
  expect(res.status).toBe(401)
  expect(res.headers.get('WWW-Authenticate')).toBe('Bearer realm="gatehouse-site-api", error="invalid_token"')
  expect(await res.json()).toEqual({ error: expect.stringContaining('disabled'), code: 'site_disabled' })
}

describe('POST /admin/sites/:id/disable and /enable', () => {
  it('asks first, naming what follows; nothing changes until confirmed', async () => {
    const { t, browser, leeds } = await world()
    const ask = await browser.post(`/admin/sites/${leeds.site.id}/disable`)
    expect(ask.status).toBe(200)
    const html = await ask.text()
    expect(html).toContain('Disable Leeds?')
    expect(html).toContain('is refused')
    expect(html).toContain('no tasks are handed to it')
    expect(html).toContain('Nothing is deleted')
    expect(html).toContain('name="confirm" value="yes"')
    expect(html).toMatch(/<button type="submit" class="danger">\s*Disable site/)
    expect(site(t, leeds.site.id).disabledAt).toBeNull()
    expect(events(t, 'site.disabled')).toHaveLength(0)
    expect((await api(t, leeds.apiKey).get('/tasks')).status).toBe(200)
  })

  it('disables (audited, flash, badge): the key is refused on the task list, claim and result; enabling restores the same key', async () => {
    const { t, admin, browser, ctx, leeds, york } = await world()
    const project = createProject(t.db, { name: 'Lung nodules', description: '', groupId: null }, ctx())
    const saved = saveCohortQuery(t.db, project, 'SELECT id FROM patients', ctx())
    expect(saved.ok).toBe(true)
    const taskOf = (s: Site) => t.db.select().from(tasks).where(eq(tasks.siteId, s.id)).get()!
    const leedsApi = api(t, leeds.apiKey)
    const claimedTask = taskOf(leeds.site)
    expect((await leedsApi.post(`/tasks/${claimedTask.id}/claim`)).status).toBe(200)

    const page = await browser.get(`/admin/sites/${leeds.site.id}`)
    expect(await page.text()).toContain(`action="/admin/sites/${leeds.site.id}/disable"`)

    t.clock.advance(60_000)
    const res = await browser.post(`/admin/sites/${leeds.site.id}/disable`, { confirm: 'yes' })
    expect(res.status).toBe(303)
    expect(res.headers.get('Location')).toBe(`/admin/sites/${leeds.site.id}`)
    expect(site(t, leeds.site.id)).toMatchObject({ disabledAt: t.clock.now(), apiKeyHash: leeds.site.apiKeyHash })
    const [disabled, ...more] = events(t, 'site.disabled')
    expect(more).toHaveLength(0)
    expect(disabled).toMatchObject({ actorId: admin.user.id, targetType: 'site', targetId: String(leeds.site.id), at: t.clock.now(), details: { code: 'LTH', key_prefix: leeds.site.apiKeyPrefix } })

    const after = await (await browser.get(`/admin/sites/${leeds.site.id}`)).text()
    expect(after).toContain('Leeds disabled')
    expect(after).toContain('<span class="badge">disabled</span>')
    expect(after).toContain(`action="/admin/sites/${leeds.site.id}/enable"`)
    expect(after).not.toContain(`action="/admin/sites/${leeds.site.id}/disable"`)
    const list = await (await browser.get('/admin/sites')).text()
    expect(list).toContain(`<a href="/admin/sites/${leeds.site.id}">Leeds</a> <span class="badge">disabled</span>`)
    expect(list).not.toContain(`<a href="/admin/sites/${york.site.id}">York</a> <span class="badge">`)

    await expectSiteDisabled(await leedsApi.get('/tasks'))
    await expectSiteDisabled(await leedsApi.post(`/tasks/${claimedTask.id}/result`, { count: 42 }))
    expect(taskOf(leeds.site)).toMatchObject({ status: 'claimed', resultCount: null })
    // York is untouched: it still lists, claims and reports.
    const yorkApi = api(t, york.apiKey)
    expect((await yorkApi.get('/tasks')).status).toBe(200)
    expect((await yorkApi.post(`/tasks/${taskOf(york.site).id}/claim`)).status).toBe(200)

    // A second task, created while disabled, waits: it is neither listed nor claimable until enabled.
    const second = saveCohortQuery(t.db, { ...project }, 'SELECT id FROM patients WHERE age > 40', ctx())
    expect(second.ok).toBe(true)
    const waiting = t.db.select().from(tasks).where(and(eq(tasks.siteId, leeds.site.id), eq(tasks.cohortQueryId, second.ok ? second.value.id : 0))).get()!
    await expectSiteDisabled(await leedsApi.post(`/tasks/${waiting.id}/claim`))
    expect(t.db.select().from(tasks).where(eq(tasks.id, waiting.id)).get()!.status).toBe('pending')

    t.clock.advance(60_000)
    const enable = await browser.post(`/admin/sites/${leeds.site.id}/enable`)
    expect(enable.status).toBe(303)
    expect(site(t, leeds.site.id)).toMatchObject({ disabledAt: null, apiKeyHash: leeds.site.apiKeyHash })
    const [enabled, ...moreEnabled] = events(t, 'site.enabled')
    expect(moreEnabled).toHaveLength(0)
    expect(enabled).toMatchObject({ actorId: admin.user.id, targetId: String(leeds.site.id), details: { code: 'LTH', disabled_at: t.clock.now() - 60_000 } })
    expect(await (await browser.get(`/admin/sites/${leeds.site.id}`)).text()).toContain('Leeds enabled')

    const listed = (await (await leedsApi.get('/tasks')).json()) as { tasks: { id: number }[] }
    expect(listed.tasks.map((x) => x.id)).toContain(waiting.id)
    expect((await leedsApi.post(`/tasks/${waiting.id}/claim`)).status).toBe(200)
    expect((await leedsApi.post(`/tasks/${waiting.id}/result`, { count: 42 })).status).toBe(200)
  })

  it('refuses a result whose site was disabled while its body was arriving', async () => {
    const { t, ctx, leeds } = await world()
    const project = createProject(t.db, { name: 'Lung nodules', description: '', groupId: null }, ctx())
    saveCohortQuery(t.db, project, 'SELECT id FROM patients', ctx())
    const task = t.db.select().from(tasks).where(eq(tasks.siteId, leeds.site.id)).get()!
    expect((await api(t, leeds.apiKey).post(`/tasks/${task.id}/claim`)).status).toBe(200)
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        disableSite(t.db, site(t, leeds.site.id), ctx())
        controller.enqueue(new TextEncoder().encode(JSON.stringify({ count: 42 })))
        controller.close()
      },
    }, { highWaterMark: 0 }) // pulled only when the handler reads the body, after the key was accepted
    const res = await t.app.request(`/api/sites/v1/tasks/${task.id}/result`, {
      method: 'POST',
      body,
      headers: { Authorization: `Bearer ${leeds.apiKey}`, 'Content-Type': 'application/json', 'Content-Length': String(JSON.stringify({ count: 42 }).length) },
      duplex: 'half',
    } as RequestInit)
    await expectSiteDisabled(res)
    expect(t.db.select().from(tasks).where(eq(tasks.id, task.id)).get()).toMatchObject({ status: 'claimed', resultCount: null })
  })

  it('answers 409 to disabling a disabled site and enabling an active one, writing no audit event', async () => {
    const { t, browser, leeds } = await world()
    const enableActive = await browser.post(`/admin/sites/${leeds.site.id}/enable`)
    expect(enableActive.status).toBe(409)
    expect(await enableActive.text()).toContain('The site is not disabled.')
    expect((await browser.post(`/admin/sites/${leeds.site.id}/disable`, { confirm: 'yes' })).status).toBe(303)
    const before = site(t, leeds.site.id)
    t.clock.advance(60_000)
    for (const fields of [{ confirm: 'yes' }, {}] as Record<string, string>[]) {
      const again = await browser.post(`/admin/sites/${leeds.site.id}/disable`, fields)
      expect(again.status).toBe(409)
      expect(await again.text()).toContain('The site is disabled already.')
    }
    expect(site(t, leeds.site.id)).toEqual(before)
    expect(events(t, 'site.disabled')).toHaveLength(1)
    expect(events(t, 'site.enabled')).toHaveLength(0)
  })

  it('answers 404 for an unknown or malformed id', async () => {
    const { browser } = await world()
    for (const id of ['99999', 'abc', '1e3']) {
      expect((await browser.post(`/admin/sites/${id}/disable`, { confirm: 'yes' })).status).toBe(404)
      expect((await browser.post(`/admin/sites/${id}/enable`)).status).toBe(404)
    }
  })

  it('refuses users without sites.manage with 403 naming the permission, and a foreign Origin; nothing changes', async () => {
    const { t, browser, leeds, york } = await world()
    expect((await browser.post(`/admin/sites/${york.site.id}/disable`, { confirm: 'yes' })).status).toBe(303)
    const researcher = await signIn(t, await createTestUser(t, { role: 'researcher', email: 'r@example.org' }))
    for (const [path, fields] of [
      [`/admin/sites/${leeds.site.id}/disable`, { confirm: 'yes' }],
      [`/admin/sites/${leeds.site.id}/disable`, {}],
      [`/admin/sites/${york.site.id}/enable`, {}],
    ] as const) {
      const res = await researcher.post(path, fields)
      expect(res.status, path).toBe(403)
      expect(await res.text()).toContain('You need the permission “sites.manage”')
    }
    expect((await browser.post(`/admin/sites/${leeds.site.id}/disable`, { confirm: 'yes' }, { Origin: 'https://evil.example' })).status).toBe(403)
    const anonymous = await t.app.request(`/admin/sites/${leeds.site.id}/disable`, { method: 'POST', body: 'confirm=yes', headers: { Origin: BASE_URL, 'Content-Type': 'application/x-www-form-urlencoded' } })
    expect(anonymous.status).toBe(303)
    expect(anonymous.headers.get('Location')).toMatch(/^\/login/)
    expect(site(t, leeds.site.id).disabledAt).toBeNull()
    expect(site(t, york.site.id).disabledAt).not.toBeNull()
    expect(events(t, 'site.disabled')).toHaveLength(1)
    expect(events(t, 'site.enabled')).toHaveLength(0)
  })
})

describe('a disabled site is not offered for staging or training', () => {
  async function countedProject() {
    const w = await world()
    const owner = await createTestUser(w.t, { role: 'researcher', email: 'owner@example.org' })
    const ownerBrowser = await signIn(w.t, owner)
    const created = await ownerBrowser.post('/projects/new', { name: 'Lung nodules', description: 'CT follow-up' })
    expect(created.status).toBe(303)
    const id = Number(created.headers.get('Location')!.match(/^\/projects\/(\d+)$/)![1])
    expect((await ownerBrowser.post(`/projects/${id}/cohort-query`, { query: 'SELECT id FROM patients' })).status).toBe(303)
    w.t.db.update(tasks).set({ status: 'done', resultCount: 120, completedAt: w.t.clock.now() }).where(eq(tasks.projectId, id)).run()
    return { ...w, id, ownerBrowser }
  }

  it('stage form: no checkbox for the disabled site; choosing it anyway is refused with 422 and nothing changes; enabled, it is offered again', async () => {
    const { t, browser, leeds, york, id, ownerBrowser } = await countedProject()
    expect((await browser.post(`/admin/sites/${leeds.site.id}/disable`, { confirm: 'yes' })).status).toBe(303)

    const page = await (await ownerBrowser.get(`/projects/${id}`)).text()
    expect(page).toContain(`name="site_ids" value="${york.site.id}"`)
    expect(page).not.toContain(`name="site_ids" value="${leeds.site.id}"`)
    expect(page).toMatch(/Leeds <span class="badge">disabled<\/span> — not offered/)

    const refused = await ownerBrowser.post(`/projects/${id}/stage`, { site_ids: [String(leeds.site.id), String(york.site.id)] })
    expect(refused.status).toBe(422)
    expect(await refused.text()).toContain('Disabled, so it cannot be staged: Leeds.')
    expect(t.db.select().from(projects).where(eq(projects.id, id)).get()!.status).toBe('unstaged')
    expect(t.db.select().from(projectSites).where(eq(projectSites.projectId, id)).all()).toEqual([])

    expect((await browser.post(`/admin/sites/${leeds.site.id}/enable`)).status).toBe(303)
    expect(await (await ownerBrowser.get(`/projects/${id}`)).text()).toContain(`name="site_ids" value="${leeds.site.id}"`)
    expect((await ownerBrowser.post(`/projects/${id}/stage`, { site_ids: [String(leeds.site.id), String(york.site.id)] })).status).toBe(303)
  })

  it('training: the disabled site is not offered, and starting training there is refused (422, nothing started)', async () => {
    const { t, admin, browser, ctx, leeds, york, id, ownerBrowser } = await countedProject()
    expect((await ownerBrowser.post(`/projects/${id}/stage`, { site_ids: [String(leeds.site.id), String(york.site.id)] })).status).toBe(303)
    const project = t.db.select().from(projects).where(eq(projects.id, id)).get()!
    expect(approveProjectSites(t.db, project, [leeds.site.id, york.site.id], ctx()).ok).toBe(true)
    const now = t.clock.now()
    const model = t.db.insert(models).values({ projectId: id, ownerId: admin.user.id, name: 'ResNet', status: 'pending', allowedSiteIds: [leeds.site.id, york.site.id], createdAt: now, updatedAt: now }).returning().get()
    t.db.insert(files).values({ modelId: model.id, filename: 'weights.pt', size: 3, sha256: 'a'.repeat(64), storagePath: 'files/models/x', uploadedBy: admin.user.id, createdAt: now }).run()
    expect((await browser.post(`/admin/sites/${leeds.site.id}/disable`, { confirm: 'yes' })).status).toBe(303)

    const page = await (await browser.get(`/projects/${id}`)).text()
    expect(page).toContain(`name="site_ids" value="${york.site.id}"`)
    expect(page).not.toContain(`name="site_ids" value="${leeds.site.id}"`)

    const refused = startTraining(t.db, model, [leeds.site.id, york.site.id], ctx())
    expect(refused).toMatchObject({ ok: false, status: 422, field: 'site_ids', reason: expect.stringContaining('Disabled, so no training can be started there: Leeds.') })
    expect(t.db.select().from(tasks).where(eq(tasks.kind, 'training')).all()).toEqual([])
    expect(startTraining(t.db, model, [york.site.id], ctx()).ok).toBe(true)
  })
})

describe('the one-time key page', () => {
  it('has a copy button, hidden until the script runs, an aria-live status, and the script from public/ (no inline script)', async () => {
    const { t, browser } = await world()
    const html = await (await browser.post('/admin/sites', { name: 'Hull', code: 'HUH', contact_email: '' })).text()
    expect(html).toMatch(/<code id="site-api-key">gh_site_[a-z2-7]+<\/code>/)
    expect(html).toMatch(/<button type="button" class="copy-button" data-copy-target="site-api-key" hidden="">\s*Copy key\s*<\/button>/)
    expect(html).toContain('<span class="copy-status" aria-live="polite"></span>')
    expect(html).toContain('<script src="/public/copy-key.js" defer=""></script>')
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/)
    const script = await t.app.request('/public/copy-key.js')
    expect(script.status).toBe(200)
    const source = await script.text()
    expect(source).toContain('navigator.clipboard.writeText')
    expect(source).toContain("'Copied'")
  })
})
