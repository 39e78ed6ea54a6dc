// Linux /proc readings of a child process: resident memory and CPU time.
import { readFileSync } from 'node:fs'
import { execFileSync } from 'node:child_process'

let clockTicks: number | null = null
function ticksPerSecond(): number {
  if (clockTicks === null) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
    } catch {
      clockTicks = 100
    }
  }
  return clockTicks
}

/** VmRSS and VmHWM (peak RSS since start) in MB (10^6 bytes), or null when the process is gone. */
export function readMemory(pid: number): { rssMb: number; hwmMb: number } | null {
  let status: string
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8')
  } catch {
    return null
  }
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN)
  // /proc reports kB meaning KiB
  return { rssMb: (kb('VmRSS') * 1024) / 1e6, hwmMb: (kb('VmHWM') * 1024) / 1e6 }
}

/** Command line of a process (to check that the measured pid is the node serving). */
export function readCmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ')
  } catch {
    return ''
  }
}

/** Direct children of a process, from every thread's children list. */
export function childPids(pid: number): number[] {
  const found = new Set<number>()
  try {
    for (const line of readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(/\s+/)) if (line) found.add(Number(line))
  } catch {
    // kernel without CONFIG_PROC_CHILDREN, or process gone
  }
  return [...found]
}

/** user + system CPU seconds consumed by the process (all threads) so far, or by one thread. */
export function cpuSeconds(pid: number, thread?: number): number {
  const stat = readFileSync(thread === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${thread}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // fields[0] is field 3 (state); utime is field 14, stime field 15
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond()
}

/**
 * CPU use of a process between construction and `coresSince()`, in cores, in all and on its
 * main thread (node's event loop; the rest is the thread pool — hashing — GC and the like).
 */
export class ProcessCpu {
  private readonly cpu0: number
  private readonly main0: number
  private readonly t0 = performance.now()
  constructor(private readonly pid: number) {
    this.cpu0 = cpuSeconds(pid)
    this.main0 = cpuSeconds(pid, pid)
  }
  coresSince(): { all: number; mainThread: number } {
    const seconds = (performance.now() - this.t0) / 1000
    return { all: (cpuSeconds(this.pid) - this.cpu0) / seconds, mainThread: (cpuSeconds(this.pid, this.pid) - this.main0) / seconds }
  }
}

/** Samples VmRSS every `intervalMs` until stopped; `peakMb` is the largest sample. */
export class RssSampler {
  peakMb = 0
  samples = 0
  private readonly timer: NodeJS.Timeout
  constructor(
    private readonly pid: number,
    intervalMs = 50,
  ) {
    this.timer = setInterval(() => this.sample(), intervalMs)
    this.sample()
  }
  private sample() {
    const mem = readMemory(this.pid)
    if (!mem) return
    this.samples++
    this.peakMb = Math.max(this.peakMb, mem.rssMb)
  }
  stop(): number {
    clearInterval(this.timer)
    this.sample()
    return this.peakMb
  }
}

/** Machine-wide CPU time so far, in seconds summed over cores, from /proc/stat. */
export type SystemCpu = { processes: number; interrupts: number; steal: number }

export function systemCpuSeconds(): SystemCpu {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!
  const n = line.trim().split(/\s+/).slice(1, 9).map(Number) // user nice system idle iowait irq softirq steal
  const t = ticksPerSecond()
  return { processes: (n[0]! + n[1]! + n[2]!) / t, interrupts: (n[5]! + n[6]!) / t, steal: n[7]! / t }
}

/** CPU (cores) used by all processes but this one over `ms` milliseconds. */
export async function foreignCpuCores(ms: number): Promise<number> {
  const s0 = systemCpuSeconds()
  const c0 = process.cpuUsage()
  await new Promise((r) => setTimeout(r, ms))
  const s1 = systemCpuSeconds()
  const own = process.cpuUsage(c0)
  return Math.max(0, (s1.processes - s0.processes + s1.interrupts - s0.interrupts - (own.user + own.system) / 1e6) / (ms / 1000))
}
