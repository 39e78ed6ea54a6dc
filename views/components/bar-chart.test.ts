import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { yAxisTicks } from './bar-chart.tsx'

describe('yAxisTicks', () => {
  it('starts at 0, ends at or just above the maximum, in 2–6 even round steps', () => {
    expect(yAxisTicks(0)).toEqual([0, 1])
    expect(yAxisTicks(7)).toEqual([0, 2, 4, 6, 8])
    expect(yAxisTicks(100)).toEqual([0, 50, 100])
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000_000 }), (max) => {
        const ticks = yAxisTicks(max)
        const step = ticks[1]! - ticks[0]!
        expect(ticks[0]).toBe(0)
        expect(ticks.at(-1)!).toBeGreaterThanOrEqual(max)
        expect(ticks.at(-2)!).toBeLessThan(Math.max(1, max))
        expect(ticks.length).toBeGreaterThanOrEqual(2)
        expect(ticks.length).toBeLessThanOrEqual(6)
        expect(ticks.every((v, i) => v === i * step)).toBe(true)
        expect(Number.isInteger(step) && /^[125]0*$/.test(String(step))).toBe(true)
      }),
    )
  })
})
