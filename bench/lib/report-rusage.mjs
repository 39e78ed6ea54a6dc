// Preloaded into a measured child (`node --import <this file> …`): at exit, writes the process's
// own resource usage as JSON to $BENCH_RUSAGE_FILE — peak RSS (getrusage ru_maxrss, KiB) and
// CPU time (µs). Plain JavaScript so that no loader (tsx) runs in the measured process.
import { writeFileSync } from 'node:fs'

const file = process.env.BENCH_RUSAGE_FILE
if (file) {
  process.on('exit', (code) => {
    const usage = process.resourceUsage()
    writeFileSync(file, JSON.stringify({ code, maxRssKb: usage.maxRSS, userCpuUs: usage.userCPUTime, systemCpuUs: usage.systemCPUTime }))
  })
}
