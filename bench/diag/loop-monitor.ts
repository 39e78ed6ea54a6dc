// Diagnostic preload for the server child (BENCH_SERVER_NODE_FLAGS="--import ./bench/diag/loop-monitor.ts"):
// every 250 ms appends the event loop's max delay to $LOOP_MONITOR_FILE.
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { appendFileSync } from 'node:fs'

const file = process.env.LOOP_MONITOR_FILE ?? '/tmp/loop-monitor.txt'
const h = monitorEventLoopDelay({ resolution: 5 })
h.enable()
setInterval(() => {
  appendFileSync(file, `${Date.now()} max=${(h.max / 1e6).toFixed(1)}ms p99=${(h.percentile(99) / 1e6).toFixed(1)}ms mean=${(h.mean / 1e6).toFixed(1)}ms\n`)
  h.reset()
}, 250).unref()
