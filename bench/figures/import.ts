// SPEC §6 / §9: a generated 10,000-entry user directory imports in ≤ 5 s with peak memory
// ≤ 300 MB. Measured as an operator runs it: the built CLI (`node dist/src/cli.js import USERS AUTH
// --json`) in its own process on a fresh DATA_DIR, wall time from spawn to exit, and the
// process's own peak RSS (getrusage, written at exit by lib/report-rusage.mjs). The import's
// report and the database are then checked against what the generator intended: a figure of an
// import that did the wrong thing is an error, not a number. The same files are imported a
// second time, which must change nothing.
//
// It does not use the running servers: the import is a CLI command on its own DATA_DIR. No
// SMTP_URL: the claim emails stay in the outbox (the CLI's import never delivers them).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { loadConfig } from '../../src/config.ts'
import { openDatabase } from '../../src/db/client.ts'
import { applyMigrations } from '../../src/db/migrate.ts'
import { hashPassword } from '../../src/auth/password.ts'
import { runBuiltCli, type CliRun } from '../lib/cli-child.ts'
import { generateImportFixture, type ExistingAccount, type ImportExpectation } from '../lib/import-fixture.ts'
import { systemCpuSeconds } from '../lib/proc.ts'
import { round } from '../lib/stats.ts'
import { figure, type FigureProducer } from './types.ts'

const ADMIN_EMAIL = 'bench-admin@bench.example'
const RUN_TIMEOUT_MS = 60_000

type ReportAction = { action: string; on_accept?: boolean; role?: string }
type Report = { ok: boolean; applied: boolean; errors: unknown[]; warnings: { code: string }[]; actions: ReportAction[]; flags: unknown[] }

/** A migrated database with one admin (owner of the structure's projects) and the directory's existing accounts. */
export async function prepareImportDataDir(accounts: ExistingAccount[]): Promise<string> {
  const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-import-'))
  loadConfig({ DATA_DIR: dataDir }) // creates DATA_DIR/secret.key, as the CLI will read it
  const db = openDatabase(join(dataDir, 'gatehouse.sqlite'))
  try {
    applyMigrations(db)
    const hash = await hashPassword('bench-import-not-used-for-sign-in')
    const now = Date.now()
    const insert = db.$client.prepare(
      'insert into users (email, first_name, last_name, organization, role, password_hash, password_changed_at, disabled_at, created_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    )
    db.$client
      .transaction(() => {
        insert.run(ADMIN_EMAIL, 'Bench', 'Admin', 'Gatehouse', 'admin', hash, now, null, now)
        for (const a of accounts) insert.run(a.email, a.firstName, a.lastName, a.organization, 'researcher', hash, now, a.disabled ? now - 86_400_000 : null, now)
      })
      .immediate()
  } finally {
    db.$client.close()
  }
  return dataDir
}

function describeRun(run: CliRun): string {
  return `exit ${run.code ?? run.signal}${run.signal === 'SIGKILL' ? ` (killed after ${RUN_TIMEOUT_MS / 1000} s)` : ''}; stderr: ${run.stderr().trim().slice(0, 600) || '(empty)'}; stdout: ${run.stdout().trim().slice(0, 300) || '(empty)'}`
}

function readReport(run: CliRun, what: string): Report {
  if (run.code !== 0) throw new Error(`${what}: ${describeRun(run)}`)
  try {
    return JSON.parse(run.stdout()) as Report
  } catch (error) {
    throw new Error(`${what}: the --json output is not JSON (${error instanceof Error ? error.message : String(error)}): ${run.stdout().slice(0, 300)}`)
  }
}

function tally(report: Report) {
  const n = (kind: string, onAccept?: boolean) => report.actions.filter((a) => a.action === kind && (onAccept === undefined || Boolean(a.on_accept) === onAccept)).length
  const roles: Record<string, number> = {}
  for (const a of report.actions) if (a.action === 'grant' && a.role) roles[a.role] = (roles[a.role] ?? 0) + 1
  const warnings: Record<string, number> = {}
  for (const w of report.warnings) warnings[w.code] = (warnings[w.code] ?? 0) + 1
  return {
    actions: report.actions.length,
    invite: n('invite'),
    grantOnAccept: n('grant', true),
    grant: n('grant', false),
    enable: n('enable'),
    disable: n('disable'),
    skip: n('skip'),
    follow_up: n('follow_up'),
    roles,
    warnings,
    errors: report.errors.length,
    flags: report.flags.length,
  }
}

/** Every difference between what the import reported and what the generator intended. */
function compare(what: string, got: Record<string, unknown>, want: Record<string, unknown>): string[] {
  // Key order does not matter: { a: 1, b: 2 } equals { b: 2, a: 1 }.
  const text = (v: unknown) => JSON.stringify(v ?? 0, (_, x) => (x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort()) : x))
  const out: string[] = []
  for (const [key, value] of Object.entries(want)) {
    if (text(got[key]) !== text(value)) out.push(`${what} ${key}: ${text(got[key])}, expected ${text(value)}`)
  }
  return out
}

export const importDirectory: FigureProducer = {
  id: 'import',
  name: 'consortium import of a generated user directory (CLI)',
  standalone: true,
  async run(ctx) {
    const entries = Number(process.env.BENCH_IMPORT_ENTRIES ?? 10_000)
    if (!Number.isInteger(entries) || entries < 100) throw new Error('BENCH_IMPORT_ENTRIES must be a whole number ≥ 100')
    const fixture = generateImportFixture({ entries })
    const want: ImportExpectation = fixture.expected
    const dataDir = await prepareImportDataDir(fixture.accounts)
    let keep = Boolean(process.env.BENCH_KEEP)
    try {
      const file = (name: string, text: string) => (writeFileSync(join(dataDir, name), text), join(dataDir, name))
      const files = {
        structure: file('structure.yaml', fixture.structureYaml),
        auth: file('auth.yaml', fixture.authYaml),
        users: file('users.yaml', fixture.usersYaml),
        domains: file('domains.yaml', fixture.domainsYaml),
        empty: file('empty.yaml', ''),
      }
      // As the shell an operator runs it from, minus settings that would change what is measured.
      const env = { DATA_DIR: dataDir, SMTP_URL: '', SECRET_KEY: '', ADMIN_EMAIL: '', BASE_URL: '' }
      const cli = (name: string, args: string[], nodeFlags: string[] = []) => runBuiltCli({ repoRoot: ctx.repoRoot, args, env, dir: dataDir, name, nodeFlags, timeoutMs: RUN_TIMEOUT_MS })
      ctx.log(`  ${entries} entries (${round(fixture.usersYaml.length / 1e6, 1)} MB of YAML), ${fixture.accounts.length} existing accounts, DATA_DIR ${dataDir}`)

      const structure = await cli('structure', ['import-structure', files.structure])
      const created = Number(/(\d+) projects/.exec(structure.stdout())?.[1] ?? NaN)
      if (structure.code !== 0 || created !== want.structureProjects) {
        throw new Error(`import-structure: ${created} projects created, expected ${want.structureProjects}; ${describeRun(structure)}`)
      }

      // --domains (SPEC §6.5) is used when this CLI has it: exit 2 is "unknown option".
      const probe = await cli('domains-probe', ['import', files.empty, files.empty, '--domains', files.domains, '--dry-run'])
      const withDomains = probe.code === 0
      if (probe.code !== 0 && probe.code !== 2) throw new Error(`the generated domain config is refused: ${describeRun(probe)}`)
      if (probe.code === 2 && !probe.stderr().includes('--domains')) throw new Error(`probing --domains: ${describeRun(probe)}`)
      const args = ['import', files.users, files.auth, ...(withDomains ? ['--domains', files.domains] : []), '--json']
      ctx.log(`  structure: ${created} projects; --domains ${withDomains ? 'supported: used' : 'not supported by this CLI: left out'}`)

      const extraFlags = process.env.BENCH_IMPORT_NODE_FLAGS?.split(' ').filter(Boolean) ?? []
      const cpu0 = systemCpuSeconds()
      const own0 = process.cpuUsage()
      const first = await cli('import', args, extraFlags)
      const cpu1 = systemCpuSeconds()
      const own = process.cpuUsage(own0)
      const otherCpuCores = round(Math.max(0, (cpu1.processes - cpu0.processes + cpu1.interrupts - cpu0.interrupts - first.cpuSeconds - (own.user + own.system) / 1e6) / (first.wallMs / 1000)), 2)
      ctx.noteWindow('import', { otherCpuCores })

      // Check the run before reporting it.
      const report = readReport(first, 'import')
      const got = tally(report)
      const problems = [
        ...(report.ok && report.applied ? [] : [`ok ${report.ok}, applied ${report.applied}`]),
        ...compare('import', got, {
          errors: 0,
          flags: 0,
          invite: want.invite,
          grantOnAccept: want.grantOnAccept,
          grant: want.grant,
          enable: want.enable,
          disable: want.disable,
          skip: want.skip,
          follow_up: 0,
          roles: want.roles,
          warnings: want.warnings,
        }),
      ]
      const stored = () => {
        const db = new Database(join(dataDir, 'gatehouse.sqlite'), { readonly: true })
        try {
          const count = (sql: string) => (db.prepare(sql).pluck().get() as number) ?? 0
          return {
            invitations: count("select count(*) from invitations where status = 'sent'"),
            outbox: count('select count(*) from outbox'),
            memberships: count('select count(*) from project_members'),
            disabled: count('select count(*) from users where disabled_at is not null'),
          }
        } finally {
          db.close()
        }
      }
      const afterFirst = stored()
      // One claim email per invitation, queued, not sent; direct grants only (the rest wait for acceptance).
      problems.push(
        ...compare('stored', afterFirst, { invitations: want.invite, outbox: want.invite, memberships: want.grant, disabled: fixture.accounts.filter((a) => !a.active).length }),
      )
      if (problems.length > 0) throw new Error(`the import did not do what the generated files ask: ${problems.join('; ')}`)

      // The same files again: outstanding invitations are skipped, nothing else happens.
      const second = await cli('rerun', args)
      const rerun = tally(readReport(second, 'import, second run'))
      const afterSecond = stored()
      const rerunProblems = [
        ...compare('second run', rerun, { errors: 0, flags: 0, invite: 0, grantOnAccept: 0, grant: 0, enable: 0, disable: 0, follow_up: 0, skip: want.invite }),
        ...compare('stored after the second run', afterSecond, afterFirst),
      ]
      if (rerunProblems.length > 0) throw new Error(`importing the same files again was not a no-op: ${rerunProblems.join('; ')}`)

      const seconds = round(first.wallMs / 1000, 2)
      const rssMb = round(first.peakRssMb, 1)
      ctx.log(
        `  import: ${seconds} s wall, ${round(first.cpuSeconds, 2)} s CPU, peak RSS ${rssMb} MB; ${got.actions} actions: ${got.invite} invite, ` +
          `${got.grantOnAccept} grant on acceptance, ${got.grant} grant, ${got.enable} enable, ${got.disable} disable; second run ${round(second.wallMs / 1000, 2)} s (${rerun.skip} skip)`,
      )
      if (Number.isNaN(first.peakRssMb)) throw new Error('the import process did not report its peak RSS')
      const details = {
        entries,
        active: want.active,
        inactive: want.inactive,
        existingAccounts: fixture.accounts.length,
        usersYamlBytes: Buffer.byteLength(fixture.usersYaml),
        domains: withDomains,
        actions: got,
        cpuSeconds: round(first.cpuSeconds, 2),
        sampledPeakRssMb: round(first.sampledPeakRssMb, 1),
        otherCpuCores,
        command: `node dist/src/cli.js ${args.map((a) => a.replace(dataDir + '/', '')).join(' ')}`,
      }
      return [
        figure({
          id: 'import_seconds',
          label: `Import of a ${entries.toLocaleString('en')}-entry user directory (CLI${withDomains ? ', --domains' : ''}, applied): wall time`,
          value: seconds,
          unit: 's',
          target: { op: '<=', value: 5 },
          details,
        }),
        figure({
          id: 'import_peak_rss_mb',
          label: '  peak RSS of the import process',
          value: rssMb,
          unit: 'MB',
          target: { op: '<=', value: 300 },
          details: { sampledPeakRssMb: details.sampledPeakRssMb, note: 'getrusage ru_maxrss of the CLI process, MB = 10^6 bytes' },
        }),
        figure({
          id: 'import_actions',
          label: `  actions (${got.invite} invite + ${got.grantOnAccept} roles on acceptance, ${got.grant} grant, ${got.enable} enable, ${got.disable} disable)`,
          value: got.actions,
          unit: 'actions',
          target: null,
          details: got,
        }),
        figure({
          id: 'import_rerun_seconds',
          label: '  same files again (changes nothing): wall time',
          value: round(second.wallMs / 1000, 2),
          unit: 's',
          target: null,
          details: { peakRssMb: round(second.peakRssMb, 1), cpuSeconds: round(second.cpuSeconds, 2), actions: rerun },
        }),
      ]
    } catch (error) {
      keep = true
      throw error
    } finally {
      if (keep) ctx.log(`  kept ${dataDir} (the generated files, the database, the CLI output)`)
      else rmSync(dataDir, { recursive: true, force: true })
    }
  },
}
