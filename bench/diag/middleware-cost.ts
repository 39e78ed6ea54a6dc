// Diagnostic: CPU per request (app.request, no sockets) as the global middleware stack of src/app.ts is
// added one by one in front of a trivial route, with a signed-in cookie. node --import tsx bench/diag/middleware-cost.ts
import { Hono } from 'hono'
import { clientIp, securityHeaders, noStore, originCheck, formBodyLimit } from '../../src/http/security.ts'
import { refuseMalformedForms } from '../../src/http/multipart.ts'
import { writeGate } from '../../src/http/write-gate.ts'
import { loadSession } from '../../src/auth/middleware.ts'
import { createTestEnv, createTestUser, signIn } from '../../src/test/helpers.ts'
import { createWriteStream } from 'node:fs'
const t = createTestEnv()
const user = await createTestUser(t, { email: 'page@example.org' })
const browser = await signIn(t, user)
const cookie = [...browser.cookies].map(([k, v]) => `${k}=${v}`).join('; ')
const sink = createWriteStream('/dev/null')
const deps = { ...t.deps, log: { info: (r: any) => void sink.write(JSON.stringify({ time: new Date().toISOString(), level: 'info', ...r }) + '\n'), error: () => {} } }
const env = { incoming: { socket: { remoteAddress: '127.0.0.1', remotePort: 1, remoteFamily: 'IPv4' } } }
const stages: [string, any][] = [
  ['deps+log', async (c: any, next: any) => { c.set('deps', deps); const s = performance.now(); await next(); deps.log.info({ msg: 'request', method: c.req.method, route: c.req.routePath, status: c.res.status, ms: Math.round((performance.now() - s) * 10) / 10, ip: c.get('clientIp') }) }],
  ['clientIp', clientIp(t.deps.config)],
  ['securityHeaders', securityHeaders(t.deps.config)],
  ['noStore', noStore],
  ['originCheck', originCheck(t.deps.config)],
  ['formBodyLimit', formBodyLimit([])],
  ['refuseMalformed', refuseMalformedForms([])],
  ['writeGate', writeGate],
  ['loadSession', loadSession],
]
let prev = 0
for (let k = 0; k <= stages.length; k++) {
  const app = new Hono()
  for (const [, mw] of stages.slice(0, k)) app.use('*', mw)
  app.get('/', (c) => c.html('<p>hi</p>'))
  const once = async () => { const r = await app.request('/', { headers: { Cookie: cookie } }, env); await r.text() }
  for (let i = 0; i < 3000; i++) await once()
  let best = Infinity
  for (let rep = 0; rep < 3; rep++) {
    const c0 = process.cpuUsage(); const n = 10000
    for (let i = 0; i < n; i++) await once()
    const c = process.cpuUsage(c0); best = Math.min(best, (c.user + c.system) / n)
  }
  console.log(`${(k ? stages[k - 1]![0] : 'bare').padEnd(18)} ${best.toFixed(1)} µs  (+${(best - prev).toFixed(1)})`); prev = best
}
