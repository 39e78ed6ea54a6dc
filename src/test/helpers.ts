// Test support: a real in-memory SQLite with the real migrations, a controllable clock, and an
// HTTP client with a cookie jar that talks to createApp(deps).request().
import { issueRecoveryCodes } from '../auth/recovery-codes.ts'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateSync } from 'otplib'
import { desc, eq } from 'drizzle-orm'
import { loadConfig, type Config } from '../config.ts'
import { openDatabase, type Db } from '../db/client.ts'
import { applyMigrations } from '../db/migrate.ts'
import { createApp } from '../app.ts'
import { TokenBucketLimiter } from '../auth/rate-limit.ts'
import { hashPassword } from '../auth/password.ts'
import { encryptSecret } from '../auth/encryption.ts'
import { generateTotpSecret } from '../auth/totp.ts'
import { outbox, users, type User } from '../db/schema.ts'
import type { AppDeps, Logger } from '../http/context.ts'
import type { SystemRoleName } from '../authz/permissions.ts'

export const BASE_URL = 'http://gatehouse.test'
export const T0 = Date.UTC(2026, 10, 2, 9, 0, 0)

export class FakeClock {
  constructor(public ms = T0) {}
  now = () => this.ms
  advance(ms: number) {
    this.ms += ms
  }
}

export const quietLog: Logger = { info() {}, error() {} }

export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({ DATA_DIR: mkdtempSync(join(tmpdir(), 'gatehouse-test-')), BASE_URL, SECRET_KEY: 'ab'.repeat(32), ...env })
}

export function testDb(): Db {
  const db = openDatabase(':memory:')
  applyMigrations(db)
  return db
}

export type TestEnv = {
  deps: AppDeps
  db: Db
  clock: FakeClock
  config: Config
  app: ReturnType<typeof createApp>
  client(ip?: string): TestClient
}

export function createTestEnv(env: Record<string, string> = {}): TestEnv {
  const config = testConfig(env)
  const db = testDb()
  const clock = new FakeClock()
  const deps: AppDeps = { config, db, clock, log: quietLog, ipLimiter: new TokenBucketLimiter(config.ipBurst, config.ipRefillPerSecond) }
  const app = createApp(deps)
  return { deps, db, clock, config, app, client: (ip = '203.0.113.7') => new TestClient(app, ip) }
}

/** A browser stand-in: keeps cookies, sends Origin and form encoding like a real form post. */
export class TestClient {
  cookies = new Map<string, string>()
  constructor(
    private readonly app: ReturnType<typeof createApp>,
    readonly ip: string,
  ) {}

  async request(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers)
    if (this.cookies.size > 0 && !headers.has('Cookie')) headers.set('Cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '))
    const env = { incoming: { socket: { remoteAddress: this.ip, remotePort: 50000, remoteFamily: 'IPv4' } } }
    const res = await this.app.request(path, { ...init, headers }, env)
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';')
      const [name, ...rest] = pair!.split('=')
      const value = rest.join('=')
      const expired = attrs.some((a) => /max-age=0/i.test(a.trim())) || value === ''
      if (expired) this.cookies.delete(name!.trim())
      else this.cookies.set(name!.trim(), value)
    }
    return res
  }

  get(path: string, headers: Record<string, string> = {}) {
    return this.request(path, { headers })
  }

  post(path: string, fields: Record<string, string | string[]> = {}, headers: Record<string, string> = {}) {
    const body = new URLSearchParams()
    for (const [k, v] of Object.entries(fields)) for (const item of Array.isArray(v) ? v : [v]) body.append(k, item)
    return this.request(path, {
      method: 'POST',
      body,
      headers: { Origin: BASE_URL, 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
    })
  }
}

export const GOOD_PASSWORD = 'violet-harbour-lantern-42'
export const OTHER_GOOD_PASSWORD = 'quiet-meadow-copper-kite'

export function totpAt(secret: string, ms: number): string {
  return generateSync({ secret, epoch: Math.floor(ms / 1000) })
}

/** recoveryCodes: the account's ten unused codes (none when it was created without them). */
export type TestUser = { user: User; password: string; totpSecret: string | null; recoveryCodes: string[] }

let cachedHash: Promise<string> | null = null

/** Inserts a ready account (password set, authenticator enrolled unless told otherwise). */
export async function createTestUser(
  t: TestEnv,
  input: { email?: string; role?: SystemRoleName; enrolled?: boolean; mustChangePassword?: boolean; password?: string; recoveryCodesIssued?: boolean } = {},
): Promise<TestUser> {
  const password = input.password ?? GOOD_PASSWORD
  const passwordHash = input.password ? await hashPassword(password) : await (cachedHash ??= hashPassword(GOOD_PASSWORD))
  const totpSecret = input.enrolled === false ? null : generateTotpSecret()
  const user = t.db
    .insert(users)
    .values({
      email: input.email ?? `user${Math.random().toString(36).slice(2, 8)}@example.org`,
      role: input.role ?? 'researcher',
      passwordHash,
      passwordChangedAt: t.clock.now(),
      mustChangePassword: input.mustChangePassword ?? false,
      totpSecret: totpSecret ? encryptSecret(t.config.encryptionKey, totpSecret) : null,
      mfaEnrolledAt: totpSecret ? t.clock.now() : null,
      // a ready account has been offered its recovery codes (false: enrolled before codes existed)
      recoveryCodesIssuedAt: totpSecret && input.recoveryCodesIssued !== false ? t.clock.now() : null,
      createdAt: t.clock.now(),
    })
    .returning()
    .get()
  // a ready account holds its ten unused codes, as after the sign-in chain's recovery-codes step
  const recoveryCodes = user.recoveryCodesIssuedAt !== null ? issueRecoveryCodes(t.db, user.id, user.recoveryCodesIssuedAt) : []
  return { user, password, totpSecret, recoveryCodes }
}

/** Goes through the whole chain for an enrolled user; returns the signed-in client. */
export async function signIn(t: TestEnv, u: TestUser, client = t.client()): Promise<TestClient> {
  const res = await client.post('/login', { email: u.user.email, password: u.password })
  if (res.status !== 303 || res.headers.get('Location') !== '/login/mfa') throw new Error(`password step answered ${res.status} ${res.headers.get('Location')}`)
  const mfa = await client.post('/login/mfa', { code: totpAt(u.totpSecret!, t.clock.now()) })
  if (mfa.status !== 303 || mfa.headers.get('Location') !== '/') throw new Error(`TOTP step answered ${mfa.status}`)
  t.clock.advance(30_000) // the next sign-in of this user needs a fresh time step
  return client
}

export function emailsTo(db: Db, recipient: string) {
  return db.select().from(outbox).where(eq(outbox.recipient, recipient)).orderBy(desc(outbox.id)).all()
}

export function getUser(db: Db, id: number): User {
  return db.select().from(users).where(eq(users.id, id)).get()!
}
