// One run of the built admin CLI (`node dist/src/cli.js …`, what `npm run cli` runs, compiled) as a
// measured child: wall time from spawn to exit, and the child's own peak RSS and CPU time,
// written at its exit by bench/lib/report-rusage.mjs (getrusage: the true peak, not a sample).
import { spawn } from 'node:child_process'
import { closeSync, existsSync, openSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { RssSampler } from './proc.ts'
import { trackChild } from './servers.ts'

export type CliRun = {
  code: number | null
  signal: NodeJS.Signals | null
  wallMs: number
  /** ru_maxrss of the child, in MB (10^6 bytes); NaN if it did not reach its exit handler. */
  peakRssMb: number
  /** The largest VmRSS seen by sampling /proc every 25 ms (a cross-check; may miss a short peak). */
  sampledPeakRssMb: number
  cpuSeconds: number
  stdoutFile: string
  stderrFile: string
  stdout(): string
  stderr(): string
}

export async function runBuiltCli(options: {
  repoRoot: string
  args: string[]
  env: Record<string, string>
  /** Where stdout, stderr and the usage file go (named after `name`). */
  dir: string
  name: string
  nodeFlags?: string[]
  timeoutMs: number
}): Promise<CliRun> {
  const stdoutFile = join(options.dir, `${options.name}.stdout`)
  const stderrFile = join(options.dir, `${options.name}.stderr`)
  const usageFile = join(options.dir, `${options.name}.rusage.json`)
  rmSync(usageFile, { force: true })
  const entry = join(options.repoRoot, 'dist', 'src', 'cli.js')
  if (!existsSync(entry)) throw new Error(`${entry} is missing: npm run build first`)
  const preload = pathToFileURL(join(options.repoRoot, 'bench', 'lib', 'report-rusage.mjs')).href
  // Output goes straight to files: writes are synchronous and the bench reads nothing while it runs.
  const out = openSync(stdoutFile, 'w')
  const err = openSync(stderrFile, 'w')
  const started = performance.now()
  const child = spawn(process.execPath, ['--import', preload, ...(options.nodeFlags ?? []), entry, ...options.args], {
    cwd: options.repoRoot,
    env: { ...process.env, ...options.env, BENCH_RUSAGE_FILE: usageFile },
    stdio: ['ignore', out, err],
  })
  closeSync(out)
  closeSync(err)
  trackChild(child)
  const sampler = child.pid === undefined ? null : new RssSampler(child.pid, 25)
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs)
  const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once('error', reject)
    child.once('exit', (code, signal) => resolve({ code, signal }))
  })
  const wallMs = performance.now() - started
  clearTimeout(timer)
  const sampledPeakRssMb = sampler?.stop() ?? Number.NaN
  let usage: { maxRssKb: number; userCpuUs: number; systemCpuUs: number } | null = null
  try {
    usage = JSON.parse(readFileSync(usageFile, 'utf8'))
  } catch {
    // killed, or died before its exit handlers
  }
  const read = (file: string) => () => {
    try {
      return readFileSync(file, 'utf8')
    } catch {
      return ''
    }
  }
  return {
    code,
    signal,
    wallMs,
    peakRssMb: usage ? (usage.maxRssKb * 1024) / 1e6 : Number.NaN,
    sampledPeakRssMb,
    cpuSeconds: usage ? (usage.userCpuUs + usage.systemCpuUs) / 1e6 : Number.NaN,
    stdoutFile,
    stderrFile,
    stdout: read(stdoutFile),
    stderr: read(stderrFile),
  }
}
