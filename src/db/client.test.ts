import { describe, expect, it } from 'vitest'
import { join } from 'node:path'
import { openDatabase, SERVER_PAGE_CACHE_KIB } from './client.ts'
import { tempDataDir } from '../test/cli.ts'

describe('openDatabase', () => {
  it("gives the server's connection its smaller page cache; other connections keep better-sqlite3's 16 MB", () => {
    const { dataDir } = tempDataDir('client-cache')
    const file = join(dataDir, 'gatehouse.sqlite')
    const server = openDatabase(file, { pageCacheKiB: SERVER_PAGE_CACHE_KIB })
    const other = openDatabase(file)
    try {
      expect(server.$client.pragma('cache_size', { simple: true })).toBe(-4000)
      expect(other.$client.pragma('cache_size', { simple: true })).toBe(-16000)
      // the rest of SPEC §3.4's pragmas are unchanged
      expect(server.$client.pragma('journal_mode', { simple: true })).toBe('wal')
      expect(server.$client.pragma('foreign_keys', { simple: true })).toBe(1)
    } finally {
      server.$client.close()
      other.$client.close()
    }
  })
})
