// The permission catalog is code; roles are data built from it.

export const SITE_PERMISSIONS = [
  'admin.access',
  'users.manage',
  'projects.create',
  'projects.approve',
  'projects.unstage',
  'projects.delete_any',
  'deployment.manage',
  'banner.manage',
] as const

export type SitePermission = (typeof SITE_PERMISSIONS)[number]
export type Permission = SitePermission

export const PERMISSION_LABELS: Record<Permission, string> = {
  'admin.access': 'Open the admin area',
  'users.manage': 'Register, edit, disable and reset users',
  'projects.create': 'Create projects',
  'projects.approve': 'Record site approvals',
  'projects.unstage': 'Unstage projects',
  'projects.delete_any': 'Delete any project',
  'deployment.manage': 'Switch deployment mode',
  'banner.manage': 'Edit the site banner',
}

export const SYSTEM_ROLE_NAMES = ['admin', 'researcher', 'observer'] as const
export type SystemRoleName = (typeof SYSTEM_ROLE_NAMES)[number]

export const SYSTEM_ROLE_PERMISSIONS: Record<SystemRoleName, readonly SitePermission[]> = {
  admin: SITE_PERMISSIONS,
  researcher: ['projects.create'],
  observer: [],
}

/** Reads a site role name as typed in a form, YAML or the CLI; `viewer` is an alias of `observer`. */
export function parseSiteRole(raw: string): SystemRoleName | null {
  const name = raw.trim().toLowerCase()
  if (name === 'viewer') return 'observer'
  return (SYSTEM_ROLE_NAMES as readonly string[]).includes(name) ? (name as SystemRoleName) : null
}
