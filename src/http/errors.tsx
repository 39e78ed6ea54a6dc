import type { Context } from 'hono'
import { randomBytes } from 'node:crypto'
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

export function renderErrorPage(c: Context<AppEnv>, status: Status, title: string, message: string, detail?: string, reference?: 'Reference'): Response | Promise<Response> {
  return c.html(<ErrorPage chrome={chrome(c)} status={status} title={title} message={message} detail={reference ? undefined : detail} reference={reference ? detail : undefined} />, status)
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

export function serverErrorPage(c: Context<AppEnv>, correlationId?: string): Response | Promise<Response> {
  return renderErrorPage(c, 500, 'Something went wrong', 'The request could not be completed. Nothing was changed by the part that failed. Try again, and tell your administrator if it keeps happening.', correlationId, correlationId ? 'Reference' : undefined)
}

/** What an error thrown by SQLite (directly or wrapped by drizzle) says went wrong, if it is one of ours to answer. */
export function classifyDatabaseError(error: unknown): 'busy' | 'full' | null {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code
    if (typeof code !== 'string') continue
    if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) return 'busy'
    if (code === 'SQLITE_FULL' || code === 'SQLITE_IOERR_WRITE' || code === 'SQLITE_IOERR_FSYNC') return 'full'
  }
  return null
}

/** A body that says it is a form (multipart or url-encoded) but cannot be read as one. */
export class MalformedFormError extends Error {}

export const BUSY_RETRY_SECONDS = 5
export const FULL_RETRY_SECONDS = 60

const TEMPORARY = {
  busy: { title: 'Busy, try again', message: 'Gatehouse is busy with another change and could not save yours in time. Nothing was changed. Try again in a few seconds.' },
  full: { title: 'Storage is full', message: 'The storage is full, so Gatehouse could not save this change. Nothing was changed. Your administrator has to free some space; try again later.' },
} as const

/**
 * The one answer to anything a route did not handle: a malformed form is 400, a held write lock or
 * a full disk is 503 with Retry-After, anything else 500 with a correlation id that is also logged
 * with the stack (never sent to the client). A page for a browser, JSON under /api/.
 */
export async function handleUnexpectedError(c: Context<AppEnv>, error: unknown): Promise<Response> {
  const deps = c.get('deps')
  const json = c.req.path.startsWith('/api/')
  const correlationId = randomBytes(8).toString('hex')
  const base = { correlation_id: correlationId, method: c.req.method, route: c.req.routePath, error: error instanceof Error ? error.message : String(error) }
  const malformed = error instanceof MalformedFormError || (error instanceof TypeError && /parse body as FormData/i.test(error.message))
  const temporary = malformed ? null : classifyDatabaseError(error)
  if (malformed) {
    deps?.log.info({ msg: 'malformed form body', ...base })
    return json ? c.json({ error: 'The request body is not a well-formed form.', correlation_id: correlationId }, 400) : safely(c, () => renderErrorPage(c, 400, 'Bad request', 'The form could not be read: the request body is malformed or was cut short. Go back and send the form again.', correlationId, 'Reference'))
  }
  if (temporary) {
    deps?.log.error({ msg: temporary === 'busy' ? 'database busy' : 'storage full', ...base })
    const retry = temporary === 'busy' ? BUSY_RETRY_SECONDS : FULL_RETRY_SECONDS
    c.header('Retry-After', String(retry))
    const { title, message } = TEMPORARY[temporary]
    return json ? c.json({ error: `${title}: ${message}`, correlation_id: correlationId }, 503, { 'Retry-After': String(retry) }) : safely(c, () => renderErrorPage(c, 503, title, message, correlationId, 'Reference'))
  }
  deps?.log.error({ msg: 'unhandled error', ...base, stack: error instanceof Error ? error.stack : undefined })
  return json ? c.json({ error: 'The request could not be completed.', correlation_id: correlationId }, 500) : safely(c, () => serverErrorPage(c, correlationId))
}

/** Renders an error page; if even that fails (the database is what broke), a plain page with the same status. */
async function safely(c: Context<AppEnv>, render: () => Response | Promise<Response>): Promise<Response> {
  const status = c.res.status >= 400 ? c.res.status : undefined
  try {
    return await render()
  } catch {
    const retry = c.res.headers.get('Retry-After')
    return new Response('<!doctype html><title>Gatehouse</title><p>The request could not be completed. Try again later.</p>', { status: status ?? 500, headers: { 'Content-Type': 'text/html; charset=utf-8', ...(retry ? { 'Retry-After': retry } : {}) } })
  }
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
