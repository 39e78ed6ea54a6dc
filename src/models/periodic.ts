/** Runs `tick` once after `firstAfterMs`, then every `everyMs`; the timers never keep the process alive. */
export function startPeriodic(tick: () => void, timing: { firstAfterMs: number; everyMs: number }): { stop(): void } {
  const first = setTimeout(tick, timing.firstAfterMs)
  const timer = setInterval(tick, timing.everyMs)
  first.unref()
  timer.unref()
  return {
    stop() {
      clearTimeout(first)
      clearInterval(timer)
    },
  }
}
