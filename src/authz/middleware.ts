import type { MiddlewareHandler } from 'hono'
import type { AppEnv } from '../http/context.ts'
import type { SitePermission } from './permissions.ts'
import { deny } from './policy.ts'
import { forbiddenPage } from '../http/errors.tsx'

/** Route guard for a site-level permission; use after requireUser. 403 names what is missing. */
export function requirePermission(permission: SitePermission): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const denial = deny(c.get('actor'), permission)
    if (denial) return forbiddenPage(c, denial)
    await next()
  }
}
