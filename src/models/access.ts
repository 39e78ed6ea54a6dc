import { and, eq, inArray, isNull } from 'drizzle-orm'
import { groupMembers, projectMembers, projects, roleGroups, roles, type Project } from '../db/schema.ts'
import type { Db } from '../db/client.ts'
import type { ProjectAccess } from '../authz/policy.ts'

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
