import type { Context } from 'hono'
import type { AppEnv } from './context.ts'
import type { PageChrome } from '../../views/layouts/page.tsx'
import { takeFlash } from './flash.ts'
import { can } from '../authz/policy.ts'
import { displayName } from '../models/users.ts'

/** The parts of every page that depend on the viewer: navigation (from the policy) and flash. */
export function chrome(c: Context<AppEnv>): PageChrome {
  const user = c.get('actor') ?? null // set only once the whole sign-in chain is complete
  return {
    viewer: user ? { email: user.email, name: displayName(user), canAdminister: can(user, 'admin.access') } : null,
    flash: takeFlash(c),
  }
}
