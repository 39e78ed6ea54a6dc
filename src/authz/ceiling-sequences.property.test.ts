import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { eq } from 'drizzle-orm'
import { createTestEnv, createTestUser, signIn, T0, type TestEnv } from '../test/helpers.ts'
import { groupMembers, invitations, projectMembers, roles, users } from '../db/schema.ts'
import { SITE_PERMISSIONS, GROUP_ROLE_PERMISSIONS } from './permissions.ts'
import { createProject, addProjectMember } from '../models/projects.ts'
import { createGroup } from '../models/groups.ts'
import { getRoleByName } from '../models/roles.ts'

// SPEC §2.2 as a property: whatever custom site roles exist and whatever sequence of admin actions a
// custom-role actor tries (through the real routes), nobody ends up holding a permission the actor
// lacked, the actor gains nothing, and no account above the actor is touched.

const MANAGING = ['users.manage', 'roles.manage', 'groups.manage'] as const
const sitePerms = fc.subarray([...SITE_PERMISSIONS])
const actorPerms = fc.tuple(fc.subarray([...MANAGING], { minLength: 1 }), sitePerms).map(([m, rest]) => [...new Set(['admin.access', ...m, ...rest])].sort())

type Action =
  | { kind: 'register'; role: number }
  | { kind: 'role'; target: number; role: number }
  | { kind: 'account'; target: number; action: 'disable' | 'enable' | 'reset-mfa' | 'reset-password' | 'unlock' }
  | { kind: 'edit-role'; role: number; permissions: string[] }
  | { kind: 'create-role'; permissions: string[] }
  | { kind: 'invite'; role: number; projectGrant: boolean; groupAdmin: boolean }
  | { kind: 'group'; target: number }
  | { kind: 'member'; target: number; projectRole: 'contributor' | 'read-only' }
  | { kind: 'copy'; target: number }

const ROLE_NAMES = ['admin', 'researcher', 'observer', 'custom-a', 'custom-b', 'actor-role'] as const
const TARGETS = 4 // root admin, two custom-role users, the actor itself (index 3)

const action: fc.Arbitrary<Action> = fc.oneof(
  fc.record({ kind: fc.constant('register' as const), role: fc.nat(ROLE_NAMES.length - 1) }),
  fc.record({ kind: fc.constant('role' as const), target: fc.nat(TARGETS - 1), role: fc.nat(ROLE_NAMES.length - 1) }),
  fc.record({ kind: fc.constant('account' as const), target: fc.nat(TARGETS - 1), action: fc.constantFrom('disable' as const, 'enable' as const, 'reset-mfa' as const, 'reset-password' as const, 'unlock' as const) }),
  fc.record({ kind: fc.constant('edit-role' as const), role: fc.nat(ROLE_NAMES.length - 1), permissions: sitePerms }),
  fc.record({ kind: fc.constant('create-role' as const), permissions: sitePerms }),
  fc.record({ kind: fc.constant('invite' as const), role: fc.nat(ROLE_NAMES.length - 1), projectGrant: fc.boolean(), groupAdmin: fc.boolean() }),
  fc.record({ kind: fc.constant('group' as const), target: fc.nat(TARGETS - 1) }),
  fc.record({ kind: fc.constant('member' as const), target: fc.nat(TARGETS - 1), projectRole: fc.constantFrom('contributor' as const, 'read-only' as const) }),
  fc.record({ kind: fc.constant('copy' as const), target: fc.nat(TARGETS - 1) }),
)

function permissionsByUser(t: TestEnv): Map<number, Set<string>> {
  const rolePerms = new Map(t.db.select().from(roles).where(eq(roles.scope, 'site')).all().map((r) => [r.name, r.permissions]))
  return new Map(t.db.select({ id: users.id, role: users.role }).from(users).all().map((u) => [u.id, new Set(rolePerms.get(u.role) ?? [])]))
}

describe('privilege ceiling as a property', () => {
  it('no sequence of admin actions by a custom-role actor raises anyone above the actor', async () => {
    let n = 0
    await fc.assert(
      fc.asyncProperty(actorPerms, sitePerms, sitePerms, fc.array(action, { minLength: 1, maxLength: 6 }), async (actorHolds, customA, customB, actions) => {
        const t = createTestEnv()
        for (const [name, permissions] of [['custom-a', customA], ['custom-b', customB], ['actor-role', actorHolds]] as const) {
          t.db.insert(roles).values({ name, scope: 'site', permissions: [...permissions], createdAt: 0, updatedAt: 0 }).run()
        }
        const root = await createTestUser(t, { role: 'admin', email: 'root@example.org' })
        const a = await createTestUser(t, { role: 'custom-a' as 'admin', email: 'a@example.org' })
        const b = await createTestUser(t, { role: 'custom-b' as 'admin', email: 'b@example.org' })
        const actor = await createTestUser(t, { role: 'actor-role' as 'admin', email: 'actor@example.org' })
        const targets = [root, a, b, actor]
        const ctx = { actor: { id: root.user.id, email: root.user.email }, now: T0, ip: '127.0.0.1' }
        const project = createProject(t.db, { name: 'P', description: '', groupId: null }, ctx)
        const group = createGroup(t.db, { name: 'G', description: '' }, { at: T0, actor: ctx.actor, ip: null })
        addProjectMember(t.db, project, a.user, getRoleByName(t.db, 'contributor')!, ctx)

        const actorBefore = new Set<string>(actorHolds)
        const before = permissionsByUser(t)
        const above = new Set(targets.filter((u) => [...before.get(u.user.id)!].some((p) => !actorBefore.has(p))).map((u) => u.user.id))
        const snapshot = (id: number) => t.db.select().from(users).where(eq(users.id, id)).get()!
        const aboveBefore = new Map([...above].map((id) => [id, snapshot(id)]))
        const membersBefore = t.db.select().from(projectMembers).all().length
        const client = await signIn(t, actor)

        for (const [i, act] of actions.entries()) {
          const roleName = (k: number) => ROLE_NAMES[k]!
          const target = (k: number) => targets[k]!.user
          switch (act.kind) {
            case 'register':
              await client.post('/admin/users', { email: `new${i}@example.org`, role: roleName(act.role) })
              break
            case 'role':
              await client.post(`/admin/users/${target(act.target).id}/role`, { role: roleName(act.role) })
              break
            case 'account':
              await client.post(`/admin/users/${target(act.target).id}/${act.action}`, { confirm: 'yes' })
              break
            case 'edit-role': {
              const role = getRoleByName(t.db, roleName(act.role))!
              await client.post(`/admin/roles/${role.id}`, { description: 'edited', permissions: act.permissions })
              break
            }
            case 'create-role':
              await client.post('/admin/roles', { name: `made-${i}`, scope: 'site', description: '', permissions: act.permissions })
              break
            case 'invite':
              await client.post('/admin/invitations', {
                email: `inv${i}@example.org`,
                role: roleName(act.role),
                ...(act.projectGrant ? { project_ids: String(project.id), project_role: 'contributor' } : {}),
                ...(act.groupAdmin ? { group_id: String(group.id), group_role: 'group_admin' } : {}),
              })
              break
            case 'group':
              await client.post(`/admin/groups/${group.id}/members`, { email: target(act.target).email, role: 'group_admin' })
              break
            case 'member':
              await client.post(`/projects/${project.id}/members`, { email: target(act.target).email, role: act.projectRole })
              break
            case 'copy':
              await client.post(`/admin/users/${target(act.target).id}/copy-permissions`, { source_email: 'a@example.org' })
              break
          }
        }

        const after = permissionsByUser(t)
        for (const [id, perms] of after) {
          const had = before.get(id) ?? new Set()
          for (const p of perms) if (!had.has(p)) expect(actorBefore.has(p), `user ${id} gained ${p}`).toBe(true)
        }
        for (const p of after.get(actor.user.id)!) expect(actorBefore.has(p), `the actor gained ${p}`).toBe(true)
        for (const [id, was] of aboveBefore) {
          const now = snapshot(id)
          expect({ role: now.role, disabledAt: now.disabledAt, totpSecret: now.totpSecret, passwordHash: now.passwordHash, firstName: now.firstName }).toEqual({ role: was.role, disabledAt: was.disabledAt, totpSecret: was.totpSecret, passwordHash: was.passwordHash, firstName: was.firstName })
        }
        for (const inv of t.db.select().from(invitations).all()) {
          const perms = t.db.select().from(roles).where(eq(roles.name, inv.role)).get()!.permissions
          for (const p of perms) expect(actorBefore.has(p), `an invitation hands out ${p}`).toBe(true)
          if (inv.projectGrants.length > 0 || inv.groupRole === 'group_admin') expect(actorBefore.has('projects.manage_all')).toBe(true)
        }
        const groupAdmins = t.db.select().from(groupMembers).where(eq(groupMembers.role, 'group_admin')).all()
        if (groupAdmins.length > 0) expect(GROUP_ROLE_PERMISSIONS.group_admin.every(() => actorBefore.has('projects.manage_all'))).toBe(true)
        if (t.db.select().from(projectMembers).all().length > membersBefore) expect(actorBefore.has('projects.manage_all')).toBe(true)
        n++
      }),
      { numRuns: 40, seed: 20261202 },
    )
    expect(n).toBe(40)
  })
})
