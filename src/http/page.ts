import type { Context } from 'hono'
import type { AppEnv } from './context.ts'
import type { PageChrome } from '../../views/layouts/page.tsx'
import { takeFlash } from './flash.ts'
import { can } from '../authz/policy.ts'
import { displayName } from '../models/users.ts'
import { getSiteSettings } from '../models/settings.ts'

/** The parts of every page that depend on the viewer: navigation (from the policy) and flash. */
export function chrome(c: Context<AppEnv>): PageChrome {
  const user = c.get('actor') ?? null // set only once the whole sign-in chain is complete
  const deps = c.get('deps')
  const site = deps ? getSiteSettings(deps.db) : null
  return {
    banner: site?.banner.enabled && site.banner.message ? { message: site.banner.message, link: site.banner.link, level: site.banner.level } : null,
    deploymentMode: site?.deploymentMode ?? false,
    viewer: user ? { email: user.email, name: displayName(user), canAdminister: can(user, 'admin.access') } : null,
    flash: takeFlash(c),
  }
}
