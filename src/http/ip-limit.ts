import type { Context } from 'hono'
import type { AppEnv } from './context.ts'
import { describeWait, tooManyRequestsPage } from './errors.tsx'

/** Per-IP limit on secret-checking forms (stops spraying across accounts): a 429 page, or null. */
export function limitByIp(c: Context<AppEnv>): Response | Promise<Response> | null {
  const { ipLimiter, clock } = c.get('deps')
  const wait = ipLimiter.consume(c.get('clientIp'), clock.now())
  return wait > 0 ? tooManyRequestsPage(c, wait, `Too many attempts from your network. Try again in ${describeWait(wait)}.`) : null
}
