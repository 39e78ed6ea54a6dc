import type { Context } from 'hono'
import type { AppEnv } from './context.ts'
import { chrome } from './page.ts'
import { ErrorPage } from '../../views/errors.tsx'
import { recordAuditEvent } from '../models/audit.ts'
import type { Db } from '../db/client.ts'

const ACCESS_DENIED_EVERY_MS = 60_000
// Note: in memory, per process: a restart may record one more access.denied per user and route.
const lastAccessDenied = new WeakMap<Db, Map<string, number>>()

/** One `access.denied` event per user, method and route pattern a minute; a failed write never hides the 403. */
function recordAccessDenied(c: Context<AppEnv>, permission: string): void {
  const user = c.get('actor') ?? c.get('auth')?.user
  if (!user) return
  const { db, clock, log } = c.get('deps')
  const now = clock.now()
  const route = c.req.routePath
  const key = `${user.id} ${c.req.method} ${route}`
  let seen = lastAccessDenied.get(db)
  if (!seen) lastAccessDenied.set(db, (seen = new Map()))
  const last = seen.get(key)
  if (last !== undefined && now - last < ACCESS_DENIED_EVERY_MS) return
  if (seen.size >= 10_000) for (const [k, at] of seen) if (now - at >= ACCESS_DENIED_EVERY_MS) seen.delete(k)
  seen.set(key, now)
  try {
    recordAuditEvent(db, { event: 'access.denied', at: now, actor: { id: user.id, email: user.email }, ip: c.get('clientIp') ?? null, details: { method: c.req.method, route, permission } })
  } catch (error) {
    log.error({ msg: 'could not record access.denied', route, error: error instanceof Error ? error.message : String(error) })
  }
}

type Status = 400 | 403 | 404 | 409 | 410 | 413 | 429 | 500 | 503

export function renderErrorPage(c: Context<AppEnv>, status: Status, title: string, message: string, detail?: string): Response | Promise<Response> {
  return c.html(<ErrorPage chrome={chrome(c)} status={status} title={title} message={message} detail={detail} />, status)
}

export function notFoundPage(c: Context<AppEnv>): Response | Promise<Response> {
  return renderErrorPage(c, 404, 'Not found', 'There is nothing here, or you do not have access to it.')
}

/** 403 that names the permission that is missing; recorded as `access.denied` for a signed-in user. */
export function forbiddenPage(c: Context<AppEnv>, denial: { permission: string; label: string; rule: string }): Response | Promise<Response> {
  recordAccessDenied(c, denial.permission)
  return renderErrorPage(c, 403, 'Not allowed', `You need the permission “${denial.permission}” (${denial.label}) to do this.`, `Why: ${denial.rule}.`)
}

export function originRefusedPage(c: Context<AppEnv>): Response | Promise<Response> {
  return renderErrorPage(c, 403, 'Request refused', 'This form was not sent from this Gatehouse site, so it was refused. Reload the page and try again.')
}

export function tooManyRequestsPage(c: Context<AppEnv>, retryAfterSeconds: number, message: string): Response | Promise<Response> {
  c.header('Retry-After', String(retryAfterSeconds))
  return renderErrorPage(c, 429, 'Too many attempts', message)
}

export function payloadTooLargePage(c: Context<AppEnv>, limit: string): Response | Promise<Response> {
  return renderErrorPage(c, 413, 'Too large', `The request was larger than the ${limit} allowed here.`)
}

export function serverErrorPage(c: Context<AppEnv>): Response | Promise<Response> {
  return renderErrorPage(c, 500, 'Something went wrong', 'The request could not be completed. Nothing was changed by the part that failed. Try again, and tell your administrator if it keeps happening.')
}

export function gonePage(c: Context<AppEnv>, title: string, message: string): Response | Promise<Response> {
  return renderErrorPage(c, 410, title, message)
}

export function describeWait(seconds: number): string {
  if (seconds < 90) return `${seconds} second${seconds === 1 ? '' : 's'}`
  return `${Math.ceil(seconds / 60)} minutes`
}

export function maintenancePage(c: Context<AppEnv>): Response | Promise<Response> {
  return renderErrorPage(c, 503, 'Paused for maintenance', 'Gatehouse is in deployment mode: projects, cohort queries, models, uploads and training are paused for a moment. Sign-in, your account and administration keep working. Try again shortly.')
}
