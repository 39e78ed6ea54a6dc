import { Hono } from 'hono'
import { sql } from 'drizzle-orm'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { AppEnv } from '../http/context.ts'
import { publicPage } from '../auth/middleware.ts'
import { migrationsFolder } from '../db/migrate.ts'
import { countOverdueEmails } from '../models/outbox-admin.ts'

export const health = new Hono<AppEnv>()

/** Email queued for longer than this makes /readyz answer 503 (SMTP down for a long while). */
export const OUTBOX_BACKLOG_LIMIT = 500
const expectedMigrations = (JSON.parse(readFileSync(join(migrationsFolder, 'meta', '_journal.json'), 'utf8')) as { entries: unknown[] }).entries.length

/** Liveness: the process answers and the database responds. */
health.get('/healthz', publicPage, (c) => {
  try {
    c.get('deps').db.get(sql`select 1`)
    return c.json({ status: 'ok' })
  } catch {
    return c.json({ status: 'error', reason: 'database did not answer' }, 503)
  }
})

/** Readiness: database answers, migrations current, outbox backlog small, not shutting down. */
health.get('/readyz', publicPage, (c) => {
  const { db, clock, lifecycle } = c.get('deps')
  const checks: Record<string, string> = {}
  let ready = true
  if (lifecycle?.shuttingDown) {
    checks.lifecycle = 'shutting down'
    ready = false
  }
  try {
    const applied = db.get<{ n: number }>(sql`select count(*) as n from __drizzle_migrations`).n
    checks.migrations = applied === expectedMigrations ? 'current' : `${applied} of ${expectedMigrations} applied`
    if (applied !== expectedMigrations) ready = false
    const overdue = countOverdueEmails(db, clock.now(), 10 * 60_000)
    checks.outbox = `${overdue} overdue`
    if (overdue > OUTBOX_BACKLOG_LIMIT) ready = false
    checks.database = 'ok'
  } catch {
    checks.database = 'did not answer'
    ready = false
  }
  return c.json({ status: ready ? 'ready' : 'not ready', checks }, ready ? 200 : 503)
})
