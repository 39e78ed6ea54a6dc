// Issue 16, item 4: sign-ins per second through an OpenID provider. A real oidc-provider
// (bench/oidc-provider-server.ts) runs as a child process on a loopback port; the bench registers
// it in the running server's database as an identity provider with trust_mfa and auto_link on
// (createIdentityProvider, the client secret encrypted with the data dir's key), links an identity
// to each sign-in user, and 50 simulated browsers sign in at once:
//
//   GET /login/oidc/:id (302 to the provider, attempt cookie) → GET the provider's /auth (303 to
//   its interaction) → GET /interaction/:uid (the login form) → POST /interaction/:uid/login
//   (login + consent, amr pwd + mfa; 303) → GET /auth/:uid (303 to Gatehouse's callback with the
//   code) → GET /login/oidc/callback (Gatehouse exchanges the code at the provider's token
//   endpoint; openid-client checks the ID token's issuer, audience, nonce and expiry — it does not
//   check the signature of an ID token from the token endpoint unless asked) → 303 to / with a full session.
//
// No target in the spec (info). It compares with the password + TOTP sign-ins of `signins`
// (same 50 concurrent browsers). The provider is disabled again at the end, so /login is as before
// for the figures that follow.
import { randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { and, count, eq } from 'drizzle-orm'
import { loadConfig } from '../../src/config.ts'
import { openDatabase, writeTransaction } from '../../src/db/client.ts'
import { sessions, userIdentities, type IdentityProvider } from '../../src/db/schema.ts'
import { createIdentityProvider, setIdentityProviderEnabled } from '../../src/models/identity-providers.ts'
import { cookieFrom, formBody, type HttpResponse, type HttpTarget } from '../lib/http.ts'
import type http from 'node:http'
import { cpuLine, runLoad } from '../lib/load.ts'
import { ProcessCpu } from '../lib/proc.ts'
import type { BenchUser } from '../lib/prepare.ts'
import { freePort, startServer, type ServerChild } from '../lib/servers.ts'
import { round } from '../lib/stats.ts'
import { figure, type FigureProducer } from './types.ts'

const CONCURRENT_SIGN_INS = 50
const PROVIDER_NAME = 'Bench IdP'
const CLIENT_ID = 'gatehouse-bench'

function expect(condition: boolean, what: string): asserts condition {
  if (!condition) throw new Error(what)
}

/** A browser's cookies at the provider (all sent back: the provider's names do not collide across paths). */
class Jar {
  private readonly cookies = new Map<string, string>()
  take(res: HttpResponse) {
    for (const line of res.headers['set-cookie'] ?? []) {
      const [pair] = line.split(';')
      const eq = pair!.indexOf('=')
      if (eq > 0) this.cookies.set(pair!.slice(0, eq).trim(), pair!.slice(eq + 1).trim())
    }
  }
  header(): Record<string, string> {
    return this.cookies.size === 0 ? {} : { Cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ') }
  }
}

/** The path of a redirect to `origin`, or an error naming the step. */
function redirectPath(res: HttpResponse, base: string, origin: string, step: string): string {
  const location = res.headers.location
  expect(res.status >= 300 && res.status < 400 && typeof location === 'string', `${step}: ${res.status} without a redirect`)
  const url = new URL(location, base)
  expect(url.origin === origin, `${step}: redirect to ${url.origin}, expected ${origin}`)
  return url.pathname + url.search
}

type Flow = { gatehouse: HttpTarget; provider: HttpTarget; gatehouseAgent: http.Agent; providerAgent: http.Agent; providerId: number }

/** One browser's sign-in through the provider; returns the full session's cookie value. */
async function signInThroughProvider(f: Flow, sub: string): Promise<string> {
  const start = await f.gatehouse.request(f.gatehouseAgent, { path: `/login/oidc/${f.providerId}` })
  expect(start.status === 302, `GET /login/oidc/${f.providerId}: ${start.status}`)
  const attempt = cookieFrom(start, 'gatehouse_oidc')
  expect(attempt !== null, 'the sign-in start set no attempt cookie')
  const jar = new Jar()
  const auth = await f.provider.request(f.providerAgent, { path: redirectPath(start, f.gatehouse.origin, f.provider.origin, 'start'), headers: jar.header() })
  jar.take(auth)
  const interaction = redirectPath(auth, f.provider.origin, f.provider.origin, 'provider /auth')
  expect(/^\/interaction\/[^/]+$/.test(interaction), `provider /auth sent the browser to ${interaction}`)
  const form = await f.provider.request(f.providerAgent, { path: interaction, headers: jar.header(), keepBody: true })
  expect(form.status === 200 && form.body.includes(`action="${interaction}/login"`), `provider login page: ${form.status}`)
  const login = await f.provider.request(f.providerAgent, { method: 'POST', path: `${interaction}/login`, headers: { ...jar.header(), 'Content-Type': 'application/x-www-form-urlencoded' }, body: formBody({ login: sub }) })
  jar.take(login)
  const resume = await f.provider.request(f.providerAgent, { path: redirectPath(login, f.provider.origin, f.provider.origin, 'provider login'), headers: jar.header() })
  jar.take(resume)
  const callback = redirectPath(resume, f.provider.origin, f.gatehouse.origin, 'provider resume')
  expect(callback.startsWith('/login/oidc/callback?'), `the provider sent the browser to ${callback.slice(0, 80)}`)
  const done = await f.gatehouse.request(f.gatehouseAgent, { path: callback, headers: { Cookie: `gatehouse_oidc=${attempt}` } })
  expect(done.status === 303 && done.headers.location === '/', `GET /login/oidc/callback: ${done.status} ${done.headers.location ?? ''}`)
  const session = cookieFrom(done, 'session')
  expect(session !== null, 'the callback set no session cookie')
  return session
}

export const oidcSignIns: FigureProducer = {
  id: 'oidc',
  name: `sign-ins through an OpenID provider (${CONCURRENT_SIGN_INS} at once)`,
  async run(ctx) {
    const { dataDir, admin, signInUsers } = ctx.data
    const key = loadConfig({ DATA_DIR: dataDir }).encryptionKey
    const subOf = (u: BenchUser) => `bench-oidc-${u.id}`
    const accountsFile = join(dataDir, 'oidc-accounts.json')
    writeFileSync(accountsFile, JSON.stringify(Object.fromEntries(signInUsers.map((u) => [subOf(u), u.email]))))
    const clientSecret = randomBytes(24).toString('base64url')
    const port = await freePort()
    let provider: ServerChild | null = null
    const db = openDatabase(join(dataDir, 'gatehouse.sqlite'))
    const gatehouseAgent = ctx.gatehouse.target.agent(CONCURRENT_SIGN_INS)
    let providerAgent: http.Agent | null = null
    let idp: IdentityProvider | null = null
    const actor = { id: admin.id, email: admin.email }
    try {
      provider = await startServer({
        name: 'oidc-provider',
        repoRoot: ctx.repoRoot,
        entry: 'bench/oidc-provider-server.ts',
        port,
        logDir: dataDir,
        readyPath: '/.well-known/openid-configuration',
        env: { HOST: '127.0.0.1', BENCH_OIDC_CLIENT_ID: CLIENT_ID, BENCH_OIDC_CLIENT_SECRET: clientSecret, BENCH_OIDC_REDIRECT_URI: `${ctx.gatehouse.target.origin}/login/oidc/callback`, BENCH_OIDC_ACCOUNTS_FILE: accountsFile },
      })
      providerAgent = provider.target.agent(CONCURRENT_SIGN_INS)
      ctx.log(`  provider pid ${provider.pid} on ${provider.target.origin}; linking ${signInUsers.length} identities`)
      idp = createIdentityProvider(
        db,
        key,
        { name: PROVIDER_NAME, issuer: provider.target.origin, clientId: CLIENT_ID, clientSecret, scopes: 'openid email', domains: '', trustMfa: true, autoLink: true, enabled: true },
        { actor, now: Date.now(), ip: '127.0.0.1' },
      )
      const providerId = idp.id
      writeTransaction(db, () => {
        const now = Date.now()
        for (const u of signInUsers) db.insert(userIdentities).values({ userId: u.id, providerId, sub: subOf(u), emailAtLink: u.email, linkedAt: now }).run()
      })
      const flow: Flow = { gatehouse: ctx.gatehouse.target, provider: provider.target, gatehouseAgent, providerAgent, providerId }
      const method = `oidc:${PROVIDER_NAME}`
      const fullSessions = () => db.select({ n: count() }).from(sessions).where(and(eq(sessions.authMethod, method), eq(sessions.mfaVerified, true))).get()!.n

      // Checked once before the load: the session is a full one (the home page, not /login/mfa).
      const first = signInUsers[0]!
      const cookie = await signInThroughProvider(flow, subOf(first))
      const home = await ctx.gatehouse.target.request(gatehouseAgent, { path: '/', headers: { Cookie: `session=${cookie}` }, keepBody: true })
      expect(home.status === 200 && home.body.includes(first.email) && home.body.includes('Where you are signed in'), `GET / after the provider sign-in: ${home.status}, not the signed-in home page`)
      expect(fullSessions() === 1, 'the provider sign-in did not store one session with mfa_verified')

      let next = 0
      let succeeded = 0
      let providerCpu: ProcessCpu | null = null
      let providerCores: number | null = null
      let providerMainCores: number | null = null
      const providerPid = provider.pid
      const load = await runLoad({
        concurrency: CONCURRENT_SIGN_INS,
        warmupMs: ctx.warmupMs,
        durationMs: ctx.durationMs,
        serverPid: ctx.gatehouse.pid,
        onWindow: {
          open: () => void (providerCpu = new ProcessCpu(providerPid)),
          close: () => {
            const used = providerCpu?.coresSince()
            providerCores = used ? round(used.all, 2) : null
            providerMainCores = used ? round(used.mainThread, 2) : null
          },
        },
        op: async () => {
          const user = signInUsers[next++ % signInUsers.length]!
          await signInThroughProvider(flow, subOf(user))
          succeeded++
        },
      })
      // The provider's CPU is part of runLoad's "other"; a window is disturbed only by the rest.
      const otherCpuCores = load.otherCpuCores === null ? null : round(Math.max(0, load.otherCpuCores - (providerCores ?? 0)), 2)
      ctx.noteWindow('oidc sign-ins', { otherCpuCores })
      const stored = fullSessions()
      const rate = load.perSecond
      ctx.log(`  ${load.completed} provider sign-ins in ${load.windowMs / 1000} s = ${round(rate, 1)}/s, p99 ${load.latencyMs.p99} ms (${cpuLine({ ...load, otherCpuCores })}, provider ${providerCores})`)
      let error: string | undefined
      if (load.errors > 0) error = `${load.errors} sign-ins failed: ${load.firstErrors.join(' | ')}`
      else if (stored !== succeeded + 1) error = `${succeeded + 1} sign-ins answered 303 to / but ${stored} full sessions were stored`
      const details = {
        concurrentSignIns: CONCURRENT_SIGN_INS,
        windowMs: load.windowMs,
        warmupMs: ctx.warmupMs,
        completed: load.completed,
        errors: load.errors,
        latencyMs: load.latencyMs,
        requestsPerSignIn: { gatehouse: 2, provider: 4, serverToProvider: 'one token request (discovery is cached per provider; no JWKS fetch: openid-client does not check the signature of an ID token from the token endpoint)' },
        cpuCores: {
          server: load.serverCpuCores,
          serverMainThread: load.serverMainThreadCpuCores,
          provider: providerCores,
          providerMainThread: providerMainCores,
          bench: load.clientCpuCores,
          kernelIrq: load.interruptCpuCores,
          other: otherCpuCores,
        },
        serverCpuMsPerSignIn: load.serverCpuCores ? round((load.serverCpuCores * 1000) / rate, 2) : null,
        providerCpuMsPerSignIn: providerCores ? round((providerCores * 1000) / rate, 2) : null,
        fullSessionsStored: stored,
        signInsAnswered: succeeded + 1,
        provider: 'oidc-provider 9 in its own process (bench/oidc-provider-server.ts, via tsx); login and consent finished by the bench through interactionFinished, no password check at the provider; its CPU is not bench CPU',
        identityProvider: { name: PROVIDER_NAME, trustMfa: true, autoLink: true, linkedIdentities: signInUsers.length },
      }
      const password = ctx.figuresSoFar().find((f) => f.id === 'sign_ins_per_second' && !f.error && f.value > 0)
      return [
        figure({
          id: 'oidc_sign_ins_per_second',
          label: `Sign-ins through an OpenID provider per second (${CONCURRENT_SIGN_INS} concurrent, trust_mfa; compare password + TOTP sign-ins)`,
          value: round(rate, 1),
          unit: '/s',
          target: null,
          ...(error ? { error } : {}),
          details,
        }),
        figure({
          id: 'oidc_sign_ins_per_second_per_core',
          label: `  same, per core (${ctx.cores} cores, shared with the provider; Keycloak plans 15 password sign-ins per vCPU)`,
          value: round(rate / ctx.cores, 1),
          unit: '/s/core',
          target: null,
          ...(error ? { error } : {}),
        }),
        figure({
          id: 'oidc_sign_in_p99_ms',
          label: '  same, p99 of one whole sign-in (6 requests)',
          value: load.latencyMs.p99,
          unit: 'ms',
          target: null,
          ...(error ? { error } : {}),
        }),
        // Side by side with the password + TOTP sign-ins of this run, when `signins` ran before.
        ...(password
          ? [
              figure({
                id: 'oidc_vs_password_sign_ins',
                label: '  provider sign-ins/s ÷ password + TOTP sign-ins/s of this run',
                value: round((rate / password.value) * 100, 1),
                unit: '%',
                target: null,
                ...(error ? { error } : {}),
                details: { passwordSignInsPerSecond: password.value, note: 'both with 50 concurrent browsers against the same server' },
              }),
            ]
          : []),
      ]
    } finally {
      if (idp) setIdentityProviderEnabled(db, idp, false, { actor, now: Date.now(), ip: '127.0.0.1' })
      gatehouseAgent.destroy()
      providerAgent?.destroy()
      db.$client.close()
      await provider?.stop()
    }
  },
}
