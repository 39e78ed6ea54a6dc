import type { Context, MiddlewareHandler } from 'hono'
import { getCookie, setCookie, deleteCookie } from 'hono/cookie'
import type { AppEnv } from '../http/context.ts'
import { validateSessionToken } from './session.ts'
import { nextSignInStep, STEP_PAGES, type SignInStep } from './sign-in-chain.ts'
import { redirectTo } from '../http/htmx.ts'
import { resolveActor } from '../models/roles.ts'
import { withoutBlocking, writerElsewhereNoted } from '../http/write-gate.ts'

export function sessionCookieName(c: Context<AppEnv>): string {
  return c.get('deps').config.secureCookies ? '__Host-session' : 'session'
}

export function setSessionCookie(c: Context<AppEnv>, token: string): void {
  const { config } = c.get('deps')
  setCookie(c, sessionCookieName(c), token, {
    httpOnly: true,
    sameSite: 'Lax',
    secure: config.secureCookies,
    path: '/',
    maxAge: config.sessionMaxHours * 3600,
  })
}

export function clearSessionCookie(c: Context<AppEnv>): void {
  deleteCookie(c, sessionCookieName(c), { path: '/', secure: c.get('deps').config.secureCookies })
}

/** Reads the session cookie on every request; sets `auth` (null when absent or dead). */
export const loadSession: MiddlewareHandler<AppEnv> = async (c, next) => {
  const token = getCookie(c, sessionCookieName(c))
  c.set('auth', null)
  if (token) {
    const { db, clock, config } = c.get('deps')
    // The check may write (the session's activity, an expired session's end): never in a busy wait
    // that would stop every page while an import applies (http/write-gate.ts).
    const policy = { idleMs: config.sessionIdleMinutes * 60_000, absoluteMs: config.sessionMaxHours * 3_600_000 }
    const check = () => validateSessionToken(db, token, clock.now(), policy)
    const auth = writerElsewhereNoted() ? await withoutBlocking(db, check) : check()
    if (auth) c.set('auth', auth)
    else clearSessionCookie(c)
  }
  await next()
}

function currentStep(c: Context<AppEnv>): SignInStep | null | 'anonymous' {
  const auth = c.get('auth')
  if (!auth) return 'anonymous'
  const { clock, config } = c.get('deps')
  return nextSignInStep(auth.user, auth.session, clock.now(), config.passwordMaxAgeDays)
}

/** Guard for every page of the product: only a full session (all steps passed) gets through. */
export const requireUser: MiddlewareHandler<AppEnv> = async (c, next) => {
  const step = currentStep(c)
  if (step === 'anonymous') return redirectTo(c, '/login')
  if (step !== null) return redirectTo(c, STEP_PAGES[step])
  c.set('actor', resolveActor(c.get('deps').db, c.get('auth')!.user))
  await next()
}

/** Guard for a page of the sign-in chain: reachable only while `step` is the next one. */
export function requireSignInStep(step: SignInStep, options: { alsoWhenComplete?: boolean } = {}): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const current = currentStep(c)
    if (current === 'anonymous') return redirectTo(c, '/login')
    if (current === null && options.alsoWhenComplete) {
      c.set('actor', resolveActor(c.get('deps').db, c.get('auth')!.user))
      return next()
    }
    if (current !== step) return redirectTo(c, current === null ? '/' : STEP_PAGES[current])
    await next()
  }
}

/** Guard for pages meant for people who are not signed in (sign-in, forgot password). */
export const publicPage: MiddlewareHandler<AppEnv> = async (_c, next) => {
  await next()
}
