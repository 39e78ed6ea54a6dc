import { describe, expect, it } from 'vitest'
import { and, eq } from 'drizzle-orm'
import { createTestEnv, createTestUser, signIn, type TestEnv } from '../../test/helpers.ts'
import { auditEvents, groups, projectMembers, projects, roleGroups, roles, sessions, users, type Role } from '../../db/schema.ts'
import { SYSTEM_ROLE_NAMES, SYSTEM_ROLES } from '../../authz/permissions.ts'

async function adminSession() {
  const t = createTestEnv()
  const admin = await createTestUser(t, { email: 'admin@example.org', role: 'admin' })
  const browser = await signIn(t, admin)
  return { t, admin, browser }
}

function roleNamed(t: TestEnv, name: string): Role | undefined {
  return t.db.select().from(roles).where(eq(roles.name, name)).get()
}

function allRoles(t: TestEnv): Role[] {
  return t.db.select().from(roles).orderBy(roles.id).all()
}

function events(t: TestEnv, event: string) {
  return t.db
    .select()
    .from(auditEvents)
    .where(eq(auditEvents.event, event))
    .all()
    .map((e) => ({ ...e, details: JSON.parse(e.details) as Record<string, unknown> }))
}

function roleEvents(t: TestEnv) {
  return t.db
    .select()
    .from(auditEvents)
    .all()
    .filter((e) => e.event.startsWith('role.'))
}

function groupLimits(t: TestEnv, roleId: number): number[] {
  return t.db
    .select()
    .from(roleGroups)
    .where(eq(roleGroups.roleId, roleId))
    .all()
    .map((r) => r.groupId)
    .sort((a, b) => a - b)
}

function insertGroup(t: TestEnv, name: string) {
  return t.db.insert(groups).values({ name, createdAt: t.clock.now() }).returning().get()
}

/** The <tr> of the roles table whose first cell links to the role `name`. */
function tableRow(html: string, name: string): string {
  const row = html
    .split('<tr>')
    .slice(1)
    .map((r) => r.split('</tr>')[0]!)
    .find((r) => r.includes(`>${name}</a>`))
  if (!row) throw new Error(`no row for role ${name}`)
  return row
}

function heldBy(html: string, name: string): number {
  const cells = [...tableRow(html, name).matchAll(/<td>(\d+)<\/td>/g)]
  if (cells.length === 0) throw new Error(`no holder count for role ${name}`)
  return Number(cells.at(-1)![1])
}

function escapeHtml(s: string) {
  return s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;')
}

function sorted(xs: readonly string[]) {
  return [...xs].sort()
}

/** Creates a role over HTTP and returns its row. */
async function createRoleViaHttp(browser: Awaited<ReturnType<typeof adminSession>>['browser'], t: TestEnv, fields: Record<string, string | string[]>): Promise<Role> {
  const res = await browser.post('/admin/roles', fields)
  if (res.status !== 303) throw new Error(`creating role ${String(fields.name)} answered ${res.status}: ${await res.text()}`)
  return roleNamed(t, String(fields.name))!
}

describe('GET /admin/roles', () => {
  it('lists the system roles, marked as such, with how many users (site) or memberships (project) hold each', async () => {
    const { t, browser } = await adminSession()
    const r1 = await createTestUser(t, { role: 'researcher' })
    await createTestUser(t, { role: 'researcher' })
    await createTestUser(t, { role: 'researcher' })
    const obs = await createTestUser(t, { role: 'observer' })
    const project = t.db.insert(projects).values({ name: 'P', ownerId: r1.user.id, createdAt: 0, updatedAt: 0 }).returning().get()
    t.db.insert(projectMembers).values({ projectId: project.id, userId: obs.user.id, roleId: roleNamed(t, 'read-only')!.id, createdAt: 0 }).run()

    const res = await browser.get('/admin/roles')
    expect(res.status).toBe(200)
    const html = await res.text()
    for (const name of Object.keys(SYSTEM_ROLES)) expect(tableRow(html, name), name).toContain('system')
    expect(heldBy(html, 'admin')).toBe(1)
    expect(heldBy(html, 'researcher')).toBe(3)
    expect(heldBy(html, 'observer')).toBe(1)
    expect(heldBy(html, 'read-only')).toBe(1)
    expect(heldBy(html, 'contributor')).toBe(0)
    expect(tableRow(html, 'researcher')).toContain('projects.create')
  })
})

describe('POST /admin/roles (create)', () => {
  it('creates a project role: project.view always on though not ticked, audited', async () => {
    const { t, admin, browser } = await adminSession()
    const res = await browser.post('/admin/roles', { name: 'Model runner', description: 'Trains models', scope: 'project', permissions: ['models.train', 'results.view'] })
    expect(res.status).toBe(303)
    expect(res.headers.get('Location')).toBe('/admin/roles')

    const role = roleNamed(t, 'Model runner')!
    expect(role).toMatchObject({ description: 'Trains models', scope: 'project', isSystem: false })
    expect(sorted(role.permissions)).toEqual(['models.train', 'project.view', 'results.view'])
    expect(groupLimits(t, role.id)).toEqual([])

    const [created, ...more] = events(t, 'role.created')
    expect(more).toHaveLength(0)
    expect(created).toMatchObject({ actorId: admin.user.id, targetType: 'role', targetId: String(role.id) })
    expect(created!.details).toMatchObject({ name: 'Model runner', scope: 'project' })

    const list = await (await browser.get('/admin/roles')).text()
    expect(list).toContain('Role “Model runner” created.')
    expect(heldBy(list, 'Model runner')).toBe(0)
    expect(tableRow(list, 'Model runner')).not.toContain('users.manage')
  })

  it('creates a project role with no permission ticked at all: it still holds project.view', async () => {
    const { t, browser } = await adminSession()
    const role = await createRoleViaHttp(browser, t, { name: 'bare', description: '', scope: 'project' })
    expect(role.permissions).toEqual(['project.view'])
  })

  it('creates a site role: nothing added to what was ticked', async () => {
    const { t, browser } = await adminSession()
    const res = await browser.post('/admin/roles', { name: 'auditor', description: 'Reads the log', scope: 'site', permissions: ['audit.view', 'admin.access'] })
    expect(res.status).toBe(303)
    const role = roleNamed(t, 'auditor')!
    expect(role).toMatchObject({ scope: 'site', isSystem: false, description: 'Reads the log' })
    expect(sorted(role.permissions)).toEqual(['admin.access', 'audit.view'])
  })

  const invalid: { what: string; fields: Record<string, string | string[]>; field: string; message: string }[] = [
    { what: 'an empty name', fields: { name: '   ', scope: 'project' }, field: 'name', message: '2 to 40 letters' },
    { what: 'a one-character name', fields: { name: 'x', scope: 'project' }, field: 'name', message: '2 to 40 letters' },
    { what: 'a 41-character name', fields: { name: 'a'.repeat(41), scope: 'project' }, field: 'name', message: '2 to 40 letters' },
    { what: 'a name with markup', fields: { name: '<b>boss</b>', scope: 'site' }, field: 'name', message: '2 to 40 letters' },
    { what: 'a name starting with a dash', fields: { name: '-runner', scope: 'project' }, field: 'name', message: '2 to 40 letters' },
    { what: 'the name of a system role in other case', fields: { name: 'RESEARCHER', scope: 'site' }, field: 'name', message: 'exists already' },
    { what: 'the name of a system project role in other case', fields: { name: 'Read-Only', scope: 'project' }, field: 'name', message: 'exists already' },
    { what: '“viewer” (alias of observer)', fields: { name: 'viewer', scope: 'site' }, field: 'name', message: 'exists already' },
    { what: '“Viewer” as a project role', fields: { name: 'Viewer', scope: 'project' }, field: 'name', message: 'exists already' },
    { what: 'an unknown permission', fields: { name: 'runner', scope: 'project', permissions: ['models.train', 'no.such.permission'] }, field: 'permissions', message: 'Unknown permissions: no.such.permission.' },
    { what: 'a site permission on a project role', fields: { name: 'runner', scope: 'project', permissions: ['models.train', 'users.manage'] }, field: 'permissions', message: 'users.manage is a site permission: a project role cannot hold it.' },
    { what: 'site permissions on a project role', fields: { name: 'runner', scope: 'project', permissions: ['users.manage', 'admin.access'] }, field: 'permissions', message: 'users.manage, admin.access are site permissions: a project role cannot hold them.' },
    { what: 'a project permission on a site role', fields: { name: 'auditor', scope: 'site', permissions: ['audit.view', 'project.edit'] }, field: 'permissions', message: 'project.edit is a project permission: a site role cannot hold it.' },
    { what: 'group limits on a site role', fields: { name: 'gatekeeper', scope: 'site', permissions: ['admin.access'], group_ids: ['GROUP'] }, field: 'group_ids', message: 'Only project roles can be limited to groups.' },
    { what: 'an unknown scope', fields: { name: 'runner', scope: 'global' }, field: 'scope', message: 'Choose site or project.' },
    { what: 'a description over 250 characters', fields: { name: 'runner', scope: 'project', description: 'd'.repeat(251) }, field: 'description', message: 'At most 250 characters.' },
  ]

  for (const c of invalid) {
    it(`refuses ${c.what} with 422 on ${c.field}, keeps the typed values, creates nothing`, async () => {
      const { t, browser } = await adminSession()
      const group = insertGroup(t, 'Leeds')
      const fields = Object.fromEntries(Object.entries(c.fields).map(([k, v]) => [k, Array.isArray(v) ? v.map((x) => (x === 'GROUP' ? String(group.id) : x)) : v]))
      const before = allRoles(t)
      const res = await browser.post('/admin/roles', fields)
      expect(res.status).toBe(422)
      const html = await res.text()
      expect(html).toContain(c.message)
      if (c.field === 'name') expect(html).toMatch(new RegExp(`id="f-name-error" class="error">[^<]*${c.message}`))
      else if (c.field === 'description') expect(html).toMatch(new RegExp(`id="f-description-error" class="error">[^<]*${c.message}`))
      else expect(html).not.toContain('id="f-name-error"')
      if (typeof fields.name === 'string') expect(html).toContain(`value="${escapeHtml(fields.name.trim())}"`)
      expect(allRoles(t)).toEqual(before)
      expect(t.db.select().from(roleGroups).all()).toEqual([])
      expect(roleEvents(t)).toHaveLength(0)
    })
  }

  it('refuses a duplicate of a custom role name, case-insensitively', async () => {
    const { t, browser } = await adminSession()
    await createRoleViaHttp(browser, t, { name: 'Model runner', scope: 'project' })
    const res = await browser.post('/admin/roles', { name: 'model RUNNER', scope: 'site' })
    expect(res.status).toBe(422)
    expect(await res.text()).toMatch(/id="f-name-error" class="error">A role with this name exists already\./)
    expect(allRoles(t).filter((r) => r.name.toLowerCase() === 'model runner')).toHaveLength(1)
    expect(events(t, 'role.created')).toHaveLength(1)
  })

  it('keeps the group ids of a project role limited to groups, shows them ticked, and replaces them on edit', async () => {
    const { t, browser } = await adminSession()
    const leeds = insertGroup(t, 'Leeds')
    const york = insertGroup(t, 'York')
    const hull = insertGroup(t, 'Hull')
    const role = await createRoleViaHttp(browser, t, { name: 'centre analyst', scope: 'project', permissions: ['results.view'], group_ids: [String(leeds.id), String(york.id)] })
    expect(groupLimits(t, role.id)).toEqual([leeds.id, york.id])
    expect(events(t, 'role.created')[0]!.details.group_ids).toEqual([leeds.id, york.id])

    const page = await (await browser.get(`/admin/roles/${role.id}`)).text()
    expect(page).toMatch(new RegExp(`name="group_ids" value="${leeds.id}" checked`))
    expect(page).toMatch(new RegExp(`name="group_ids" value="${york.id}" checked`))
    expect(page).not.toMatch(new RegExp(`name="group_ids" value="${hull.id}" checked`))

    const res = await browser.post(`/admin/roles/${role.id}`, { description: '', permissions: ['results.view'], group_ids: [String(hull.id)] })
    expect(res.status).toBe(303)
    expect(groupLimits(t, role.id)).toEqual([hull.id])
    await browser.post(`/admin/roles/${role.id}`, { description: '', permissions: ['results.view'] })
    expect(groupLimits(t, role.id)).toEqual([])
  })

  it('refuses a group id that does not exist with 422 on group_ids (not a 500), and creates nothing', async () => {
    const { t, browser } = await adminSession()
    const before = allRoles(t)
    const res = await browser.post('/admin/roles', { name: 'ghost limited', scope: 'project', group_ids: ['9999'] })
    expect(res.status).toBe(422)
    expect(allRoles(t)).toEqual(before)
    expect(roleEvents(t)).toHaveLength(0)
  })

  it('refuses a group id that does not exist on a role edit with 422 on group_ids (not a 500), and changes nothing', async () => {
    const { t, browser } = await adminSession()
    const leeds = insertGroup(t, 'Leeds')
    const role = await createRoleViaHttp(browser, t, { name: 'runner', scope: 'project', group_ids: [String(leeds.id)] })
    const res = await browser.post(`/admin/roles/${role.id}`, { description: 'changed', group_ids: ['9999'] })
    expect(res.status).toBe(422)
    expect(roleNamed(t, 'runner')).toEqual(role)
    expect(groupLimits(t, role.id)).toEqual([leeds.id])
    expect(events(t, 'role.updated')).toHaveLength(0)
  })

  it('accepts a group id sent twice as one limit (not a 500)', async () => {
    const { t, browser } = await adminSession()
    const leeds = insertGroup(t, 'Leeds')
    const res = await browser.post('/admin/roles', { name: 'twice limited', scope: 'project', group_ids: [String(leeds.id), String(leeds.id)] })
    expect(res.status).toBe(303)
    expect(groupLimits(t, roleNamed(t, 'twice limited')!.id)).toEqual([leeds.id])
  })
})

describe('POST /admin/roles/:id (edit)', () => {
  it('a custom site role edit applies at once to a user holding it: 403 on /admin before, 200 on their very next request after, same session', async () => {
    const { t, browser } = await adminSession()
    const role = await createRoleViaHttp(browser, t, { name: 'gatekeeper', scope: 'site', permissions: ['audit.view'] })
    const holder = await createTestUser(t, { email: 'keeper@example.org' })
    t.db.update(users).set({ role: 'gatekeeper' }).where(eq(users.id, holder.user.id)).run()
    const holderBrowser = await signIn(t, { ...holder, user: { ...holder.user, role: 'gatekeeper' } })
    const sessionsBefore = t.db.select().from(sessions).where(eq(sessions.userId, holder.user.id)).all().map((s) => s.id)
    expect(sessionsBefore).toHaveLength(1)

    const before = await holderBrowser.get('/admin')
    expect(before.status).toBe(403)
    expect(await before.text()).toContain('admin.access')

    const edit = await browser.post(`/admin/roles/${role.id}`, { description: 'Opens the admin area', permissions: ['audit.view', 'admin.access'] })
    expect(edit.status).toBe(303)
    expect(edit.headers.get('Location')).toBe(`/admin/roles/${role.id}`)
    const saved = roleNamed(t, 'gatekeeper')!
    expect(sorted(saved.permissions)).toEqual(['admin.access', 'audit.view'])
    expect(saved.description).toBe('Opens the admin area')
    const [updated] = events(t, 'role.updated')
    expect(updated!.targetId).toBe(String(role.id))
    expect(updated!.details).toMatchObject({ before: ['audit.view'], after: ['admin.access', 'audit.view'] })

    expect((await holderBrowser.get('/admin')).status).toBe(200)
    expect(t.db.select().from(sessions).where(eq(sessions.userId, holder.user.id)).all().map((s) => s.id)).toEqual(sessionsBefore)
    // admin.access alone does not open role management
    const rolesPage = await holderBrowser.get('/admin/roles')
    expect(rolesPage.status).toBe(403)
    expect(await rolesPage.text()).toContain('roles.manage')

    await browser.post(`/admin/roles/${role.id}`, { description: '', permissions: ['audit.view'] })
    expect((await holderBrowser.get('/admin')).status).toBe(403)
  })

  it('edits a custom project role: project.view stays on though unticked, a site permission refused with 422, name and scope unchanged', async () => {
    const { t, browser } = await adminSession()
    const role = await createRoleViaHttp(browser, t, { name: 'runner', description: 'old', scope: 'project', permissions: ['models.train'] })
    const refused = await browser.post(`/admin/roles/${role.id}`, { description: 'Deletes results', permissions: ['results.delete', 'banner.manage'] })
    expect(refused.status).toBe(422)
    expect(await refused.text()).toContain('banner.manage is a site permission: a project role cannot hold it.')
    expect(sorted(t.db.select().from(roles).where(eq(roles.id, role.id)).get()!.permissions)).toEqual(['models.train', 'project.view'])
    const res = await browser.post(`/admin/roles/${role.id}`, { name: 'renamed', scope: 'site', description: 'Deletes results', permissions: ['results.delete'] })
    expect(res.status).toBe(303)
    const saved = t.db.select().from(roles).where(eq(roles.id, role.id)).get()!
    expect(saved).toMatchObject({ name: 'runner', scope: 'project', description: 'Deletes results' })
    expect(sorted(saved.permissions)).toEqual(['project.view', 'results.delete'])
    expect(roleNamed(t, 'renamed')).toBeUndefined()
    const page = await (await browser.get(`/admin/roles/${role.id}`)).text()
    expect(page).toContain('applies to everyone who holds it')
  })

  it('refuses an unknown permission or group limits on a site role with 422 per field and changes nothing', async () => {
    const { t, browser } = await adminSession()
    const leeds = insertGroup(t, 'Leeds')
    const project = await createRoleViaHttp(browser, t, { name: 'runner', scope: 'project', permissions: ['models.train'] })
    const site = await createRoleViaHttp(browser, t, { name: 'gatekeeper', scope: 'site', permissions: ['audit.view'] })
    const before = allRoles(t)

    const unknown = await browser.post(`/admin/roles/${project.id}`, { description: 'x', permissions: ['models.train', 'models.fly'] })
    expect(unknown.status).toBe(422)
    expect(await unknown.text()).toContain('Unknown permissions: models.fly.')

    const limited = await browser.post(`/admin/roles/${site.id}`, { description: 'x', permissions: ['audit.view'], group_ids: [String(leeds.id)] })
    expect(limited.status).toBe(422)

    const long = await browser.post(`/admin/roles/${site.id}`, { description: 'd'.repeat(251), permissions: ['audit.view'] })
    expect(long.status).toBe(422)
    expect(await long.text()).toMatch(/id="f-description-error" class="error">At most 250 characters\./)

    expect(allRoles(t)).toEqual(before)
    expect(t.db.select().from(roleGroups).all()).toEqual([])
    expect(events(t, 'role.updated')).toHaveLength(0)
  })

  it('the 422 for group limits sent with a site role edit says why on the page', async () => {
    const { t, browser } = await adminSession()
    const leeds = insertGroup(t, 'Leeds')
    const site = await createRoleViaHttp(browser, t, { name: 'gatekeeper', scope: 'site', permissions: ['audit.view'] })
    const res = await browser.post(`/admin/roles/${site.id}`, { description: 'x', permissions: ['audit.view'], group_ids: [String(leeds.id)] })
    expect(res.status).toBe(422)
    expect(await res.text()).toContain('Only project roles can be limited to groups.')
  })

  it('answers 404 for an unknown role id', async () => {
    const { browser } = await adminSession()
    expect((await browser.get('/admin/roles/9999')).status).toBe(404)
    expect((await browser.get('/admin/roles/abc')).status).toBe(404)
    expect((await browser.post('/admin/roles/9999', { description: 'x' })).status).toBe(404)
    expect((await browser.post('/admin/roles/9999/delete', { confirm: 'yes' })).status).toBe(404)
  })
})

describe('system roles', () => {
  it('cannot be edited: 409 with the reason, nothing changes', async () => {
    const { t, browser } = await adminSession()
    const before = allRoles(t)
    for (const role of before.filter((r) => r.isSystem)) {
      const res = await browser.post(`/admin/roles/${role.id}`, { description: 'hacked', permissions: ['admin.access', 'project.edit', 'users.manage'] })
      expect(res.status, role.name).toBe(409)
      expect(await res.text(), role.name).toContain(`“${role.name}” is a system role: it cannot be edited.`)
    }
    expect(allRoles(t)).toEqual(before)
    expect(roleEvents(t)).toHaveLength(0)
  })

  it('cannot be deleted, with or without confirmation: 409 with the reason, nothing changes', async () => {
    const { t, browser } = await adminSession()
    const before = allRoles(t)
    for (const name of [...SYSTEM_ROLE_NAMES, 'contributor', 'read-only']) {
      const role = roleNamed(t, name)!
      for (const fields of [{ confirm: 'yes' }, {}] as Record<string, string>[]) {
        const res = await browser.post(`/admin/roles/${role.id}/delete`, fields)
        expect(res.status, name).toBe(409)
        expect(await res.text(), name).toContain(`“${name}” is a system role: it cannot be deleted.`)
      }
    }
    expect(allRoles(t)).toEqual(before)
    expect(roleEvents(t)).toHaveLength(0)
  })

  it('show no edit or delete form on their page', async () => {
    const { t, browser } = await adminSession()
    const role = roleNamed(t, 'researcher')!
    const page = await (await browser.get(`/admin/roles/${role.id}`)).text()
    expect(page).toContain('system role')
    expect(page).not.toContain(`action="/admin/roles/${role.id}/delete"`)
    expect(page).not.toContain(`action="/admin/roles/${role.id}"`)
  })
})

describe('POST /admin/roles/:id/delete', () => {
  it('refuses to delete a site role that 2 users hold: 409 saying so, nothing changes', async () => {
    const { t, browser } = await adminSession()
    const role = await createRoleViaHttp(browser, t, { name: 'gatekeeper', scope: 'site', permissions: ['admin.access'] })
    for (const email of ['a@example.org', 'b@example.org']) {
      const u = await createTestUser(t, { email })
      t.db.update(users).set({ role: 'gatekeeper' }).where(eq(users.id, u.user.id)).run()
    }
    const res = await browser.post(`/admin/roles/${role.id}/delete`, { confirm: 'yes' })
    expect(res.status).toBe(409)
    expect(await res.text()).toContain('“gatekeeper” cannot be deleted: 2 users hold it.')
    expect(roleNamed(t, 'gatekeeper')).toEqual(role)
    expect(t.db.select().from(users).where(eq(users.role, 'gatekeeper')).all()).toHaveLength(2)
    expect(events(t, 'role.deleted')).toHaveLength(0)
  })

  it('refuses to delete a project role that a membership uses: 409 saying how many, nothing changes', async () => {
    const { t, browser } = await adminSession()
    const role = await createRoleViaHttp(browser, t, { name: 'runner', scope: 'project', permissions: ['models.train'] })
    const owner = await createTestUser(t)
    const member = await createTestUser(t)
    const project = t.db.insert(projects).values({ name: 'P', ownerId: owner.user.id, createdAt: 0, updatedAt: 0 }).returning().get()
    t.db.insert(projectMembers).values({ projectId: project.id, userId: member.user.id, roleId: role.id, createdAt: 0 }).run()
    const res = await browser.post(`/admin/roles/${role.id}/delete`, { confirm: 'yes' })
    expect(res.status).toBe(409)
    expect(await res.text()).toContain('“runner” cannot be deleted: 1 membership uses it.')
    expect(roleNamed(t, 'runner')).toEqual(role)
    expect(t.db.select().from(projectMembers).where(and(eq(projectMembers.projectId, project.id), eq(projectMembers.roleId, role.id))).all()).toHaveLength(1)
    expect(events(t, 'role.deleted')).toHaveLength(0)
  })

  it('without confirm=yes shows a confirmation page and changes nothing', async () => {
    const { t, browser } = await adminSession()
    const role = await createRoleViaHttp(browser, t, { name: 'runner', scope: 'project' })
    for (const fields of [{}, { confirm: 'no' }, { confirm: 'YES ' }] as Record<string, string>[]) {
      const res = await browser.post(`/admin/roles/${role.id}/delete`, fields)
      expect(res.status).toBe(200)
      const html = await res.text()
      expect(html).toContain('Delete role “runner”?')
      expect(html).toContain(`action="/admin/roles/${role.id}/delete"`)
      expect(html).toContain('name="confirm" value="yes"')
    }
    expect(roleNamed(t, 'runner')).toEqual(role)
    expect(events(t, 'role.deleted')).toHaveLength(0)
  })

  it('with confirm=yes deletes an unused custom role and its group limits, audited as role.deleted', async () => {
    const { t, admin, browser } = await adminSession()
    const leeds = insertGroup(t, 'Leeds')
    const role = await createRoleViaHttp(browser, t, { name: 'runner', scope: 'project', group_ids: [String(leeds.id)] })
    const keep = await createRoleViaHttp(browser, t, { name: 'keeper', scope: 'project' })
    expect(groupLimits(t, role.id)).toEqual([leeds.id])

    const res = await browser.post(`/admin/roles/${role.id}/delete`, { confirm: 'yes' })
    expect(res.status).toBe(303)
    expect(res.headers.get('Location')).toBe('/admin/roles')
    expect(roleNamed(t, 'runner')).toBeUndefined()
    expect(roleNamed(t, 'keeper')).toEqual(keep)
    expect(groupLimits(t, role.id)).toEqual([])

    const [deleted, ...more] = events(t, 'role.deleted')
    expect(more).toHaveLength(0)
    expect(deleted).toMatchObject({ actorId: admin.user.id, targetType: 'role', targetId: String(role.id) })
    expect(deleted!.details).toMatchObject({ name: 'runner', scope: 'project' })

    const list = await (await browser.get('/admin/roles')).text()
    expect(list).toContain('Role “runner” deleted.')
    expect(list).not.toContain('>runner</a>')
    expect((await browser.get(`/admin/roles/${role.id}`)).status).toBe(404)
  })

  it('deletes a custom site role once nobody holds it any more', async () => {
    const { t, browser } = await adminSession()
    const role = await createRoleViaHttp(browser, t, { name: 'gatekeeper', scope: 'site' })
    const u = await createTestUser(t)
    t.db.update(users).set({ role: 'gatekeeper' }).where(eq(users.id, u.user.id)).run()
    const refused = await browser.post(`/admin/roles/${role.id}/delete`, { confirm: 'yes' })
    expect(refused.status).toBe(409)
    expect(await refused.text()).toContain('1 user holds it')
    t.db.update(users).set({ role: 'observer' }).where(eq(users.id, u.user.id)).run()
    expect((await browser.post(`/admin/roles/${role.id}/delete`, { confirm: 'yes' })).status).toBe(303)
    expect(roleNamed(t, 'gatekeeper')).toBeUndefined()
  })
})

describe('non-admins', () => {
  for (const siteRole of ['researcher', 'observer'] as const) {
    it(`a signed-in ${siteRole} gets 403 naming roles.manage on every roles route, and nothing changes`, async () => {
      const { t, browser } = await adminSession()
      const role = await createRoleViaHttp(browser, t, { name: 'runner', description: 'old', scope: 'project', permissions: ['models.train'] })
      const system = roleNamed(t, 'researcher')!
      const user = await createTestUser(t, { role: siteRole })
      const other = await signIn(t, user)
      const before = allRoles(t)
      const eventsBefore = roleEvents(t).length

      const attempts: [string, () => Promise<Response>][] = [
        ['GET /admin/roles', () => other.get('/admin/roles')],
        ['POST /admin/roles', () => other.post('/admin/roles', { name: 'sneaky', scope: 'site', permissions: ['admin.access'] })],
        ['GET /admin/roles/:id', () => other.get(`/admin/roles/${role.id}`)],
        ['POST /admin/roles/:id', () => other.post(`/admin/roles/${role.id}`, { description: 'changed', permissions: ['results.delete'] })],
        ['POST /admin/roles/:id (system)', () => other.post(`/admin/roles/${system.id}`, { description: 'changed', permissions: ['admin.access'] })],
        ['POST /admin/roles/:id/delete', () => other.post(`/admin/roles/${role.id}/delete`, { confirm: 'yes' })],
        ['POST /admin/roles/:id/delete (no confirm)', () => other.post(`/admin/roles/${role.id}/delete`)],
        ['POST /admin/roles/:id/rename', () => other.post(`/admin/roles/${role.id}/rename`, { name: 'hijacked' })],
        ['POST /admin/roles/:id/rename (system)', () => other.post(`/admin/roles/${system.id}/rename`, { name: 'hijacked' })],
      ]
      for (const [what, attempt] of attempts) {
        const res = await attempt()
        expect(res.status, what).toBe(403)
        expect(await res.text(), what).toContain('roles.manage')
      }
      expect(allRoles(t)).toEqual(before)
      expect(roleEvents(t)).toHaveLength(eventsBefore)
    })
  }
})

describe('renaming a role and its holders', () => {
  it('renames a custom role (audited); its holders keep it, are listed and linked; a taken name is 422 and a system role 409', async () => {
    const { t, browser } = await adminSession()
    const role = t.db.insert(roles).values({ name: 'auditor', scope: 'site', permissions: ['admin.access', 'audit.view'], createdAt: 0, updatedAt: 0 }).returning().get()
    const holder = await createTestUser(t, { role: 'auditor' as 'admin', email: 'holder@example.org' })
    const page = await (await browser.get(`/admin/roles/${role.id}`)).text()
    expect(page).toContain(`<a href="/admin/users/${holder.user.id}">holder@example.org</a>`)
    expect((await browser.post(`/admin/roles/${role.id}/rename`, { name: 'log reader' })).status).toBe(303)
    expect(roleNamed(t, 'log reader')?.id).toBe(role.id)
    expect(t.db.select().from(users).where(eq(users.id, holder.user.id)).get()!.role).toBe('log reader')
    expect(events(t, 'role.renamed')).toEqual([expect.objectContaining({ targetId: String(role.id), details: { from: 'auditor', to: 'log reader' } })])
    // the holder still signs in with the role's permissions
    const theirs = await signIn(t, holder)
    expect((await theirs.get('/admin/audit')).status).toBe(200)

    const taken = await browser.post(`/admin/roles/${role.id}/rename`, { name: 'ADMIN' })
    expect(taken.status).toBe(422)
    expect(await taken.text()).toContain('A role with this name exists already.')
    expect((await browser.post(`/admin/roles/${role.id}/rename`, { name: 'bad\nname' })).status).toBe(422)
    const system = roleNamed(t, 'researcher')!
    expect((await browser.post(`/admin/roles/${system.id}/rename`, { name: 'scientist' })).status).toBe(409)
    expect(roleNamed(t, 'researcher')).toBeDefined()
    expect((await browser.post('/admin/roles/999999/rename', { name: 'x-y' })).status).toBe(404)
  })

  it('nobody renames a role they hold (the privilege ceiling, as for editing)', async () => {
    const t = createTestEnv()
    t.db.insert(roles).values({ name: 'role-manager', scope: 'site', permissions: ['admin.access', 'roles.manage'], createdAt: 0, updatedAt: 0 }).run()
    const manager = await createTestUser(t, { role: 'role-manager' as 'admin' })
    const own = roleNamed(t, 'role-manager')!
    const res = await (await signIn(t, manager)).post(`/admin/roles/${own.id}/rename`, { name: 'supreme' })
    expect(res.status).toBe(403)
    expect(roleNamed(t, 'role-manager')).toBeDefined()
  })
})

describe('the new-role form shows one scope', () => {
  it('offers only the chosen scope’s permissions: a plain GET step without JavaScript keeps what was typed, htmx gets the boxes alone', async () => {
    const { browser } = await adminSession()
    const first = await (await browser.get('/admin/roles')).text()
    expect(first).toContain('value="models.create"')
    expect(first).not.toContain('value="users.manage"')
    const site = await browser.get('/admin/roles?name=Auditors&description=Reads+logs&scope=site')
    const page = await site.text()
    expect(page).toContain('value="users.manage"')
    expect(page).not.toContain('value="models.create"')
    expect(page).toMatch(/name="name"[^>]*value="Auditors"/)
    expect(page).toMatch(/<input type="radio" name="scope" value="site" checked=""/)
    const fragment = await browser.get('/admin/roles?scope=project', { 'HX-Request': 'true' })
    expect(fragment.headers.get('Vary')).toContain('HX-Request')
    const html = await fragment.text()
    expect(html.startsWith('<div id="scope-permissions"')).toBe(true)
    expect(html).toContain('value="models.create"')
    expect(html).toContain('Limit to groups')
    expect(html).not.toContain('<html')
  })

  it('a project box ticked but “site” chosen (the step skipped without JavaScript) is 422: the form comes back with the site boxes, the message and what was typed, nothing created', async () => {
    const { t, browser } = await adminSession()
    const before = allRoles(t)
    const res = await browser.post('/admin/roles', { name: 'Auditors', description: 'Reads logs', scope: 'site', permissions: ['models.create', 'audit.view'] })
    expect(res.status).toBe(422)
    const page = await res.text()
    expect(page).toContain('models.create is a project permission: a site role cannot hold it.')
    expect(page).toContain('value="users.manage"')
    expect(page).not.toContain('value="models.create"')
    expect(page).toMatch(/<input type="checkbox" name="permissions" value="audit.view" checked=""/)
    expect(page).toMatch(/<input type="radio" name="scope" value="site" checked=""/)
    expect(page).toMatch(/name="name"[^>]*value="Auditors"/)
    expect(allRoles(t)).toEqual(before)
    expect(roleEvents(t)).toHaveLength(0)
  })
})

describe('renaming a role: every refusal', () => {
  it('a name that breaks the create rules is 422 with the message at the field and the typed value kept; nothing changes', async () => {
    const { t, browser } = await adminSession()
    const role = await createRoleViaHttp(browser, t, { name: 'runner', description: '', scope: 'project', permissions: ['models.train'] })
    const before = allRoles(t)
    const cases: [string, string][] = [
      ['x', '2 to 40 letters, digits, spaces, “_” or “-”, starting with a letter or digit.'],
      ['-runner', '2 to 40 letters, digits, spaces, “_” or “-”, starting with a letter or digit.'],
      ['r'.repeat(41), '2 to 40 letters, digits, spaces, “_” or “-”, starting with a letter or digit.'],
      ['run<b>ner', '2 to 40 letters, digits, spaces, “_” or “-”, starting with a letter or digit.'],
      ['Researcher', 'A role with this name exists already.'],
      ['viewer', 'A role with this name exists already.'],
    ]
    for (const [name, message] of cases) {
      const res = await browser.post(`/admin/roles/${role.id}/rename`, { name })
      expect(res.status, name).toBe(422)
      const html = await res.text()
      expect(html, name).toContain(message)
      expect(html, name).toMatch(new RegExp(`name="name"[^>]*value="${escapeHtml(name).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"`))
      expect(html, name).toContain('aria-invalid="true"')
    }
    expect(allRoles(t)).toEqual(before)
    expect(events(t, 'role.renamed')).toEqual([])
  })

  it('names are unique regardless of case against another custom role too', async () => {
    const { t, browser } = await adminSession()
    const a = await createRoleViaHttp(browser, t, { name: 'runner', description: '', scope: 'project', permissions: ['models.train'] })
    await createRoleViaHttp(browser, t, { name: 'walker', description: '', scope: 'project', permissions: [] })
    const res = await browser.post(`/admin/roles/${a.id}/rename`, { name: 'WALKER' })
    expect(res.status).toBe(422)
    expect(await res.text()).toContain('A role with this name exists already.')
    expect(roleNamed(t, 'runner')?.id).toBe(a.id)
    // only a change of case of its own name is allowed
    expect((await browser.post(`/admin/roles/${a.id}/rename`, { name: 'Runner' })).status).toBe(303)
    expect(roleNamed(t, 'Runner')?.id).toBe(a.id)
    expect(events(t, 'role.renamed')).toEqual([expect.objectContaining({ details: { from: 'runner', to: 'Runner' } })])
  })

  it('no built-in role can be renamed: 409 saying so, no rename form on its page, nothing changes', async () => {
    const { t, browser } = await adminSession()
    const before = allRoles(t)
    for (const name of SYSTEM_ROLE_NAMES) {
      const role = roleNamed(t, name)!
      const res = await browser.post(`/admin/roles/${role.id}/rename`, { name: 'fresh-name' })
      expect(res.status, name).toBe(409)
      expect(await res.text(), name).toContain(`“${name}” is a system role: it cannot be renamed.`)
      expect(await (await browser.get(`/admin/roles/${role.id}`)).text(), name).not.toContain(`action="/admin/roles/${role.id}/rename"`)
    }
    expect(allRoles(t)).toEqual(before)
    expect(events(t, 'role.renamed')).toEqual([])
  })

  it('a rename is audited with the old and new name, names the actor, and the flash says so', async () => {
    const { t, admin, browser } = await adminSession()
    const role = await createRoleViaHttp(browser, t, { name: 'runner', description: '', scope: 'project', permissions: ['models.train'] })
    const res = await browser.post(`/admin/roles/${role.id}/rename`, { name: '  trainer  ' })
    expect(res.status).toBe(303)
    expect(res.headers.get('Location')).toBe(`/admin/roles/${role.id}`)
    expect(events(t, 'role.renamed')).toEqual([expect.objectContaining({ actorId: admin.user.id, targetType: 'role', targetId: String(role.id), details: { from: 'runner', to: 'trainer' } })])
    const page = await (await browser.get(`/admin/roles/${role.id}`)).text()
    expect(page).toContain('Role “runner” renamed to “trainer”.')
    expect(page).toContain('Project role “trainer”')
  })
})

describe('a role’s holders on its page', () => {
  it('says “Nobody holds this role” when nobody does, and lists each holder linked to their user page otherwise', async () => {
    const { t, admin, browser } = await adminSession()
    const site = t.db.insert(roles).values({ name: 'auditor', scope: 'site', permissions: ['admin.access', 'audit.view'], createdAt: 0, updatedAt: 0 }).returning().get()
    const project = await createRoleViaHttp(browser, t, { name: 'runner', description: '', scope: 'project', permissions: ['models.train'] })
    for (const role of [site, project]) {
      const html = await (await browser.get(`/admin/roles/${role.id}`)).text()
      expect(html, role.name).toContain('Nobody holds this role.')
      expect(html, role.name).not.toContain('<ul class="holders">')
    }
    const bea = await createTestUser(t, { role: 'auditor' as 'admin', email: 'bea@example.org' })
    const cy = await createTestUser(t, { role: 'auditor' as 'admin', email: 'cy@example.org' })
    const sitePage = await (await browser.get(`/admin/roles/${site.id}`)).text()
    expect(sitePage).not.toContain('Nobody holds this role.')
    expect(sitePage).toContain('Held by 2 users.')
    expect(sitePage).toContain(`<a href="/admin/users/${bea.user.id}">bea@example.org</a>`)
    expect(sitePage).toContain(`<a href="/admin/users/${cy.user.id}">cy@example.org</a>`)
    expect(sitePage).not.toContain(`/admin/users/${admin.user.id}"`)

    const p = t.db.insert(projects).values({ name: 'Trial', ownerId: admin.user.id, createdAt: 0, updatedAt: 0 }).returning().get()
    t.db.insert(projectMembers).values({ projectId: p.id, userId: bea.user.id, roleId: project.id, createdAt: 0 }).run()
    const projectPage = await (await browser.get(`/admin/roles/${project.id}`)).text()
    expect(projectPage).toContain('Held by 1 project membership.')
    expect(projectPage).toContain(`<a href="/admin/users/${bea.user.id}">bea@example.org</a>`)
    expect(projectPage).toContain(`<a href="/projects/${p.id}">Trial</a>`)
  })
})

describe('renaming a role twice at once', () => {
  it('two parallel renames of one role: both audited with the name each one really replaced (a chain, no stale “from”)', async () => {
    const { t, browser } = await adminSession()
    const role = await createRoleViaHttp(browser, t, { name: 'runner', description: '', scope: 'project', permissions: ['models.train'] })
    const answers = await Promise.all(['sprinter', 'jogger'].map((name) => browser.post(`/admin/roles/${role.id}/rename`, { name })))
    expect(answers.map((r) => r.status)).toEqual([303, 303])
    const renames = events(t, 'role.renamed').map((e) => e.details as { from: string; to: string })
    expect(renames).toHaveLength(2)
    expect(renames[0]!.from).toBe('runner')
    expect(renames[1]!.from).toBe(renames[0]!.to)
    expect(t.db.select().from(roles).where(eq(roles.id, role.id)).get()!.name).toBe(renames[1]!.to)
  })
})
