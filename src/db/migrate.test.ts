import { describe, expect, it } from 'vitest'
import { appendFileSync, cpSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { migrate } from 'drizzle-orm/better-sqlite3/migrator'
import Database from 'better-sqlite3'
import { openDatabase, type Db } from './client.ts'
import { applyMigrations, migrateWithBackup, migrationsFolder, MigrationError } from './migrate.ts'
import { spawnSync } from 'node:child_process'
import { PROJECT_ROOT } from '../paths.ts'
import { runCli, tempDataDir } from '../test/cli.ts'

type Journal = { entries: { idx: number; version: string; when: number; tag: string; breakpoints: boolean }[] }

/** A copy of drizzle/ to change freely, and a database file next to it. */
function workspace(prefix: string) {
  const { dataDir } = tempDataDir(prefix)
  const folder = join(dataDir, 'drizzle')
  cpSync(migrationsFolder, folder, { recursive: true })
  const journalPath = join(folder, 'meta', '_journal.json')
  const journal = () => JSON.parse(readFileSync(journalPath, 'utf8')) as Journal
  const addMigration = (tag: string, sqlText: string, when: number) => {
    writeFileSync(join(folder, `${tag}.sql`), sqlText)
    const j = journal()
    j.entries.push({ idx: j.entries.length, version: '6', when, tag, breakpoints: true })
    writeFileSync(journalPath, JSON.stringify(j, null, 2))
  }
  const file = join(dataDir, 'gatehouse.sqlite')
  return { dataDir, folder, journal, addMigration, file }
}

const tableExists = (db: Db, name: string) => db.$client.prepare("select count(*) from sqlite_master where type = 'table' and name = ?").pluck().get(name) === 1

describe('migration safety', () => {
  it("drizzle's migrator silently skips a migration older than the last applied; applyMigrations refuses, naming it, and changes nothing", () => {
    const w = workspace('migrate-older')
    const db = openDatabase(w.file)
    applyMigrations(db, w.folder)
    const first = w.journal().entries[0]!.when
    w.addMigration('0099_late_branch', 'CREATE TABLE late_branch (id integer primary key);', first + 1)
    // the reproduction: drizzle applies nothing and says nothing
    migrate(db, { migrationsFolder: w.folder })
    expect(tableExists(db, 'late_branch')).toBe(false)
    // the fix
    expect(() => applyMigrations(db, w.folder)).toThrow(MigrationError)
    expect(() => applyMigrations(db, w.folder)).toThrow(/0099_late_branch.*older than the last applied/)
    expect(tableExists(db, 'late_branch')).toBe(false)
    db.$client.close()
  })

  it('refuses a database where an applied migration has changed since, or is no longer in drizzle/', () => {
    const w = workspace('migrate-changed')
    const db = openDatabase(w.file)
    applyMigrations(db, w.folder)
    const tag = w.journal().entries[3]!.tag
    appendFileSync(join(w.folder, `${tag}.sql`), '\n-- edited after release\n')
    expect(() => applyMigrations(db, w.folder)).toThrow(new RegExp(`${tag} was changed after it was applied`))

    const v = workspace('migrate-removed')
    const db2 = openDatabase(v.file)
    applyMigrations(db2, v.folder)
    const j = v.journal()
    const removed = j.entries.pop()!
    writeFileSync(join(v.folder, 'meta', '_journal.json'), JSON.stringify(j))
    expect(() => applyMigrations(db2, v.folder)).toThrow(new RegExp(`applied migration of ${removed.when} .*is not in drizzle/`))
    db.$client.close()
    db2.$client.close()
  })

  it('applies a newer pending migration normally', () => {
    const w = workspace('migrate-newer')
    const db = openDatabase(w.file)
    applyMigrations(db, w.folder)
    w.addMigration('0099_next', 'CREATE TABLE next_thing (id integer primary key);', Math.max(...w.journal().entries.map((e) => e.when)) + 1)
    applyMigrations(db, w.folder)
    expect(tableExists(db, 'next_thing')).toBe(true)
    db.$client.close()
  })

  it('backs up a non-empty database before applying pending migrations: dated, next to it, mode 0600, kept; none when nothing is pending or the database is new', async () => {
    const w = workspace('migrate-backup')
    const now = Date.UTC(2026, 11, 2, 20, 15, 0)
    const fresh = openDatabase(w.file)
    expect(await migrateWithBackup(fresh, { now, folder: w.folder })).toBeNull()
    fresh.$client.prepare("insert into users (email, role, password_hash, password_changed_at, created_at) values ('keep@example.org', 'admin', 'x', 0, 0)").run()
    expect(await migrateWithBackup(fresh, { now, folder: w.folder })).toBeNull() // nothing pending
    w.addMigration('0099_next', 'CREATE TABLE next_thing (id integer primary key);', Math.max(...w.journal().entries.map((e) => e.when)) + 1)
    const previousUmask = process.umask(0o022)
    let backup: string | null
    try {
      backup = await migrateWithBackup(fresh, { now, folder: w.folder })
    } finally {
      process.umask(previousUmask)
    }
    expect(backup).toBe(join(w.dataDir, 'gatehouse.sqlite.pre-migration-2026-12-02T20-15-00Z.bak'))
    expect(statSync(backup!).mode & 0o777).toBe(0o600)
    expect(readdirSync(w.dataDir).filter((f) => f.startsWith('gatehouse.sqlite.pre-migration-'))).toEqual(['gatehouse.sqlite.pre-migration-2026-12-02T20-15-00Z.bak']) // no -wal or -shm beside it
    expect(tableExists(fresh, 'next_thing')).toBe(true)
    const copy = new Database(backup!, { readonly: true })
    expect(copy.prepare('select email from users').pluck().all()).toEqual(['keep@example.org'])
    expect(copy.prepare("select count(*) from sqlite_master where name = 'next_thing'").pluck().get()).toBe(0) // taken before
    copy.close()
    // a second migration the same second gets its own file; the first is kept
    w.addMigration('0100_more', 'CREATE TABLE more_thing (id integer primary key);', Math.max(...w.journal().entries.map((e) => e.when)) + 1)
    const second = await migrateWithBackup(fresh, { now, folder: w.folder })
    expect(second).not.toBe(backup)
    expect(readdirSync(w.dataDir).filter((f) => f.includes('.pre-migration-') && f.endsWith('.bak'))).toHaveLength(2)
    fresh.$client.close()
  })

  it('the CLI exits 1 with a clear message (no stack trace) when an applied migration has changed', () => {
    const { dataDir } = tempDataDir('migrate-cli')
    const db = openDatabase(join(dataDir, 'gatehouse.sqlite'))
    applyMigrations(db)
    db.$client.prepare("update __drizzle_migrations set hash = 'feedface' where created_at = (select min(created_at) from __drizzle_migrations)").run()
    db.$client.close()
    const run = runCli(dataDir, 'audit-verify')
    expect(run.code).toBe(1)
    expect(run.stderr).toMatch(/0000_foundation was changed after it was applied/)
    expect(run.stderr).not.toMatch(/\n\s+at /)
  })

  it('the server refuses to start (exit 1, naming the migration) when an applied migration has changed, and leaves the database as it was', () => {
    const { dataDir } = tempDataDir('migrate-server')
    const db = openDatabase(join(dataDir, 'gatehouse.sqlite'))
    applyMigrations(db)
    const tag = (JSON.parse(readFileSync(join(migrationsFolder, 'meta', '_journal.json'), 'utf8')) as Journal).entries[2]!
    db.$client.prepare("update __drizzle_migrations set hash = 'feedface' where created_at = ?").run(tag.when)
    db.$client.close()
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
      cwd: PROJECT_ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', DATA_DIR: dataDir, SECRET_KEY: 'ab'.repeat(32), BASE_URL: 'http://gatehouse.test', PORT: '0' },
      encoding: 'utf8',
      timeout: 60_000,
    })
    expect(r.status).toBe(1)
    expect(r.stderr).toContain(`Gatehouse cannot start: Migration ${tag.tag} was changed after it was applied`)
    expect(r.stderr).not.toMatch(/\n\s+at /)
    const after = openDatabase(join(dataDir, 'gatehouse.sqlite'))
    expect(after.$client.prepare('select hash from __drizzle_migrations where created_at = ?').pluck().get(tag.when)).toBe('feedface')
    after.$client.close()
    expect(readdirSync(dataDir).filter((f) => f.endsWith('.bak'))).toEqual([])
  })
})
