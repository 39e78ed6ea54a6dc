import { describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createTestEnv, T0, type TestEnv } from '../test/helpers.ts'
import { outbox } from '../db/schema.ts'
import { migrationsFolder } from '../db/migrate.ts'
import { OUTBOX_BACKLOG_LIMIT } from './health.tsx'

const MIN = 60_000
const expectedMigrations = (JSON.parse(readFileSync(join(migrationsFolder, 'meta', '_journal.json'), 'utf8')) as { entries: unknown[] }).entries.length

async function readyz(t: TestEnv) {
  const res = await t.client().get('/readyz')
  return { status: res.status, type: res.headers.get('Content-Type'), body: (await res.json()) as { status: string; checks: Record<string, string> } }
}

/** Queued messages whose next attempt is `ageMs` in the past. */
function queueOverdue(t: TestEnv, n: number, ageMs: number, status: 'queued' | 'sent' | 'failed' = 'queued') {
  const rows = Array.from({ length: n }, (_, i) => ({ recipient: `r${i}@example.org`, subject: 's', textBody: 't', htmlBody: 'h', status, nextAttemptAt: T0 - ageMs, createdAt: T0 - ageMs }))
  for (let i = 0; i < rows.length; i += 200) t.db.insert(outbox).values(rows.slice(i, i + 200)).run()
}

describe('health checks', () => {
  it('/healthz answers {"status":"ok"} without a session', async () => {
    const t = createTestEnv()
    const res = await t.client().get('/healthz')
    expect(res.status).toBe(200)
    expect(res.headers.get('Content-Type')).toMatch(/^application\/json/)
    expect(await res.json()).toEqual({ status: 'ok' })
  })

  it('/healthz answers 503 when the database does not answer', async () => {
    const t = createTestEnv()
    t.db.$client.close()
    const res = await t.client().get('/healthz')
    expect(res.status).toBe(503)
    expect(await res.json()).toMatchObject({ status: 'error' })
  })

  it('/readyz answers 200 with its checks when all is well', async () => {
    const t = createTestEnv()
    t.deps.lifecycle = { shuttingDown: false }
    const r = await readyz(t)
    expect(r.status).toBe(200)
    expect(r.type).toMatch(/^application\/json/)
    expect(r.body).toEqual({ status: 'ready', deployment_mode: false, checks: { migrations: 'current', outbox: '0 overdue', database: 'ok', disk: 'ok' } })
  })

  it('/readyz answers 503 while the server shuts down', async () => {
    const t = createTestEnv()
    t.deps.lifecycle = { shuttingDown: false }
    expect((await readyz(t)).status).toBe(200)
    t.deps.lifecycle.shuttingDown = true
    const r = await readyz(t)
    expect(r.status).toBe(503)
    expect(r.body).toEqual({ status: 'not ready', deployment_mode: false, checks: { lifecycle: 'shutting down', migrations: 'current', outbox: '0 overdue', database: 'ok', disk: 'ok' } })
    // /healthz still says the process is alive
    expect((await t.client().get('/healthz')).status).toBe(200)
  })

  it('/readyz answers 503 when more than 500 emails are overdue by more than 10 minutes', async () => {
    const t = createTestEnv()
    expect(OUTBOX_BACKLOG_LIMIT).toBe(500)
    // noise that never counts: recent queued mail, and old mail that was sent or failed
    queueOverdue(t, 300, 9 * MIN)
    queueOverdue(t, 600, 60 * MIN, 'sent')
    queueOverdue(t, 600, 60 * MIN, 'failed')
    queueOverdue(t, 500, 11 * MIN)
    let r = await readyz(t)
    expect(r.status).toBe(200) // exactly 500 is still fine
    expect(r.body.checks.outbox).toBe('500 overdue')

    queueOverdue(t, 1, 11 * MIN)
    r = await readyz(t)
    expect(r.status).toBe(503)
    expect(r.body).toEqual({ status: 'not ready', deployment_mode: false, checks: { migrations: 'current', outbox: '501 overdue', database: 'ok', disk: 'ok' } })

    // time passing turns the recent ones overdue too
    t.clock.advance(2 * MIN)
    expect((await readyz(t)).body.checks.outbox).toBe('801 overdue')
  })

  it('/readyz answers 503 when a migration is missing from __drizzle_migrations', async () => {
    const t = createTestEnv()
    const applied = t.db.$client.prepare('select count(*) from __drizzle_migrations').pluck().get() as number
    expect(applied).toBe(expectedMigrations)
    // (drizzle's id column is not a rowid alias and holds null: pick the row by its created_at)
    const removed = t.db.$client.prepare('delete from __drizzle_migrations where created_at = (select max(created_at) from __drizzle_migrations)').run()
    expect(removed.changes).toBe(1)
    const r = await readyz(t)
    expect(r.status).toBe(503)
    expect(r.body).toEqual({ status: 'not ready', deployment_mode: false, checks: { migrations: `${expectedMigrations - 1} of ${expectedMigrations} applied`, outbox: '0 overdue', database: 'ok', disk: 'ok' } })
  })

  it('/readyz answers 503 when the database does not answer', async () => {
    const t = createTestEnv()
    t.db.$client.close()
    const r = await readyz(t)
    expect(r.status).toBe(503)
    expect(r.body).toMatchObject({ status: 'not ready', checks: { database: 'did not answer' } })
  })
})
