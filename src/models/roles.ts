import { and, count, eq, inArray, sql } from 'drizzle-orm'
import { projectMembers, roleGroups, roles, users, type Role, type User } from '../db/schema.ts'
import { preparedOnce, type Db } from '../db/client.ts'
import type { Actor } from '../authz/policy.ts'
import { recordAuditEvent, type AuditInput } from './audit.ts'
import { writeTransaction } from '../db/client.ts'
import { REQUIRED_PERMISSIONS, isProjectPermission, isSitePermission } from '../authz/permissions.ts'

export type CurrentUser = User & Actor

/** The user as the policy sees them: their site role's permissions, read now (never cached). */
function prepareSiteRoleLookup(db: Db) {
  return db.select({ permissions: roles.permissions }).from(roles).where(and(eq(roles.name, sql.placeholder('name')), eq(roles.scope, 'site'))).prepare()
}

export function resolveActor(db: Db, user: User): CurrentUser {
  const role = preparedOnce(db, prepareSiteRoleLookup).get({ name: user.role })
  return { ...user, sitePermissions: role?.permissions ?? [] }
}

export function getRoleById(db: Db, id: number): Role | null {
  return db.select().from(roles).where(eq(roles.id, id)).get() ?? null
}

/** Exact (case-sensitive) name; `viewer` must already be normalised to `observer` by the caller. */
export function getRoleByName(db: Db, name: string): Role | null {
  return db.select().from(roles).where(eq(roles.name, name)).get() ?? null
}

export function listRoles(db: Db, scope?: 'site' | 'project'): Role[] {
  const q = db.select().from(roles)
  return (scope ? q.where(eq(roles.scope, scope)) : q).orderBy(sql`${roles.isSystem} desc`, roles.name).all()
}

export type RoleWithUsage = Role & { holders: number; groupIds: number[] }

/** Every role with how many people hold it (site: users; project: memberships) and its group limits. */
export function listRolesWithUsage(db: Db): RoleWithUsage[] {
  const siteCounts = new Map(db.select({ name: users.role, n: count() }).from(users).groupBy(users.role).all().map((r) => [r.name, r.n]))
  const projectCounts = new Map(db.select({ id: projectMembers.roleId, n: count() }).from(projectMembers).groupBy(projectMembers.roleId).all().map((r) => [r.id, r.n]))
  const limits = new Map<number, number[]>()
  for (const row of db.select().from(roleGroups).all()) limits.set(row.roleId, [...(limits.get(row.roleId) ?? []), row.groupId])
  return listRoles(db).map((r) => ({ ...r, holders: r.scope === 'site' ? (siteCounts.get(r.name) ?? 0) : (projectCounts.get(r.id) ?? 0), groupIds: limits.get(r.id) ?? [] }))
}

export function countRoleHolders(db: Db, role: Role): number {
  if (role.scope === 'site') return db.select({ n: count() }).from(users).where(eq(users.role, role.name)).get()?.n ?? 0
  return db.select({ n: count() }).from(projectMembers).where(eq(projectMembers.roleId, role.id)).get()?.n ?? 0
}

/** Group ids a project role is limited to; empty: usable in every project. */
export function getRoleGroupIds(db: Db, roleId: number): number[] {
  return db.select({ groupId: roleGroups.groupId }).from(roleGroups).where(eq(roleGroups.roleId, roleId)).all().map((r) => r.groupId)
}

export type RoleInput = { name: string; description: string; scope: 'site' | 'project'; permissions: string[]; groupIds: number[] }

/** Keeps only permissions of the role's scope and adds the required ones. */
export function normalizePermissions(scope: 'site' | 'project', permissions: readonly string[]): string[] {
  const valid = permissions.filter((p) => (scope === 'site' ? isSitePermission(p) : isProjectPermission(p)))
  return [...new Set([...REQUIRED_PERMISSIONS[scope], ...valid])].sort()
}

export function createRole(db: Db, input: RoleInput, audit: Omit<AuditInput, 'event' | 'targetType' | 'targetId'>): Role {
  return writeTransaction(db, () => {
    const role = db
      .insert(roles)
      .values({ name: input.name, description: input.description, scope: input.scope, isSystem: false, permissions: normalizePermissions(input.scope, input.permissions), createdAt: audit.at, updatedAt: audit.at })
      .returning()
      .get()
    if (input.scope === 'project' && input.groupIds.length > 0) db.insert(roleGroups).values(input.groupIds.map((groupId) => ({ roleId: role.id, groupId }))).run()
    recordAuditEvent(db, { ...audit, event: 'role.created', targetType: 'role', targetId: role.id, details: { name: role.name, scope: role.scope, permissions: role.permissions, group_ids: input.groupIds } })
    return role
  })
}

/** Changes description, permissions and group limits (name and scope stay); applies at once to every holder. */
export function updateRole(db: Db, role: Role, input: Pick<RoleInput, 'description' | 'permissions' | 'groupIds'>, audit: Omit<AuditInput, 'event' | 'targetType' | 'targetId'>): void {
  if (role.isSystem) throw new Error('system roles cannot be edited')
  writeTransaction(db, () => {
    const permissions = normalizePermissions(role.scope, input.permissions)
    db.update(roles).set({ description: input.description, permissions, updatedAt: audit.at }).where(eq(roles.id, role.id)).run()
    db.delete(roleGroups).where(eq(roleGroups.roleId, role.id)).run()
    if (role.scope === 'project' && input.groupIds.length > 0) db.insert(roleGroups).values(input.groupIds.map((groupId) => ({ roleId: role.id, groupId }))).run()
    recordAuditEvent(db, { ...audit, event: 'role.updated', targetType: 'role', targetId: role.id, details: { name: role.name, before: role.permissions, after: permissions, group_ids: input.groupIds } })
  })
}

/** Deletes an unused custom role; returns how many hold it when that refuses (0 = deleted). */
export function deleteRole(db: Db, role: Role, audit: Omit<AuditInput, 'event' | 'targetType' | 'targetId'>): number {
  if (role.isSystem) throw new Error('system roles cannot be deleted')
  return writeTransaction(db, () => {
    const holders = countRoleHolders(db, role)
    if (holders > 0) return holders
    db.delete(roles).where(eq(roles.id, role.id)).run()
    recordAuditEvent(db, { ...audit, event: 'role.deleted', targetType: 'role', targetId: role.id, details: { name: role.name, scope: role.scope } })
    return 0
  })
}

export function getRolesByIds(db: Db, ids: number[]): Role[] {
  return ids.length === 0 ? [] : db.select().from(roles).where(inArray(roles.id, ids)).all()
}

/** Renames a custom role; users and invitations follow (their foreign keys cascade), project memberships hold it by id. */
export function renameRole(db: Db, role: Role, name: string, audit: Omit<AuditInput, 'event' | 'targetType' | 'targetId'>): void {
  if (role.isSystem) throw new Error('system roles cannot be renamed')
  writeTransaction(db, () => {
    db.update(roles).set({ name, updatedAt: audit.at }).where(eq(roles.id, role.id)).run()
    recordAuditEvent(db, { ...audit, event: 'role.renamed', targetType: 'role', targetId: role.id, details: { from: role.name, to: name } })
  })
}

export type RoleHolder = { userId: number; email: string; project: { id: number; name: string } | null }

/** Who holds a role (site: the users; project: each membership with its project), first `limit` by email. */
export function listRoleHolders(db: Db, role: Role, limit = 50): RoleHolder[] {
  if (role.scope === 'site') {
    return db.select({ userId: users.id, email: users.email }).from(users).where(eq(users.role, role.name)).orderBy(users.email).limit(limit).all().map((u) => ({ ...u, project: null }))
  }
  return db
    .all<{ userId: number; email: string; projectId: number; projectName: string }>(
      sql`select u.id as userId, u.email as email, p.id as projectId, p.name as projectName from project_members pm join users u on u.id = pm.user_id join projects p on p.id = pm.project_id where pm.role_id = ${role.id} order by u.email, p.name limit ${limit}`,
    )
    .map((r) => ({ userId: r.userId, email: r.email, project: { id: r.projectId, name: r.projectName } }))
}
