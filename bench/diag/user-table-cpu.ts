// Where the admin user table's time goes, in-process on a copy of the bench's directory database:
// `node --import tsx bench/diag/user-table-cpu.ts <db file> [rounds] [cache_size pragma]` prints,
// per query of the bench's user-table figure, the median ms of the facet counts and of the whole
// page query (listUsersForTable), the queries taken in turn as the bench does (so SQLite's page
// cache holds what the last queries read, not only this one's).
import { performance } from 'node:perf_hooks'
import { openDatabase } from '../../src/db/client.ts'
import { countUserFacets, listUsersForTable, parseUserTableQuery } from '../../src/models/user-table.ts'

const [file, roundsArg] = process.argv.slice(2)
if (!file) throw new Error('usage: user-table-cpu.ts <db file> [rounds]')
const rounds = Number(roundsArg ?? 20)
const db = openDatabase(file)
if (process.argv[4]) db.$client.pragma(`cache_size = ${Number(process.argv[4])}`)
const policy = { now: Number(process.env.DIAG_NOW ?? Date.now()), inactiveDays: 90, passwordMaxAgeDays: 0 }
const QUERIES = ['q=smith&sort=last_name&dir=asc', 'q=patel&sort=first_name&dir=desc', 'q=leeds&sort=email&dir=asc', 'q=okafor&sort=last_sign_in&dir=desc', 'q=grace&sort=organization&dir=asc', 'q=nakamura&sort=role&dir=asc', 'q=rossi&sort=status&dir=asc', 'q=evans&sort=projects&dir=desc', 'q=khan&sort=last_name&dir=desc&page=3']
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const time = (fn: () => unknown) => {
  const t = performance.now()
  fn()
  return performance.now() - t
}
const times = new Map(QUERIES.map((q) => [q, { facets: [] as number[], page: [] as number[] }]))
for (let i = 0; i < rounds; i++) {
  for (const q of QUERIES) {
    const query = parseUserTableQuery(Object.fromEntries(new URLSearchParams(q)))
    times.get(q)!.facets.push(time(() => countUserFacets(db, query.q, policy)))
    times.get(q)!.page.push(time(() => listUsersForTable(db, query, policy)))
  }
}
for (const [q, t] of times) console.log(`${q.padEnd(40)} facets ${median(t.facets).toFixed(2)} ms, page (with facets) ${median(t.page).toFixed(2)} ms`)
console.log(`median page over all: ${median([...times.values()].flatMap((t) => t.page)).toFixed(2)} ms (cache_size ${db.$client.pragma('cache_size', { simple: true })})`)

// The same queries through the app (session, permission resolution, render; no sockets), as an
// admin created on this copy of the database.
const { createApp } = await import('../../src/app.ts')
const { testConfig, FakeClock, quietLog, TestClient, createTestUser, signIn } = await import('../../src/test/helpers.ts')
const { TokenBucketLimiter } = await import('../../src/auth/rate-limit.ts')
const config = testConfig()
const deps = { config, db, clock: new FakeClock(), log: quietLog, ipLimiter: new TokenBucketLimiter(1e9, 1e9) }
const app = createApp(deps)
const t = { deps, db, clock: deps.clock, config, app, client: (ip = '203.0.113.7') => new TestClient(app, ip) }
const admin = await createTestUser(t as never, { email: `diag-${Date.now()}@example.org`, role: 'admin' })
const browser = await signIn(t as never, admin)
const routeTimes = new Map(QUERIES.map((q) => [q, [] as number[]]))
let bytes = 0
for (let i = 0; i < rounds; i++) {
  for (const q of QUERIES) {
    const started = performance.now()
    const res = await browser.get(`/admin/users?${q}`)
    const text = await res.text()
    routeTimes.get(q)!.push(performance.now() - started)
    if (res.status !== 200) throw new Error(`${q}: ${res.status}`)
    bytes = text.length
  }
}
for (const [q, xs] of routeTimes) console.log(`${q.padEnd(40)} route ${median(xs).toFixed(2)} ms`)
console.log(`median route over all: ${median([...routeTimes.values()].flat()).toFixed(2)} ms; a page is ${bytes} characters`)
