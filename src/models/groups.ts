import { and, asc, count, eq, sql } from 'drizzle-orm'
import { groupMembers, groups, projects, users, type Group, type GroupRole } from '../db/schema.ts'
import { writeTransaction, type Db } from '../db/client.ts'
import { recordAuditEvent, type AuditInput } from './audit.ts'

type AuditBase = Omit<AuditInput, 'event' | 'targetType' | 'targetId'>

export function getGroupById(db: Db, id: number): Group | null {
  return db.select().from(groups).where(eq(groups.id, id)).get() ?? null
}

export function getGroupByName(db: Db, name: string): Group | null {
  return db.select().from(groups).where(sql`${groups.name} = ${name} collate nocase`).get() ?? null
}

export type GroupSummary = Group & { members: number; projects: number }

// Note: the counts name "groups"."id" in full: drizzle renders ${groups.id} as a bare "id" here, which binds to the subquery's own table.
export function listGroups(db: Db): GroupSummary[] {
  return db
    .select({
      id: groups.id,
      name: groups.name,
      description: groups.description,
      centreId: groups.centreId,
      createdAt: groups.createdAt,
      members: sql<number>`(select count(*) from group_members gm where gm.group_id = "groups"."id")`,
      projects: sql<number>`(select count(*) from projects p where p.group_id = "groups"."id" and p.deleted_at is null)`,
    })
    .from(groups)
    .orderBy(asc(groups.name))
    .all()
}

export function createGroup(db: Db, input: { name: string; description: string }, audit: AuditBase): Group {
  return writeTransaction(db, () => {
    const group = db.insert(groups).values({ ...input, createdAt: audit.at }).returning().get()
    recordAuditEvent(db, { ...audit, event: 'group.created', targetType: 'group', targetId: group.id, details: { name: group.name } })
    return group
  })
}

export function updateGroup(db: Db, group: Group, input: { name: string; description: string }, audit: AuditBase): void {
  writeTransaction(db, () => {
    db.update(groups).set(input).where(eq(groups.id, group.id)).run()
    recordAuditEvent(db, { ...audit, event: 'group.updated', targetType: 'group', targetId: group.id, details: { before: { name: group.name, description: group.description }, after: input } })
  })
}

export type GroupMemberRow = { userId: number; email: string; firstName: string; lastName: string; role: GroupRole }

export function listGroupMembers(db: Db, groupId: number): GroupMemberRow[] {
  return db
    .select({ userId: users.id, email: users.email, firstName: users.firstName, lastName: users.lastName, role: groupMembers.role })
    .from(groupMembers)
    .innerJoin(users, eq(users.id, groupMembers.userId))
    .where(eq(groupMembers.groupId, groupId))
    .orderBy(users.email)
    .all()
}

/** Adds the member, or changes their group role when they are one already. */
export function setGroupMember(db: Db, group: Group, user: { id: number; email: string }, role: GroupRole, audit: AuditBase): void {
  writeTransaction(db, () => {
    db.insert(groupMembers)
      .values({ groupId: group.id, userId: user.id, role, createdAt: audit.at })
      .onConflictDoUpdate({ target: [groupMembers.groupId, groupMembers.userId], set: { role } })
      .run()
    recordAuditEvent(db, { ...audit, event: 'group.member_set', targetType: 'group', targetId: group.id, details: { user_id: user.id, email: user.email, role } })
  })
}

export function removeGroupMember(db: Db, group: Group, userId: number, audit: AuditBase): boolean {
  return writeTransaction(db, () => {
    const removed = db.delete(groupMembers).where(and(eq(groupMembers.groupId, group.id), eq(groupMembers.userId, userId))).run().changes > 0
    if (removed) recordAuditEvent(db, { ...audit, event: 'group.member_removed', targetType: 'group', targetId: group.id, details: { user_id: userId } })
    return removed
  })
}

export function countGroupProjects(db: Db, groupId: number): number {
  return db.select({ n: count() }).from(projects).where(and(eq(projects.groupId, groupId), sql`${projects.deletedAt} is null`)).get()?.n ?? 0
}

/**
 * What keeps a group from being deleted, as a sentence; null when it is empty: no project (even a
 * deleted one, whose rows stay for the audit trail), member, invitation, role limit or consortium
 * centre refers to it.
 */
export function whyGroupIsNotEmpty(db: Db, group: Group): string | null {
  if (group.centreId !== null) return `it is consortium centre ${group.centreId}: centres are managed at Admin → Consortium`
  const n = (table: string) => db.get<{ n: number }>(sql.raw(`select count(*) as n from ${table} where group_id = ${Number(group.id)}`))!.n
  const counts: [number, string, string][] = [
    [n('projects'), 'project (deleted projects count: their rows stay)', 'projects (deleted projects count: their rows stay)'],
    [n('group_members'), 'member', 'members'],
    [n('invitations'), 'invitation', 'invitations'],
    [n('role_groups'), 'role limited to it', 'roles limited to it'],
    [n('consortium_centre_studies'), 'study at it', 'studies at it'],
  ]
  const held = counts.filter(([count]) => count > 0).map(([count, one, many]) => `${count} ${count === 1 ? one : many}`)
  return held.length === 0 ? null : `it still has ${held.join(', ')}`
}

export type GroupDeletion = { outcome: 'deleted' } | { outcome: 'gone' } | { outcome: 'refused'; why: string }

/** Deletes an empty group (see whyGroupIsNotEmpty) with its audit event; 'gone' when another request deleted it first. */
export function deleteEmptyGroup(db: Db, group: Group, audit: AuditBase): GroupDeletion {
  return writeTransaction(db, (): GroupDeletion => {
    const why = whyGroupIsNotEmpty(db, group)
    if (why !== null) return { outcome: 'refused', why }
    if (db.delete(groups).where(eq(groups.id, group.id)).run().changes === 0) return { outcome: 'gone' }
    recordAuditEvent(db, { ...audit, event: 'group.deleted', targetType: 'group', targetId: group.id, details: { name: group.name } })
    return { outcome: 'deleted' }
  })
}
