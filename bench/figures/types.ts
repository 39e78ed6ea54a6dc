import type { LoadResult } from '../lib/load.ts'
import type { PreparedData } from '../lib/prepare.ts'
import type { ServerChild } from '../lib/servers.ts'
import type { TotpUserPool } from '../lib/signin.ts'

export type Target = { op: '>=' | '<='; value: number }

export type Figure = {
  id: string
  label: string
  /** NaN when it could not be measured (see `error`). */
  value: number
  unit: string
  target: Target | null
  pass: boolean | null
  error?: string
  /** Raw numbers behind the figure (rates, CPU use, sample counts, …). */
  details?: Record<string, unknown>
}

/** What every producer gets. */
export type BaseContext = {
  repoRoot: string
  /** os.availableParallelism(): the "core" of the per-core targets. */
  cores: number
  /** Milliseconds per measurement window, and per warm-up before it. */
  durationMs: number
  warmupMs: number
  log(message: string): void
  /** Every producer reports each load window here, so the run can tell whether it was disturbed. */
  noteWindow(name: string, load: Pick<LoadResult, 'otherCpuCores'>): void
  /** The figures of this run so far (earlier producers), for side-by-side ratios. */
  figuresSoFar(): readonly Figure[]
}

/** What producers that measure the running servers get as well. */
export type BenchContext = BaseContext & {
  data: PreparedData
  gatehouse: ServerChild
  hello: ServerChild
  /** Users for sign-in load, handed out so each TOTP code is valid and unused. */
  signInPool: TotpUserPool
  /** The `session` cookie value of a full session of data.pageUser. */
  pageCookie: string
}

/**
 * Produces one or more figures. Producers run in order against the same servers; one that
 * throws is reported as unmeasured and the next still runs. Each figure of SPEC §9 is a
 * producer listed in FIGURES in bench/run.ts.
 */
export type FigureProducer =
  | {
      /** Short id for BENCH_ONLY=id,id (run a subset). */
      id: string
      name: string
      standalone?: false
      run(ctx: BenchContext): Promise<Figure[]>
    }
  | {
      id: string
      name: string
      /** Needs neither the servers nor their DATA_DIR: a BENCH_ONLY of such producers starts no server. */
      standalone: true
      run(ctx: BaseContext): Promise<Figure[]>
    }

export function judge(value: number, target: Target | null): boolean | null {
  if (target === null || Number.isNaN(value)) return target === null ? null : false
  return target.op === '>=' ? value >= target.value : value <= target.value
}

export function figure(f: Omit<Figure, 'pass'>): Figure {
  return { ...f, pass: f.error ? false : judge(f.value, f.target) }
}
