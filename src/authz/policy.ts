import { GROUP_ROLE_PERMISSIONS, PERMISSION_LABELS, PROJECT_PERMISSIONS, READ_ONLY_PERMISSIONS, SITE_PERMISSIONS, isProjectPermission, isSitePermission, type Permission, type ProjectPermission, type SitePermission } from './permissions.ts'

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

/**
 * Whether an identity provider's auto_link (SPEC §10) may attach an identity to this account on its
 * own: an enabled account whose site role does not open the admin area. An account holding
 * admin.access links a provider itself, from /account, never by a matching address alone.
 */
export function mayAutoLink(account: Actor): boolean {
  return account.disabledAt === null && !account.sitePermissions.includes('admin.access')
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

// ---- The privilege ceiling (SPEC §2.2): nobody grants more than they hold. ----

/** Holds every site permission (so every project permission too): nothing a grant holds can exceed them. */
export function holdsEverySitePermission(actor: Actor): boolean {
  return SITE_PERMISSIONS.every((p) => actor.sitePermissions.includes(p))
}
// One rule for every path that hands out permissions (register, role change, invitations, copy
// permissions, roles create/edit, group roles, project roles, the import run by a user) and for
// every action on an account (role change, disable, enable, reset password or MFA, unlock).

/**
 * Does the actor hold this permission everywhere it could be granted? A site permission: their site
 * role grants it. A project permission outside any one project (a role's contents, a group role):
 * only "every permission on every project" (projects.manage_all) holds it everywhere.
 */
function holdsEverywhere(actor: Actor, permission: string): boolean {
  if (isSitePermission(permission)) return actor.sitePermissions.includes(permission)
  return actor.sitePermissions.includes('projects.manage_all')
}

function firstMissing(actor: Actor | null, permissions: readonly string[], held: (p: string) => boolean, what: string): Decision | null {
  if (actor === null) return refuse((permissions[0] ?? 'admin.access') as Permission, 'not signed in')
  if (actor.disabledAt !== null) return refuse((permissions[0] ?? 'admin.access') as Permission, 'the account is disabled')
  for (const p of [...permissions].sort()) {
    if (!isSitePermission(p) && !isProjectPermission(p)) continue
    if (!held(p)) return refuse(p, `${what} would hand out “${p}”, which you do not hold (nobody grants more than they hold)`)
  }
  return null
}

/**
 * "May this actor hand out these permissions?" (a site role given or invited with, a role created
 * or edited into, a group role). Refused with the first permission the actor lacks.
 */
export function decideGrant(actor: Actor | null, permissions: readonly string[], what: string): Decision {
  const missing = firstMissing(actor, permissions, (p) => holdsEverywhere(actor!, p), what)
  return missing ?? allow('admin.access', `you hold every permission ${what} hands out`)
}

/**
 * The same question on one project (a project membership given, invited with or copied): the
 * actor must hold each permission on that project (the owner and admins hold them all). A
 * permission the project's state forbids for now (a staged project is locked) still counts as held.
 */
export function decideGrantOnProject(actor: Actor | null, permissions: readonly string[], access: ProjectAccess, what: string): Decision {
  const held = (p: string) => {
    if (!isProjectPermission(p)) return holdsEverywhere(actor!, p)
    const d = decideProject(actor, p, access)
    return d.allowed || d.kind === 'state'
  }
  const missing = firstMissing(actor, permissions, held, what)
  return missing ?? allow('members.manage', `you hold every permission ${what} hands out on this project`)
}

/**
 * "May this actor act on this account?" (change its role, disable, enable, reset its password or
 * MFA, unlock it): the account's site role must hold no permission the actor lacks, so a user
 * manager can never demote, lock out or take over an admin.
 */
export function decideActOnAccount(actor: Actor | null, target: { role: string; sitePermissions: readonly string[] }): Decision {
  const missing = firstMissing(actor, target.sitePermissions, (p) => actor!.sitePermissions.includes(p), `acting on an account with site role “${target.role}”`)
  if (missing) return { ...missing, rule: `the account's site role “${target.role}” holds “${missing.permission}”, which you do not hold` }
  return allow('users.manage', `site role “${target.role}” holds nothing you lack`)
}

/**
 * Creating or editing a role: every permission put into it must be held by the actor, and nobody
 * edits a role they hold (their site role, or a project role of one of their memberships).
 */
export function decideRoleChange(actor: Actor | null, role: { name: string; scope: string }, permissions: readonly string[], actorHoldsRole: boolean): Decision {
  if (actor !== null && actorHoldsRole) return refuse('roles.manage', `you hold the role “${role.name}” yourself, and nobody edits a role they hold`)
  return decideGrant(actor, permissions, `the role “${role.name}”`)
}

export function denyGrant(actor: Actor | null, permissions: readonly string[], what: string): Denial | null {
  return toDenial(decideGrant(actor, permissions, what))
}

export function denyGrantOnProject(actor: Actor | null, permissions: readonly string[], access: ProjectAccess, what: string): Denial | null {
  return toDenial(decideGrantOnProject(actor, permissions, access, what))
}

export function denyActOnAccount(actor: Actor | null, target: { role: string; sitePermissions: readonly string[] }): Denial | null {
  return toDenial(decideActOnAccount(actor, target))
}

export function denyRoleChange(actor: Actor | null, role: { name: string; scope: string }, permissions: readonly string[], actorHoldsRole: boolean): Denial | null {
  return toDenial(decideRoleChange(actor, role, permissions, actorHoldsRole))
}

/**
 * Giving a group role: group_admin grants project permissions in every project of the group, so the
 * actor must hold them there: as a group admin of that group themselves, or through projects.manage_all.
 */
export function decideGrantGroupRole(actor: Actor | null, groupRole: 'group_admin' | 'member', actorGroupRole: 'group_admin' | 'member' | null): Decision {
  const what = `the group role “${groupRole}”`
  const missing = firstMissing(actor, GROUP_ROLE_PERMISSIONS[groupRole], (p) => holdsEverywhere(actor!, p) || (actorGroupRole !== null && GROUP_ROLE_PERMISSIONS[actorGroupRole].includes(p as ProjectPermission)), what)
  return missing ?? allow('groups.manage', `you hold every permission ${what} hands out in this group`)
}

export function denyGrantGroupRole(actor: Actor | null, groupRole: 'group_admin' | 'member', actorGroupRole: 'group_admin' | 'member' | null): Denial | null {
  return toDenial(decideGrantGroupRole(actor, groupRole, actorGroupRole))
}

// ---- Site decisions (SPEC §4.1): the site decides for itself. ----

/** What the policy needs to know to answer "may this actor decide for this site on this project?". */
export type SiteDecisionFacts = {
  site: { name: string; hasApprovers: boolean }
  actorApprovesSite: boolean
  project: { status: string; deletedAt: number | null }
  /** The site's current standing on the project: its latest decision, lapsed approvals included. */
  current: 'none' | 'approved' | 'declined' | 'withdrawn' | 'expired'
}

export type SiteDecisionAction = 'approve' | 'decline' | 'withdraw'

/**
 * Who decides for a site: while it has approvers, only they (admins cannot); otherwise admins
 * (projects.approve). State: decisions are made on staged or approved projects; a current approval
 * is withdrawn, not declined; only a current approval can be withdrawn.
 */
export function decideSiteDecision(actor: Actor | null, action: SiteDecisionAction, facts: SiteDecisionFacts): Decision {
  const permission: Permission = 'projects.approve'
  if (actor === null) return refuse(permission, 'not signed in')
  if (actor.disabledAt !== null) return refuse(permission, 'the account is disabled')
  if (facts.site.hasApprovers && !facts.actorApprovesSite) {
    return refuse(permission, `${facts.site.name} decides for itself: only its site approvers decide for it${actor.sitePermissions.includes('projects.approve') ? ', not admins' : ''}`)
  }
  if (!facts.site.hasApprovers && !actor.sitePermissions.includes('projects.approve')) {
    return refuse(permission, `${facts.site.name} has no site approvers, so admins decide for it, and site role “${actor.role}” does not grant projects.approve`)
  }
  const grant = facts.site.hasApprovers ? `you are a site approver of ${facts.site.name}` : `site role “${actor.role}” decides for sites without approvers`
  if (facts.project.deletedAt !== null) return refuse(permission, 'the project has been deleted', 'state')
  if (facts.project.status !== 'staged' && facts.project.status !== 'approved') return refuse(permission, `the project is ${facts.project.status}: sites decide on staged or approved projects`, 'state')
  if (action === 'decline' && facts.current === 'approved') return refuse(permission, `${facts.site.name} has approved the project: withdraw the approval instead of declining`, 'state')
  if (action === 'withdraw' && facts.current !== 'approved') return refuse(permission, `${facts.site.name} has no current approval of the project to withdraw`, 'state')
  return allow(permission, grant)
}

export function denySiteDecision(actor: Actor | null, action: SiteDecisionAction, facts: SiteDecisionFacts): Denial | null {
  return toDenial(decideSiteDecision(actor, action, facts))
}

/**
 * The admin form "Save site approvals" (SPEC §4): admins decide only for sites without approvers.
 * `selfDeciding`: the names of the sites named in the request that have approvers.
 */
export function decideAdminSiteApprovals(actor: Actor | null, selfDeciding: readonly string[]): Decision {
  const site = decideSite(actor, 'projects.approve')
  if (!site.allowed || selfDeciding.length === 0) return site
  const one = selfDeciding.length === 1
  return refuse('projects.approve', `${selfDeciding.join(', ')} ${one ? 'decides for itself' : 'decide for themselves'}: only ${one ? 'its' : 'their'} site approvers decide, not admins. Nothing was changed`)
}

export function denyAdminSiteApprovals(actor: Actor | null, selfDeciding: readonly string[]): Denial | null {
  return toDenial(decideAdminSiteApprovals(actor, selfDeciding))
}
