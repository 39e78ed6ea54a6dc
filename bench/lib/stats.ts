/** Percentile (0–100) by nearest rank of an unsorted list; NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!
}

export function round(value: number, digits = 1): number {
  const f = 10 ** digits
  return Math.round(value * f) / f
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Largest value (no spread: lists can be longer than the call stack allows); NaN when empty. */
export function max(values: readonly number[]): number {
  let m = Number.NaN
  for (const v of values) if (!(v <= m)) m = v
  return m
}
