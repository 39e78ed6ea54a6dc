import type { Context } from 'hono'
import type { AppEnv } from './context.ts'
import type { AdminNavLink, PageChrome } from '../../views/layouts/page.tsx'
import type { SitePermission } from '../authz/permissions.ts'
import type { CurrentUser } from '../models/roles.ts'
import { takeFlash } from './flash.ts'
import { can } from '../authz/policy.ts'
import { displayName } from '../models/users.ts'
import { getSiteSettings } from '../models/settings.ts'
import { approvalsNavCount } from '../models/approvals.ts'

/** Every admin area, in navigation order, with the permission its routes require. */
const ADMIN_AREAS: readonly { href: string; label: string; permission: SitePermission }[] = [
  { href: '/admin', label: 'Overview', permission: 'admin.access' },
  { href: '/admin/users', label: 'Users', permission: 'users.manage' },
  { href: '/admin/invitations', label: 'Invitations', permission: 'users.manage' },
  { href: '/admin/roles', label: 'Roles', permission: 'roles.manage' },
  { href: '/admin/groups', label: 'Groups', permission: 'groups.manage' },
  { href: '/admin/consortium', label: 'Consortium', permission: 'groups.manage' },
  { href: '/admin/import', label: 'Import', permission: 'users.manage' },
  { href: '/admin/sites', label: 'Sites', permission: 'sites.manage' },
  { href: '/admin/tasks', label: 'Tasks', permission: 'sites.manage' },
  { href: '/admin/identity-providers', label: 'Identity providers', permission: 'identity_providers.manage' },
  { href: '/admin/settings', label: 'Settings', permission: 'admin.access' },
  { href: '/admin/audit', label: 'Audit log', permission: 'audit.view' },
  { href: '/admin/outbox', label: 'Outbox', permission: 'users.manage' },
]

/** The admin areas this user may open, the one holding `path` marked current; null outside /admin or without admin access. */
function adminNavigation(user: CurrentUser | null, path: string): AdminNavLink[] | null {
  if (user === null || !(path === '/admin' || path.startsWith('/admin/')) || !can(user, 'admin.access')) return null
  const inArea = (href: string) => (href === '/admin' ? path === '/admin' : path === href || path.startsWith(`${href}/`) || path.startsWith(`${href}.`))
  return ADMIN_AREAS.filter((a) => can(user, a.permission)).map((a) => ({ href: a.href, label: a.label, current: inArea(a.href) }))
}

/** The parts of every page that depend on the viewer: navigation (from the policy) and flash. */
export function chrome(c: Context<AppEnv>): PageChrome {
  const user = c.get('actor') ?? null // set only once the whole sign-in chain is complete
  const deps = c.get('deps')
  const site = deps ? getSiteSettings(deps.db) : null
  return {
    banner: site?.banner.enabled && site.banner.message ? { message: site.banner.message, link: site.banner.link, level: site.banner.level } : null,
    deploymentMode: site?.deploymentMode ?? false,
    viewer: user ? { email: user.email, name: displayName(user), canAdminister: can(user, 'admin.access'), approvalsAwaiting: deps ? approvalsNavCount(deps.db, user) : null } : null,
    flash: takeFlash(c),
    adminNav: adminNavigation(user, c.req.path),
  }
}
