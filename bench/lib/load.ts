// A closed-loop load generator: `concurrency` workers each run `op` back to back. Only the
// operations that complete inside the measurement window (after the warm-up) count, so the
// rate is the steady-state one; no new operation starts after the window closes.
import { max, percentile, round } from './stats.ts'
import { ProcessCpu, systemCpuSeconds, type SystemCpu } from './proc.ts'

export type LoadOptions = {
  concurrency: number
  warmupMs: number
  durationMs: number
  /** One operation; throws when it did not succeed. */
  op: (worker: number) => Promise<void>
  /** Server process whose CPU use is reported for the window (to show what saturated). */
  serverPid?: number
  /** Called when the measurement window opens and closes (e.g. to start and stop probes). */
  onWindow?: { open?: () => void; close?: () => void }
}

export type LoadResult = {
  completed: number
  errors: number
  firstErrors: string[]
  windowMs: number
  perSecond: number
  latencyMs: { p50: number; p90: number; p99: number; max: number }
  /** CPU used during the window, in cores (1.0 = one core busy all the time). */
  serverCpuCores: number | null
  /** Of which the server's main thread (the event loop): near 1.0 means it is the bottleneck. */
  serverMainThreadCpuCores: number | null
  clientCpuCores: number
  /**
   * CPU used by everything else on the machine during the window, in cores. Well above 0 means
   * another workload (tests, builds) competed with the bench and the figures are disturbed.
   */
  otherCpuCores: number | null
  /** Kernel interrupt work (mostly loopback networking) and hypervisor steal, in cores. */
  interruptCpuCores: number
  stealCpuCores: number
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const start = performance.now()
  const windowStart = start + options.warmupMs
  const windowEnd = windowStart + options.durationMs
  const latencies: number[] = []
  const firstErrors: string[] = []
  let errors = 0
  let opened = false
  let serverCpu: ProcessCpu | null = null
  let clientCpu: NodeJS.CpuUsage | null = null
  let serverCores: number | null = null
  let serverMainCores: number | null = null
  let clientCores = 0
  let system0: SystemCpu = { processes: 0, interrupts: 0, steal: 0 }
  let otherCores: number | null = null
  let interruptCores = 0
  let stealCores = 0

  let closed = false
  let openedAt = 0
  // The window opens and closes exactly once, from whichever comes first: the timer or a worker
  // noticing the time (timers can fire late while the event loop is busy with I/O).
  const openWindow = () => {
    if (opened) return
    opened = true
    openedAt = performance.now()
    if (options.serverPid !== undefined) serverCpu = new ProcessCpu(options.serverPid)
    clientCpu = process.cpuUsage()
    system0 = systemCpuSeconds()
    options.onWindow?.open?.()
  }
  const closeWindow = () => {
    if (closed || !opened) return
    closed = true
    const seconds = (performance.now() - openedAt) / 1000
    if (serverCpu) {
      const used = serverCpu.coresSince()
      serverCores = used.all
      serverMainCores = used.mainThread
    }
    if (clientCpu) {
      const used = process.cpuUsage(clientCpu)
      clientCores = (used.user + used.system) / 1e6 / seconds
    }
    const system1 = systemCpuSeconds()
    interruptCores = (system1.interrupts - system0.interrupts) / seconds
    stealCores = (system1.steal - system0.steal) / seconds
    if (serverCores !== null) otherCores = Math.max(0, (system1.processes - system0.processes) / seconds - serverCores - clientCores)
    options.onWindow?.close?.()
  }
  // Reading /proc of a server that died must not crash the bench from a timer: keep the error
  // and report it when the load returns.
  let windowError: unknown = null
  const guarded = (fn: () => void) => () => {
    try {
      fn()
    } catch (error) {
      windowError ??= error
    }
  }
  const openTimer = setTimeout(guarded(openWindow), options.warmupMs)
  const closeTimer = setTimeout(guarded(closeWindow), options.warmupMs + options.durationMs)

  const worker = async (index: number) => {
    for (;;) {
      const began = performance.now()
      if (began >= windowStart) guarded(openWindow)()
      if (began >= windowEnd) break
      try {
        await options.op(index)
        const ended = performance.now()
        if (ended >= windowStart && ended <= windowEnd) latencies.push(ended - began)
      } catch (error) {
        errors++
        if (firstErrors.length < 5) firstErrors.push(error instanceof Error ? error.message : String(error))
        // Do not spin on a dead server.
        await new Promise((r) => setTimeout(r, 50))
      }
    }
    guarded(closeWindow)()
  }
  try {
    await Promise.all(Array.from({ length: options.concurrency }, (_, i) => worker(i)))
  } finally {
    clearTimeout(openTimer)
    clearTimeout(closeTimer)
  }
  if (windowError) throw windowError
  if (!opened) throw new Error('load window never opened')
  return {
    completed: latencies.length,
    errors,
    firstErrors,
    windowMs: options.durationMs,
    perSecond: latencies.length / (options.durationMs / 1000),
    latencyMs: {
      p50: round(percentile(latencies, 50), 2),
      p90: round(percentile(latencies, 90), 2),
      p99: round(percentile(latencies, 99), 2),
      max: round(max(latencies), 2),
    },
    serverCpuCores: serverCores === null ? null : round(serverCores, 2),
    serverMainThreadCpuCores: serverMainCores === null ? null : round(serverMainCores, 2),
    clientCpuCores: round(clientCores, 2),
    otherCpuCores: otherCores === null ? null : round(otherCores, 2),
    interruptCpuCores: round(interruptCores, 2),
    stealCpuCores: round(stealCores, 2),
  }
}

/** "CPU cores: server 0.98, bench 0.30, kernel irq 0.40, other 0.01" for progress lines. */
export function cpuLine(r: LoadResult): string {
  return `CPU cores: server ${r.serverCpuCores} (main thread ${r.serverMainThreadCpuCores}), bench ${r.clientCpuCores}, kernel irq ${r.interruptCpuCores}, other ${r.otherCpuCores}${r.stealCpuCores > 0.05 ? `, steal ${r.stealCpuCores}` : ''}`
}
