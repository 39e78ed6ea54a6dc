import { describe, expect, it } from 'vitest'
import { count, eq } from 'drizzle-orm'
import { createTestEnv, createTestUser, getUser, signIn, T0, type TestEnv, type TestUser } from '../../test/helpers.ts'
import { groupMembers, invitations, projectMembers, roles, users } from '../../db/schema.ts'
import { createProject, addProjectMember } from '../../models/projects.ts'
import { createGroup } from '../../models/groups.ts'
import { getRoleByName } from '../../models/roles.ts'

// SPEC §2.2: nobody grants more than they hold. Each test is a hole a custom role could use before
// the ceiling existed: a "user manager" minting admins, a "role manager" editing its own role …

function addSiteRole(t: TestEnv, name: string, permissions: string[]) {
  return t.db.insert(roles).values({ name, scope: 'site', permissions, createdAt: 0, updatedAt: 0 }).returning().get()
}

async function withRole(t: TestEnv, role: string, email?: string): Promise<TestUser> {
  return createTestUser(t, { role: role as 'admin', ...(email ? { email } : {}) })
}

async function setup() {
  const t = createTestEnv()
  const root = await createTestUser(t, { role: 'admin', email: 'root@example.org' })
  addSiteRole(t, 'user-manager', ['admin.access', 'users.manage'])
  addSiteRole(t, 'role-manager', ['admin.access', 'roles.manage'])
  addSiteRole(t, 'group-manager', ['admin.access', 'groups.manage'])
  const observer = await createTestUser(t, { role: 'observer', email: 'obs@example.org' })
  return { t, root, observer }
}

const userCount = (t: TestEnv) => t.db.select({ n: count() }).from(users).get()!.n

describe('privilege ceiling: accounts', () => {
  it('a user manager cannot register an admin (403 naming the permission) and is offered only roles within its own', async () => {
    const { t } = await setup()
    const manager = await withRole(t, 'user-manager')
    const client = await signIn(t, manager)
    const before = userCount(t)
    const res = await client.post('/admin/users', { email: 'new-admin@example.org', role: 'admin' })
    expect(res.status).toBe(403)
    expect(await res.text()).toContain('audit.view')
    expect((await client.post('/admin/users', { email: 'res@example.org', role: 'researcher' })).status).toBe(403)
    expect(userCount(t)).toBe(before)
    const page = await (await client.get('/admin/users')).text()
    expect(page).toContain('<option value="observer"')
    expect(page).toContain('<option value="user-manager"')
    expect(page).not.toContain('<option value="admin"')
    expect((await client.post('/admin/users', { email: 'obs2@example.org', role: 'observer' })).status).toBe(303)
    expect(userCount(t)).toBe(before + 1)
  })

  it('a user manager cannot promote itself or anyone else above its own role', async () => {
    const { t, observer } = await setup()
    const manager = await withRole(t, 'user-manager')
    const client = await signIn(t, manager)
    expect((await client.post(`/admin/users/${manager.user.id}/role`, { role: 'admin' })).status).toBe(403)
    expect((await client.post(`/admin/users/${observer.user.id}/role`, { role: 'admin' })).status).toBe(403)
    expect(getUser(t.db, manager.user.id).role).toBe('user-manager')
    expect(getUser(t.db, observer.user.id).role).toBe('observer')
    expect((await client.post(`/admin/users/${observer.user.id}/role`, { role: 'user-manager' })).status).toBe(303)
    expect(getUser(t.db, observer.user.id).role).toBe('user-manager')
  })

  it('a user manager cannot reset the password or MFA of, disable, unlock or edit an admin; it can for an account within its ceiling', async () => {
    const { t, root, observer } = await setup()
    const manager = await withRole(t, 'user-manager')
    const client = await signIn(t, manager)
    for (const action of ['reset-mfa', 'reset-password', 'disable', 'unlock']) {
      const res = await client.post(`/admin/users/${root.user.id}/${action}`, { confirm: 'yes' })
      expect(res.status, action).toBe(403)
    }
    expect((await client.post(`/admin/users/${root.user.id}`, { first_name: 'Mallory', last_name: '', organization: '' })).status).toBe(403)
    const after = getUser(t.db, root.user.id)
    expect(after.totpSecret).toBe(root.user.totpSecret)
    expect(after.passwordHash).toBe(root.user.passwordHash)
    expect(after.disabledAt).toBeNull()
    expect(after.firstName).toBe(root.user.firstName)
    const page = await (await client.get(`/admin/users/${root.user.id}`)).text()
    expect(page).not.toContain(`/admin/users/${root.user.id}/reset-mfa`)
    expect(page).not.toContain(`/admin/users/${root.user.id}/disable`)
    expect(page).toContain('you cannot change, disable, unlock or reset it')
    expect((await client.post(`/admin/users/${observer.user.id}/reset-mfa`, { confirm: 'yes' })).status).toBe(303)
    expect(getUser(t.db, observer.user.id).totpSecret).toBeNull()
  })

  it('copying permissions hands out only memberships whose roles the actor holds there', async () => {
    const { t, root, observer } = await setup()
    const manager = await withRole(t, 'user-manager')
    const source = await createTestUser(t, { role: 'researcher', email: 'src@example.org' })
    const ctx = { actor: { id: root.user.id, email: root.user.email }, now: T0, ip: '127.0.0.1' }
    const project = createProject(t.db, { name: 'P', description: '', groupId: null }, ctx)
    addProjectMember(t.db, project, source.user, getRoleByName(t.db, 'contributor')!, ctx)
    const client = await signIn(t, manager)
    const res = await client.post(`/admin/users/${observer.user.id}/copy-permissions`, { source_email: 'src@example.org' })
    expect(res.status).toBe(403)
    expect(t.db.select().from(projectMembers).where(eq(projectMembers.userId, observer.user.id)).all()).toHaveLength(0)
    const admin = await signIn(t, root)
    expect((await admin.post(`/admin/users/${observer.user.id}/copy-permissions`, { source_email: 'src@example.org' })).status).toBe(303)
    expect(t.db.select().from(projectMembers).where(eq(projectMembers.userId, observer.user.id)).all()).toHaveLength(1)
  })
})

describe('privilege ceiling: invitations', () => {
  it('a user manager cannot invite with a site role, group role or project role above its own; within it, it can', async () => {
    const { t, root } = await setup()
    const manager = await withRole(t, 'user-manager')
    const ctx = { actor: { id: root.user.id, email: root.user.email }, now: T0, ip: '127.0.0.1' }
    const project = createProject(t.db, { name: 'P', description: '', groupId: null }, ctx)
    const group = createGroup(t.db, { name: 'G', description: '' }, { at: T0, actor: ctx.actor, ip: ctx.ip })
    const client = await signIn(t, manager)
    expect((await client.post('/admin/invitations', { email: 'a@example.org', role: 'admin' })).status).toBe(403)
    expect((await client.post('/admin/invitations', { email: 'b@example.org', role: 'observer', project_ids: String(project.id), project_role: 'read-only' })).status).toBe(403)
    expect((await client.post('/admin/invitations', { email: 'c@example.org', role: 'observer', group_id: String(group.id), group_role: 'group_admin' })).status).toBe(403)
    expect(t.db.select().from(invitations).all()).toHaveLength(0)
    expect(await (await client.get('/admin/invitations')).text()).not.toContain('<option value="admin"')
    expect((await client.post('/admin/invitations', { email: 'd@example.org', role: 'observer', group_id: String(group.id), group_role: 'member' })).status).toBe(303)
    const [inv] = t.db.select().from(invitations).all()
    // editing it into an admin invitation is refused as well
    expect((await client.post(`/admin/invitations/${inv!.id}`, { role: 'admin' })).status).toBe(403)
    expect(t.db.select().from(invitations).where(eq(invitations.id, inv!.id)).get()!.role).toBe('observer')
  })
})

describe('privilege ceiling: roles and groups', () => {
  it('a role manager cannot edit its own role, create a role with a permission it lacks, or edit a role above it', async () => {
    const { t } = await setup()
    const manager = await withRole(t, 'role-manager')
    const own = getRoleByName(t.db, 'role-manager')!
    const big = addSiteRole(t, 'big', ['admin.access', 'users.manage'])
    const client = await signIn(t, manager)
    const self = await client.post(`/admin/roles/${own.id}`, { description: 'all', permissions: ['admin.access', 'roles.manage', 'users.manage', 'projects.manage_all'] })
    expect(self.status).toBe(403)
    expect(await self.text()).toContain('nobody edits a role they hold')
    expect(getRoleByName(t.db, 'role-manager')!.permissions).toEqual(['admin.access', 'roles.manage'])
    expect((await client.post('/admin/roles', { name: 'sneaky', scope: 'site', description: '', permissions: ['admin.access', 'users.manage'] })).status).toBe(403)
    expect((await client.post('/admin/roles', { name: 'sneaky-project', scope: 'project', description: '', permissions: ['project.view', 'models.manage_any'] })).status).toBe(403)
    expect(getRoleByName(t.db, 'sneaky')).toBeNull()
    expect((await client.post(`/admin/roles/${big.id}`, { description: 'x', permissions: ['admin.access'] })).status).toBe(403)
    expect(getRoleByName(t.db, 'big')!.permissions).toEqual(['admin.access', 'users.manage'])
    expect((await client.post('/admin/roles', { name: 'viewer-of-admin', scope: 'site', description: '', permissions: ['admin.access'] })).status).toBe(303)
  })

  it('a group manager cannot make anyone group admin (it does not hold the group admin’s project permissions), nor remove one', async () => {
    const { t, root, observer } = await setup()
    const manager = await withRole(t, 'group-manager')
    const group = createGroup(t.db, { name: 'G', description: '' }, { at: T0, actor: { id: root.user.id, email: root.user.email }, ip: null })
    t.db.insert(groupMembers).values({ groupId: group.id, userId: root.user.id, role: 'group_admin', createdAt: T0 }).run()
    const client = await signIn(t, manager)
    expect((await client.post(`/admin/groups/${group.id}/members`, { email: 'obs@example.org', role: 'group_admin' })).status).toBe(403)
    expect((await client.post(`/admin/groups/${group.id}/members/${root.user.id}/remove`, { confirm: 'yes' })).status).toBe(403)
    expect((await client.post(`/admin/groups/${group.id}/members`, { email: 'root@example.org', role: 'member' })).status).toBe(403)
    expect(t.db.select().from(groupMembers).where(eq(groupMembers.groupId, group.id)).all()).toEqual([expect.objectContaining({ userId: root.user.id, role: 'group_admin' })])
    expect((await client.post(`/admin/groups/${group.id}/members`, { email: 'obs@example.org', role: 'member' })).status).toBe(303)
    expect(observer.user.id).toBeGreaterThan(0)
  })
})

describe('privilege ceiling: project roles', () => {
  it('a member who manages members may give only project roles within what it holds on the project', async () => {
    const { t, root } = await setup()
    const ctx = { actor: { id: root.user.id, email: root.user.email }, now: T0, ip: '127.0.0.1' }
    const steward = t.db.insert(roles).values({ name: 'steward', scope: 'project', permissions: ['members.manage', 'project.view', 'results.download', 'results.view'], createdAt: 0, updatedAt: 0 }).returning().get()
    const project = createProject(t.db, { name: 'P', description: '', groupId: null }, ctx)
    const keeper = await createTestUser(t, { role: 'researcher', email: 'keeper@example.org' })
    await createTestUser(t, { role: 'researcher', email: 'new@example.org' })
    addProjectMember(t.db, project, keeper.user, steward, ctx)
    const client = await signIn(t, keeper)
    const res = await client.post(`/projects/${project.id}/members`, { email: 'new@example.org', role: 'contributor' })
    expect(res.status).toBe(403)
    expect(await res.text()).toContain('models.create')
    expect(t.db.select().from(projectMembers).where(eq(projectMembers.projectId, project.id)).all()).toHaveLength(1)
    expect((await client.post(`/projects/${project.id}/members`, { email: 'new@example.org', role: 'read-only' })).status).toBe(303)
    expect(t.db.select().from(projectMembers).where(eq(projectMembers.projectId, project.id)).all()).toHaveLength(2)
  })
})
