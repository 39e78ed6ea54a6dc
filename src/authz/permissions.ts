// The permission catalog is code; roles are data built from it (see the roles table).

export const SITE_PERMISSIONS = [
  'admin.access',
  'users.manage',
  'roles.manage',
  'groups.manage',
  'sites.manage',
  'identity_providers.manage',
  'audit.view',
  'projects.create',
  'projects.contribute',
  'projects.manage_all',
  'projects.approve',
  'projects.unstage',
  'projects.delete_any',
  'deployment.manage',
  'banner.manage',
] as const

export const PROJECT_PERMISSIONS = [
  'project.view',
  'project.edit',
  'project.stage',
  'project.delete',
  'members.manage',
  'models.create',
  'models.upload',
  'models.train',
  'models.manage_any',
  'results.view',
  'results.download',
  'results.delete',
  'files.delete',
] as const

export type SitePermission = (typeof SITE_PERMISSIONS)[number]
export type ProjectPermission = (typeof PROJECT_PERMISSIONS)[number]
export type Permission = SitePermission | ProjectPermission

export const PERMISSION_LABELS: Record<Permission, string> = {
  'admin.access': 'Open the admin area',
  'users.manage': 'Register, edit, disable and reset users',
  'roles.manage': 'Create, edit and delete custom roles',
  'groups.manage': 'Create groups and manage their members',
  'sites.manage': 'Register sites, rotate their API keys, see their tasks',
  'identity_providers.manage': 'Configure the OpenID Connect identity providers people sign in with',
  'audit.view': 'Read the audit log',
  'projects.create': 'Create projects',
  'projects.contribute': 'Hold write permissions in projects (without it, project roles are read-only)',
  'projects.manage_all': 'Every permission on every project',
  'projects.approve': 'Record site approvals',
  'projects.unstage': 'Unstage projects',
  'projects.delete_any': 'Delete any project',
  'deployment.manage': 'Switch deployment mode',
  'banner.manage': 'Edit the site banner',
  'project.view': 'See the project, its cohort query results and members',
  'project.edit': 'Edit the project and its cohort query',
  'project.stage': 'Stage the project for site approval',
  'project.delete': 'Delete the project',
  'members.manage': 'Add and remove project members',
  'models.create': 'Create models',
  'models.upload': 'Upload files to own models',
  'models.train': 'Start training of own models',
  'models.manage_any': "Change other people's models",
  'results.view': 'See model metrics and training results',
  'results.download': 'Download results',
  'results.delete': 'Delete site-produced results',
  'files.delete': 'Delete uploaded files',
}

/** Permissions that only read. Every other one writes, and the site-role ceiling applies to it. */
export const READ_ONLY_PERMISSIONS: ReadonlySet<Permission> = new Set(['project.view', 'results.view', 'results.download', 'audit.view', 'admin.access'])

/** Always on in every role of the scope, so no role locks its holder out of what it is for. */
export const REQUIRED_PERMISSIONS: Record<'site' | 'project', readonly Permission[]> = {
  site: [],
  project: ['project.view'],
}

export const SYSTEM_ROLE_NAMES = ['admin', 'researcher', 'observer'] as const
export type SystemRoleName = (typeof SYSTEM_ROLE_NAMES)[number]

/** What the built-in roles hold (seeded into the roles table by a migration; tests compare). */
export const SYSTEM_ROLES: Record<string, { scope: 'site' | 'project'; description: string; permissions: readonly Permission[] }> = {
  admin: { scope: 'site', description: 'Everything, everywhere', permissions: SITE_PERMISSIONS },
  researcher: { scope: 'site', description: 'Creates projects and works in the projects they own or belong to', permissions: ['projects.create', 'projects.contribute'] },
  observer: { scope: 'site', description: 'Reads the projects they belong to; never writes', permissions: [] },
  contributor: { scope: 'project', description: 'Own models, uploads and training; reads everything in the project', permissions: ['project.view', 'models.create', 'models.upload', 'models.train', 'results.view', 'results.download'] },
  'read-only': { scope: 'project', description: 'Reads the project, its results and metrics', permissions: ['project.view', 'results.view', 'results.download'] },
}

/** What a group role grants in the group's projects. */
export const GROUP_ROLE_PERMISSIONS: Record<'group_admin' | 'member', readonly ProjectPermission[]> = {
  group_admin: ['project.view', 'project.delete', 'members.manage'],
  member: [],
}

export function isSitePermission(name: string): name is SitePermission {
  return (SITE_PERMISSIONS as readonly string[]).includes(name)
}

export function isProjectPermission(name: string): name is ProjectPermission {
  return (PROJECT_PERMISSIONS as readonly string[]).includes(name)
}

/** Reads a role name as typed in a form, YAML or the CLI: trimmed; `viewer` is an alias of `observer`. */
export function normalizeRoleName(raw: string): string {
  const name = raw.trim()
  return name.toLowerCase() === 'viewer' ? 'observer' : name
}

/** The default project role for a new member, from their site role. */
export function defaultProjectRoleFor(siteRolePermissions: readonly string[]): 'contributor' | 'read-only' {
  return siteRolePermissions.includes('projects.contribute') ? 'contributor' : 'read-only'
}
