// Summarises a V8 .cpuprofile (node --cpu-prof): the top self-time frames, as in bench/README.md.
// node --import tsx bench/diag/profile-top.ts /tmp/prof/CPU.*.cpuprofile [count]
import { readFileSync } from 'node:fs'

type Node = { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount: number }
const [file, countArg] = process.argv.slice(2)
if (!file) throw new Error('usage: profile-top.ts <file.cpuprofile> [count]')
const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: Node[]; samples: number[] }
const total = profile.samples.length
const byFrame = new Map<string, number>()
for (const n of profile.nodes) {
  const url = n.callFrame.url.replace(/^.*\/node_modules\//, '').replace(/^file:\/\/.*\/(dist|src|views)\//, '$1/')
  const key = `${n.callFrame.functionName || '(anonymous)'} ${url ? `${url}:${n.callFrame.lineNumber + 1}` : ''}`.trim()
  byFrame.set(key, (byFrame.get(key) ?? 0) + n.hitCount)
}
const idle = [...byFrame].filter(([k]) => k.startsWith('(idle)')).reduce((a, [, v]) => a + v, 0)
const busy = total - idle
process.stdout.write(`${total} samples, ${busy} busy (not idle)\n| self % of busy | frame |\n|---:|---|\n`)
for (const [k, v] of [...byFrame].filter(([k]) => !k.startsWith('(idle)')).sort((a, b) => b[1] - a[1]).slice(0, Number(countArg ?? 10))) {
  process.stdout.write(`| ${((v / busy) * 100).toFixed(1)} | \`${k}\` |\n`)
}
