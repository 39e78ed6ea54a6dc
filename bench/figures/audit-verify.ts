// SPEC §5 / issue 16: `npm run cli -- audit-verify` over 1,000,000 audit events in ≤ 10 s.
// Measured as an operator runs it: the built CLI (`node dist/src/cli.js audit-verify`) in its own
// process on a DATA_DIR whose audit log holds a valid chain of BENCH_AUDIT_EVENTS events (default
// 1,000,000, written by the bench with the chain's own hash function). The figure counts only when the
// CLI says the chain is intact and names exactly that many events; a second run on a copy with one
// event changed (triggers dropped) must exit 1 naming it, so the figure is of a check that works.
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { loadConfig } from '../../src/config.ts'
import { openDatabase } from '../../src/db/client.ts'
import { applyMigrations } from '../../src/db/migrate.ts'
import { auditChainHash, GENESIS_HASH, type ChainRow } from '../../src/models/audit-chain.ts'
import { runBuiltCli } from '../lib/cli-child.ts'
import { round } from '../lib/stats.ts'
import { figure, type FigureProducer } from './types.ts'

const RUN_TIMEOUT_MS = 120_000
const EVENTS = ['signin.succeeded', 'signin.failed', 'user.updated', 'project.created', 'access.denied'] as const

/** A migrated database whose audit log is a valid chain of `count` events (after any the migrations wrote). */
function prepareAuditDataDir(count: number): { dataDir: string; total: number; tamperId: number } {
  const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-audit-'))
  loadConfig({ DATA_DIR: dataDir })
  const db = openDatabase(join(dataDir, 'gatehouse.sqlite'))
  try {
    applyMigrations(db)
    const raw = db.$client
    const last = raw.prepare('select id, hash from audit_events order by id desc limit 1').get() as { id: number; hash: string } | undefined
    let id = last?.id ?? 0
    let previous = last?.hash ?? GENESIS_HASH
    const insert = raw.prepare('insert into audit_events (id, at, event, actor_id, actor_email, target_type, target_id, ip, details, hash) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
    const t0 = Date.UTC(2026, 0, 1)
    raw.transaction(() => {
      for (let i = 0; i < count; i++) {
        id++
        const row: ChainRow = [id, t0 + i * 1000, EVENTS[i % EVENTS.length]!, 1 + (i % 5000), `user${i % 5000}@bench.example`, 'user', String(1 + (i % 7919)), `10.0.${(i >> 8) & 255}.${i & 255}`, JSON.stringify({ n: i, route: '/admin/users/:id' })]
        previous = auditChainHash(previous, row)
        insert.run(...row, previous)
      }
    }).immediate()
    const total = raw.prepare('select count(*) from audit_events').pluck().get() as number
    return { dataDir, total, tamperId: id - Math.floor(count / 3) }
  } finally {
    db.$client.close()
  }
}

export const auditVerify: FigureProducer = {
  id: 'audit-verify',
  name: 'audit-verify over a million events',
  standalone: true,
  async run(ctx) {
    const count = Number(process.env.BENCH_AUDIT_EVENTS ?? 1_000_000)
    const label = `npm run cli -- audit-verify over ${count.toLocaleString('en')} audit events`
    const target = { op: '<=' as const, value: 10 }
    const prepared = Date.now()
    const { dataDir, total, tamperId } = prepareAuditDataDir(count)
    ctx.log(`audit-verify: wrote ${total} chained events in ${((Date.now() - prepared) / 1000).toFixed(1)} s`)
    try {
      const env = { DATA_DIR: dataDir }
      const run = await runBuiltCli({ repoRoot: ctx.repoRoot, args: ['audit-verify'], env, dir: dataDir, name: 'audit-verify', timeoutMs: RUN_TIMEOUT_MS })
      const out = run.stdout()
      const named = /Audit log intact: (\d+) events checked/.exec(out)
      if (run.code !== 0 || !named || Number(named[1]) !== total) {
        return [figure({ id: 'audit-verify', label, value: NaN, unit: 's', target, error: `expected "intact: ${total} events", got exit ${run.code}: ${out.slice(0, 300)} ${run.stderr().slice(0, 300)}` })]
      }
      // The same check must catch a change: a copy with one event altered behind the triggers' back.
      const tampered = mkdtempSync(join(tmpdir(), 'gatehouse-bench-audit-tampered-'))
      copyFileSync(join(dataDir, 'secret.key'), join(tampered, 'secret.key'))
      const source = new Database(join(dataDir, 'gatehouse.sqlite'))
      await source.backup(join(tampered, 'gatehouse.sqlite'))
      source.close()
      const copy = new Database(join(tampered, 'gatehouse.sqlite'))
      copy.exec('drop trigger audit_events_no_update')
      copy.prepare("update audit_events set ip = '203.0.113.66' where id = ?").run(tamperId)
      copy.close()
      const check = await runBuiltCli({ repoRoot: ctx.repoRoot, args: ['audit-verify'], env: { DATA_DIR: tampered }, dir: tampered, name: 'audit-verify-tampered', timeoutMs: RUN_TIMEOUT_MS })
      const caught = check.code === 1 && check.stderr().includes(`at event ${tamperId}`)
      rmSync(tampered, { recursive: true, force: true })
      if (!caught) return [figure({ id: 'audit-verify', label, value: NaN, unit: 's', target, error: `the tampered copy was not caught at event ${tamperId}: exit ${check.code}: ${check.stderr().slice(0, 300)}` })]
      return [
        figure({
          id: 'audit-verify',
          label,
          value: round(run.wallMs / 1000, 2),
          unit: 's',
          target,
          details: { events: total, wall_ms: Math.round(run.wallMs), cpu_s: round(run.cpuSeconds, 2), peak_rss_mb: round(run.peakRssMb, 1), tampered_copy_caught_at: tamperId, tampered_wall_ms: Math.round(check.wallMs) },
        }),
      ]
    } finally {
      rmSync(dataDir, { recursive: true, force: true })
    }
  },
}
