// Diagnostic: main-thread CPU per sign-in and per page, one request at a time (no contention).
import { readFileSync, rmSync } from 'node:fs'
import { prepareDataDir } from '../lib/prepare.ts'
import { freePort, startServer } from '../lib/servers.ts'
import { signIn, TotpUserPool } from '../lib/signin.ts'

function threadCpu(pid: number, tid: number): number {
  const s = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ')
  return (Number(f[11]) + Number(f[12])) / 100
}
function procCpu(pid: number): number {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ')
  return (Number(f[11]) + Number(f[12])) / 100
}
const data = await prepareDataDir({ signInUsers: 300, directory: null, log: console.log })
const port = await freePort()
const server = await startServer({ name: 'gatehouse', repoRoot: process.cwd(), entry: 'src/server.ts', port, logDir: data.dataDir, readyPath: '/healthz', env: { DATA_DIR: data.dataDir, HOST: '127.0.0.1', BASE_URL: `http://127.0.0.1:${port}`, IP_RATE_BURST: '1000000', IP_RATE_PER_SECOND: '1000000', LOCKOUT_THRESHOLD: '1000000' } })
try {
  const pool = new TotpUserPool(data.signInUsers)
  const agent = server.target.agent(1)
  for (let i = 0; i < 30; i++) { const g = await pool.acquire(); await signIn(server.target, agent, g.user, g.step); g.release() }
  const N = 200
  const m0 = threadCpu(server.pid, server.pid), p0 = procCpu(server.pid), t0 = performance.now()
  for (let i = 0; i < N; i++) { const g = await pool.acquire(); await signIn(server.target, agent, g.user, g.step); g.release() }
  const wall = (performance.now() - t0) / N
  console.log(`sign-in one at a time: ${wall.toFixed(1)} ms wall, main thread ${((threadCpu(server.pid, server.pid) - m0) * 1000 / N).toFixed(2)} ms CPU, whole process ${((procCpu(server.pid) - p0) * 1000 / N).toFixed(2)} ms CPU`)
  const g = await new TotpUserPool([data.pageUser]).acquire()
  const cookie = await signIn(server.target, agent, data.pageUser, g.step)
  for (const [name, path, headers] of [['GET /login', '/login', {}], ['GET / signed in', '/', { Cookie: `session=${cookie}` }], ['GET /healthz', '/healthz', {}]] as const) {
    for (let i = 0; i < 300; i++) await server.target.request(agent, { path, headers })
    const M = 2000
    const a = threadCpu(server.pid, server.pid), t = performance.now()
    for (let i = 0; i < M; i++) await server.target.request(agent, { path, headers })
    console.log(`${name}: ${((performance.now() - t) / M).toFixed(3)} ms wall, main thread ${(((threadCpu(server.pid, server.pid) - a) * 1e6) / M).toFixed(0)} µs CPU`)
  }
} finally {
  await server.stop()
  rmSync(data.dataDir, { recursive: true, force: true })
}
