import { afterEach, describe, expect, it } from 'vitest'
import Database from 'better-sqlite3'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createTestUser, FakeClock, quietLog, signIn, TestClient, testConfig, type TestEnv } from '../test/helpers.ts'
import { openDatabase } from '../db/client.ts'
import { applyMigrations } from '../db/migrate.ts'
import { createApp } from '../app.ts'
import { TokenBucketLimiter } from '../auth/rate-limit.ts'
import type { AppDeps } from './context.ts'
import { noteWriterElsewhere } from './write-gate.ts'
import { eq } from 'drizzle-orm'
import { sessions } from '../db/schema.ts'

// While another connection holds SQLite's write lock (the import's apply worker, the CLI), requests
// that write wait for it without stopping the event loop: other pages keep answering meanwhile.

const cleanup: (() => void)[] = []
afterEach(() => {
  for (const f of cleanup.splice(0)) f()
})

function fileEnv(): TestEnv & { file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-write-gate-'))
  const file = join(dir, 'gatehouse.sqlite')
  const config = testConfig()
  const db = openDatabase(file)
  applyMigrations(db)
  cleanup.push(() => {
    db.$client.close()
    rmSync(dir, { recursive: true, force: true })
  })
  const clock = new FakeClock()
  const deps: AppDeps = { config, db, clock, log: quietLog, ipLimiter: new TokenBucketLimiter(config.ipBurst, config.ipRefillPerSecond) }
  const app = createApp(deps)
  return { deps, db, clock, config, app, file, client: (ip = '203.0.113.7') => new TestClient(app, ip) }
}

/** Another connection to the same file holding the write lock, as the apply worker does during its transaction. */
function holdWriteLock(file: string) {
  const other = new Database(file)
  other.exec('BEGIN IMMEDIATE')
  cleanup.push(() => other.open && other.close())
  return () => {
    other.exec('COMMIT')
    other.close()
  }
}

/** A request's promise, and whether it has answered yet. */
function pending(p: Promise<Response>) {
  const state = { done: false, response: p }
  void p.finally(() => (state.done = true)).catch(() => undefined)
  return state
}

const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('the write gate', () => {
  it('a sign-in while another connection writes waits without stopping the event loop, then succeeds', async () => {
    const t = fileEnv()
    const user = await createTestUser(t, { email: 'ada@example.org' })
    const release = holdWriteLock(t.file)
    const login = pending(t.client().post('/login', { email: user.user.email, password: user.password }))
    await tick(300)
    expect(login.done).toBe(false)
    const health = await t.client('198.51.100.1').get('/healthz')
    expect(health.status).toBe(200)
    expect(login.done).toBe(false)
    release()
    const res = await login.response
    expect(res.status).toBe(303)
    expect(res.headers.get('Location')).toBe('/login/mfa')
  })

  it("a page whose session activity is due while another connection writes answers at once; the activity is written by a later request", async () => {
    const t = fileEnv()
    const user = await createTestUser(t, { email: 'ada@example.org' })
    const browser = await signIn(t, user)
    t.clock.advance(5 * 60_000) // the session's activity is written at most once a minute: now it is due
    const lastActive = () => t.db.select({ at: sessions.lastActiveAt }).from(sessions).where(eq(sessions.userId, user.user.id)).get()!.at
    const before = lastActive()
    // as applyInWorker does for its worker: this process knows a writer of its own runs elsewhere
    const noted = noteWriterElsewhere()
    cleanup.push(noted)
    const release = holdWriteLock(t.file)
    const home = pending(browser.get('/'))
    await tick(200)
    expect(home.done).toBe(true)
    const res = await home.response
    expect(res.status).toBe(200)
    expect(await res.text()).toContain('ada@example.org')
    expect(lastActive()).toBe(before)
    release()
    noted()
    expect((await browser.get('/')).status).toBe(200)
    expect(lastActive()).toBe(t.clock.now())
  })

  it('without another writer, requests pass straight through (a sign-in completes)', async () => {
    const t = fileEnv()
    const user = await createTestUser(t, { email: 'ada@example.org' })
    const browser = await signIn(t, user)
    expect((await browser.get('/')).status).toBe(200)
  })
})
