// Legitimate password + TOTP sign-ins through the real HTTP flow, and a pool that hands out
// users so that every TOTP code the bench submits is one the server must accept.
//
// The server accepts the codes of steps s−1, s and s+1 (s = the current 30-s step) and refuses
// any step not after the user's last accepted one (replay protection). So a user can sign in
// at most three times per step, in increasing step order, and never twice at once (two
// concurrent sign-ins could be accepted in the wrong order and the second refused). The pool
// therefore gives each user out to one sign-in at a time, with the smallest step after its last
// one that is still valid now and for the whole sign-in that follows.
import type http from 'node:http'
import { generateSync } from 'otplib'
import { cookieFrom, formBody, type HttpTarget } from './http.ts'
import { BENCH_PASSWORD, type BenchUser } from './prepare.ts'
import { sleep } from './stats.ts'

export const TOTP_STEP_MS = 30_000
/** A step s−1 code is only used while this much of step s remains (it stops being valid then). */
const PREVIOUS_STEP_MARGIN_MS = 10_000

export function totpCode(secret: string, step: number): string {
  return generateSync({ secret, epoch: step * (TOTP_STEP_MS / 1000), period: TOTP_STEP_MS / 1000 })
}

type Slot = { user: BenchUser; lastStep: number | null; busy: boolean }

export class TotpUserPool {
  private readonly slots: Slot[]
  private cursor = 0
  /** How many times a sign-in had to wait for a user with a usable code. */
  waits = 0

  constructor(users: readonly BenchUser[]) {
    if (users.length === 0) throw new Error('the pool needs users')
    this.slots = users.map((user) => ({ user, lastStep: null, busy: false }))
  }

  /** The step a slot may use now, or null. */
  private usableStep(slot: Slot, now: number): number | null {
    const current = Math.floor(now / TOTP_STEP_MS)
    const earliest = now % TOTP_STEP_MS < TOTP_STEP_MS - PREVIOUS_STEP_MARGIN_MS ? current - 1 : current
    const step = slot.lastStep === null ? earliest : Math.max(earliest, slot.lastStep + 1)
    return step <= current + 1 ? step : null
  }

  private tryAcquire(): { user: BenchUser; step: number; release: () => void } | null {
    const now = Date.now()
    for (let i = 0; i < this.slots.length; i++) {
      const slot = this.slots[(this.cursor + i) % this.slots.length]!
      if (slot.busy) continue
      const step = this.usableStep(slot, now)
      if (step === null) continue
      this.cursor = (this.cursor + i + 1) % this.slots.length
      slot.busy = true
      // The step counts as used whatever happens: a code is never sent twice.
      slot.lastStep = step
      return { user: slot.user, step, release: () => void (slot.busy = false) }
    }
    return null
  }

  /** A user and the step whose code it may submit; call release() after the sign-in. */
  async acquire(timeoutMs = 40_000): Promise<{ user: BenchUser; step: number; release: () => void }> {
    const deadline = Date.now() + timeoutMs
    for (let waited = false; ; waited = true) {
      const got = this.tryAcquire()
      if (got) return got
      if (!waited) this.waits++
      if (Date.now() > deadline) throw new Error('no bench user has an unused TOTP step: add users')
      await sleep(50)
    }
  }

  /** Sign-ins the pool can still hand out before the next step begins (capacity check). */
  remainingNow(): number {
    const now = Date.now()
    const current = Math.floor(now / TOTP_STEP_MS)
    let n = 0
    for (const slot of this.slots) {
      const step = this.usableStep(slot, now)
      if (step !== null) n += current + 2 - step
    }
    return n
  }
}

function expect(condition: boolean, what: string): asserts condition {
  if (!condition) throw new Error(what)
}

/**
 * The browser's sign-in: POST /login (email + password) → 303 to /login/mfa, GET it, POST the
 * TOTP code → 303 to /. Returns the full session's cookie value; throws unless every step
 * answered as a successful sign-in does.
 */
export async function signIn(target: HttpTarget, agent: http.Agent, user: BenchUser, step: number): Promise<string> {
  const post = { 'Content-Type': 'application/x-www-form-urlencoded', Origin: target.origin }
  const login = await target.request(agent, { method: 'POST', path: '/login', headers: post, body: formBody({ email: user.email, password: BENCH_PASSWORD }) })
  expect(login.status === 303 && login.headers.location === '/login/mfa', `POST /login for ${user.email}: ${login.status} ${login.headers.location ?? ''}`)
  const cookie = cookieFrom(login, 'session')
  expect(cookie !== null, 'POST /login set no session cookie')
  const headers = { Cookie: `session=${cookie}` }
  const page = await target.request(agent, { path: '/login/mfa', headers })
  expect(page.status === 200, `GET /login/mfa: ${page.status}`)
  const mfa = await target.request(agent, { method: 'POST', path: '/login/mfa', headers: { ...post, ...headers }, body: formBody({ code: totpCode(user.totpSecret, step) }) })
  expect(mfa.status === 303 && mfa.headers.location === '/', `POST /login/mfa for ${user.email} (step ${step}): ${mfa.status} ${mfa.headers.location ?? ''}`)
  return cookieFrom(mfa, 'session') ?? cookie
}

const poolsByEmail = new Map<string, TotpUserPool>()

/**
 * One pool per user for the whole run: figures that sign the same user in (the admin) share its
 * used time steps, so a later figure never replays a code an earlier one used in the same 30 s.
 */
export function sharedTotpPool(user: ConstructorParameters<typeof TotpUserPool>[0][number]): TotpUserPool {
  let pool = poolsByEmail.get(user.email)
  if (!pool) poolsByEmail.set(user.email, (pool = new TotpUserPool([user])))
  return pool
}
