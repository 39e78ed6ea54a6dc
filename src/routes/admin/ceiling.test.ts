import { describe, expect, it } from 'vitest'
import { eq } from 'drizzle-orm'
import { createTestEnv, createTestUser, signIn, getUser, type TestEnv } from '../../test/helpers.ts'
import { groups, groupMembers, invitations, projectMembers, roles, users } from '../../db/schema.ts'
import { createProject } from '../../models/projects.ts'
import { getRoleByName } from '../../models/roles.ts'

// The privilege ceiling (SPEC §2.2): a custom "user manager" (admin.access + users.manage) or
// "role manager" (admin.access + roles.manage) can never hand out, or act on, more than it holds.

function siteRole(t: TestEnv, name: string, permissions: string[]) {
  t.db.insert(roles).values({ name, description: name, scope: 'site', isSystem: false, permissions, createdAt: 0, updatedAt: 0 }).run()
}

async function withRole(t: TestEnv, role: string, email: string) {
  const u = await createTestUser(t, { role: 'observer', email })
  t.db.update(users).set({ role }).where(eq(users.id, u.user.id)).run()
  return { ...u, user: getUser(t.db, u.user.id) }
}

async function setup() {
  const t = createTestEnv()
  const admin = await createTestUser(t, { role: 'admin', email: 'root@example.org' })
  siteRole(t, 'user-manager', ['admin.access', 'users.manage'])
  siteRole(t, 'role-manager', ['admin.access', 'roles.manage'])
  const manager = await withRole(t, 'user-manager', 'um@example.org')
  const client = await signIn(t, manager)
  return { t, admin, manager, client }
}

describe('privilege ceiling: a user manager', () => {
  it('cannot register an admin (403 naming the permission), but can register an observer', async () => {
    const { t, client } = await setup()
    const res = await client.post('/admin/users', { email: 'new-admin@example.org', role: 'admin' })
    expect(res.status).toBe(403)
    expect(await res.text()).toContain('“audit.view”')
    expect(t.db.select().from(users).where(eq(users.email, 'new-admin@example.org')).get()).toBeUndefined()
    expect((await client.post('/admin/users', { email: 'obs@example.org', role: 'observer' })).status).toBe(303)
  })

  it('cannot promote itself or anyone to admin', async () => {
    const { t, manager, client } = await setup()
    const other = await createTestUser(t, { role: 'observer', email: 'o@example.org' })
    expect((await client.post(`/admin/users/${manager.user.id}/role`, { role: 'admin' })).status).toBe(403)
    expect((await client.post(`/admin/users/${other.user.id}/role`, { role: 'admin' })).status).toBe(403)
    expect(getUser(t.db, manager.user.id).role).toBe('user-manager')
    expect(getUser(t.db, other.user.id).role).toBe('observer')
  })

  it('cannot reset the MFA or password of, disable, unlock, demote or re-enable an admin', async () => {
    const { t, admin, client } = await setup()
    for (const action of ['reset-mfa', 'reset-password', 'disable', 'enable', 'unlock']) {
      const res = await client.post(`/admin/users/${admin.user.id}/${action}`, { confirm: 'yes' })
      expect(res.status, action).toBe(403)
    }
    expect((await client.post(`/admin/users/${admin.user.id}/role`, { role: 'observer' })).status).toBe(403)
    expect((await client.post(`/admin/users/${admin.user.id}/sessions/anything/revoke`)).status).toBe(403)
    const after = getUser(t.db, admin.user.id)
    expect(after.totpSecret).not.toBeNull()
    expect(after.disabledAt).toBeNull()
    expect(after.role).toBe('admin')
    // and the user page hides those buttons
    const page = await (await client.get(`/admin/users/${admin.user.id}`)).text()
    expect(page).not.toContain(`/admin/users/${admin.user.id}/reset-mfa`)
    expect(page).not.toContain(`/admin/users/${admin.user.id}/disable`)
  })

  it('only sees the site roles it may grant in the register form', async () => {
    const { client } = await setup()
    const page = await (await client.get('/admin/users')).text()
    expect(page).toContain('value="observer"')
    expect(page).not.toContain('value="admin"')
  })

  it('cannot invite with the admin role, nor with a project role on a project it does not hold', async () => {
    const { t, admin, client } = await setup()
    const project = createProject(t.db, { name: 'P', description: '', groupId: null }, { actor: { id: admin.user.id, email: admin.user.email }, now: t.clock.now(), ip: '' })
    expect((await client.post('/admin/invitations', { email: 'x@example.org', role: 'admin' })).status).toBe(403)
    const res = await client.post('/admin/invitations', { email: 'y@example.org', role: 'observer', project_ids: String(project.id), project_role: 'contributor' })
    expect(res.status).toBe(403)
    expect(t.db.select().from(invitations).all()).toHaveLength(0)
  })

  it('cannot edit an invitation into a role above it', async () => {
    const { t, client } = await setup()
    expect((await client.post('/admin/invitations', { email: 'z@example.org', role: 'observer' })).status).toBe(303)
    const inv = t.db.select().from(invitations).get()!
    expect((await client.post(`/admin/invitations/${inv.id}`, { role: 'admin' })).status).toBe(403)
    expect(t.db.select().from(invitations).get()!.role).toBe('observer')
  })

  it("cannot copy an admin's memberships (group admin, project roles) to someone", async () => {
    const { t, admin, client } = await setup()
    const target = await createTestUser(t, { role: 'observer', email: 't@example.org' })
    const source = await createTestUser(t, { role: 'observer', email: 's@example.org' })
    const project = createProject(t.db, { name: 'P', description: '', groupId: null }, { actor: { id: admin.user.id, email: admin.user.email }, now: t.clock.now(), ip: '' })
    t.db.insert(projectMembers).values({ projectId: project.id, userId: source.user.id, roleId: getRoleByName(t.db, 'contributor')!.id, createdAt: 0 }).run()
    const res = await client.post(`/admin/users/${target.user.id}/copy-permissions`, { source_email: 's@example.org' })
    expect(res.status).toBe(403)
    expect(t.db.select().from(projectMembers).where(eq(projectMembers.userId, target.user.id)).all()).toHaveLength(0)
    const g = t.db.insert(groups).values({ name: 'G', description: '', createdAt: 0 }).returning().get()
    t.db.delete(projectMembers).run()
    t.db.insert(groupMembers).values({ groupId: g.id, userId: source.user.id, role: 'group_admin', createdAt: 0 }).run()
    expect((await client.post(`/admin/users/${target.user.id}/copy-permissions`, { source_email: 's@example.org' })).status).toBe(403)
    expect(t.db.select().from(groupMembers).where(eq(groupMembers.userId, target.user.id)).all()).toHaveLength(0)
  })
})

describe('privilege ceiling: a role manager', () => {
  it('cannot edit its own role, nor create a role with permissions it lacks', async () => {
    const { t } = await setup()
    const rm = await withRole(t, 'role-manager', 'rm@example.org')
    const client = await signIn(t, rm)
    const own = getRoleByName(t.db, 'role-manager')!
    const res = await client.post(`/admin/roles/${own.id}`, { description: 'x', permissions: ['admin.access', 'roles.manage', 'users.manage'] })
    expect(res.status).toBe(403)
    expect(getRoleByName(t.db, 'role-manager')!.permissions).toEqual(['admin.access', 'roles.manage'])
    expect((await client.post('/admin/roles', { name: 'mint', scope: 'site', description: '', permissions: ['users.manage'] })).status).toBe(403)
    expect(getRoleByName(t.db, 'mint')).toBeNull()
    // editing someone else's role into more than it holds
    const um = getRoleByName(t.db, 'user-manager')!
    expect((await client.post(`/admin/roles/${um.id}`, { description: 'x', permissions: ['admin.access', 'users.manage', 'deployment.manage'] })).status).toBe(403)
    // within its own permissions it may still create a role
    expect((await client.post('/admin/roles', { name: 'ok-role', scope: 'site', description: '', permissions: ['admin.access'] })).status).toBe(303)
  })
})

describe('privilege ceiling: group and project roles', () => {
  it('a groups manager without projects.manage_all cannot make anyone group admin, but can add members', async () => {
    const { t } = await setup()
    siteRole(t, 'group-manager', ['admin.access', 'groups.manage'])
    const gm = await withRole(t, 'group-manager', 'gm@example.org')
    const client = await signIn(t, gm)
    const g = t.db.insert(groups).values({ name: 'G', description: '', createdAt: 0 }).returning().get()
    await createTestUser(t, { role: 'researcher', email: 'r@example.org' })
    const res = await client.post(`/admin/groups/${g.id}/members`, { email: 'r@example.org', role: 'group_admin' })
    expect(res.status).toBe(403)
    expect(await res.text()).toContain('“members.manage”')
    expect(t.db.select().from(groupMembers).all()).toHaveLength(0)
    expect((await client.post(`/admin/groups/${g.id}/members`, { email: 'r@example.org', role: 'member' })).status).toBe(303)
  })

  it("a group admin may add members to the group's projects only with roles within its own (project.view, members.manage, project.delete)", async () => {
    const { t, admin } = await setup()
    t.db.insert(roles).values({ name: 'listed', description: '', scope: 'project', isSystem: false, permissions: ['project.view'], createdAt: 0, updatedAt: 0 }).run()
    const g = t.db.insert(groups).values({ name: 'G', description: '', createdAt: 0 }).returning().get()
    const ga = await createTestUser(t, { role: 'researcher', email: 'ga@example.org' })
    t.db.insert(groupMembers).values({ groupId: g.id, userId: ga.user.id, role: 'group_admin', createdAt: 0 }).run()
    await createTestUser(t, { role: 'researcher', email: 'r@example.org' })
    const project = createProject(t.db, { name: 'P', description: '', groupId: g.id }, { actor: { id: admin.user.id, email: admin.user.email }, now: t.clock.now(), ip: '' })
    const client = await signIn(t, ga)
    const res = await client.post(`/projects/${project.id}/members`, { email: 'r@example.org', role: 'contributor' })
    expect(res.status).toBe(403)
    expect(await res.text()).toContain('“models.create”')
    expect(t.db.select().from(projectMembers).all()).toHaveLength(0)
    const page = await (await client.get(`/projects/${project.id}`)).text()
    expect(page).not.toContain('value="contributor"')
    expect((await client.post(`/projects/${project.id}/members`, { email: 'r@example.org', role: 'read-only' })).status).toBe(403) // results.view
    expect(page).toContain('value="listed"')
    expect((await client.post(`/projects/${project.id}/members`, { email: 'r@example.org', role: 'listed' })).status).toBe(303)
  })
})
