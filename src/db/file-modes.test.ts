// Finding 3 of issue 11 (files): DATA_DIR 0700; the database, its -wal and -shm, backups, uploads and
// the secret key 0600 whatever the umask.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { mkdtempSync, rmSync, statSync, existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { tmpdir } from 'node:os'
import { loadConfig } from '../config.ts'
import { openDatabase } from './client.ts'
import { applyMigrations } from './migrate.ts'
import { backupDatabase } from './backup.ts'
import { receiveUploadedFile } from '../http/multipart.ts'
import { privateDir } from './file-modes.ts'

const mode = (path: string) => statSync(path).mode & 0o777

let previous = 0
const dirs: string[] = []
beforeEach(() => {
  previous = process.umask(0) // the loosest umask: nothing is taken away from what is asked for
})
afterEach(() => {
  process.umask(previous)
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

function tempRoot(): string {
  const root = mkdtempSync(join(tmpdir(), 'gatehouse-modes-'))
  dirs.push(root)
  return root
}

describe('file modes under umask 0', () => {
  it('makes DATA_DIR 0700 and the generated secret key 0600', () => {
    const dataDir = join(tempRoot(), 'data')
    const config = loadConfig({ DATA_DIR: dataDir, BASE_URL: 'http://gatehouse.test' })
    expect(mode(config.dataDir)).toBe(0o700)
    expect(mode(join(dataDir, 'secret.key'))).toBe(0o600)
  })

  it('makes the database, its -wal and -shm, and a backup 0600', async () => {
    const root = tempRoot()
    const file = join(root, 'gatehouse.sqlite')
    const db = openDatabase(file)
    applyMigrations(db)
    db.$client.prepare("insert into sign_in_throttles (email, failures, last_failure_at) values ('a@example.org', 1, 0)").run()
    for (const f of [file, `${file}-wal`, `${file}-shm`]) {
      expect(existsSync(f), f).toBe(true)
      expect(mode(f), f).toBe(0o600)
    }
    const backup = join(root, 'backups', 'copy.sqlite')
    privateDir(join(root, 'backups'))
    await backupDatabase(db, backup)
    expect(mode(backup)).toBe(0o600)
    expect(mode(join(root, 'backups'))).toBe(0o700)
    db.$client.close()
  })

  it('writes an uploaded file 0600', async () => {
    const root = tempRoot()
    const destination = join(root, 'upload.bin')
    const form = new FormData()
    form.append('file', new Blob([new Uint8Array([1, 2, 3])]), 'weights.bin')
    const request = new Request('http://gatehouse.test/upload', { method: 'POST', body: form })
    await receiveUploadedFile(request, { field: 'file', destination, maxFileBytes: 1024 })
    expect(readdirSync(root)).toContain('upload.bin')
    expect(mode(destination)).toBe(0o600)
  })
})
