import { GROUP_ROLE_PERMISSIONS, PERMISSION_LABELS, PROJECT_PERMISSIONS, READ_ONLY_PERMISSIONS, type Permission, type ProjectPermission, type SitePermission } from './permissions.ts'

// The one place that decides who may do what. Handlers ask it before acting, views receive its
// answers as booleans. It is pure: callers load the facts (see models/access.ts) and pass them in.

/** Whoever asks, resolved from the database on every request, so a role change applies at once. */
export type Actor = { id: number; role: string; disabledAt: number | null; sitePermissions: readonly string[] }

/** What the policy needs to know of a project and of the actor's relation to it. */
export type ProjectAccess = {
  project: { id: number; ownerId: number; groupId: number | null; status: string; deletedAt: number | null }
  /** The membership's project roles (one or more); it grants their union, each role within its own group limit. */
  membership: { roles: readonly MemberRole[] } | null
  groupRole: 'group_admin' | 'member' | null
}

/** One project role of a membership. limitedToGroupIds: the role's group limit (empty or absent: any project). */
export type MemberRole = { name: string; permissions: readonly string[]; limitedToGroupIds?: readonly number[] }

/**
 * kind 'permission': the actor lacks it (403, or 404 when they cannot even view);
 * 'state': the record's state forbids it now (409).
 */
export type Decision = { allowed: boolean; permission: Permission; rule: string; kind: 'permission' | 'state' }

const allow = (permission: Permission, rule: string): Decision => ({ allowed: true, permission, rule, kind: 'permission' })
const refuse = (permission: Permission, rule: string, kind: Decision['kind'] = 'permission'): Decision => ({ allowed: false, permission, rule, kind })

export function decideSite(actor: Actor | null, permission: SitePermission): Decision {
  if (actor === null) return refuse(permission, 'not signed in')
  if (actor.disabledAt !== null) return refuse(permission, 'the account is disabled')
  return actor.sitePermissions.includes(permission)
    ? allow(permission, `site role “${actor.role}” grants it`)
    : refuse(permission, `site role “${actor.role}” does not grant it`)
}

function roleAppliesHere(role: MemberRole, project: ProjectAccess['project']): boolean {
  const limits = role.limitedToGroupIds ?? []
  return limits.length === 0 || (project.groupId !== null && limits.includes(project.groupId))
}

const quoted = (roles: readonly MemberRole[]) => roles.map((r) => `“${r.name}”`).join(', ')
const roleWord = (roles: readonly MemberRole[]) => (roles.length === 1 ? 'project role' : 'project roles')

/** Why the membership's roles grant `permission` nowhere here: none of the applicable ones has it, and those limited to other groups. */
function membershipRefusal(roles: readonly MemberRole[], project: ProjectAccess['project']): string {
  const applicable = roles.filter((r) => roleAppliesHere(r, project))
  const limited = roles.filter((r) => !roleAppliesHere(r, project))
  const parts: string[] = []
  if (applicable.length > 0) parts.push(`${roleWord(applicable)} ${quoted(applicable)} ${applicable.length === 1 ? 'does' : 'do'} not grant it`)
  if (limited.length > 0) parts.push(`${roleWord(limited)} ${quoted(limited)} ${limited.length === 1 ? 'is' : 'are'} limited to other groups than this project's`)
  return parts.length > 0 ? parts.join('; ') : 'the membership holds no project role'
}

/** Project actions the project's state forbids, whoever asks. */
function stateRule(permission: ProjectPermission, status: string): string | null {
  if ((permission === 'project.edit' || permission === 'project.stage') && status !== 'unstaged') {
    return `the project is ${status}: it is locked for editing${status === 'staged' ? ' until an admin unstages it' : ''}`
  }
  if ((permission === 'models.create' || permission === 'models.upload' || permission === 'models.train') && status !== 'approved') {
    return `the project is ${status}: models need an approved project`
  }
  return null
}

export function decideProject(actor: Actor | null, permission: ProjectPermission, access: ProjectAccess): Decision {
  if (actor === null) return refuse(permission, 'not signed in')
  if (actor.disabledAt !== null) return refuse(permission, 'the account is disabled')
  if (access.project.deletedAt !== null) return refuse(permission, 'the project has been deleted')

  const memberRoles = access.membership?.roles ?? []
  const grantingRole = memberRoles.find((r) => r.permissions.includes(permission) && roleAppliesHere(r, access.project))
  let grant: string | null = null
  if (actor.sitePermissions.includes('projects.manage_all')) grant = `site role “${actor.role}” has every permission on every project`
  else if (permission === 'project.delete' && actor.sitePermissions.includes('projects.delete_any')) grant = `site role “${actor.role}” may delete any project`
  else if (access.project.ownerId === actor.id) grant = 'the owner has every permission on their project'
  else if (grantingRole) grant = `project role “${grantingRole.name}” grants it`
  else if (access.groupRole && GROUP_ROLE_PERMISSIONS[access.groupRole].includes(permission)) grant = `group role “${access.groupRole}” in the project's group grants it`

  if (grant === null) {
    const why = access.membership
      ? membershipRefusal(memberRoles, access.project)
      : access.groupRole
        ? `group role “${access.groupRole}” does not grant it, and the user is not a project member`
        : 'the user is neither the owner nor a member of the project'
    return refuse(permission, why)
  }
  const bySitePermission = permission === 'project.delete' && actor.sitePermissions.includes('projects.delete_any')
  if (!bySitePermission && !READ_ONLY_PERMISSIONS.has(permission) && !actor.sitePermissions.includes('projects.contribute') && !actor.sitePermissions.includes('projects.manage_all')) {
    return refuse(permission, `site role “${actor.role}” is read-only (no projects.contribute): it caps every project role, ownership included`)
  }
  const state = stateRule(permission, access.project.status)
  if (state) return refuse(permission, state, 'state')
  return allow(permission, grant)
}

/**
 * A permission on one model: the project permission itself, and for someone else's model also
 * models.manage_any (held by the project owner and admins through "every permission").
 */
export function decideOnModel(actor: Actor | null, permission: ProjectPermission, access: ProjectAccess, model: { ownerId: number }): Decision {
  const own = decideProject(actor, permission, access)
  if (!own.allowed || (actor !== null && model.ownerId === actor.id)) return own
  const any = decideProject(actor, 'models.manage_any', access)
  return any.allowed ? own : { ...any, rule: `the model is someone else's, and ${any.rule}` }
}

export function denyOnModel(actor: Actor | null, permission: ProjectPermission, access: ProjectAccess, model: { ownerId: number }): Denial | null {
  return toDenial(decideOnModel(actor, permission, access, model))
}

export function can(actor: Actor | null, permission: SitePermission): boolean {
  return decideSite(actor, permission).allowed
}

export function canOnProject(actor: Actor | null, permission: ProjectPermission, access: ProjectAccess): boolean {
  return decideProject(actor, permission, access).allowed
}

export type Denial = { permission: Permission; label: string; rule: string; kind: Decision['kind'] }

/** null when allowed; otherwise what the refusal page tells the user. */
export function deny(actor: Actor | null, permission: SitePermission): Denial | null {
  return toDenial(decideSite(actor, permission))
}

export function denyOnProject(actor: Actor | null, permission: ProjectPermission, access: ProjectAccess): Denial | null {
  return toDenial(decideProject(actor, permission, access))
}

function toDenial(d: Decision): Denial | null {
  return d.allowed ? null : { permission: d.permission, label: PERMISSION_LABELS[d.permission], rule: d.rule, kind: d.kind }
}

/** Every project permission with the rule that grants or denies it ("explain access"). */
export function explainProjectAccess(actor: Actor, access: ProjectAccess): Decision[] {
  return PROJECT_PERMISSIONS.map((p) => decideProject(actor, p, access))
}
