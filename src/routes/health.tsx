import { Hono } from 'hono'
import { sql } from 'drizzle-orm'
import { readFileSync, statfsSync } from 'node:fs'
import { join } from 'node:path'
import type { AppEnv } from '../http/context.ts'
import { publicPage } from '../auth/middleware.ts'
import { migrationsFolder } from '../db/migrate.ts'
import { countOverdueEmails } from '../models/outbox-admin.ts'
import { getSiteSettings } from '../models/settings.ts'
import type { Db } from '../db/client.ts'

export const health = new Hono<AppEnv>()

/** Email queued for longer than this makes /readyz answer 503 (SMTP down for a long while). */
export const OUTBOX_BACKLOG_LIMIT = 500
const expectedMigrations = (JSON.parse(readFileSync(join(migrationsFolder, 'meta', '_journal.json'), 'utf8')) as { entries: unknown[] }).entries.length

/** Less free space than this where DATA_DIR lives counts as a full disk. */
export const DISK_MIN_FREE_BYTES = 4 * 1024 * 1024

/**
 * Why no write can succeed, or null: the database is at its page limit with no free page
 * (SQLITE_FULL on the next page it needs), or the file system of DATA_DIR is (nearly) full.
 * Read-only (pragmas and statfs): a probe write would wait for a writer's lock.
 */
export function diskProblem(db: Db, dataDir: string, minFreeBytes = DISK_MIN_FREE_BYTES): string | null {
  try {
    const sqlite = db.$client
    const pages = sqlite.pragma('page_count', { simple: true }) as number
    const max = sqlite.pragma('max_page_count', { simple: true }) as number
    const free = sqlite.pragma('freelist_count', { simple: true }) as number
    if (pages >= max && free === 0) return `full: the database reached its page limit (${max} pages)`
  } catch {
    return null // the database check reports a database that does not answer
  }
  try {
    const fs = statfsSync(dataDir)
    const available = fs.bavail * fs.bsize
    if (available < minFreeBytes) return `full: ${Math.floor(available / 1024)} KiB free where DATA_DIR is`
  } catch {
    return 'DATA_DIR cannot be read'
  }
  return null
}

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
  const { db, clock, lifecycle, config } = c.get('deps')
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
  const disk = diskProblem(db, config.dataDir)
  checks.disk = disk ?? 'ok'
  if (disk) ready = false
  let deploymentMode = false
  try {
    deploymentMode = getSiteSettings(db).deploymentMode
  } catch {
    // the database check above reports it
  }
  // Note: deployment mode pauses core functions on purpose; the instance stays ready (a load balancer keeps it).
  return c.json({ status: ready ? 'ready' : 'not ready', deployment_mode: deploymentMode, checks }, ready ? 200 : 503)
})
