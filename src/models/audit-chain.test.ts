import { describe, expect, it } from 'vitest'
import { createHash } from 'node:crypto'
import { copyFileSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openDatabase, writeTransaction, type Db } from '../db/client.ts'
import { applyMigrations } from '../db/migrate.ts'
import { testDb } from '../test/helpers.ts'
import { runCli, tempDataDir } from '../test/cli.ts'
import { recordAuditEvent } from './audit.ts'
import { backfillAuditHashes, runAuditCheck, verifyAuditChain, verifyAuditChainInChunks } from './audit-chain.ts'

type Row = { id: number; at: number; event: string; actor_id: number | null; actor_email: string | null; target_type: string | null; target_id: string | null; ip: string | null; details: string; hash: string | null }

const rows = (db: Db) => db.$client.prepare('select * from audit_events order by id').all() as Row[]

/** The chain as documented (README, audit-chain.ts), written out independently of the code under test. */
function expectedHash(previous: string, r: Row): string {
  const canonical = JSON.stringify([r.id, r.at, r.event, r.actor_id, r.actor_email, r.target_type, r.target_id, r.ip, r.details])
  return createHash('sha256').update(`${previous}\n${canonical}`).digest('hex')
}

function recordSome(db: Db, n: number, from = 0) {
  for (let i = from; i < from + n; i++) recordAuditEvent(db, { event: i % 2 ? 'user.disabled' : 'signin.failed', at: 1_000 + i, actor: i % 3 ? { id: 1, email: 'root@example.org' } : null, targetType: 'user', targetId: i, ip: '192.0.2.1', details: { n: i, note: 'ä "quoted"' } })
}

function dropTriggers(db: Db) {
  db.$client.exec('drop trigger audit_events_no_update; drop trigger audit_events_no_delete')
}

describe('audit hash chain', () => {
  it('each event stores the SHA-256 of the previous hash and its canonical content', () => {
    const db = testDb()
    recordSome(db, 5)
    writeTransaction(db, () => recordAuditEvent(db, { event: 'role.updated', at: 9_000, details: {} }))
    let previous = '0'.repeat(64)
    const all = rows(db)
    expect(all).toHaveLength(6)
    for (const r of all) {
      expect(r.hash).toBe(expectedHash(previous, r))
      previous = r.hash!
    }
    expect(verifyAuditChain(db)).toEqual({ ok: true, count: 6, lastId: all.at(-1)!.id, headHash: previous })
  })

  it('the database still refuses UPDATE and DELETE, and a hash once set cannot be changed', () => {
    const db = testDb()
    recordSome(db, 2)
    expect(() => db.$client.prepare("update audit_events set hash = 'x' where id = 1").run()).toThrow(/append-only/)
    expect(() => db.$client.prepare("update audit_events set event = 'x' where id = 1").run()).toThrow(/append-only/)
    expect(() => db.$client.prepare('delete from audit_events where id = 2').run()).toThrow(/append-only/)
    db.$client.prepare("insert into audit_events (at, event, details) values (5, 'legacy', '{}')").run()
    // Setting a NULL hash is allowed once, and only with every other column unchanged.
    expect(() => db.$client.prepare("update audit_events set hash = 'h', event = 'other' where id = 3").run()).toThrow(/append-only/)
    db.$client.prepare("update audit_events set hash = 'h' where id = 3").run()
    expect(() => db.$client.prepare("update audit_events set hash = 'i' where id = 3").run()).toThrow(/append-only/)
  })

  it('events written before the chain existed get their hashes at start, oldest first', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-chain-'))
    const file = join(dir, 'gatehouse.sqlite')
    const db = openDatabase(file)
    applyMigrations(db)
    const insert = db.$client.prepare("insert into audit_events (at, event, details) values (?, 'legacy.event', ?)")
    for (let i = 0; i < 2_500; i++) insert.run(i, JSON.stringify({ i }))
    expect(verifyAuditChain(db)).toMatchObject({ ok: false, firstBad: { id: 1, reason: expect.stringMatching(/no hash/) } })
    db.$client.close()
    const reopened = openDatabase(file)
    applyMigrations(reopened) // start-up backfills
    expect(verifyAuditChain(reopened)).toMatchObject({ ok: true, count: 2_500 })
    recordSome(reopened, 3)
    expect(verifyAuditChain(reopened)).toMatchObject({ ok: true, count: 2_503 })
    expect(backfillAuditHashes(reopened)).toBe(0)
    // A NULL hash after hashed events is not legitimised by a restart.
    reopened.$client.prepare("insert into audit_events (at, event, details) values (1, 'sneaked.in', '{}')").run()
    applyMigrations(reopened)
    expect(verifyAuditChain(reopened)).toMatchObject({ ok: false, firstBad: { id: 2_504, event: 'sneaked.in' } })
    reopened.$client.close()
  })

  it('names a changed row, a deleted row, a reordered row and an inserted row', () => {
    const changed = testDb()
    recordSome(changed, 10)
    dropTriggers(changed)
    changed.$client.prepare(`update audit_events set details = '{"n":4,"note":"edited"}' where id = 5`).run()
    expect(verifyAuditChain(changed)).toMatchObject({ ok: false, count: 4, firstBad: { id: 5, event: 'signin.failed', reason: expect.stringMatching(/changed/) } })

    const deleted = testDb()
    recordSome(deleted, 10)
    dropTriggers(deleted)
    deleted.$client.prepare('delete from audit_events where id = 7').run()
    expect(verifyAuditChain(deleted)).toMatchObject({ ok: false, firstBad: { id: 8, reason: expect.stringMatching(/between id 6 and id 8 are missing/) } })

    const reordered = testDb()
    recordSome(reordered, 10)
    dropTriggers(reordered)
    reordered.$client.exec('update audit_events set id = 100 where id = 3; update audit_events set id = 3 where id = 4; update audit_events set id = 4 where id = 100')
    expect(verifyAuditChain(reordered)).toMatchObject({ ok: false, firstBad: { id: 3 } })

    const inserted = testDb()
    recordSome(inserted, 3)
    inserted.$client.prepare("insert into audit_events (at, event, details, hash) values (1, 'forged', '{}', ?)").run('f'.repeat(64))
    expect(verifyAuditChain(inserted)).toMatchObject({ ok: false, firstBad: { id: 4, event: 'forged' } })
  })

  it("the server's check reads in chunks and lets other work run between them, with the same answers as the CLI's", async () => {
    const db = testDb()
    const insert = db.$client.prepare("insert into audit_events (at, event, details) values (?, 'legacy.event', '{}')")
    db.$client.transaction(() => {
      for (let i = 0; i < 20_000; i++) insert.run(i)
    })()
    backfillAuditHashes(db)
    let ticks = 0
    const timer = setInterval(() => ticks++, 0)
    const result = await verifyAuditChainInChunks(db, null, 1_000)
    clearInterval(timer)
    expect(result).toEqual(verifyAuditChain(db))
    expect(result).toMatchObject({ ok: true, count: 20_000 })
    expect(ticks).toBeGreaterThan(0) // the event loop ran while it checked
    dropTriggers(db)
    db.$client.prepare("update audit_events set event = 'edited' where id = 12345").run()
    expect(await verifyAuditChainInChunks(db, null, 1_000)).toEqual(verifyAuditChain(db))
    expect(verifyAuditChain(db)).toMatchObject({ ok: false, count: 12_344, firstBad: { id: 12_345, event: 'edited' } })
  })

  it('a run remembers the last intact event, so removing events from the end is detected', () => {
    const db = testDb()
    recordSome(db, 6)
    expect(runAuditCheck(db, 10).result).toMatchObject({ ok: true, count: 6, lastId: 6 })
    recordSome(db, 2, 6)
    expect(runAuditCheck(db, 20).result).toMatchObject({ ok: true, count: 8 })
    dropTriggers(db)
    db.$client.exec('delete from audit_events where id >= 7')
    expect(runAuditCheck(db, 30).result).toMatchObject({ ok: false, firstBad: { id: 8, reason: expect.stringMatching(/removed from the end/) } })
    // The failure does not replace the checkpoint: the next run still fails.
    expect(runAuditCheck(db, 40).result).toMatchObject({ ok: false, firstBad: { id: 8 } })
  })

  it('two connections writing in turn keep one chain (the last hash is read inside BEGIN IMMEDIATE)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-chain-'))
    const file = join(dir, 'gatehouse.sqlite')
    const a = openDatabase(file)
    applyMigrations(a)
    const b = openDatabase(file)
    for (let i = 0; i < 40; i++) {
      const db = i % 2 ? a : b
      writeTransaction(db, () => recordAuditEvent(db, { event: 'x.y', at: i, details: { i } }))
      recordAuditEvent(db, { event: 'outside.transaction', at: i, details: { i } })
    }
    expect(verifyAuditChain(a)).toMatchObject({ ok: true, count: 80 })
    a.$client.close()
    b.$client.close()
  })

  it('npm run cli -- audit-verify: exit 0 with the count; on a tampered copy exit 1 naming the event', () => {
    const { dataDir } = tempDataDir('audit-verify')
    const db = openDatabase(join(dataDir, 'gatehouse.sqlite'))
    applyMigrations(db)
    recordSome(db, 12)
    db.$client.pragma('wal_checkpoint(TRUNCATE)')
    db.$client.close()
    const good = runCli(dataDir, 'audit-verify')
    expect(good.stderr).toBe('')
    expect(good.code).toBe(0)
    expect(good.stdout).toMatch(/12 events/)

    const { dataDir: copyDir } = tempDataDir('audit-verify-copy')
    copyFileSync(join(dataDir, 'gatehouse.sqlite'), join(copyDir, 'gatehouse.sqlite'))
    const copy = openDatabase(join(copyDir, 'gatehouse.sqlite'))
    dropTriggers(copy)
    copy.$client.prepare("update audit_events set actor_email = 'someone-else@example.org' where id = 9").run()
    copy.$client.close()
    const bad = runCli(copyDir, 'audit-verify')
    expect(bad.code).toBe(1)
    expect(bad.stderr).toMatch(/event 9 \(signin\.failed\)/)
    expect(bad.stderr).toMatch(/changed/)
  })
})
