import { describe, expect, it } from 'vitest'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { openDatabase } from '../db/client.ts'
import { applyMigrations } from '../db/migrate.ts'
import { createApp } from '../app.ts'
import { TokenBucketLimiter } from '../auth/rate-limit.ts'
import { createSite } from '../models/sites.ts'
import { BASE_URL, FakeClock, TestClient, createTestEnv, createTestUser, signIn, testConfig, type TestEnv } from '../test/helpers.ts'
import type { AppDeps } from './context.ts'
import { diskProblem } from '../routes/health.tsx'

/** A TestEnv on a database file (a second connection can hold its write lock), logging into `logged`. */
function fileEnv(env: Record<string, string> = {}): TestEnv & { logged: Record<string, unknown>[]; file: string } {
  const config = testConfig(env)
  const file = join(config.dataDir, 'gatehouse.sqlite')
  const db = openDatabase(file)
  applyMigrations(db)
  db.$client.pragma('busy_timeout = 50') // the server waits 5 s; the test does not need to
  const logged: Record<string, unknown>[] = []
  const clock = new FakeClock()
  // The write gate waits for a held lock without blocking (60 s in the server), then the busy timeout: both short here.
  const deps: AppDeps = { config, db, clock, log: { info() {}, error: (r) => logged.push(r) }, ipLimiter: new TokenBucketLimiter(config.ipBurst, config.ipRefillPerSecond), writeWaitMs: 100 }
  const app = createApp(deps)
  return { deps, db, clock, config, app, client: (ip = '203.0.113.7') => new TestClient(app, ip), logged, file }
}

const BROKEN_MULTIPART: [string, string][] = [
  ['multipart/form-data', 'no boundary at all'],
  ['multipart/form-data; boundary=xyz', 'garbage without a boundary line'],
  ['multipart/form-data; boundary=xyz', '--xyz\r\nContent-Disposition: form-data; name="email"\r\n\r\ncut short'],
  ['multipart/form-data; boundary="', '--'],
]

function siteKeyOf(t: TestEnv): string {
  return createSite(t.db, { name: 'Leeds', code: 'LTH', contactEmail: '' }, { actor: { id: 1, email: 'root@example.org' }, now: t.clock.now(), ip: '' }).apiKey
}

describe('clean failures', () => {
  it('a malformed multipart body on any form route is 400 (upload routes 400/422), never 500', async () => {
    const t = createTestEnv()
    const admin = await createTestUser(t, { role: 'admin', email: 'root@example.org' })
    const client = await signIn(t, admin)
    const anonymous = t.client('198.51.100.1')
    const routes: [TestClient, string][] = [
      [anonymous, '/login'],
      [anonymous, '/password/forgot'],
      [client, '/admin/settings'],
      [client, '/admin/users'],
      [client, '/admin/import'],
      [client, '/admin/consortium'],
    ]
    for (const [who, path] of routes) {
      for (const [type, body] of BROKEN_MULTIPART) {
        const res = await who.request(path, { method: 'POST', body, headers: { Origin: BASE_URL, 'Content-Type': type } })
        expect([400, 422], `${path} ${type} ${body}`).toContain(res.status)
        expect(await res.text()).not.toMatch(/\bat .*\.ts:\d+/)
      }
    }
  })

  it('SQLITE_BUSY after the busy timeout is 503 with Retry-After: a page for a browser, JSON for /api/', async () => {
    const t = fileEnv()
    const admin = await createTestUser(t, { role: 'admin', email: 'root@example.org' })
    const client = await signIn(t, admin)
    const key = siteKeyOf(t)
    const holder = new Database(t.file)
    holder.exec('BEGIN IMMEDIATE')
    try {
      const page = await client.post('/admin/settings', { banner_enabled: 'on', banner_message: 'Hello', banner_level: 'info', banner_link: '' })
      expect(page.status).toBe(503)
      expect(Number(page.headers.get('Retry-After'))).toBeGreaterThan(0)
      expect(page.headers.get('Content-Type')).toMatch(/text\/html/)
      expect(await page.text()).toMatch(/busy/i)
      const api = await t.app.request('/api/sites/v1/tasks/1/claim', { method: 'POST', headers: { Authorization: `Bearer ${key}` } })
      expect(api.status).toBe(503)
      expect(Number(api.headers.get('Retry-After'))).toBeGreaterThan(0)
      expect(await api.json()).toMatchObject({ error: expect.stringMatching(/busy/i) })
    } finally {
      holder.exec('ROLLBACK')
      holder.close()
    }
    // the lock gone, the same request goes through
    expect((await client.post('/admin/settings', { banner_enabled: 'on', banner_message: 'Hello', banner_level: 'info', banner_link: '' })).status).toBe(303)
  })

  it('SQLITE_FULL is 503 with Retry-After, and /readyz says the disk is full (200 again once there is room)', async () => {
    const t = fileEnv()
    const admin = await createTestUser(t, { role: 'admin', email: 'root@example.org' })
    const client = await signIn(t, admin)
    const key = siteKeyOf(t)
    expect((await t.client().get('/readyz')).status).toBe(200)
    const pages = t.db.$client.pragma('page_count', { simple: true }) as number
    t.db.$client.pragma(`max_page_count = ${pages + 2}`)
    // fill what is left, as a full disk leaves it
    const filler = t.db.$client.prepare("insert into settings (key, value) values (?, ?)")
    let n = 0
    for (const size of [1000, 100, 10, 0])
      expect(() => {
        for (;;) filler.run(`filler-${n++}`, 'f'.repeat(size))
      }).toThrow(/full/)
    const res = await client.post('/admin/settings', { banner_enabled: 'on', banner_message: 'Hello', banner_level: 'info', banner_link: '' })
    expect(res.status).toBe(503)
    expect(Number(res.headers.get('Retry-After'))).toBeGreaterThan(0)
    expect(await res.text()).toMatch(/storage is full/i)
    const api = await t.app.request('/api/sites/v1/tasks/1/claim', { method: 'POST', headers: { Authorization: `Bearer ${key}` } })
    expect([503, 404]).toContain(api.status) // a claim of no task may fit in the pages there are
    const ready = await t.client().get('/readyz')
    expect(ready.status).toBe(503)
    expect(await ready.json()).toMatchObject({ status: 'not ready', checks: { disk: expect.stringMatching(/full/) } })
    t.db.$client.pragma('max_page_count = 1073741823')
    const again = await t.client().get('/readyz')
    expect(again.status).toBe(200)
    expect(await again.json()).toMatchObject({ checks: { disk: 'ok' } })
  })

  it('the disk check also reads the free space where DATA_DIR is (statfs)', () => {
    const t = createTestEnv()
    expect(diskProblem(t.db, t.config.dataDir)).toBeNull()
    expect(diskProblem(t.db, t.config.dataDir, Number.MAX_SAFE_INTEGER)).toMatch(/^full: \d+ KiB free where DATA_DIR is$/)
    expect(diskProblem(t.db, join(t.config.dataDir, 'no-such-dir'))).toBe('DATA_DIR cannot be read')
  })

  it('in deployment mode /readyz stays 200 and reports "deployment_mode": true', async () => {
    const t = createTestEnv()
    t.db.$client.prepare("insert into settings (key, value) values ('deployment_mode', 'on')").run()
    const res = await t.client().get('/readyz')
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ status: 'ready', deployment_mode: true })
    const off = createTestEnv()
    expect(await (await off.client().get('/readyz')).json()).toMatchObject({ deployment_mode: false })
  })

  it('an unexpected error shows a correlation id (page and JSON), logged with the stack; no stack trace to the client', async () => {
    const t = fileEnv()
    const admin = await createTestUser(t, { role: 'admin', email: 'root@example.org' })
    const client = await signIn(t, admin)
    const key = siteKeyOf(t)
    t.db.$client.exec('drop table tasks') // something the code does not expect
    const res = await client.get('/admin/tasks')
    expect(res.status).toBe(500)
    const html = await res.text()
    const id = /Reference: <code>([0-9a-f]{16})<\/code>/.exec(html)?.[1]
    expect(id).toBeDefined()
    expect(html).not.toMatch(/no such table|SqliteError|\.ts:\d+/)
    const entry = t.logged.find((r) => r.correlation_id === id)
    expect(entry).toMatchObject({ msg: 'unhandled error', route: '/admin/tasks', method: 'GET', error: expect.stringMatching(/no such table/) })
    expect(String(entry!.stack)).toMatch(/\n\s+at /)

    const api = await t.app.request('/api/sites/v1/tasks', { headers: { Authorization: `Bearer ${key}` } })
    expect(api.status).toBe(500)
    const body = (await api.json()) as { error: string; correlation_id: string }
    expect(body.correlation_id).toMatch(/^[0-9a-f]{16}$/)
    expect(JSON.stringify(body)).not.toMatch(/no such table|\.ts:\d+/)
    expect(t.logged.some((r) => r.correlation_id === body.correlation_id)).toBe(true)
  })
})
