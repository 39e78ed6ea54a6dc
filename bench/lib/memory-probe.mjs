// Preloaded into the server by the bench (`node --import <this file> …`, only when
// $BENCH_MEMORY_FILE is set): every 25 ms it samples the process's memory, and every 250 ms it
// appends to $BENCH_MEMORY_FILE one JSON line with the sample of that interval that had the most
// RSS: V8's heap (used / total), `external` and `arrayBuffers` (Buffers) from process.memoryUsage(),
// and RssAnon / RssFile / VmHWM from /proc/self/status (KiB there; bytes here). What is neither
// the V8 heap nor external is native: argon2's 19 MiB buffers, SQLite's page cache, code, stacks.
// Plain JavaScript so that no loader (tsx) runs in the measured process.
import { appendFileSync, readFileSync } from 'node:fs'

const file = process.env.BENCH_MEMORY_FILE
if (file) {
  const statusField = (text, name) => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)
    return m ? Number(m[1]) * 1024 : null
  }
  let best = null
  const sample = () => {
    let status = ''
    try {
      status = readFileSync('/proc/self/status', 'utf8')
    } catch {}
    const m = process.memoryUsage()
    const s = { t: Date.now(), rss: statusField(status, 'VmRSS') ?? m.rss, hwm: statusField(status, 'VmHWM'), rssAnon: statusField(status, 'RssAnon'), rssFile: statusField(status, 'RssFile'), heapTotal: m.heapTotal, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers }
    if (!best || s.rss > best.rss) best = s
  }
  setInterval(sample, 25).unref()
  setInterval(() => {
    if (!best) return
    appendFileSync(file, JSON.stringify(best) + '\n')
    best = null
  }, 250).unref()
}
