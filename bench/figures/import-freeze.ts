// Issue 16: applying an import from the admin page must not freeze the other pages. A generated
// 10,000-entry directory (the import figure's files) is uploaded to the running server's
// /admin/import as an admin does it, planned, then applied; from the apply's POST until the run
// is 'applied', GET /login and GET / (signed in) are probed open-loop at 50/s on connections
// opened before (as in the sign-in figure). Target: p99 of those pages ≤ 100 ms, every probe 200.
// The apply is checked: the run applied, one invitation per intended invitee. The same probes
// from the upload's POST until the run is 'planned' give the planning's figure (info).
//
// It changes the server's database (8,300 invitations and more), so it runs after the other
// server figures.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { hashPassword } from '../../src/auth/password.ts'
import { runBuiltCli } from '../lib/cli-child.ts'
import { generateImportFixture } from '../lib/import-fixture.ts'
import { sharedTotpPool, signIn } from '../lib/signin.ts'
import { max, percentile, round, sleep } from '../lib/stats.ts'
import { cpuSeconds } from '../lib/proc.ts'
import { openProbeAgent, startProbe } from './sign-ins.ts'
import { figure, type FigureProducer } from './types.ts'

const TARGET_P99_MS = 100
const WAIT_MS = 90_000

function multipart(parts: { name: string; filename?: string; value: string }[]) {
  const boundary = `----gatehouse-bench-${Math.random().toString(16).slice(2)}`
  const body =
    parts
      .map((p) => `--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"${p.filename !== undefined ? `; filename="${p.filename}"\r\nContent-Type: application/yaml` : ''}\r\n\r\n${p.value}\r\n`)
      .join('') + `--${boundary}--\r\n`
  return { body, contentType: `multipart/form-data; boundary=${boundary}` }
}

export const importFreeze: FigureProducer = {
  id: 'import-freeze',
  name: 'other pages while an import applies from the admin page',
  async run(ctx) {
    const entries = Number(process.env.BENCH_IMPORT_ENTRIES ?? 10_000)
    const fixture = generateImportFixture({ entries })
    const { dataDir } = ctx.data
    const dbFile = join(dataDir, 'gatehouse.sqlite')
    // The directory's existing accounts, and the consortium structure (the CLI against the running server's database).
    const hash = await hashPassword('bench-import-not-used-for-sign-in')
    const db = new Database(dbFile)
    try {
      const now = Date.now()
      const insert = db.prepare('insert or ignore into users (email, first_name, last_name, organization, role, password_hash, password_changed_at, disabled_at, created_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?)')
      db.transaction(() => {
        for (const a of fixture.accounts) insert.run(a.email, a.firstName, a.lastName, a.organization, 'researcher', hash, now, a.disabled ? now - 86_400_000 : null, now)
      }).immediate()
    } finally {
      db.close()
    }
    writeFileSync(join(dataDir, 'freeze-structure.yaml'), fixture.structureYaml)
    const structure = await runBuiltCli({ repoRoot: ctx.repoRoot, args: ['import-structure', join(dataDir, 'freeze-structure.yaml')], env: { DATA_DIR: dataDir, SMTP_URL: '', SECRET_KEY: '', ADMIN_EMAIL: '', BASE_URL: '' }, dir: dataDir, name: 'freeze-structure', timeoutMs: 60_000 })
    if (structure.code !== 0) throw new Error(`import-structure: exit ${structure.code}: ${structure.stderr().slice(0, 400)}`)

    const { target, pid } = ctx.gatehouse
    const agent = target.agent(2)
    const grant = await sharedTotpPool(ctx.data.admin).acquire()
    const cookie = await signIn(target, agent, ctx.data.admin, grant.step).finally(grant.release)
    const headers = { Cookie: `session=${cookie}`, Origin: target.origin }
    const probeAgent = await openProbeAgent(ctx)
    const planProbe = startProbe(ctx, probeAgent)
    const planBegan = performance.now()
    const form = multipart([
      { name: 'users', filename: 'users.yaml', value: fixture.usersYaml },
      { name: 'authorizations', filename: 'auth.yaml', value: fixture.authYaml },
      { name: 'domains', filename: 'domains.yaml', value: fixture.domainsYaml },
      { name: 'notify', value: 'none' },
    ])
    const uploaded = await target.request(agent, { method: 'POST', path: '/admin/import', headers: { ...headers, 'Content-Type': form.contentType }, body: form.body, timeoutMs: 60_000 })
    const runId = Number(/\/admin\/import\/(\d+)$/.exec(String(uploaded.headers.location ?? ''))?.[1])
    if (uploaded.status !== 303 || !Number.isInteger(runId)) throw new Error(`upload: ${uploaded.status} ${uploaded.headers.location}`)

    const reader = new Database(dbFile, { readonly: true })
    const status = () => (reader.prepare('select status from import_runs where id = ?').pluck().get(runId) as string | undefined) ?? 'missing'
    const waitWhile = async (states: string[]) => {
      const until = Date.now() + WAIT_MS
      while (states.includes(status())) {
        if (Date.now() > until) throw new Error(`import run ${runId} still ${status()} after ${WAIT_MS / 1000} s`)
        await sleep(50)
      }
      return status()
    }
    try {
      if ((await waitWhile(['planning'])) !== 'planned') throw new Error(`the plan of run ${runId} ended ${status()}`)
      const planMs = performance.now() - planBegan
      const planned = await planProbe.stop()
      const planAll = Object.values(planned.samples).flat()
      ctx.log(`  run ${runId} uploaded and planned (${entries} entries) in ${round(planMs / 1000, 2)} s; ${planAll.length} probes meanwhile, p99 ${round(percentile(planAll, 99), 1)} ms, max ${round(max(planAll), 1)} ms; applying it while probing the other pages`)
      const probe = startProbe(ctx, probeAgent)
      const cpu0 = cpuSeconds(pid)
      const began = performance.now()
      const applied = await target.request(agent, { method: 'POST', path: `/admin/import/${runId}/apply`, headers: { ...headers, 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'confirm=yes' })
      if (applied.status !== 303) throw new Error(`apply: ${applied.status}`)
      // The admin's browser polls the progress fragment every second meanwhile (htmx), as the page does.
      let polling = true
      const poller = (async () => {
        while (polling) {
          await target.request(agent, { path: `/admin/import/${runId}/progress`, headers: { Cookie: `session=${cookie}` } })
          await sleep(1_000)
        }
      })()
      const end = await waitWhile(['planned', 'applying']).finally(() => (polling = false))
      await poller
      const applyMs = performance.now() - began
      const cpu = cpuSeconds(pid) - cpu0
      const result = await probe.stop()
      if (end !== 'applied') throw new Error(`the apply of run ${runId} ended ${end}`)
      const invitations = reader.prepare("select count(*) from invitations where status = 'sent'").pluck().get() as number
      // The seeded directory holds some of the generated people already, so the run's own count is the reference.
      const invited = Number(reader.prepare("select json_extract(report, '$.counts.invited') from import_run_files where run_id = ?").pluck().get(runId) ?? NaN)
      const all = Object.values(result.samples).flat()
      const perPage = Object.fromEntries(Object.entries(result.samples).map(([name, v]) => [name, { samples: v.length, p50: round(percentile(v, 50), 1), p99: round(percentile(v, 99), 1), max: round(max(v), 1) }]))
      ctx.log(`  applied in ${round(applyMs / 1000, 2)} s (server CPU ${round(cpu, 2)} s); ${all.length} probes, p99 ${round(percentile(all, 99), 1)} ms, max ${round(max(all), 1)} ms; ${JSON.stringify(perPage)}`)
      const problems = [
        ...(result.errors.length > 0 ? [`${result.errors.length} probes failed: ${result.errors.slice(0, 3).join(' | ')}`] : []),
        ...(!(invited > 0) || invitations !== invited ? [`${invitations} invitations stored, the run reports ${invited}`] : []),
        ...(all.length < 20 ? [`only ${all.length} probe samples`] : []),
      ]
      return [
        figure({
          id: 'pages_p99_during_import_apply',
          label: `p99 of GET /login and GET / while a ${entries}-entry import applies (admin page)`,
          value: round(percentile(all, 99), 1),
          unit: 'ms',
          target: { op: '<=', value: TARGET_P99_MS },
          ...(problems.length > 0 ? { error: problems.join('; ') } : {}),
          details: { runId, applyMs: round(applyMs), serverCpuSeconds: round(cpu, 2), probes: all.length, max: round(max(all), 1), perPage, bySecond: result.bySecond, invitations, invited },
        }),
        figure({
          id: 'pages_p99_during_import_plan',
          label: `  same, while the files upload and the plan is made (before the apply)`,
          value: round(percentile(planAll, 99), 1),
          unit: 'ms',
          target: null,
          ...(planned.errors.length > 0 ? { error: `${planned.errors.length} probes failed: ${planned.errors.slice(0, 3).join(' | ')}` } : {}),
          details: { planMs: round(planMs), probes: planAll.length, max: round(max(planAll), 1), bySecond: planned.bySecond },
        }),
      ]
    } finally {
      await planProbe.stop().catch(() => undefined)
      reader.close()
      agent.destroy()
      probeAgent.destroy()
    }
  },
}
