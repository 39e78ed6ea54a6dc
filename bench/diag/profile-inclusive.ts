// Summarises a V8 .cpuprofile by inclusive time (a frame and everything it calls), Gatehouse frames only
// (ALL=1: every frame). node --import tsx bench/diag/profile-inclusive.ts <file.cpuprofile> [count]
import { readFileSync } from 'node:fs'
type Node = { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount: number; children?: number[] }
const [file, count] = process.argv.slice(2)
const p = JSON.parse(readFileSync(file!, 'utf8')) as { nodes: Node[] }
const byId = new Map(p.nodes.map((n) => [n.id, n]))
const key = (n: Node) => `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.replace(/^.*\/node_modules\//, '').replace(/^file:\/\/.*\/(src|views)\//, '$1/')}:${n.callFrame.lineNumber + 1}`
const incl = new Map<string, number>()
const total = (n: Node, stack: Set<string>): number => {
  let t = n.hitCount
  for (const c of n.children ?? []) t += total(byId.get(c)!, new Set([...stack, key(n)]))
  const k = key(n)
  if (!stack.has(k)) incl.set(k, (incl.get(k) ?? 0) + t)
  return t
}
const root = p.nodes[0]!
const all = total(root, new Set())
const idle = p.nodes.filter((n) => n.callFrame.functionName === '(idle)').reduce((a, n) => a + n.hitCount, 0)
const busy = all - idle
for (const [k, v] of [...incl].filter(([k]) => process.env.ALL ? true : /src\/|views\//.test(k)).sort((a, b) => b[1] - a[1]).slice(0, Number(count ?? 40))) console.log(((v / busy) * 100).toFixed(1).padStart(5), k)
