import Database from 'better-sqlite3'
import type { Db } from './client.ts'
import { privateFile } from './file-modes.ts'

/**
 * Takes an online backup with SQLite's backup API (writers keep going while it copies) and
 * checks the copy with PRAGMA integrity_check. Returns the number of pages copied.
 */
export async function backupDatabase(db: Db, destination: string): Promise<{ pages: number }> {
  let pages = 0
  privateFile(destination, { create: true }) // 0600 from the first byte copied
  await db.$client.backup(destination, {
    progress: ({ totalPages }) => {
      pages = totalPages
      return 200 // pages per step: short steps let writers in between
    },
  })
  privateFile(destination)
  const copy = new Database(destination, { readonly: true })
  try {
    const result = copy.pragma('integrity_check', { simple: true })
    if (result !== 'ok') throw new Error(`the backup failed its integrity check: ${String(result)}`)
  } finally {
    copy.close()
  }
  return { pages }
}
