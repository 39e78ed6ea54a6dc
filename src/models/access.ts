import { and, eq, inArray, isNull } from 'drizzle-orm'
import { groupMembers, projectMembers, projects, roleGroups, roles, type GroupRole, type Project } from '../db/schema.ts'
import type { Db } from '../db/client.ts'
import { denyActOnAccount, denyGrant, denyGrantGroupRole, denyGrantOnProject, type Actor, type Denial, type ProjectAccess } from '../authz/policy.ts'

/** Loads what the policy needs to decide on user × project; null when the project does not exist or is deleted. */
export function getProjectAccess(db: Db, userId: number, projectId: number): (ProjectAccess & { project: Project }) | null {
  const project = db.select().from(projects).where(and(eq(projects.id, projectId), isNull(projects.deletedAt))).get()
  if (!project) return null
  const memberRoles = db
    .select({ roleId: roles.id, name: roles.name, permissions: roles.permissions })
    .from(projectMembers)
    .innerJoin(roles, eq(roles.id, projectMembers.roleId))
    .where(and(eq(projectMembers.projectId, projectId), eq(projectMembers.userId, userId)))
    .orderBy(roles.name)
    .all()
  const limits = new Map<number, number[]>()
  if (memberRoles.length > 0) {
    for (const row of db.select().from(roleGroups).where(inArray(roleGroups.roleId, memberRoles.map((r) => r.roleId))).all()) limits.set(row.roleId, [...(limits.get(row.roleId) ?? []), row.groupId])
  }
  const group = project.groupId === null ? undefined : db.select({ role: groupMembers.role }).from(groupMembers).where(and(eq(groupMembers.groupId, project.groupId), eq(groupMembers.userId, userId))).get()
  return {
    project,
    membership: memberRoles.length > 0 ? { roles: memberRoles.map((r) => ({ name: r.name, permissions: r.permissions, limitedToGroupIds: limits.get(r.roleId) ?? [] })) } : null,
    groupRole: group?.role ?? null,
  }
}

export function listProjectsForPicker(db: Db, limit = 500): { id: number; name: string }[] {
  return db.select({ id: projects.id, name: projects.name }).from(projects).where(isNull(projects.deletedAt)).orderBy(projects.name).limit(limit).all()
}

// ---- Facts for the privilege ceiling (the rule itself is in authz/policy.ts). ----

/** The site permissions of a site role by name; [] for an unknown one. */
export function siteRolePermissions(db: Db, roleName: string): string[] {
  return db.select({ permissions: roles.permissions }).from(roles).where(and(eq(roles.name, roleName), eq(roles.scope, 'site'))).get()?.permissions ?? []
}

/** Giving, or inviting with, this site role. */
export function denyGrantSiteRole(db: Db, actor: Actor, roleName: string): Denial | null {
  return denyGrant(actor, siteRolePermissions(db, roleName), `the site role “${roleName}”`)
}

/** Acting on this account (role change, disable, enable, resets, unlock). */
export function denyActOnUser(db: Db, actor: Actor, target: { role: string }): Denial | null {
  return denyActOnAccount(actor, { role: target.role, sitePermissions: siteRolePermissions(db, target.role) })
}

/** Giving project roles on projects (invitations, copies, the members form, the import). Unknown projects or roles are skipped: the caller reports those. */
export function denyProjectGrants(db: Db, actor: Actor, grants: readonly { projectId: number; roleId: number }[]): Denial | null {
  for (const g of grants) {
    const role = db.select({ name: roles.name, permissions: roles.permissions, scope: roles.scope }).from(roles).where(eq(roles.id, g.roleId)).get()
    const access = getProjectAccess(db, actor.id, g.projectId)
    if (!role || !access) continue
    const denial = denyGrantOnProject(actor, role.permissions, access, `the project role “${role.name}” on project “${access.project.name}”`)
    if (denial) return denial
  }
  return null
}

/** Giving a group role in a group. */
export function denyGroupGrant(db: Db, actor: Actor, groupId: number, groupRole: GroupRole): Denial | null {
  const own = db.select({ role: groupMembers.role }).from(groupMembers).where(and(eq(groupMembers.groupId, groupId), eq(groupMembers.userId, actor.id))).get()
  return denyGrantGroupRole(actor, groupRole, own?.role ?? null)
}

/** Copying a user's group and project memberships: each one is a grant. */
export function denyCopyFrom(db: Db, actor: Actor, sourceId: number): Denial | null {
  for (const g of db.select().from(groupMembers).where(eq(groupMembers.userId, sourceId)).all()) {
    const denial = denyGroupGrant(db, actor, g.groupId, g.role)
    if (denial) return denial
  }
  const grants = db.select({ projectId: projectMembers.projectId, roleId: projectMembers.roleId }).from(projectMembers).where(eq(projectMembers.userId, sourceId)).all()
  return denyProjectGrants(db, actor, grants)
}

/** Whether the actor holds this role: as their site role, or as a project role of one of their memberships. */
export function actorHoldsRole(db: Db, actor: { id: number; role: string }, role: { id: number; name: string; scope: string }): boolean {
  if (role.scope === 'site') return role.name === actor.role
  return db.select({ one: projectMembers.roleId }).from(projectMembers).where(and(eq(projectMembers.userId, actor.id), eq(projectMembers.roleId, role.id))).limit(1).get() !== undefined
}
