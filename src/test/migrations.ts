// A database as it was just before one migration, for tests of what that migration carries over:
// `before()` opens it migrated up to (not including) `tag`; `after()` reopens it with every
// migration applied.
import { cpSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { openDatabase, type Db } from '../db/client.ts'
import { applyMigrations, migrationsFolder } from '../db/migrate.ts'
import { tempDataDir } from './cli.ts'

type Journal = { entries: { tag: string }[] }

export function databaseBeforeMigration(tag: string): { before: () => Db; after: () => Db } {
  const { dataDir } = tempDataDir(`migrate-${tag.slice(0, 4)}`)
  const folder = join(dataDir, 'drizzle')
  cpSync(migrationsFolder, folder, { recursive: true })
  const journalPath = join(folder, 'meta', '_journal.json')
  const full = readFileSync(journalPath, 'utf8')
  const journal = JSON.parse(full) as Journal
  const at = journal.entries.findIndex((e) => e.tag === tag)
  if (at <= 0) throw new Error(`no migration ${tag} after the first`)
  const file = join(dataDir, 'gatehouse.sqlite')
  const open = () => {
    const db = openDatabase(file)
    applyMigrations(db, folder)
    return db
  }
  return {
    before: () => {
      writeFileSync(journalPath, JSON.stringify({ ...journal, entries: journal.entries.slice(0, at) }))
      return open()
    },
    after: () => {
      writeFileSync(journalPath, full)
      return open()
    },
  }
}
