import { afterEach, describe, expect, it } from 'vitest'
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'
import Database from 'better-sqlite3'
import { openDatabase, writeTransaction, type Db } from './client.ts'
import { applyMigrations } from './migrate.ts'
import { backupDatabase } from './backup.ts'
import { createApp } from '../app.ts'
import { TokenBucketLimiter } from '../auth/rate-limit.ts'
import { FakeClock, TestClient, createTestUser, quietLog, signIn, testConfig, type TestEnv } from '../test/helpers.ts'
import type { AppDeps } from '../http/context.ts'

const cleanups: (() => void | Promise<void>)[] = []
afterEach(async () => {
  for (const clean of cleanups.splice(0).reverse()) await clean()
})

/** A TestEnv (as createTestEnv builds it) over the SQLite file in DATA_DIR, opened as the server opens it. */
function fileEnv(dataDir?: string): TestEnv {
  const config = testConfig(dataDir ? { DATA_DIR: dataDir } : {})
  const db = openDatabase(join(config.dataDir, 'gatehouse.sqlite'))
  applyMigrations(db)
  cleanups.push(() => {
    if (db.$client.open) db.$client.close()
    rmSync(config.dataDir, { recursive: true, force: true })
  })
  const clock = new FakeClock()
  const deps: AppDeps = { config, db, clock, log: quietLog, ipLimiter: new TokenBucketLimiter(config.ipBurst, config.ipRefillPerSecond) }
  const app = createApp(deps)
  return { deps, db, clock, config, app, client: (ip = '203.0.113.7') => new TestClient(app, ip) }
}

const INSERT_USER = "insert into users (email, role, password_hash, password_changed_at, created_at) values (?, 'researcher', 'x', ?, ?)"
const INSERT_AUDIT = "insert into audit_events (at, event, target_type, target_id, details) values (?, 'user.registered', 'user', ?, ?)"

/** One "registration": a user and its audit event in one write transaction, as the app does it. */
function writer(db: Db) {
  const user = db.$client.prepare(INSERT_USER)
  const audit = db.$client.prepare(INSERT_AUDIT)
  return (n: number) =>
    writeTransaction(db, () => {
      const id = Number(user.run(`burst-${n}@example.org`, n, n).lastInsertRowid)
      audit.run(n, String(id), JSON.stringify({ email: `burst-${n}@example.org`, n }))
    })
}

/** Bulk history so the file spans many backup steps (200 pages each). */
function seedHistory(db: Db, events: number) {
  const audit = db.$client.prepare("insert into audit_events (at, event, target_type, target_id, ip, details) values (?, 'signin.succeeded', 'user', '1', '192.0.2.1', ?)")
  db.$client.transaction(() => {
    for (let i = 0; i < events; i++) audit.run(i, JSON.stringify({ padding: 'x'.repeat(120), i }))
  })()
}

function burstUserIds(db: Database.Database): number[] {
  return db.prepare("select id from users where email like 'burst-%' order by id").pluck().all() as number[]
}

type BackupReport = { integrity: string; users: number[]; orphanAudits: number; usersWithoutAudit: number; pageSize: number; journalMode: string }

function inspect(file: string): BackupReport {
  const copy = new Database(file, { readonly: true })
  try {
    return {
      integrity: copy.pragma('integrity_check', { simple: true }) as string,
      users: burstUserIds(copy),
      orphanAudits: copy.prepare("select count(*) from audit_events a where a.event = 'user.registered' and not exists (select 1 from users u where u.id = cast(a.target_id as integer))").pluck().get() as number,
      usersWithoutAudit: copy.prepare("select count(*) from users u where u.email like 'burst-%' and not exists (select 1 from audit_events a where a.event = 'user.registered' and a.target_id = cast(u.id as text))").pluck().get() as number,
      pageSize: copy.pragma('page_size', { simple: true }) as number,
      journalMode: copy.pragma('journal_mode', { simple: true }) as string,
    }
  } finally {
    copy.close()
  }
}

/** Copies the backup into a fresh DATA_DIR as its database, opens it like the server, and signs `who` in over HTTP. */
async function restoreAndSignIn(backupFile: string, who: Awaited<ReturnType<typeof createTestUser>>) {
  const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-restore-'))
  copyFileSync(backupFile, join(dataDir, 'gatehouse.sqlite'))
  const restored = fileEnv(dataDir)
  restored.clock.ms = Date.now() + 60_000 // a later time step than the original sign-in
  const client = await signIn(restored, who)
  const home = await client.get('/')
  expect(home.status).toBe(200)
  const admin = await client.get('/admin/users?q=' + encodeURIComponent(who.user.email))
  expect(admin.status).toBe(200)
  expect(await admin.text()).toContain(who.user.email)
  expect((await restored.client().get('/readyz')).status).toBe(200)
  return restored
}

describe('online backup', () => {
  it('copies a consistent database while the server keeps writing through the same connection, and the copy restores to a working app', { timeout: 60_000 }, async () => {
    const t = fileEnv()
    const admin = await createTestUser(t, { role: 'admin', email: 'before-backup@example.org' })
    t.clock.ms = Date.now()
    await signIn(t, admin) // the account works before the backup
    seedHistory(t.db, 60_000)
    const write = writer(t.db)

    // a burst of acknowledged writes for ~1 s, one transaction each, yielding to the event loop in between
    let n = 0
    let writing = true
    const burstEnd = Date.now() + 1_000
    const burst = new Promise<void>((resolve) => {
      const tick = () => {
        if (Date.now() >= burstEnd) {
          writing = false
          return resolve()
        }
        write(n++)
        setImmediate(tick)
      }
      setImmediate(tick)
    })
    await new Promise((r) => setTimeout(r, 200)) // let the burst get going

    const backupFile = join(t.config.dataDir, 'backup-1.sqlite')
    const committedBeforeStart = burstUserIds(t.db.$client)
    const started = performance.now()
    const { pages } = await backupDatabase(t.db, backupFile)
    const backupMs = performance.now() - started
    const committedAtEnd = burstUserIds(t.db.$client).length
    const stillWriting = writing
    await burst
    const committedTotal = burstUserIds(t.db.$client).length

    const copy = inspect(backupFile)
    expect(copy.integrity).toBe('ok')
    expect(committedBeforeStart.length).toBeGreaterThan(0)
    // every row committed before the backup started is in it
    const inCopy = new Set(copy.users)
    expect(committedBeforeStart.filter((id) => !inCopy.has(id))).toEqual([])
    // and nothing half-done: every user has its audit event and every such event its user
    expect(copy.orphanAudits).toBe(0)
    expect(copy.usersWithoutAudit).toBe(0)
    expect(copy.users.length).toBeLessThanOrEqual(committedTotal)
    expect(pages).toBeGreaterThan(1_000)
    console.log(
      `[backup, same connection] ${pages} pages of ${copy.pageSize} B in ${Math.round(backupMs)} ms (writer still running at the end: ${stillWriting}); ` +
        `burst rows committed before backup start ${committedBeforeStart.length}, by backup end ${committedAtEnd}, after the burst ${committedTotal}; rows in backup ${copy.users.length}`,
    )

    await restoreAndSignIn(backupFile, admin)
  })

  it('copies a consistent database while another connection (another thread) writes, as the CLI does beside the running server', { timeout: 60_000 }, async () => {
    const t = fileEnv()
    const admin = await createTestUser(t, { role: 'admin', email: 'before-cli-backup@example.org' })
    seedHistory(t.db, 60_000)
    const file = join(t.config.dataDir, 'gatehouse.sqlite')

    // the "server": a worker thread with its own connection, committing registrations for ~1 s
    const require = createRequire(import.meta.url)
    const worker = new Worker(
      `
      const { workerData, parentPort } = require('node:worker_threads')
      const Database = require(workerData.driver)
      const db = new Database(workerData.file)
      db.pragma('journal_mode = WAL'); db.pragma('synchronous = FULL'); db.pragma('busy_timeout = 5000'); db.pragma('foreign_keys = ON')
      const user = db.prepare(workerData.insertUser)
      const audit = db.prepare(workerData.insertAudit)
      const write = db.transaction((n) => {
        const id = Number(user.run('burst-' + n + '@example.org', n, n).lastInsertRowid)
        audit.run(n, String(id), JSON.stringify({ email: 'burst-' + n + '@example.org', n }))
      })
      const pause = new Int32Array(new SharedArrayBuffer(4))
      let n = 0
      parentPort.postMessage({ started: true })
      const end = Date.now() + workerData.ms
      while (Date.now() < end) {
        write.immediate(n++)
        if (n % 20 === 0) Atomics.wait(pause, 0, 0, 1) // ~1 ms breather every 20 writes
      }
      db.close()
      parentPort.postMessage({ written: n })
      `,
      { eval: true, workerData: { driver: require.resolve('better-sqlite3'), file, insertUser: INSERT_USER, insertAudit: INSERT_AUDIT, ms: 1_000 } },
    )
    cleanups.push(async () => void (await worker.terminate()))
    let workerDone = false
    const finished = new Promise<number>((resolve, reject) => {
      worker.on('message', (m: { written?: number }) => {
        if (m.written !== undefined) {
          workerDone = true
          resolve(m.written)
        }
      })
      worker.on('error', reject)
    })
    await new Promise((r) => setTimeout(r, 200))

    const backupFile = join(t.config.dataDir, 'backup-2.sqlite')
    const committedBeforeStart = burstUserIds(t.db.$client)
    const started = performance.now()
    const { pages } = await backupDatabase(t.db, backupFile)
    const backupMs = performance.now() - started
    const finishedBeforeWriter = !workerDone
    const committedAtEnd = burstUserIds(t.db.$client).length
    const written = await finished
    const committedTotal = burstUserIds(t.db.$client).length
    expect(committedTotal).toBe(written)

    const copy = inspect(backupFile)
    expect(copy.integrity).toBe('ok')
    expect(committedBeforeStart.length).toBeGreaterThan(0)
    const inCopy = new Set(copy.users)
    expect(committedBeforeStart.filter((id) => !inCopy.has(id))).toEqual([])
    expect(copy.orphanAudits).toBe(0)
    expect(copy.usersWithoutAudit).toBe(0)
    console.log(
      `[backup, other connection] ${pages} pages in ${Math.round(backupMs)} ms (finished while the writer was still running: ${finishedBeforeWriter}); ` +
        `burst rows committed before backup start ${committedBeforeStart.length}, by backup end ${committedAtEnd}, in total ${committedTotal}; rows in backup ${copy.users.length}`,
    )

    await restoreAndSignIn(backupFile, admin)
  })

  it('fails clearly when the destination directory does not exist', async () => {
    const t = fileEnv()
    await expect(backupDatabase(t.db, join(t.config.dataDir, 'missing-dir', 'b.sqlite'))).rejects.toThrow(/directory does not exist/)
    expect(existsSync(join(t.config.dataDir, 'missing-dir'))).toBe(false)
  })
})
