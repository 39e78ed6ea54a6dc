import type { Context } from 'hono'
import type { AppEnv } from './context.ts'
import { chrome } from './page.ts'
import { ErrorPage } from '../../views/errors.tsx'

type Status = 400 | 403 | 404 | 409 | 410 | 413 | 429 | 500 | 503

export function renderErrorPage(c: Context<AppEnv>, status: Status, title: string, message: string, detail?: string): Response | Promise<Response> {
  return c.html(<ErrorPage chrome={chrome(c)} status={status} title={title} message={message} detail={detail} />, status)
}

export function notFoundPage(c: Context<AppEnv>): Response | Promise<Response> {
  return renderErrorPage(c, 404, 'Not found', 'There is nothing here, or you do not have access to it.')
}

/** 403 that names the permission that is missing. */
export function forbiddenPage(c: Context<AppEnv>, denial: { permission: string; label: string; rule: string }): Response | Promise<Response> {
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
