// Issue 16, item 4: passkey assertions verified per second, through the real server. No target in
// the spec (info).
//
// Data: BENCH_PASSKEY_USERS (200) of the sign-in users each get a passkey from a software
// authenticator (src/test/soft-authenticator.ts: ES256 on P-256, user verification, discoverable),
// registered through the server's own functions on the running server's database: registration
// options (startPasskeyRegistration, the challenge bound to a made-up session id), the
// authenticator's answer verified by @simplewebauthn/server (finishPasskeyRegistration) and stored
// (addPasskey, which audits it and queues a security notice). The bench waits until the server's
// outbox has handled those notices, so their delivery is outside the window.
//
// Measured: 50 concurrent browsers, each signing in back to back with a passkey alone (SPEC §11):
//   POST /login/passkey/options (a fresh challenge, bound to a new pre-auth cookie) → the
//   authenticator signs an assertion for it → POST /login/passkey (JSON) → 200 { redirect: '/' }
//   with a session cookie.
// Each browser owns its users, so an authenticator's signature counter only moves forward.
// Checked: one sign-in before the load reaches the signed-in home page; after it, the sessions
// stored with auth_method 'passkey' equal the sign-ins answered.
//
// WebAuthn's RP id cannot be an IP address: the server's BASE_URL is http://localhost:<port>
// (bench/run.ts), and the authenticator signs for rp id "localhost" and that origin.
import { join } from 'node:path'
import { count, eq } from 'drizzle-orm'
import { loadConfig } from '../../src/config.ts'
import { openDatabase } from '../../src/db/client.ts'
import { outbox, sessions } from '../../src/db/schema.ts'
import { finishPasskeyRegistration, startPasskeyRegistration } from '../../src/auth/webauthn.ts'
import { addPasskey } from '../../src/models/passkeys.ts'
import { getUserById } from '../../src/models/users.ts'
import { SoftAuthenticator } from '../../src/test/soft-authenticator.ts'
import type { PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server'
import { cookieFrom, type HttpTarget } from '../lib/http.ts'
import type http from 'node:http'
import { cpuLine, runLoad } from '../lib/load.ts'
import { round, sleep } from '../lib/stats.ts'
import { figure, type FigureProducer } from './types.ts'

const CONCURRENT_SIGN_INS = 50
const PASSKEY_USERS = Number(process.env.BENCH_PASSKEY_USERS ?? 200)
const OUTBOX_WAIT_MS = 60_000
const PREAUTH_COOKIE = 'passkey-signin' // the name over http (no __Host- prefix without Secure)

function expect(condition: boolean, what: string): asserts condition {
  if (!condition) throw new Error(what)
}

/** One browser's passkey sign-in; returns the session cookie's value. */
async function signInWithPasskey(target: HttpTarget, agent: http.Agent, authenticator: SoftAuthenticator): Promise<string> {
  const json = { 'Content-Type': 'application/json', Origin: target.origin }
  const options = await target.request(agent, { method: 'POST', path: '/login/passkey/options', headers: json, body: '{}', keepBody: true })
  expect(options.status === 200, `POST /login/passkey/options: ${options.status}`)
  const preauth = cookieFrom(options, PREAUTH_COOKIE)
  expect(preauth !== null, 'POST /login/passkey/options set no pre-auth cookie')
  const assertion = authenticator.assert(JSON.parse(options.body) as PublicKeyCredentialRequestOptionsJSON)
  const done = await target.request(agent, { method: 'POST', path: '/login/passkey', headers: { ...json, Cookie: `${PREAUTH_COOKIE}=${preauth}` }, body: JSON.stringify({ response: assertion }), keepBody: true })
  expect(done.status === 200, `POST /login/passkey: ${done.status} ${done.body.slice(0, 200)}`)
  const { redirect } = JSON.parse(done.body) as { redirect?: string }
  expect(redirect === '/', `POST /login/passkey answered redirect ${String(redirect)}, expected /`)
  const session = cookieFrom(done, 'session')
  expect(session !== null && session !== '', 'POST /login/passkey set no session cookie')
  return session
}

export const passkeySignIns: FigureProducer = {
  id: 'passkeys',
  name: `passkey sign-ins (${CONCURRENT_SIGN_INS} at once)`,
  async run(ctx) {
    const { dataDir, signInUsers } = ctx.data
    const target = ctx.gatehouse.target
    expect(new URL(target.origin).hostname === 'localhost', `the server's origin is ${target.origin}: WebAuthn needs a host name (BASE_URL http://localhost:<port>)`)
    const config = loadConfig({ DATA_DIR: dataDir, BASE_URL: target.origin })
    const db = openDatabase(join(dataDir, 'gatehouse.sqlite'))
    const agent = target.agent(CONCURRENT_SIGN_INS)
    try {
      // Register a passkey per user through the server's functions (real verification).
      const users = signInUsers.slice(0, Math.min(PASSKEY_USERS, signInUsers.length))
      expect(users.length >= CONCURRENT_SIGN_INS, `${users.length} passkey users for ${CONCURRENT_SIGN_INS} browsers`)
      const queuedBefore = db.select({ n: count() }).from(outbox).where(eq(outbox.status, 'queued')).get()!.n
      const registered = performance.now()
      const authenticators: SoftAuthenticator[] = []
      for (const u of users) {
        const user = getUserById(db, u.id)
        expect(user !== null, `bench user ${u.id} is missing`)
        const authenticator = new SoftAuthenticator({ origin: target.origin, rpId: 'localhost', userVerified: true, discoverable: true })
        const sessionId = `bench-passkey-${u.id}`
        const now = Date.now()
        const options = await startPasskeyRegistration(db, config, { user, sessionId, now })
        const verified = await finishPasskeyRegistration(db, config, { response: authenticator.register(options), sessionId, now })
        expect(verified !== null && verified.userVerifiedAtRegistration, `the registration of ${u.email}'s passkey was refused or is not usable alone`)
        const added = addPasskey(db, { user, name: 'Bench passkey', ...verified, now, ip: '127.0.0.1', baseUrl: config.baseUrl })
        expect(added !== null, `the passkey of ${u.email} was not stored`)
        authenticators.push(authenticator)
      }
      const registerSeconds = (performance.now() - registered) / 1000
      const waited = performance.now()
      const queued = () => db.select({ n: count() }).from(outbox).where(eq(outbox.status, 'queued')).get()!.n
      for (const until = Date.now() + OUTBOX_WAIT_MS; queued() > queuedBefore; await sleep(200)) {
        if (Date.now() > until) throw new Error(`the server's outbox still holds ${queued()} queued emails after ${OUTBOX_WAIT_MS / 1000} s`)
      }
      ctx.log(`  registered ${users.length} passkeys in ${round(registerSeconds, 1)} s; the server's outbox handled their notices in ${round((performance.now() - waited) / 1000, 1)} s`)

      const passkeySessions = () => db.select({ n: count() }).from(sessions).where(eq(sessions.authMethod, 'passkey')).get()!.n
      const sessionsBefore = passkeySessions()
      // Checked once: the session is a full one (the signed-in home page).
      const cookie = await signInWithPasskey(target, agent, authenticators[0]!)
      const home = await target.request(agent, { path: '/', headers: { Cookie: `session=${cookie}` }, keepBody: true })
      expect(home.status === 200 && home.body.includes(users[0]!.email) && home.body.includes('Where you are signed in'), `GET / after the passkey sign-in: ${home.status}, not the signed-in home page`)
      expect(passkeySessions() === sessionsBefore + 1, 'the passkey sign-in did not store one session')

      // Browser w signs in as users w, w + 50, w + 100, … in turn (its own authenticators only).
      const turn = new Array<number>(CONCURRENT_SIGN_INS).fill(0)
      let succeeded = 1
      const load = await runLoad({
        concurrency: CONCURRENT_SIGN_INS,
        warmupMs: ctx.warmupMs,
        durationMs: ctx.durationMs,
        serverPid: ctx.gatehouse.pid,
        op: async (worker) => {
          const mine = Math.ceil((authenticators.length - worker) / CONCURRENT_SIGN_INS)
          const authenticator = authenticators[worker + CONCURRENT_SIGN_INS * (turn[worker]!++ % mine)]!
          await signInWithPasskey(target, agent, authenticator)
          succeeded++
        },
      })
      ctx.noteWindow('passkey sign-ins', load)
      const stored = passkeySessions() - sessionsBefore
      const rate = load.perSecond
      ctx.log(`  ${load.completed} passkey sign-ins in ${load.windowMs / 1000} s = ${round(rate, 1)}/s, p99 ${load.latencyMs.p99} ms (${cpuLine(load)})`)
      let error: string | undefined
      if (load.errors > 0) error = `${load.errors} sign-ins failed: ${load.firstErrors.join(' | ')}`
      else if (stored !== succeeded) error = `${succeeded} sign-ins answered with a session but ${stored} passkey sessions were stored`
      const details = {
        concurrentSignIns: CONCURRENT_SIGN_INS,
        passkeyUsers: users.length,
        windowMs: load.windowMs,
        warmupMs: ctx.warmupMs,
        completed: load.completed,
        errors: load.errors,
        latencyMs: load.latencyMs,
        requestsPerSignIn: 2,
        cpuCores: { server: load.serverCpuCores, serverMainThread: load.serverMainThreadCpuCores, bench: load.clientCpuCores, kernelIrq: load.interruptCpuCores, other: load.otherCpuCores },
        serverCpuMsPerSignIn: load.serverCpuCores ? round((load.serverCpuCores * 1000) / rate, 2) : null,
        benchCpuMsPerSignIn: round((load.clientCpuCores * 1000) / rate, 2),
        passkeySessionsStored: stored,
        signInsAnswered: succeeded,
        registeredSeconds: round(registerSeconds, 2),
        authenticator: 'src/test/soft-authenticator.ts in the bench process (ES256 signatures: bench CPU)',
      }
      return [
        figure({
          id: 'passkey_sign_ins_per_second',
          label: `Passkey sign-ins (assertions verified) per second (${CONCURRENT_SIGN_INS} concurrent)`,
          value: round(rate, 1),
          unit: '/s',
          target: null,
          ...(error ? { error } : {}),
          details,
        }),
        figure({
          id: 'passkey_sign_ins_per_second_per_core',
          label: `  same, per core (${ctx.cores} cores, shared with the bench's authenticator)`,
          value: round(rate / ctx.cores, 1),
          unit: '/s/core',
          target: null,
          ...(error ? { error } : {}),
        }),
        figure({
          id: 'passkey_sign_in_p99_ms',
          label: '  same, p99 of one whole sign-in (2 requests)',
          value: load.latencyMs.p99,
          unit: 'ms',
          target: null,
          ...(error ? { error } : {}),
        }),
      ]
    } finally {
      agent.destroy()
      db.$client.close()
    }
  },
}
