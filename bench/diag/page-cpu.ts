// Diagnostic: CPU per GET / (signed in) inside the app (app.request: no sockets, no HTTP parsing),
// with the server's JSON logger writing to /dev/null. node --import tsx bench/diag/page-cpu.ts [n]
import { createWriteStream } from 'node:fs'
import { createTestEnv, createTestUser, signIn } from '../../src/test/helpers.ts'
import type { Logger } from '../../src/http/context.ts'

const n = Number(process.argv[2] ?? 20_000)
const path = process.argv[3] ?? '/'
const sink = createWriteStream('/dev/null')
const log: Logger = { info: (r) => void sink.write(JSON.stringify({ time: new Date().toISOString(), level: 'info', ...r }) + '\n'), error: () => {} }
const t = createTestEnv()
Object.assign(t.deps, { log })
const user = await createTestUser(t, { email: 'page@example.org' })
const browser = await signIn(t, user)
const cookie = [...browser.cookies].map(([k, v]) => `${k}=${v}`).join('; ')
const env = { incoming: { socket: { remoteAddress: '127.0.0.1', remotePort: 1, remoteFamily: 'IPv4' } } }
const once = async () => {
  const res = await t.app.request(path, { headers: { Cookie: cookie } }, env)
  if (res.status !== 200) throw new Error(`GET ${path} ${res.status}`)
  await res.text()
}
for (let i = 0; i < 3000; i++) await once()
const c0 = process.cpuUsage()
for (let i = 0; i < n; i++) await once()
const c = process.cpuUsage(c0)
console.log(`GET ${path} in-app: ${((c.user + c.system) / n).toFixed(1)} µs CPU per request (n=${n})`)
