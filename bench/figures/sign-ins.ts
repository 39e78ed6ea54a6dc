// SPEC §9: successful password + TOTP sign-ins per second (target ≥ 20 per core), the p99 of
// other pages while 50 sign-ins run at once (≤ 50 ms: hashing never blocks the event loop), and
// the server's resident memory under that load (≤ 150 MB). One load phase yields all four.
import type http from 'node:http'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { cpuLine, runLoad } from '../lib/load.ts'
import { readCmdline, readMemory, RssSampler } from '../lib/proc.ts'
import { signIn } from '../lib/signin.ts'
import { max, percentile, round } from '../lib/stats.ts'
import { figure, type BenchContext, type FigureProducer } from './types.ts'

const CONCURRENT_SIGN_INS = 50
/** Longer than the other windows: a p99 needs a few hundred probes. */
const WINDOW_MS = Number(process.env.BENCH_SIGNIN_DURATION_MS ?? 8_000)

/** Other pages are requested at this fixed rate (open loop) while the sign-ins run. */
const PROBES_PER_SECOND = 50

/** Keep-alive connections the probes hold open before the load starts (see openProbeAgent). */
const PROBE_CONNECTIONS = 64

/**
 * The probes' connections, opened (and warmed) before the sign-in load starts, as browsers
 * already browsing hold theirs. Under load the server accepts new connections only once per
 * event-loop turn, so probes on fresh connections would measure the accept queue instead.
 * Beyond these, a probe opens a new connection rather than wait for one (no client queueing).
 */
export async function openProbeAgent(ctx: BenchContext) {
  const agent = ctx.gatehouse.target.agent(100_000)
  await Promise.all(Array.from({ length: PROBE_CONNECTIONS }, () => ctx.gatehouse.target.request(agent, { path: '/healthz' })))
  return agent
}

/**
 * Starts a request to another page every 1/PROBES_PER_SECOND s, whether or not the previous
 * ones have answered (open loop: a slow server cannot slow the probing down and hide its own
 * latency), alternating GET /login and GET / of a signed-in user, on connections of their own.
 */
export function startProbe(ctx: BenchContext, agent: http.Agent) {
  const { target } = ctx.gatehouse
  const pages = [
    { name: 'GET /login', path: '/login', headers: {} as Record<string, string> },
    { name: 'GET / (signed in)', path: '/', headers: { Cookie: `session=${ctx.pageCookie}` } },
  ]
  const samples: Record<string, number[]> = Object.fromEntries(pages.map((p) => [p.name, []]))
  /** Latencies by the second of the window the probe was sent in: shows whether a backlog grows. */
  const bySecond: number[][] = []
  const errors: string[] = []
  const inFlight = new Set<Promise<void>>()
  const started = performance.now()
  let sent = 0
  const fire = () => {
    const page = pages[sent % pages.length]!
    sent++
    const began = performance.now()
    const p = target
      .request(agent, { path: page.path, headers: page.headers })
      .then((res) => {
        if (res.status !== 200) throw new Error(`${page.name}: ${res.status}`)
        const ms = performance.now() - began
        samples[page.name]!.push(ms)
        ;(bySecond[Math.floor((began - started) / 1000)] ??= []).push(ms)
      })
      .catch((error: unknown) => void errors.push(error instanceof Error ? error.message : String(error)))
      .finally(() => inFlight.delete(p))
    inFlight.add(p)
  }
  // Catch up on ticks a busy bench event loop may have delayed, so the rate holds.
  const timer = setInterval(() => {
    const due = Math.floor(((performance.now() - started) / 1000) * PROBES_PER_SECOND)
    while (sent < due) fire()
  }, 1000 / PROBES_PER_SECOND / 2)
  fire()
  return {
    /** Stops sending; resolves once the probes already sent have answered. */
    async stop() {
      clearInterval(timer)
      await Promise.all([...inFlight])
      return { samples, errors, sent, bySecond: bySecond.map((l) => ({ n: l.length, p50: round(percentile(l, 50), 1), max: round(max(l), 1) })) }
    },
  }
}

/**
 * What the server's peak RSS in [from, to] was made of, from the lines lib/memory-probe.mjs wrote
 * (the 250-ms interval with the most RSS): V8 heap, external/ArrayBuffers, and the rest (native:
 * argon2's 19 MiB per hash in flight, SQLite's page cache, code, thread stacks). MB = 10^6 bytes.
 */
export function memorySplit(file: string, from: number, to: number) {
  if (!existsSync(file)) return null
  type Line = { t: number; rss: number; hwm: number | null; rssAnon: number | null; rssFile: number | null; heapTotal: number; heapUsed: number; external: number; arrayBuffers: number }
  const lines = readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Line)
    .filter((l) => l.t >= from - 250 && l.t <= to + 250)
  if (lines.length === 0) return null
  const peak = lines.reduce((a, b) => (b.rss > a.rss ? b : a))
  const mb = (n: number | null) => (n === null ? null : round(n / 1e6, 1))
  return {
    atPeak: {
      rssMb: mb(peak.rss),
      rssAnonMb: mb(peak.rssAnon),
      rssFileMb: mb(peak.rssFile),
      v8HeapTotalMb: mb(peak.heapTotal),
      v8HeapUsedMb: mb(peak.heapUsed),
      externalMb: mb(peak.external),
      arrayBuffersMb: mb(peak.arrayBuffers),
      /** Anonymous memory outside V8's heap and its external allocations: argon2, SQLite, malloc. */
      nativeAnonMb: peak.rssAnon === null ? null : mb(peak.rssAnon - peak.heapTotal - peak.external),
    },
    vmHwmMb: mb(peak.hwm),
    maxHeapTotalMb: mb(Math.max(...lines.map((l) => l.heapTotal))),
    intervals: lines.length,
  }
}

type Probe = ReturnType<typeof startProbe>
type ProbeResult = Awaited<ReturnType<Probe['stop']>>

export const signIns: FigureProducer = {
  id: 'signins',
  name: `sign-ins (${CONCURRENT_SIGN_INS} at once), other pages' p99, server memory`,
  async run(ctx) {
    const { target, pid } = ctx.gatehouse
    const agent = target.agent(CONCURRENT_SIGN_INS)
    const probeAgent = await openProbeAgent(ctx)
    const capacity = ctx.signInPool.remainingNow()
    const waitsBefore = ctx.signInPool.waits
    // What runs during the measurement window only: the probes and the memory sampler.
    const during: { probe: Probe | null; probeDone: Promise<ProbeResult> | null; rss: RssSampler | null; peakRssMb: number } = { probe: null, probeDone: null, rss: null, peakRssMb: Number.NaN }
    const stopDuring = () => {
      if (during.probe && !during.probeDone) during.probeDone = during.probe.stop()
      if (during.rss && Number.isNaN(during.peakRssMb)) during.peakRssMb = during.rss.stop()
    }
    let load
    let probeResult: ProbeResult | null = null
    const span = { from: 0, to: 0 }
    try {
      load = await runLoad({
        concurrency: CONCURRENT_SIGN_INS,
        warmupMs: ctx.warmupMs,
        durationMs: WINDOW_MS,
        serverPid: pid,
        onWindow: {
          open: () => {
            span.from = Date.now()
            during.probe = startProbe(ctx, probeAgent)
            during.rss = new RssSampler(pid, 25)
          },
          close: () => {
            span.to = Date.now()
            stopDuring()
          },
        },
        op: async () => {
          const { user, step, release } = await ctx.signInPool.acquire()
          try {
            await signIn(target, agent, user, step)
          } finally {
            release()
          }
        },
      })
      // Wait for the probes sent during the window to answer.
      probeResult = await during.probeDone
    } finally {
      stopDuring()
      await during.probeDone?.catch(() => undefined)
      agent.destroy()
      probeAgent.destroy()
    }
    ctx.noteWindow('sign-ins', load)
    const peakRssMb = during.peakRssMb
    const rssSamples = during.rss?.samples ?? 0
    const memory = readMemory(pid)
    const poolWaits = ctx.signInPool.waits - waitsBefore
    const split = memorySplit(join(ctx.data.dataDir, 'memory.jsonl'), span.from, span.to || Date.now())
    if (split) ctx.log(`  memory at the peak: ${JSON.stringify(split.atPeak)}; VmHWM ${split.vmHwmMb} MB`)

    const all = Object.values(probeResult?.samples ?? {}).flat()
    const perPage = Object.fromEntries(
      Object.entries(probeResult?.samples ?? {}).map(([name, values]) => [name, { samples: values.length, p50: round(percentile(values, 50), 2), p99: round(percentile(values, 99), 2), max: round(max(values), 2) }]),
    )
    const rate = load.perSecond
    ctx.log(`  ${load.completed} sign-ins in ${load.windowMs / 1000} s = ${round(rate, 1)}/s (${cpuLine(load)}); probe p99 ${round(percentile(all, 99), 1)} ms over ${all.length}; peak RSS ${round(peakRssMb, 1)} MB`)

    const signInError = load.errors > 0 ? `${load.errors} sign-ins failed: ${load.firstErrors.join(' | ')}` : poolWaits > 0 ? `the user pool ran dry ${poolWaits} times (rate limited by the bench, not the server): add users` : undefined
    const loadDetails = {
      concurrentSignIns: CONCURRENT_SIGN_INS,
      windowMs: load.windowMs,
      warmupMs: ctx.warmupMs,
      completed: load.completed,
      errors: load.errors,
      signInLatencyMs: load.latencyMs,
      serverCpuCores: load.serverCpuCores,
      serverMainThreadCpuCores: load.serverMainThreadCpuCores,
      clientCpuCores: load.clientCpuCores,
      otherCpuCores: load.otherCpuCores,
      interruptCpuCores: load.interruptCpuCores,
      stealCpuCores: load.stealCpuCores,
      poolCapacityAtStart: capacity,
      poolWaits,
    }
    return [
      figure({
        id: 'sign_ins_per_second',
        label: `Successful password + TOTP sign-ins per second (${CONCURRENT_SIGN_INS} concurrent)`,
        value: round(rate, 1),
        unit: '/s',
        target: { op: '>=', value: 20 * ctx.cores },
        ...(signInError ? { error: signInError } : {}),
        details: loadDetails,
      }),
      figure({
        id: 'sign_ins_per_second_per_core',
        label: `Sign-ins per second per core (${ctx.cores} cores)`,
        value: round(rate / ctx.cores, 1),
        unit: '/s/core',
        target: { op: '>=', value: 20 },
        ...(signInError ? { error: signInError } : {}),
      }),
      figure({
        id: 'other_pages_p99_during_sign_ins',
        label: `p99 of other pages (GET /login, GET /) during ${CONCURRENT_SIGN_INS} concurrent sign-ins`,
        value: round(percentile(all, 99), 1),
        unit: 'ms',
        target: { op: '<=', value: 50 },
        ...(probeResult && probeResult.errors.length > 0 ? { error: `${probeResult.errors.length} probe requests failed: ${probeResult.errors.slice(0, 3).join(' | ')}` } : {}),
        ...(all.length < 100 ? { error: `only ${all.length} probe samples` } : {}),
        details: { probesPerSecond: PROBES_PER_SECOND, probeConnections: PROBE_CONNECTIONS, sent: probeResult?.sent ?? 0, samples: all.length, p50: round(percentile(all, 50), 2), max: round(max(all), 2), perPage, bySecond: probeResult?.bySecond },
      }),
      figure({
        id: 'server_peak_rss_during_sign_ins',
        label: 'Server resident memory, peak during the sign-in load',
        value: round(peakRssMb, 1),
        unit: 'MB',
        target: { op: '<=', value: 150 },
        details: { sampledEveryMs: 25, samples: rssSamples, split, vmHwmMbSinceStart: memory ? round(memory.hwmMb, 1) : null, rssAfterMb: memory ? round(memory.rssMb, 1) : null, unit: 'MB = 10^6 bytes (from /proc/<pid>/status VmRSS, KiB)', pid, process: readCmdline(pid) },
      }),
    ]
  },
}
