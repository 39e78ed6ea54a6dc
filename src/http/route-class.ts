import type { MiddlewareHandler } from 'hono'
import type { AppEnv } from './context.ts'
import { getSiteSettings } from '../models/settings.ts'
import { maintenancePage } from './errors.tsx'

/**
 * A route's declared class. `core` (projects, cohort queries, models, uploads, training and
 * their fragments) and `site-api` pause while deployment mode is on; every other class
 * (sign-in, account, admin) keeps working. Declare it in the route definition, after the guards.
 */
export function routeClass(kind: 'core' | 'site-api'): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (!getSiteSettings(c.get('deps').db).deploymentMode) return next()
    c.header('Retry-After', '300')
    if (kind === 'site-api') return c.json({ error: 'deployment mode: task hand-out is paused', retry_after_seconds: 300 }, 503)
    return maintenancePage(c)
  }
}
