import Database from 'better-sqlite3'
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3'
import * as schema from './schema.ts'
import { privateFile } from './file-modes.ts'

export type Db = BetterSQLite3Database<typeof schema> & { $client: Database.Database }

/**
 * The server's own connection keeps a 4 MB page cache instead of better-sqlite3's 16 MB: the
 * operating system caches the file anyway, and once someone had browsed 100,000 users the fuller
 * cache put the server's peak under sign-in load at 158 MB (SPEC §9: ≤ 150). The import worker and
 * the CLI keep the default: a large transaction spills to the WAL once its dirty pages fill it.
 */
export const SERVER_PAGE_CACHE_KIB = 4000

/** Opens (or creates) the SQLite file with the pragmas of SPEC §3.4; ':memory:' for tests. */
export function openDatabase(file: string, options: { pageCacheKiB?: number } = {}): Db {
  // 0600 before SQLite opens it: SQLite gives the -wal and -shm files the database file's mode
  if (file !== ':memory:') privateFile(file, { create: true })
  const sqlite = new Database(file)
  sqlite.pragma('journal_mode = WAL')
  if (file !== ':memory:') for (const f of [`${file}-wal`, `${file}-shm`]) privateFile(f)
  sqlite.pragma('synchronous = FULL')
  sqlite.pragma('busy_timeout = 5000')
  sqlite.pragma('foreign_keys = ON')
  if (options.pageCacheKiB !== undefined) sqlite.pragma(`cache_size = -${Math.floor(options.pageCacheKiB)}`)
  return drizzle(sqlite, { schema }) as Db
}

/**
 * Runs fn in one write transaction (BEGIN IMMEDIATE), so a state change and its audit
 * event commit together or not at all. fn must be synchronous.
 */
export function writeTransaction<T>(db: Db, fn: () => T): T {
  return db.$client.transaction(fn).immediate()
}

/**
 * writeTransaction, except that inside a caller's transaction it joins it instead of opening a
 * savepoint: for a step run thousands of times in one transaction (an import). A failure then
 * rolls back the caller's whole transaction.
 */
export function joinOrWriteTransaction<T>(db: Db, fn: () => T): T {
  return db.$client.inTransaction ? fn() : writeTransaction(db, fn)
}

const preparedStatements = new WeakMap<Db, Map<(db: Db) => unknown, unknown>>()

/**
 * `build(db)`, once per database connection: for a statement run on every request, or thousands
 * of times by one import, preparing it once saves the query building and SQLite's compilation.
 */
export function preparedOnce<T>(db: Db, build: (db: Db) => T): T {
  let byBuild = preparedStatements.get(db)
  if (!byBuild) preparedStatements.set(db, (byBuild = new Map()))
  if (!byBuild.has(build)) byBuild.set(build, build(db))
  return byBuild.get(build) as T
}
