import { describe, expect, it } from 'vitest'
import { eq } from 'drizzle-orm'
import { createTestEnv, createTestUser, signIn, BASE_URL } from './test/helpers.ts'
import { users } from './db/schema.ts'

/** Routes anyone may reach without signing in. Everything else must send them to /login. */
const PUBLIC_ROUTES = new Set(['GET /favicon.ico', 'GET /healthz', 'GET /readyz', 'GET /login', 'POST /login', 'POST /logout', 'GET /password/forgot', 'POST /password/forgot', 'GET /password/reset/:token', 'POST /password/reset/:token', 'GET /invite/:token', 'POST /invite/:token', 'POST /invite/:token/verify', 'POST /invite/:token/oidc', 'GET /login/oidc/callback', 'GET /login/providers', 'GET /login/oidc/:providerId{[0-9]+}', 'POST /login/passkey/options', 'POST /login/passkey'])
/** Pages of the sign-in chain (reachable with a half-done session, each only at its step). */
const CHAIN_ROUTES = new Set(['GET /login/mfa', 'POST /login/mfa', 'POST /login/mfa/passkey/options', 'POST /login/mfa/passkey', 'GET /mfa/setup', 'POST /mfa/setup', 'GET /password/change', 'POST /password/change'])

function registeredRoutes(t: ReturnType<typeof createTestEnv>) {
  const seen = new Map<string, { method: string; path: string }>()
  for (const r of t.app.routes) {
    if (r.method === 'ALL') continue // middleware
    if (r.path.startsWith('/api/')) continue // the site API takes a bearer key, not a session: api.test.ts walks it (401 without a key)
    seen.set(`${r.method} ${r.path}`, { method: r.method, path: r.path.replace(/:(\w+)/g, 'x1') })
  }
  return [...seen.entries()]
}

describe('route guards (walks every registered route)', () => {
  it('registers the routes this test knows how to judge', () => {
    const t = createTestEnv()
    expect(registeredRoutes(t).length).toBeGreaterThanOrEqual(PUBLIC_ROUTES.size + CHAIN_ROUTES.size + 2)
  })

  it('sends anonymous requests to sign-in on every route but the public ones', async () => {
    const t = createTestEnv()
    for (const [key, route] of registeredRoutes(t)) {
      if (PUBLIC_ROUTES.has(key)) continue
      const client = t.client()
      const res = route.method === 'GET' ? await client.get(route.path) : await client.post(route.path, {})
      expect(res.status, key).toBe(303)
      expect(res.headers.get('Location'), key).toBe('/login')
    }
  })

  it('keeps a half signed-in session (password only) on its chain page everywhere else', async () => {
    const t = createTestEnv()
    const u = await createTestUser(t, { role: 'admin' })
    const client = t.client()
    await client.post('/login', { email: u.user.email, password: u.password })
    for (const [key, route] of registeredRoutes(t)) {
      if (PUBLIC_ROUTES.has(key) || key.endsWith('/login/mfa') || key.includes(' /login/mfa/passkey')) continue
      const res = route.method === 'GET' ? await client.get(route.path) : await client.post(route.path, {})
      expect(res.status, key).toBe(303)
      expect(res.headers.get('Location'), key).toBe('/login/mfa')
    }
  })

  it('refuses every /admin route to a signed-in non-admin with 403', async () => {
    const t = createTestEnv()
    const observer = await createTestUser(t, { role: 'observer' })
    const client = await signIn(t, observer)
    const adminRoutes = registeredRoutes(t).filter(([key]) => key.includes(' /admin'))
    expect(adminRoutes.length).toBeGreaterThan(0)
    for (const [key, route] of adminRoutes) {
      const res = route.method === 'GET' ? await client.get(route.path) : await client.post(route.path, {})
      expect(res.status, key).toBe(403)
    }
  })

  it('applies a role change on the very next request (permissions are resolved per request)', async () => {
    const t = createTestEnv()
    const u = await createTestUser(t, { role: 'admin' })
    const client = await signIn(t, u)
    expect((await client.get('/admin')).status).toBe(200)
    t.db.update(users).set({ role: 'researcher' }).where(eq(users.id, u.user.id)).run()
    expect((await client.get('/admin')).status).toBe(403)
  })
})

describe('security baseline', () => {
  it('refuses a form post from a foreign Origin, or with no Origin and no Referer', async () => {
    const t = createTestEnv()
    const u = await createTestUser(t)
    const client = t.client()
    const foreign = await client.post('/login', { email: u.user.email, password: u.password }, { Origin: 'https://evil.example' })
    expect(foreign.status).toBe(403)
    const bare = await client.request('/login', { method: 'POST', body: new URLSearchParams({ email: u.user.email, password: u.password }), headers: { 'Content-Type': 'application/x-www-form-urlencoded' } })
    expect(bare.status).toBe(403)
    const viaReferer = await client.request('/login', { method: 'POST', body: new URLSearchParams({ email: u.user.email, password: u.password }), headers: { 'Content-Type': 'application/x-www-form-urlencoded', Referer: `${BASE_URL}/login` } })
    expect(viaReferer.status).toBe(303)
    // a signed-in user is protected too
    const signedIn = await signIn(t, u)
    expect((await signedIn.post('/logout', {}, { Origin: 'http://gatehouse.test.evil.example' })).status).toBe(403)
    expect((await signedIn.get('/')).status).toBe(200)
  })

  it('refuses a foreign Origin (or "null", or only a foreign Referer) on every registered POST route, for a signed-in admin, as form or JSON, and changes nothing', async () => {
    const t = createTestEnv()
    const admin = await createTestUser(t, { role: 'admin' })
    const client = await signIn(t, admin)
    const posts = registeredRoutes(t).filter(([key]) => key.startsWith('POST '))
    expect(posts.length).toBeGreaterThan(40)
    const before = JSON.stringify([t.db.$client.prepare('select count(*) n from audit_events').get(), t.db.$client.prepare('select count(*) n from sessions').get()])
    for (const [key, route] of posts) {
      for (const headers of <Record<string, string>[]>[{ Origin: 'https://evil.example' }, { Origin: 'null' }, { Origin: '', Referer: 'https://evil.example/x' }, { Origin: `${BASE_URL}.evil.example` }]) {
        const form = await client.post(route.path, { name: 'x' }, headers)
        expect(form.status, `${key} ${JSON.stringify(headers)}`).toBe(403)
      }
      const json = await client.request(route.path, { method: 'POST', body: '{}', headers: { Origin: 'https://evil.example', 'Content-Type': 'application/json' } })
      expect(json.status, `${key} as JSON`).toBe(403)
    }
    expect(JSON.stringify([t.db.$client.prepare('select count(*) n from audit_events').get(), t.db.$client.prepare('select count(*) n from sessions').get()])).toBe(before)
    expect((await client.get('/')).status).toBe(200)
  })

  it('answers 413 to a form body over 64 KB', async () => {
    const t = createTestEnv()
    const res = await t.client().post('/login', { email: 'a@example.org', password: 'x'.repeat(70 * 1024) })
    expect(res.status).toBe(413)
  })

  it('sends a CSP without inline script, frame-ancestors none, nosniff and a referrer policy; no HSTS over http', async () => {
    const t = createTestEnv()
    const res = await t.client().get('/login')
    const csp = res.headers.get('Content-Security-Policy') ?? ''
    expect(csp).toContain("script-src 'self'")
    expect(csp).not.toContain('unsafe-inline')
    expect(csp).toContain("frame-ancestors 'none'")
    expect(res.headers.get('X-Content-Type-Options')).toBe('nosniff')
    expect(res.headers.get('Referrer-Policy')).toBe('same-origin')
    expect(res.headers.get('Strict-Transport-Security')).toBeNull()
    expect(await res.text()).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/)
  })

  it('over https: __Host- cookie that is Secure, HttpOnly, SameSite=Lax, and HSTS for a year', async () => {
    const t = createTestEnv({ BASE_URL: 'https://gatehouse.example' })
    const u = await createTestUser(t)
    const res = await t.app.request('/login', { method: 'POST', body: new URLSearchParams({ email: u.user.email, password: u.password }), headers: { Origin: 'https://gatehouse.example', 'Content-Type': 'application/x-www-form-urlencoded' } })
    const cookie = res.headers.get('Set-Cookie') ?? ''
    expect(cookie).toMatch(/^__Host-session=/)
    expect(cookie).toContain('Secure')
    expect(cookie).toContain('HttpOnly')
    expect(cookie).toContain('SameSite=Lax')
    expect(cookie).toContain('Path=/')
    expect(res.headers.get('Strict-Transport-Security')).toContain('max-age=31536000')
  })

  it('stores only a hash of the session secret', async () => {
    const t = createTestEnv()
    const u = await createTestUser(t)
    const client = await signIn(t, u)
    const token = client.cookies.get('session')!
    const [id, secret] = token.split('.')
    const row = t.db.$client.prepare('select * from sessions where id = ?').get(id) as Record<string, unknown>
    expect(secret!.length).toBeGreaterThanOrEqual(52) // 32 bytes in base32
    expect(JSON.stringify(row)).not.toContain(secret)
    expect((row.secret_hash as Buffer).length).toBe(32)
  })

  it('shows a friendly 404 and a 500 page without a stack trace', async () => {
    const t = createTestEnv()
    const missing = await t.client().get('/no/such/page')
    expect(missing.status).toBe(404)
    expect(await missing.text()).toContain('Not found')
    const u = await createTestUser(t)
    t.db.update(users).set({ totpSecret: 'v1:corrupted' }).where(eq(users.id, u.user.id)).run()
    const client = t.client()
    await client.post('/login', { email: u.user.email, password: u.password })
    const res = await client.post('/login/mfa', { code: '123456' })
    expect(res.status).toBe(500)
    const html = await res.text()
    expect(html).toContain('Something went wrong')
    expect(html).not.toMatch(/at \w+ \(|\.ts:\d+/)
  })

  it('answers /healthz with {"status":"ok"}', async () => {
    const t = createTestEnv()
    const res = await t.client().get('/healthz')
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ status: 'ok' })
  })
})
