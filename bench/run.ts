import { execFileSync } from 'node:child_process'
// `npm run bench`: the performance figures of SPEC §9, in one run against the real server.
//
// 1. a fresh DATA_DIR with a migrated database and bench users (password + TOTP enrolled);
// 2. the real server as `npm start` runs it (built, `node dist/src/server.js`) and a bare Hono hello app
//    (bench/hello-server.ts) as child processes on 127.0.0.1;
// 3. the figure producers below, in order (the import runs the built CLI on a DATA_DIR of its own);
// 4. a table on stdout and the same as JSON in bench/results/latest.json.
// Children are stopped at the end, on failure, on Ctrl-C and at the time limit.
//
// Environment knobs: BENCH_QUIET_WAIT_MS (how long to wait for other processes to go quiet
// before starting, default 20000), BENCH_DURATION_MS (window per figure, default 5000), BENCH_WARMUP_MS
// (default 2000), BENCH_SIGNIN_DURATION_MS (window of the sign-in load, default 8000),
// BENCH_DIRECTORY=0 skips the seeded directory of SPEC §9 (100,000 users …; built once, then
// cached in bench/results/cache/), BENCH_SIGNIN_USERS (default 300 per core, at least 600), BENCH_PAGE_CONCURRENCY (default 16),
// BENCH_ONLY=page,signins runs a subset (ids: page, signins, users, oidc, approvals, import-freeze, import, audit-verify), BENCH_IMPORT_ENTRIES (default 10000),
// BENCH_IMPORT_NODE_FLAGS adds node flags to the measured import (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"), BENCH_SERVER_NODE_FLAGS adds node flags to the server
// (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"), BENCH_KEEP=1 keeps the temporary DATA_DIR and server logs, BENCH_STRICT=1 exits 1 when a
// figure misses its target.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { availableParallelism, cpus, totalmem } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { prepareDataDir, SPEC_DIRECTORY, type PreparedData } from './lib/prepare.ts'
import { freePort, killAllChildrenNow, startServer, type ServerChild } from './lib/servers.ts'
import { signIn, TotpUserPool } from './lib/signin.ts'
import { round } from './lib/stats.ts'
import { foreignCpuCores, readMemory } from './lib/proc.ts'
import { startScriptFlags } from './lib/start-flags.ts'
import type { LoadResult } from './lib/load.ts'
import { authenticatedPage } from './figures/authenticated-page.ts'
import { userTable } from './figures/user-table.ts'
import { signIns } from './figures/sign-ins.ts'
import { importDirectory } from './figures/import.ts'
import { importFreeze } from './figures/import-freeze.ts'
import { auditVerify } from './figures/audit-verify.ts'
import { passkeySignIns } from './figures/passkeys.ts'
import { oidcSignIns } from './figures/oidc.ts'
import { approvalsPage } from './figures/approvals.ts'
import type { BaseContext, BenchContext, Figure, FigureProducer } from './figures/types.ts'

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const RESULTS_FILE = join(REPO_ROOT, 'bench', 'results', 'latest.json')
const TIME_LIMIT_MS = 300_000

/**
 * The figures, in the order they run: one producer per figure of SPEC §9; see figures/types.ts.
 * A BENCH_ONLY of standalone producers only (the import) starts no server. The user table runs
 * before the sign-in load, so the memory peak is that of a server someone has browsed (SQLite's
 * page cache and the code of the admin pages resident), not of one that has served GET / alone.
 */
const FIGURES: FigureProducer[] = [authenticatedPage, userTable, signIns, oidcSignIns, passkeySignIns, approvalsPage, importFreeze, importDirectory, auditVerify]

/** Other processes using more CPU than this (cores) during a window make the run "disturbed". */
const DISTURBED_CPU_CORES = 0.25

function env(name: string, fallback: number): number {
  const raw = process.env[name]
  const value = raw ? Number(raw) : fallback
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`)
  return value
}

const started = Date.now()
const log = (message: string) => process.stdout.write(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s] ${message}\n`)

// Never leave a server behind: on normal exit, on an uncaught error, on Ctrl-C, on time-out.
process.on('exit', killAllChildrenNow)
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    log(`${signal}: stopping the servers`)
    killAllChildrenNow()
    process.exit(130)
  })
}
const watchdog = setTimeout(() => {
  log(`time limit of ${TIME_LIMIT_MS / 1000} s reached: stopping`)
  killAllChildrenNow()
  process.exit(2)
}, TIME_LIMIT_MS)

function formatValue(f: Figure): string {
  return Number.isNaN(f.value) ? '—' : `${f.value} ${f.unit}`
}

function printTable(figures: Figure[]) {
  const rows = figures.map((f) => [f.label, formatValue(f), f.target ? `${f.target.op} ${f.target.value} ${f.unit}` : '', f.pass === null ? 'info' : f.pass ? 'PASS' : 'FAIL'])
  const header = ['Figure', 'Value', 'Target', 'Result']
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const line = (cells: string[]) => cells.map((c, i) => (i === 1 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ')
  process.stdout.write('\n' + line(header) + '\n' + widths.map((w) => '─'.repeat(w)).join('  ') + '\n')
  for (const row of rows) process.stdout.write(line(row) + '\n')
  for (const f of figures) if (f.error) process.stdout.write(`  ! ${f.id}: ${f.error}\n`)
  process.stdout.write('\n')
}

/**
 * Builds and starts the server as `npm start` runs it and the hello baseline (each pushed to
 * `servers` once it runs, so main stops it whatever happens), and signs the page user in.
 */
async function startServersAndSignIn(data: PreparedData, servers: ServerChild[], base: BaseContext): Promise<BenchContext> {
  const [gatehousePort, helloPort] = [await freePort(), await freePort()]
  // localhost, not 127.0.0.1: WebAuthn's RP id (the passkeys figure) cannot be an IP address. The
  // bench still connects to 127.0.0.1 and sends this origin as Origin.
  const baseUrl = `http://localhost:${gatehousePort}`
  log('building the server (npm run build), as npm start does')
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: REPO_ROOT, stdio: 'inherit' })
  log('starting the server and the hello baseline')
  const [gatehouse, hello] = await Promise.all([
    startServer({
      name: 'gatehouse',
      repoRoot: REPO_ROOT,
      entry: 'dist/src/server.js', // what `npm start` runs
      port: gatehousePort,
      logDir: data.dataDir,
      readyPath: '/healthz',
      publicHost: 'localhost',
      // the flags npm start uses (read from package.json), then any extra ones for a diagnosis
      // plus the memory probe (lib/memory-probe.mjs: a 25-ms sampler, for the split of the peak RSS)
      nodeFlags: [...startScriptFlags(REPO_ROOT), '--import', join(REPO_ROOT, 'bench', 'lib', 'memory-probe.mjs'), ...(process.env.BENCH_SERVER_NODE_FLAGS?.split(' ').filter(Boolean) ?? [])],
      env: {
        MALLOC_ARENA_MAX: '2', // as npm start and the Dockerfile set it
        DATA_DIR: data.dataDir,
        BENCH_MEMORY_FILE: join(data.dataDir, 'memory.jsonl'),
        HOST: '127.0.0.1',
        BASE_URL: baseUrl,
        // The per-IP limiter and the lockout would stop one client signing in hundreds of users.
        IP_RATE_BURST: '1000000',
        IP_RATE_PER_SECOND: '1000000',
        LOCKOUT_THRESHOLD: '1000000',
        // Do not inherit settings from the shell that would change what is measured.
        SECRET_KEY: '',
        SMTP_URL: '',
        ADMIN_EMAIL: '',
        TRUST_PROXY: '',
        PASSWORD_MAX_AGE_DAYS: '0',
      },
    }).then((s) => (servers.push(s), s)),
    startServer({ name: 'hello', repoRoot: REPO_ROOT, entry: 'bench/hello-server.ts', port: helloPort, logDir: data.dataDir, readyPath: '/', env: { HOST: '127.0.0.1' } }).then(
      (s) => (servers.push(s), s),
    ),
  ])
  if (gatehouse.tail(200).includes('No admin existed')) throw new Error('the server bootstrapped an admin: the prepared database was not used')
  log(`gatehouse pid ${gatehouse.pid} on ${baseUrl} (RSS ${round(readMemory(gatehouse.pid)?.rssMb ?? NaN)} MB), hello pid ${hello.pid} on :${helloPort}`)

  // The page user's full session, through the real sign-in flow.
  const setupAgent = gatehouse.target.agent(1)
  const pageGrant = await new TotpUserPool([data.pageUser]).acquire()
  const pageCookie = await signIn(gatehouse.target, setupAgent, data.pageUser, pageGrant.step)
  setupAgent.destroy()

  return {
    ...base,
    data,
    gatehouse,
    hello,
    signInPool: new TotpUserPool(data.signInUsers),
    pageCookie,
  }
}

async function main(): Promise<number> {
  const durationMs = env('BENCH_DURATION_MS', 5_000)
  const warmupMs = env('BENCH_WARMUP_MS', 2_000)
  // Each user signs in at most 2–3 times per 30-s step: enough users that the pool never runs dry.
  const signInUsers = env('BENCH_SIGNIN_USERS', Math.max(600, 300 * availableParallelism()))
  const cores = availableParallelism()
  const servers: ServerChild[] = []
  let data: PreparedData | null = null
  let failed = false
  const figures: Figure[] = []
  const windows: { name: string; otherCpuCores: number | null }[] = []
  const only = process.env.BENCH_ONLY ? new Set(process.env.BENCH_ONLY.split(',').map((s) => s.trim())) : null
  const producers = only ? FIGURES.filter((p) => only.has(p.id)) : FIGURES
  if (producers.length === 0) throw new Error(`BENCH_ONLY matches none of: ${FIGURES.map((p) => p.id).join(', ')}`)
  try {
    // Wait a little for a quiet machine: other work on the same cores distorts every figure.
    const quietWaitMs = env('BENCH_QUIET_WAIT_MS', 20_000)
    for (let waited = 0; ; waited += 1_000) {
      const busy = await foreignCpuCores(1_000)
      if (busy <= DISTURBED_CPU_CORES) break
      if (waited >= quietWaitMs) {
        log(`the machine is still busy (${round(busy, 2)} cores used by other processes); measuring anyway`)
        break
      }
      if (waited === 0) log(`other processes use ${round(busy, 2)} cores; waiting up to ${quietWaitMs / 1000} s for a quiet machine`)
    }
    const base: BaseContext = {
      repoRoot: REPO_ROOT,
      cores,
      durationMs,
      warmupMs,
      log,
      noteWindow: (name: string, load: Pick<LoadResult, 'otherCpuCores'>) => void windows.push({ name, otherCpuCores: load.otherCpuCores }),
      figuresSoFar: () => figures,
    }
    // The servers (and their DATA_DIR) only when a selected producer measures them.
    let ctx: BenchContext | null = null
    if (producers.some((p) => !p.standalone)) {
      const directory = process.env.BENCH_DIRECTORY === '0' ? null : SPEC_DIRECTORY
      log(`preparing a database: ${directory ? `the seeded directory of ${directory.users} users and ` : ''}${signInUsers + 2} bench users`)
      data = await prepareDataDir({ signInUsers, directory, log })
      log(`DATA_DIR ${data.dataDir}`)
      ctx = await startServersAndSignIn(data, servers, base)
    } else {
      log('building (npm run build)')
      execFileSync('npm', ['run', '--silent', 'build'], { cwd: REPO_ROOT, stdio: 'inherit' })
    }

    for (const producer of producers) {
      log(`figure: ${producer.name}`)
      try {
        figures.push(...(await (producer.standalone ? producer.run(base) : producer.run(ctx!))))
      } catch (error) {
        failed = true
        let message = error instanceof Error ? error.message : String(error)
        for (const server of servers) {
          const status = server.exitStatus()
          if (status) {
            message += ` — ${server.name} exited during the figure, not stopped by the bench (code ${status.code}, signal ${status.signal}); its last lines:\n${server.tail(5)}`
          }
        }
        log(`  failed: ${message}`)
        figures.push({ id: producer.name, label: producer.name, value: Number.NaN, unit: '', target: null, pass: false, error: message })
      }
      if (servers.some((server) => server.exitStatus())) throw new Error('a server is gone; the remaining figures cannot be measured')
    }
  } catch (error) {
    failed = true
    log(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
  } finally {
    await Promise.all(servers.map((s) => s.stop()))
  }

  printTable(figures)
  const disturbed = windows.filter((w) => (w.otherCpuCores ?? 0) > DISTURBED_CPU_CORES)
  if (disturbed.length > 0) {
    process.stdout.write(
      `WARNING: other processes used CPU during the measurements (${disturbed.map((w) => `${w.name}: ${w.otherCpuCores} cores`).join(', ')}); ` +
        `the machine has ${cores} cores, so these figures understate Gatehouse. Run again on a quiet machine.\n\n`,
    )
  }
  const result = {
    startedAt: new Date(started).toISOString(),
    durationSeconds: round((Date.now() - started) / 1000, 1),
    machine: { cores, cpu: cpus()[0]?.model ?? 'unknown', memoryGb: round(totalmem() / 1e9, 1), node: process.version, platform: process.platform },
    settings: { windowMs: env('BENCH_DURATION_MS', 5_000), warmupMs: env('BENCH_WARMUP_MS', 2_000), signInUsers, directory: process.env.BENCH_DIRECTORY === '0' ? null : SPEC_DIRECTORY },
    complete: !failed,
    disturbed: disturbed.length > 0,
    otherCpuCoresPerWindow: windows,
    figures: figures.map((f) => ({ ...f, value: Number.isNaN(f.value) ? null : f.value })),
  }
  mkdirSync(dirname(RESULTS_FILE), { recursive: true })
  writeFileSync(RESULTS_FILE, JSON.stringify(result, null, 2) + '\n')
  log(`results written to ${RESULTS_FILE}`)

  if (data) {
    if (process.env.BENCH_KEEP || failed) log(`kept ${data.dataDir} (database and server logs)`)
    else rmSync(data.dataDir, { recursive: true, force: true })
  }
  if (failed) return 1
  if (process.env.BENCH_STRICT && figures.some((f) => f.pass === false)) return 1
  return 0
}

const code = await main()
clearTimeout(watchdog)
process.exit(code)
