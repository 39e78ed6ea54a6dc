import { describe, expect, it } from 'vitest'
import { Hono } from 'hono'
import { eq } from 'drizzle-orm'
import { createTestEnv, createTestUser, signIn, TestClient, type TestEnv } from '../../test/helpers.ts'
import { auditEvents, projects, roles, settings } from '../../db/schema.ts'
import { getSiteSettings } from '../../models/settings.ts'
import { requireUser, loadSession } from '../../auth/middleware.ts'
import { routeClass } from '../../http/route-class.ts'
import type { AppEnv } from '../../http/context.ts'

async function adminSession(t: TestEnv) {
  const admin = await createTestUser(t, { role: 'admin', email: 'root@example.org' })
  return { admin, client: await signIn(t, admin) }
}

function audits(t: TestEnv, event: string) {
  return t.db.select().from(auditEvents).where(eq(auditEvents.event, event)).all()
}

const banner = (fields: Partial<Record<'banner_message' | 'banner_link' | 'banner_level' | 'banner_enabled', string>>) => ({
  banner_message: '',
  banner_link: '',
  banner_level: 'info',
  ...fields,
})

/** The site banner element (not the deployment-mode notice), or null when the page has none. */
function bannerOf(html: string): string | null {
  const match = /<div class="banner banner-(?:info|warning|critical)" role="(?:alert|status)">(?:(?!<\/div>)[\s\S])*<\/div>/.exec(html)
  if (!match) return null
  // the deployment-mode notice uses the same classes: skip it
  if (match[0].includes('Deployment mode is on')) return bannerOf(html.slice(match.index + match[0].length))
  return match[0]
}

const DEPLOYMENT_NOTICE = 'Deployment mode is on'

describe('site banner', () => {
  it('shows an enabled banner at the top of every page, signed in or not, with its link, and audits the change', async () => {
    const t = createTestEnv()
    const { client } = await adminSession(t)
    const save = await client.post('/admin/settings', banner({ banner_enabled: 'on', banner_message: 'Planned maintenance on Friday 18:00 UTC', banner_link: 'https://status.example.org/notes?a=1&b=2', banner_level: 'warning' }))
    expect(save.status).toBe(303)
    expect(save.headers.get('Location')).toBe('/admin/settings')
    expect(getSiteSettings(t.db).banner).toEqual({ enabled: true, message: 'Planned maintenance on Friday 18:00 UTC', link: 'https://status.example.org/notes?a=1&b=2', level: 'warning' })

    const anonymous = t.client('198.51.100.20')
    const pages: [TestClient, string][] = [
      [anonymous, '/login'],
      [anonymous, '/password/forgot'],
      [anonymous, '/no-such-page'],
      [client, '/'],
      [client, '/admin'],
      [client, '/admin/users'],
      [client, '/admin/settings'],
      [client, '/admin/audit'],
    ]
    for (const [who, path] of pages) {
      const res = await who.get(path)
      const html = await res.text()
      const shown = bannerOf(html)
      expect(shown, `banner on ${path}`).not.toBeNull()
      expect(shown).toContain('Planned maintenance on Friday 18:00 UTC')
      expect(shown).toContain('href="https://status.example.org/notes?a=1&amp;b=2"')
      expect(shown).toContain('role="status"')
      // at the top: before the site header and the main content
      expect(html.indexOf('Planned maintenance')).toBeLessThan(html.indexOf('<header'))
    }

    const [event] = audits(t, 'banner.updated')
    expect(event).toMatchObject({ actorEmail: 'root@example.org', targetType: 'settings', targetId: 'banner' })
    expect(JSON.parse(event!.details)).toEqual({
      before: { enabled: false, message: '', link: '', level: 'info' },
      after: { enabled: true, message: 'Planned maintenance on Friday 18:00 UTC', link: 'https://status.example.org/notes?a=1&b=2', level: 'warning' },
    })
    // saving the same values again changes nothing and audits nothing
    await client.post('/admin/settings', banner({ banner_enabled: 'on', banner_message: 'Planned maintenance on Friday 18:00 UTC', banner_link: 'https://status.example.org/notes?a=1&b=2', banner_level: 'warning' }))
    expect(audits(t, 'banner.updated')).toHaveLength(1)
  })

  it('escapes the message: a script tag in it is shown as text, never as a tag', async () => {
    const t = createTestEnv()
    const { client } = await adminSession(t)
    expect((await client.post('/admin/settings', banner({ banner_enabled: 'on', banner_message: '<script>alert(1)</script> & "quotes" <b>bold</b>' }))).status).toBe(303)
    for (const html of [await (await t.client().get('/login')).text(), await (await client.get('/admin/settings')).text()]) {
      expect(bannerOf(html)).toContain('&lt;script&gt;alert(1)&lt;/script&gt;')
      expect(html).not.toContain('<script>alert(1)</script>')
      expect(html).not.toContain('<b>bold</b>')
      // the only script tags on the page are the ones the layout loads from /public
      const scripts = html.match(/<script\b[^>]*>/g) ?? []
      expect(scripts).toContain('<script src="/public/htmx.min.js" defer="">')
      for (const tag of scripts) expect(tag).toMatch(/^<script src="\/public\/[\w.-]+\.js"(?: defer="")?>$/)
    }
  })

  it.each([
    ['javascript:alert(1)'],
    ['JavaScript:alert(document.cookie)'],
    ['  javascript:alert(1)'],
    ['data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=='],
    ['ftp://x'],
    ['vbscript:msgbox(1)'],
    ['//evil.example.org/'],
    ['https://'],
    ['not a link'],
  ])('refuses the link %j with 422 on banner_link and saves nothing', async (link) => {
    const t = createTestEnv()
    const { client } = await adminSession(t)
    const res = await client.post('/admin/settings', banner({ banner_enabled: 'on', banner_message: 'Hello', banner_link: link, banner_level: 'critical' }))
    expect(res.status).toBe(422)
    const html = await res.text()
    expect(html).toMatch(/id="f-banner_link-error"[^>]*>Only http:\/\/ or https:\/\/ links are allowed\./)
    // the form re-renders with what was typed, and no banner is shown (nothing was saved)
    expect(html).toContain('value="Hello"')
    expect(bannerOf(html)).toBeNull()
    expect(html).not.toMatch(/href="\s*(javascript|data|ftp|vbscript):/i)
    expect(t.db.select().from(settings).all()).toEqual([])
    expect(getSiteSettings(t.db).banner.enabled).toBe(false)
    expect(audits(t, 'banner.updated')).toHaveLength(0)
    expect(bannerOf(await (await t.client().get('/login')).text())).toBeNull()
  })

  it('accepts http:// and https:// links only', async () => {
    const t = createTestEnv()
    const { client } = await adminSession(t)
    expect((await client.post('/admin/settings', banner({ banner_enabled: 'on', banner_message: 'a', banner_link: 'http://intranet.example.org/x' }))).status).toBe(303)
    expect(getSiteSettings(t.db).banner.link).toBe('http://intranet.example.org/x')
    expect((await client.post('/admin/settings', banner({ banner_enabled: 'on', banner_message: 'a', banner_link: 'HTTPS://Status.Example.org' }))).status).toBe(303)
    expect(getSiteSettings(t.db).banner.link).toBe('HTTPS://Status.Example.org')
  })

  it('refuses an unknown level, an enabled banner without a message and a message over 500 characters (422 per field)', async () => {
    const t = createTestEnv()
    const { client } = await adminSession(t)
    const level = await client.post('/admin/settings', banner({ banner_enabled: 'on', banner_message: 'x', banner_level: 'emergency' }))
    expect(level.status).toBe(422)
    expect(await level.text()).toContain('Choose info, warning or critical.')
    const empty = await client.post('/admin/settings', banner({ banner_enabled: 'on', banner_message: '   ' }))
    expect(empty.status).toBe(422)
    expect(await empty.text()).toMatch(/id="f-banner_message-error"[^>]*>Write the message to show/)
    const long = await client.post('/admin/settings', banner({ banner_enabled: 'on', banner_message: 'x'.repeat(501) }))
    expect(long.status).toBe(422)
    expect(await long.text()).toMatch(/id="f-banner_message-error"[^>]*>At most 500 characters\./)
    expect(t.db.select().from(settings).all()).toEqual([])
    expect(audits(t, 'banner.updated')).toHaveLength(0)
  })

  it('uses role="alert" for a critical banner and role="status" for info and warning', async () => {
    const t = createTestEnv()
    const { client } = await adminSession(t)
    for (const [level, role] of [['critical', 'alert'], ['info', 'status'], ['warning', 'status']] as const) {
      expect((await client.post('/admin/settings', banner({ banner_enabled: 'on', banner_message: `Level ${level}`, banner_level: level }))).status).toBe(303)
      const shown = bannerOf(await (await t.client().get('/login')).text())
      expect(shown).toContain(`class="banner banner-${level}" role="${role}"`)
      expect(shown).toContain(`Level ${level}`)
    }
    expect(audits(t, 'banner.updated')).toHaveLength(3)
  })

  it('disabling hides it everywhere (the message is kept for next time), audited', async () => {
    const t = createTestEnv()
    const { client } = await adminSession(t)
    await client.post('/admin/settings', banner({ banner_enabled: 'on', banner_message: 'Read me', banner_level: 'critical' }))
    expect(bannerOf(await (await t.client().get('/login')).text())).toContain('Read me')
    // an unchecked checkbox is simply absent from the form
    expect((await client.post('/admin/settings', banner({ banner_message: 'Read me', banner_level: 'critical' }))).status).toBe(303)
    for (const [who, path] of [[t.client(), '/login'], [t.client(), '/password/forgot'], [client, '/admin']] as const) {
      const html = await (await who.get(path)).text()
      expect(bannerOf(html), path).toBeNull()
      expect(html).not.toContain('Read me')
    }
    expect(getSiteSettings(t.db).banner).toMatchObject({ enabled: false, message: 'Read me' })
    expect(audits(t, 'banner.updated')).toHaveLength(2)
  })
})

describe('deployment mode', () => {
  it('switching it on asks first, naming what pauses; nothing changes until confirmed; the two parts are separate forms', async () => {
    const t = createTestEnv()
    const { client } = await adminSession(t)
    const page = await (await client.get('/admin/settings')).text()
    expect(page.match(/<form method="post" action="\/admin\/settings"/g)).toHaveLength(2)
    const ask = await client.post('/admin/settings', { deployment_mode_field: '1', deployment_mode: 'on' })
    expect(ask.status).toBe(200)
    const question = await ask.text()
    expect(question).toContain('Switch deployment mode on?')
    expect(question).toContain('the site API answers 503')
    expect(question).toContain('name="confirm" value="yes"')
    expect(question).toContain('name="deployment_mode" value="on"')
    expect(getSiteSettings(t.db).deploymentMode).toBe(false)
    expect(audits(t, 'deployment_mode.on')).toHaveLength(0)
    expect((await client.post('/admin/settings', { deployment_mode_field: '1', deployment_mode: 'on', confirm: 'yes' })).status).toBe(303)
    expect(getSiteSettings(t.db).deploymentMode).toBe(true)
    // switching it off needs no confirmation
    expect((await client.post('/admin/settings', { deployment_mode_field: '1' })).status).toBe(303)
    expect(getSiteSettings(t.db).deploymentMode).toBe(false)
  })

  it('switching on and off is audited, shown in the layout while on, and leaves the banner as it was', async () => {
    const t = createTestEnv()
    const { client } = await adminSession(t)
    await client.post('/admin/settings', banner({ banner_enabled: 'on', banner_message: 'Kept', banner_level: 'info' }))

    const on = await client.post('/admin/settings', { deployment_mode_field: '1', deployment_mode: 'on', confirm: 'yes' })
    expect(on.status).toBe(303)
    expect(getSiteSettings(t.db).deploymentMode).toBe(true)
    expect(getSiteSettings(t.db).banner).toMatchObject({ enabled: true, message: 'Kept' })
    expect(audits(t, 'deployment_mode.on')).toEqual([expect.objectContaining({ actorEmail: 'root@example.org', targetType: 'settings', targetId: 'deployment_mode' })])
    const flash = await (await client.get('/admin/settings')).text()
    expect(flash).toContain('Saved: deployment mode.')
    expect(flash).toMatch(/name="deployment_mode"[^>]*checked/)

    for (const [who, path] of [[t.client(), '/login'], [t.client(), '/password/forgot'], [client, '/'], [client, '/admin']] as const) {
      const html = await (await who.get(path)).text()
      expect(html, path).toContain(DEPLOYMENT_NOTICE)
      expect(bannerOf(html), path).toContain('Kept')
    }

    const off = await client.post('/admin/settings', { deployment_mode_field: '1' }) // checkbox unchecked: absent
    expect(off.status).toBe(303)
    expect(getSiteSettings(t.db).deploymentMode).toBe(false)
    expect(audits(t, 'deployment_mode.off')).toHaveLength(1)
    expect(audits(t, 'banner.updated')).toHaveLength(1) // only the first save touched the banner
    expect(await (await t.client().get('/login')).text()).not.toContain(DEPLOYMENT_NOTICE)
    expect(await (await client.get('/')).text()).not.toContain(DEPLOYMENT_NOTICE)
  })

  it('a custom site role with admin.access + banner.manage (no deployment.manage) edits the banner but cannot switch deployment mode, even with a forged field', async () => {
    const t = createTestEnv()
    await createTestUser(t, { role: 'admin' })
    t.db.insert(roles).values({ name: 'communications', scope: 'site', permissions: ['admin.access', 'banner.manage'], createdAt: 0, updatedAt: 0 }).run()
    const comms = await createTestUser(t, { role: 'communications' as 'admin', email: 'comms@example.org' })
    const client = await signIn(t, comms)

    const page = await client.get('/admin/settings')
    expect(page.status).toBe(200)
    const html = await page.text()
    expect(html).toMatch(/<input type="checkbox" name="deployment_mode"[^>]*disabled/)
    expect(html).not.toContain('name="deployment_mode_field"')

    const forged = await client.post('/admin/settings', { deployment_mode_field: '1', deployment_mode: 'on', confirm: 'yes' })
    expect(forged.status).toBe(403)
    expect(await forged.text()).toContain('deployment.manage')
    const forgedWithBanner = await client.post('/admin/settings', { deployment_mode_field: '1', deployment_mode: 'on', ...banner({ banner_enabled: 'on', banner_message: 'Sneaky' }) })
    expect(forgedWithBanner.status).toBe(403)
    expect(await forgedWithBanner.text()).toContain('deployment.manage')
    expect(getSiteSettings(t.db)).toEqual({ deploymentMode: false, banner: { enabled: false, message: '', link: '', level: 'info' } })
    expect(audits(t, 'deployment_mode.on')).toHaveLength(0)
    expect(audits(t, 'banner.updated')).toHaveLength(0)

    // what their form actually sends: the banner fields only
    const ok = await client.post('/admin/settings', banner({ banner_enabled: 'on', banner_message: 'Newsletter is out', banner_level: 'info' }))
    expect(ok.status).toBe(303)
    expect(getSiteSettings(t.db)).toMatchObject({ deploymentMode: false, banner: { enabled: true, message: 'Newsletter is out' } })
    expect(audits(t, 'banner.updated')).toEqual([expect.objectContaining({ actorEmail: 'comms@example.org' })])
  })

  it('a custom site role with admin.access + deployment.manage (no banner.manage) cannot change the banner', async () => {
    const t = createTestEnv()
    t.db.insert(roles).values({ name: 'release-manager', scope: 'site', permissions: ['admin.access', 'deployment.manage'], createdAt: 0, updatedAt: 0 }).run()
    const release = await createTestUser(t, { role: 'release-manager' as 'admin' })
    const client = await signIn(t, release)
    const forged = await client.post('/admin/settings', banner({ banner_enabled: 'on', banner_message: 'Sneaky' }))
    expect(forged.status).toBe(403)
    expect(await forged.text()).toContain('banner.manage')
    expect((await client.post('/admin/settings', { deployment_mode_field: '1', deployment_mode: 'on', confirm: 'yes' })).status).toBe(303)
    expect(getSiteSettings(t.db)).toMatchObject({ deploymentMode: true, banner: { enabled: false } })
  })

  it('keeps sign-in, MFA, password pages, the admin area and user management working while on', async () => {
    const t = createTestEnv()
    const { client: admin } = await adminSession(t)
    expect((await admin.post('/admin/settings', { deployment_mode_field: '1', deployment_mode: 'on', confirm: 'yes' })).status).toBe(303)
    expect(getSiteSettings(t.db).deploymentMode).toBe(true)

    // the whole sign-in chain of an enrolled user
    const member = await createTestUser(t, { email: 'member@example.org' })
    const browser = t.client('198.51.100.30')
    expect((await browser.get('/login')).status).toBe(200)
    expect((await browser.get('/password/forgot')).status).toBe(200)
    expect((await browser.post('/password/forgot', { email: 'member@example.org' })).status).toBe(200)
    await signIn(t, member, browser)
    expect((await browser.get('/')).status).toBe(200)
    expect((await browser.get('/password/change')).status).toBe(200)

    // step pages of a new user: forced password change, then enrolment
    const fresh = await createTestUser(t, { email: 'fresh@example.org', enrolled: false, mustChangePassword: true })
    const newcomer = t.client('198.51.100.31')
    const step1 = await newcomer.post('/login', { email: fresh.user.email, password: fresh.password })
    expect(step1.status).toBe(303)
    expect(step1.headers.get('Location')).toBe('/password/change')
    expect((await newcomer.get('/password/change')).status).toBe(200)
    const changed = await newcomer.post('/password/change', { current_password: fresh.password, new_password: 'amber-tidal-foxglove-lighthouse', confirm_password: 'amber-tidal-foxglove-lighthouse' })
    expect(changed.status).toBe(303)
    expect(changed.headers.get('Location')).toBe('/mfa/setup')
    expect((await newcomer.get('/mfa/setup')).status).toBe(200)
    const loginMfa = t.client('198.51.100.32')
    await loginMfa.post('/login', { email: member.user.email, password: member.password })
    expect((await loginMfa.get('/login/mfa')).status).toBe(200)

    // admin area and user management
    for (const path of ['/admin', '/admin/users', '/admin/settings', '/admin/audit', '/admin/outbox', '/admin/groups', '/admin/roles', '/admin/invitations']) {
      const res = await admin.get(path)
      expect(res.status, path).toBe(200)
      expect(await res.text(), path).toContain(DEPLOYMENT_NOTICE)
    }
    expect((await admin.post('/admin/users', { email: 'during-deploy@example.org', role: 'researcher' })).status).toBe(303)
    expect((await admin.post('/admin/groups', { name: 'Deploy group', description: '' })).status).toBe(303)
    expect((await admin.get('/healthz')).status).toBe(200)

    // and the switch itself can be turned off again
    expect((await admin.post('/admin/settings', { deployment_mode_field: '1' })).status).toBe(303)
    expect(getSiteSettings(t.db).deploymentMode).toBe(false)
  })

  it('pauses routes declared core (503 HTML maintenance page, Retry-After) and site-api (503 JSON), and lets them through when off', async () => {
    const t = createTestEnv()
    const { client: admin } = await adminSession(t)

    // Dummy routes declared with the real middlewares, over the same deps as the real app.
    const extra = new Hono<AppEnv>()
    extra.use('*', async (c, next) => {
      c.set('deps', t.deps)
      await next()
    })
    extra.use('*', loadSession)
    extra.get('/projects-like', requireUser, routeClass('core'), (c) => c.text('core handler ran'))
    extra.post('/projects-like', requireUser, routeClass('core'), (c) => c.text('core write ran'))
    extra.get('/api/sites/v1/tasks-like', routeClass('site-api'), (c) => c.json({ tasks: [] }))
    const viaExtra = new TestClient(extra, '203.0.113.7')
    viaExtra.cookies = new Map(admin.cookies)

    // off: both pass through
    let core = await viaExtra.get('/projects-like')
    expect(core.status).toBe(200)
    expect(await core.text()).toBe('core handler ran')
    let api = await viaExtra.get('/api/sites/v1/tasks-like')
    expect(api.status).toBe(200)
    expect(await api.json()).toEqual({ tasks: [] })

    // on (switched over HTTP: the cached settings are dropped at once)
    expect((await admin.post('/admin/settings', { deployment_mode_field: '1', deployment_mode: 'on', confirm: 'yes' })).status).toBe(303)
    core = await viaExtra.get('/projects-like')
    expect(core.status).toBe(503)
    expect(core.headers.get('Retry-After')).toBe('300')
    expect(core.headers.get('Content-Type')).toMatch(/^text\/html/)
    const page = await core.text()
    expect(page).toContain('Paused for maintenance')
    expect(page).toContain(DEPLOYMENT_NOTICE)
    expect(page).not.toContain('core handler ran')
    const write = await viaExtra.post('/projects-like', { name: 'x' })
    expect(write.status).toBe(503)
    expect(await write.text()).not.toContain('core write ran')
    api = await viaExtra.get('/api/sites/v1/tasks-like')
    expect(api.status).toBe(503)
    expect(api.headers.get('Retry-After')).toBe('300')
    expect(api.headers.get('Content-Type')).toMatch(/^application\/json/)
    expect(await api.json()).toEqual({ error: expect.stringContaining('deployment mode'), retry_after_seconds: 300 })

    // the guards still come first: a signed-out visitor is sent to sign in, not shown maintenance
    const anonymous = new TestClient(extra, '203.0.113.8')
    const signedOut = await anonymous.get('/projects-like')
    expect(signedOut.status).toBe(303)
    expect(signedOut.headers.get('Location')).toBe('/login')

    // off again: both pass through
    expect((await admin.post('/admin/settings', { deployment_mode_field: '1' })).status).toBe(303)
    expect((await viaExtra.get('/projects-like')).status).toBe(200)
    expect((await viaExtra.get('/api/sites/v1/tasks-like')).status).toBe(200)
  })
})

describe('deployment mode and the real core routes', () => {
  it('pauses the project pages (declared core) with the 503 maintenance page while on, and serves them again when off', async () => {
    const t = createTestEnv()
    const { client } = await adminSession(t)
    expect((await client.get('/projects')).status).toBe(200)
    expect((await client.post('/admin/settings', { deployment_mode_field: '1', deployment_mode: 'on', confirm: 'yes' })).status).toBe(303)
    for (const path of ['/projects', '/projects/new', '/projects/1']) {
      const res = await client.get(path)
      expect(res.status, path).toBe(503)
      expect(res.headers.get('Retry-After'), path).toBe('300')
      expect(await res.text(), path).toContain('Paused for maintenance')
    }
    const create = await client.post('/projects/new', { name: 'During deployment', description: '' })
    expect(create.status).toBe(503)
    expect(t.db.select().from(projects).all()).toEqual([])

    expect((await client.post('/admin/settings', { deployment_mode_field: '1' })).status).toBe(303)
    expect((await client.get('/projects')).status).toBe(200)
    expect((await client.post('/projects/new', { name: 'After deployment', description: '' })).status).toBe(303)
    expect(t.db.select().from(projects).all().map((p) => p.name)).toEqual(['After deployment'])
  })
})

describe('settings access', () => {
  it('answers 403 to a researcher on GET and POST, naming admin.access, and changes nothing', async () => {
    const t = createTestEnv()
    const researcher = await createTestUser(t, { role: 'researcher' })
    const client = await signIn(t, researcher)
    const get = await client.get('/admin/settings')
    expect(get.status).toBe(403)
    expect(await get.text()).toContain('admin.access')
    const post = await client.post('/admin/settings', { deployment_mode_field: '1', deployment_mode: 'on', ...banner({ banner_enabled: 'on', banner_message: 'pwned' }) })
    expect(post.status).toBe(403)
    expect(await post.text()).toContain('admin.access')
    expect(getSiteSettings(t.db)).toEqual({ deploymentMode: false, banner: { enabled: false, message: '', link: '', level: 'info' } })
    expect(t.db.select().from(auditEvents).all().filter((e) => e.event.startsWith('banner') || e.event.startsWith('deployment'))).toEqual([])
    // signed out: sent to sign in
    const anonymous = await t.client().get('/admin/settings')
    expect(anonymous.status).toBe(303)
    expect(anonymous.headers.get('Location')).toBe('/login')
  })
})

describe('the cached settings (read on every page, cached in-process)', () => {
  it('a deployment-mode switch and a banner change through the admin page apply on the very next request, and switching back does too', async () => {
    const t = createTestEnv()
    const { client } = await adminSession(t)
    const anonymous = t.client('198.51.100.21')
    const before = await (await client.get('/')).text()
    expect(before).not.toContain(DEPLOYMENT_NOTICE)
    expect(bannerOf(before)).toBeNull()

    expect((await client.post('/admin/settings', { deployment_mode_field: '1', deployment_mode: 'on', confirm: 'yes', ...banner({ banner_enabled: 'on', banner_message: 'Back at 18:00' }) })).status).toBe(303)
    for (const [who, path] of [[client, '/'], [anonymous, '/login']] as const) {
      const html = await (await who.get(path)).text()
      expect(html, path).toContain(DEPLOYMENT_NOTICE)
      expect(bannerOf(html), path).toContain('Back at 18:00')
    }

    expect((await client.post('/admin/settings', { deployment_mode_field: '1', deployment_mode: '', ...banner({ banner_message: 'Back at 18:00' }) })).status).toBe(303)
    for (const [who, path] of [[client, '/'], [anonymous, '/login']] as const) {
      const html = await (await who.get(path)).text()
      expect(html, path).not.toContain(DEPLOYMENT_NOTICE)
      expect(bannerOf(html), path).toBeNull()
    }
  })
})
