import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { eq } from 'drizzle-orm'
import { groupMembers, groups, projectMembers, roles, users, type User } from '../db/schema.ts'
import { testDb } from '../test/helpers.ts'
import { PROJECT_PERMISSIONS, SITE_PERMISSIONS } from './permissions.ts'
import { decideProject, denyOnProject, denyRoleChange, type Actor } from './policy.ts'
import { denyActOnUser, denyCopyFrom, denyGrantSiteRole, denyGroupGrant, denyProjectGrants, getProjectAccess } from '../models/access.ts'
import { createRole, getRoleById, getRoleByName, normalizePermissions, resolveActor, updateRole } from '../models/roles.ts'
import { changeUserRole, copyPermissionsFromUser } from '../models/user-admin.ts'
import { addProjectMember, createProject } from '../models/projects.ts'
import { setGroupMember } from '../models/groups.ts'

// Property (SPEC §2.2): whatever custom site role the actor holds, and whatever sequence of admin
// actions it attempts (register, role change, invite-and-accept, roles create/edit, copy
// permissions, project members, group roles), each action gated by the policy's ceiling exactly as
// its route gates it, nobody ends up holding a permission (site, or project on a project) that
// they did not hold before and that the actor did not hold before. Real SQLite, real migrations.

type Action =
  | { kind: 'register'; role: number }
  | { kind: 'changeRole'; user: number; role: number }
  | { kind: 'invite'; role: number; project: number; projectRole: number; groupRole: 'group_admin' | 'member' | null }
  | { kind: 'createRole'; scope: 'site' | 'project'; perms: string[] }
  | { kind: 'editRole'; role: number; perms: string[] }
  | { kind: 'copy'; target: number; source: number }
  | { kind: 'member'; project: number; user: number; projectRole: number }
  | { kind: 'groupRole'; user: number; role: 'group_admin' | 'member' }

const sitePerms = fc.subarray([...SITE_PERMISSIONS])
const projectPerms = fc.subarray([...PROJECT_PERMISSIONS])
const allPerms = fc.subarray([...SITE_PERMISSIONS, ...PROJECT_PERMISSIONS])
const idx = fc.nat({ max: 20 })
const action: fc.Arbitrary<Action> = fc.oneof(
  fc.record({ kind: fc.constant('register' as const), role: idx }),
  fc.record({ kind: fc.constant('changeRole' as const), user: idx, role: idx }),
  fc.record({ kind: fc.constant('invite' as const), role: idx, project: idx, projectRole: idx, groupRole: fc.constantFrom('group_admin' as const, 'member' as const, null) }),
  fc.record({ kind: fc.constant('createRole' as const), scope: fc.constantFrom('site' as const, 'project' as const), perms: allPerms }),
  fc.record({ kind: fc.constant('editRole' as const), role: idx, perms: allPerms }),
  fc.record({ kind: fc.constant('copy' as const), target: idx, source: idx }),
  fc.record({ kind: fc.constant('member' as const), project: idx, user: idx, projectRole: idx }),
  fc.record({ kind: fc.constant('groupRole' as const), user: idx, role: fc.constantFrom('group_admin' as const, 'member' as const) }),
)

/** Every permission each user holds: site ones, and `p@projectId` for project ones (a state lock still counts as held). */
function holdings(db: ReturnType<typeof testDb>, projectIds: number[]): Map<number, Set<string>> {
  const out = new Map<number, Set<string>>()
  for (const user of db.select().from(users).all()) {
    const a = resolveActor(db, user)
    const held = new Set<string>(a.sitePermissions)
    for (const pid of projectIds) {
      const access = getProjectAccess(db, user.id, pid)!
      for (const p of PROJECT_PERMISSIONS) {
        const d = decideProject(a, p, access)
        if (d.allowed || d.kind === 'state') held.add(`${p}@${pid}`)
      }
    }
    out.set(user.id, held)
  }
  return out
}

function run(actorPerms: string[], otherRoles: string[][], projectRolePerms: string[][], actions: Action[]) {
  const db = testDb()
  let n = 0
  const insertUser = (role: string): User => db.insert(users).values({ email: `u${n++}@example.org`, role, passwordHash: 'x', passwordChangedAt: 0, createdAt: 0 }).returning().get()
  db.insert(roles).values({ name: 'actor-role', description: '', scope: 'site', isSystem: false, permissions: actorPerms, createdAt: 0, updatedAt: 0 }).run()
  otherRoles.forEach((permissions, i) => db.insert(roles).values({ name: `site-${i}`, description: '', scope: 'site', isSystem: false, permissions, createdAt: 0, updatedAt: 0 }).run())
  projectRolePerms.forEach((permissions, i) => db.insert(roles).values({ name: `proj-${i}`, description: '', scope: 'project', isSystem: false, permissions: normalizePermissions('project', permissions), createdAt: 0, updatedAt: 0 }).run())
  const actorUser = insertUser('actor-role')
  const admin = insertUser('admin')
  insertUser('researcher')
  insertUser('observer')
  otherRoles.forEach((_, i) => insertUser(`site-${i}`))
  const group = db.insert(groups).values({ name: 'G', description: '', createdAt: 0 }).returning().get()
  const ctx = { actor: { id: admin.id, email: admin.email }, now: 1, ip: '' }
  const projectIds = [createProject(db, { name: 'A', description: '', groupId: group.id }, ctx).id, createProject(db, { name: 'B', description: '', groupId: null }, ctx).id]
  // someone with rich memberships, to copy from
  const rich = insertUser('researcher')
  db.insert(groupMembers).values({ groupId: group.id, userId: rich.id, role: 'group_admin', createdAt: 0 }).run()
  db.insert(projectMembers).values({ projectId: projectIds[1]!, userId: rich.id, roleId: getRoleByName(db, 'contributor')!.id, createdAt: 0 }).run()

  const before = holdings(db, projectIds)
  const actor: Actor = resolveActor(db, actorUser)
  const actorHeld = before.get(actorUser.id)!
  const actx = { actor: { id: actorUser.id, email: actorUser.email }, now: 2, ip: '' }
  const pick = <T,>(list: T[], i: number): T => list[i % list.length]!
  const siteRoles = () => db.select().from(roles).where(eq(roles.scope, 'site')).all()
  const projRoles = () => db.select().from(roles).where(eq(roles.scope, 'project')).all()
  const allUsers = () => db.select().from(users).all()
  let created = 0

  for (const a of actions) {
    switch (a.kind) {
      case 'register': {
        const role = pick(siteRoles(), a.role)
        if (!denyGrantSiteRole(db, actor, role.name)) insertUser(role.name)
        break
      }
      case 'changeRole': {
        const target = pick(allUsers(), a.user)
        const role = pick(siteRoles(), a.role)
        if (!(denyActOnUser(db, actor, target) ?? denyGrantSiteRole(db, actor, role.name))) changeUserRole(db, target, role.name, actx)
        break
      }
      case 'invite': {
        const role = pick(siteRoles(), a.role)
        const grants = [{ projectId: pick(projectIds, a.project), roleId: pick(projRoles(), a.projectRole).id }]
        const denial = denyGrantSiteRole(db, actor, role.name) ?? (a.groupRole ? denyGroupGrant(db, actor, group.id, a.groupRole) : null) ?? denyProjectGrants(db, actor, grants)
        if (denial) break
        // accepted: the account gets what the invitation carries
        const invitee = insertUser(role.name)
        if (a.groupRole) db.insert(groupMembers).values({ groupId: group.id, userId: invitee.id, role: a.groupRole, createdAt: 0 }).run()
        db.insert(projectMembers).values({ ...grants[0]!, userId: invitee.id, createdAt: 0 }).run()
        break
      }
      case 'createRole': {
        const name = `made-${created++}`
        const perms = normalizePermissions(a.scope, a.perms)
        if (!denyRoleChange(actor, { name, scope: a.scope }, perms, false)) createRole(db, { name, description: '', scope: a.scope, permissions: a.perms, groupIds: [] }, { at: 2, actor: actx.actor, ip: '' })
        break
      }
      case 'editRole': {
        const role = pick(db.select().from(roles).where(eq(roles.isSystem, false)).all(), a.role)
        const holds = role.scope === 'site' ? role.name === actor.role : db.select().from(projectMembers).where(eq(projectMembers.roleId, role.id)).all().some((m) => m.userId === actor.id)
        const perms = normalizePermissions(role.scope, a.perms)
        if (!(denyRoleChange(actor, role, role.permissions, holds) ?? denyRoleChange(actor, role, perms, false))) updateRole(db, getRoleById(db, role.id)!, { description: '', permissions: a.perms, groupIds: [] }, { at: 2, actor: actx.actor, ip: '' })
        break
      }
      case 'copy': {
        const target = pick(allUsers(), a.target)
        const source = a.source % 2 === 0 ? rich : pick(allUsers(), a.source)
        if (target.id !== source.id && !denyCopyFrom(db, actor, source.id)) copyPermissionsFromUser(db, target, source, actx)
        break
      }
      case 'member': {
        const pid = pick(projectIds, a.project)
        const access = getProjectAccess(db, actor.id, pid)!
        const user = pick(allUsers(), a.user)
        const role = pick(projRoles(), a.projectRole)
        if (denyOnProject(actor, 'members.manage', access) ?? denyProjectGrants(db, actor, [{ projectId: pid, roleId: role.id }])) break
        addProjectMember(db, access.project, user, role, actx)
        break
      }
      case 'groupRole': {
        const user = pick(allUsers(), a.user)
        if (!denyGroupGrant(db, actor, group.id, a.role)) setGroupMember(db, group, user, a.role, { at: 2, actor: actx.actor, ip: '' })
        break
      }
    }
  }

  const after = holdings(db, projectIds)
  for (const [userId, held] of after) {
    const had = before.get(userId) ?? new Set<string>()
    for (const p of held) {
      if (!had.has(p) && !actorHeld.has(p)) return { userId, permission: p, actorPerms }
    }
  }
  return null
}

describe('the privilege ceiling, as a property', () => {
  it('no sequence of admin actions by a random custom site role raises anyone above what the actor holds', () => {
    fc.assert(
      fc.property(sitePerms, fc.array(sitePerms, { minLength: 1, maxLength: 3 }), fc.array(projectPerms, { minLength: 1, maxLength: 3 }), fc.array(action, { minLength: 1, maxLength: 12 }), (actorPerms, others, projectRolePerms, actions) => {
        expect(run(actorPerms, others, projectRolePerms, actions)).toBeNull()
      }),
      { numRuns: 40 },
    )
  })
})
