import { createHash } from 'node:crypto'
import { chmodSync, closeSync, existsSync, openSync, readFileSync, unlinkSync } from 'node:fs'
import { join } from 'node:path'
import { PROJECT_ROOT } from '../paths.ts'
import { migrate } from 'drizzle-orm/better-sqlite3/migrator'
import Database from 'better-sqlite3'
import type { Db } from './client.ts'
import { backupDatabase } from './backup.ts'
import { backfillAuditHashes } from '../models/audit-chain.ts'

export const migrationsFolder = join(PROJECT_ROOT, 'drizzle')

export class MigrationError extends Error {}

/** One migration of drizzle/: its journal tag and `when`, and the SHA-256 of its file as drizzle records it. */
export type MigrationFile = { tag: string; when: number; hash: string }

export function readMigrationFiles(folder = migrationsFolder): MigrationFile[] {
  let journal: { entries: { tag: string; when: number }[] }
  try {
    journal = JSON.parse(readFileSync(join(folder, 'meta', '_journal.json'), 'utf8')) as typeof journal
  } catch (error) {
    throw new MigrationError(`Cannot read ${join(folder, 'meta', '_journal.json')}: ${error instanceof Error ? error.message : String(error)}`)
  }
  return journal.entries.map((e) => {
    let text: string
    try {
      text = readFileSync(join(folder, `${e.tag}.sql`), 'utf8')
    } catch {
      throw new MigrationError(`Migration ${e.tag} is in the journal but ${e.tag}.sql is missing from ${folder}`)
    }
    return { tag: e.tag, when: e.when, hash: createHash('sha256').update(text).digest('hex') }
  })
}

function appliedMigrations(db: Db): { hash: string; createdAt: number }[] {
  const sqlite = db.$client
  if (sqlite.prepare("select count(*) from sqlite_master where type = 'table' and name = '__drizzle_migrations'").pluck().get() === 0) return []
  return (sqlite.prepare('select hash, created_at as createdAt from __drizzle_migrations order by created_at').all() as { hash: string; createdAt: number | string }[]).map((r) => ({ hash: r.hash, createdAt: Number(r.createdAt) }))
}

/** The migrations of drizzle/ not applied to db yet (matched by `when` and file hash). */
export function pendingMigrations(db: Db, folder = migrationsFolder): MigrationFile[] {
  const applied = new Set(appliedMigrations(db).map((a) => `${a.createdAt} ${a.hash}`))
  return readMigrationFiles(folder).filter((m) => !applied.has(`${m.when} ${m.hash}`))
}

/**
 * What makes drizzle's migrator go wrong without a word: an applied migration changed or gone, or
 * a pending one older than the last applied (drizzle only applies those newer than the newest
 * applied, so it would be skipped). Only the journal's `when` values count, not idx numbers.
 */
function checkBeforeMigrating(db: Db, files: MigrationFile[]): void {
  const applied = appliedMigrations(db)
  const byWhen = new Map(files.map((m) => [m.when, m]))
  for (const a of applied) {
    const file = byWhen.get(a.createdAt)
    if (!file) throw new MigrationError(`The database has an applied migration of ${a.createdAt} (${new Date(a.createdAt).toISOString()}) that is not in drizzle/: it was renamed, re-timestamped or removed, or the database belongs to a newer Gatehouse`)
    if (file.hash !== a.hash) throw new MigrationError(`Migration ${file.tag} was changed after it was applied to this database (its SHA-256 no longer matches)`)
  }
  const lastApplied = applied.length === 0 ? null : Math.max(...applied.map((a) => a.createdAt))
  const appliedWhen = new Set(applied.map((a) => a.createdAt))
  for (const m of files) {
    if (lastApplied !== null && !appliedWhen.has(m.when) && m.when <= lastApplied)
      throw new MigrationError(`Migration ${m.tag} is pending but older than the last applied one (${new Date(m.when).toISOString()} ≤ ${new Date(lastApplied).toISOString()}), so it would be skipped; give it a newer "when" in drizzle/meta/_journal.json`)
  }
}

/**
 * Applies the committed migrations in drizzle/ (or `folder`), then gives pre-chain audit events
 * their hashes. Throws MigrationError naming the cause, and refuses (changing nothing) when a
 * migration would be skipped or an applied one has changed; afterwards every migration must be applied.
 */
export function applyMigrations(db: Db, folder = migrationsFolder): void {
  const files = readMigrationFiles(folder)
  checkBeforeMigrating(db, files)
  try {
    migrate(db, { migrationsFolder: folder })
  } catch (error) {
    const cause = error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error)
    throw new MigrationError(`Database migration failed: ${cause}`)
  }
  const missing = pendingMigrations(db, folder)
  if (missing.length > 0) throw new MigrationError(`Migration ${missing[0]!.tag} is not applied after migrating`)
  backfillAuditHashes(db)
}

/** `<file>.pre-migration-2026-12-02T20-15-00Z.bak` (a `-2`, `-3` … suffix if that exists). */
function backupPath(file: string, now: number): string {
  const stamp = new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z').replaceAll(':', '-')
  for (let n = 1; ; n++) {
    const path = `${file}.pre-migration-${stamp}${n === 1 ? '' : `-${n}`}.bak`
    if (!existsSync(path)) return path
  }
}

/**
 * applyMigrations as the server and the CLI start: when the database file already holds data and
 * migrations are pending, an online backup is taken next to it first (mode 0600, kept). Returns
 * the backup's path, or null when none was needed.
 */
export async function migrateWithBackup(db: Db, options: { now: number; folder?: string }): Promise<string | null> {
  const folder = options.folder ?? migrationsFolder
  const files = readMigrationFiles(folder)
  checkBeforeMigrating(db, files)
  const file = db.$client.name
  const onDisk = file !== '' && file !== ':memory:' && !db.$client.memory
  const hasData = (db.$client.prepare("select count(*) from sqlite_master where type = 'table' and name not like 'sqlite_%'").pluck().get() as number) > 0
  let backup: string | null = null
  if (onDisk && hasData && pendingMigrations(db, folder).length > 0) {
    backup = backupPath(file, options.now)
    closeSync(openSync(backup, 'wx', 0o600)) // created 0600 before any page is written, whatever the umask
    try {
      await backupDatabase(db, backup)
      // A self-contained file: out of WAL mode, so no -wal or -shm is left beside it.
      const copy = new Database(backup)
      copy.pragma('journal_mode = DELETE')
      copy.close()
      chmodSync(backup, 0o600)
    } catch (error) {
      try {
        unlinkSync(backup)
      } catch {
        // nothing to remove
      }
      throw new MigrationError(`The backup before migrating (${backup}) failed, so no migration was applied: ${error instanceof Error ? error.message : String(error)}`)
    }
  }
  applyMigrations(db, folder)
  return backup
}
