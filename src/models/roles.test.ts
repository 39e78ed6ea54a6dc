import { describe, expect, it } from 'vitest'
import { eq } from 'drizzle-orm'
import { auditEvents, groups, projectMembers, projects, roleGroups, roles, users, type Role } from '../db/schema.ts'
import type { Db } from '../db/client.ts'
import { SYSTEM_ROLES } from '../authz/permissions.ts'
import { decideSite } from '../authz/policy.ts'
import { testDb } from '../test/helpers.ts'
import { countRoleHolders, createRole, deleteRole, getRoleById, getRoleByName, getRoleGroupIds, listRolesWithUsage, resolveActor, updateRole } from './roles.ts'

const ADMIN = { id: 1, email: 'admin@example.org' }
const AUDIT = { at: 1_000, actor: ADMIN, ip: '192.0.2.10' }

function insertUser(db: Db, email: string, role: string) {
  return db.insert(users).values({ email, role, passwordHash: 'x', passwordChangedAt: 0, createdAt: 0 }).returning().get()
}
function insertGroup(db: Db, name: string) {
  return db.insert(groups).values({ name, createdAt: 0 }).returning().get()
}
function auditRows(db: Db) {
  return db
    .select()
    .from(auditEvents)
    .all()
    .map((r) => ({ ...r, details: JSON.parse(r.details) as Record<string, unknown> }))
}
function sorted(xs: readonly string[]) {
  return [...xs].sort()
}

describe('seeded system roles', () => {
  it('equal SYSTEM_ROLES: names, scopes, descriptions, permissions, is_system', () => {
    const db = testDb()
    const rows = db.select().from(roles).all()
    const system = rows.filter((r) => r.isSystem)
    expect(sorted(system.map((r) => r.name))).toEqual(sorted(Object.keys(SYSTEM_ROLES)))
    // A fresh database holds nothing but the system roles.
    expect(rows).toHaveLength(system.length)
    for (const r of system) {
      const want = SYSTEM_ROLES[r.name]!
      expect({ scope: r.scope, description: r.description, permissions: sorted(r.permissions), isSystem: r.isSystem }, r.name).toEqual({
        scope: want.scope,
        description: want.description,
        permissions: sorted(want.permissions),
        isSystem: true,
      })
    }
  })

  it('match the SPEC: three site roles, contributor and read-only project roles', () => {
    const db = testDb()
    const perms = (name: string) => sorted(getRoleByName(db, name)!.permissions)
    expect(getRoleByName(db, 'admin')!.scope).toBe('site')
    expect(getRoleByName(db, 'researcher')!.scope).toBe('site')
    expect(getRoleByName(db, 'observer')!.scope).toBe('site')
    expect(getRoleByName(db, 'contributor')!.scope).toBe('project')
    expect(getRoleByName(db, 'read-only')!.scope).toBe('project')
    expect(perms('observer')).toEqual([])
    expect(perms('researcher')).toEqual(['projects.contribute', 'projects.create'])
    expect(perms('read-only')).toEqual(['project.view', 'results.download', 'results.view'])
    expect(perms('contributor')).toEqual(['models.create', 'models.train', 'models.upload', 'project.view', 'results.download', 'results.view'])
    expect(perms('admin')).toEqual(
      expect.arrayContaining(['admin.access', 'users.manage', 'projects.approve', 'projects.unstage', 'projects.delete_any', 'deployment.manage', 'banner.manage', 'projects.create', 'projects.contribute']),
    )
  })
})

describe('createRole', () => {
  it('adds project.view to every project role and drops permissions of the wrong scope or unknown ones', () => {
    const db = testDb()
    const role = createRole(db, { name: 'model-runner', description: 'Trains', scope: 'project', permissions: ['models.train', 'users.manage', 'no.such.thing'], groupIds: [] }, AUDIT)
    expect(role).toMatchObject({ name: 'model-runner', description: 'Trains', scope: 'project', isSystem: false })
    expect(sorted(role.permissions)).toEqual(['models.train', 'project.view'])
    expect(sorted(getRoleById(db, role.id)!.permissions)).toEqual(['models.train', 'project.view'])
  })

  it('a project role created with no permissions still holds project.view', () => {
    const db = testDb()
    const role = createRole(db, { name: 'bare', description: '', scope: 'project', permissions: [], groupIds: [] }, AUDIT)
    expect(role.permissions).toEqual(['project.view'])
  })

  it('a site role keeps only site permissions (no required ones added)', () => {
    const db = testDb()
    const role = createRole(db, { name: 'auditor', description: 'Reads the log', scope: 'site', permissions: ['audit.view', 'admin.access', 'project.view', 'models.train', 'bogus'], groupIds: [] }, AUDIT)
    expect(sorted(role.permissions)).toEqual(['admin.access', 'audit.view'])
    const empty = createRole(db, { name: 'nobody', description: '', scope: 'site', permissions: ['project.view'], groupIds: [] }, AUDIT)
    expect(empty.permissions).toEqual([])
  })

  it('records group limits for project roles only', () => {
    const db = testDb()
    const g1 = insertGroup(db, 'North')
    const g2 = insertGroup(db, 'South')
    const limited = createRole(db, { name: 'north-steward', description: '', scope: 'project', permissions: ['files.delete'], groupIds: [g1.id, g2.id] }, AUDIT)
    expect(sorted(getRoleGroupIds(db, limited.id).map(String))).toEqual(sorted([g1.id, g2.id].map(String)))
    const site = createRole(db, { name: 'site-ish', description: '', scope: 'site', permissions: [], groupIds: [g1.id] }, AUDIT)
    expect(getRoleGroupIds(db, site.id)).toEqual([])
  })

  it('writes a role.created audit event with who, when, what', () => {
    const db = testDb()
    const role = createRole(db, { name: 'data-steward', description: 'Cleans up', scope: 'project', permissions: ['results.delete', 'files.delete'], groupIds: [] }, AUDIT)
    const events = auditRows(db)
    expect(events).toHaveLength(1)
    expect(events[0]).toMatchObject({ event: 'role.created', at: AUDIT.at, actorId: ADMIN.id, actorEmail: ADMIN.email, ip: AUDIT.ip, targetType: 'role', targetId: String(role.id) })
    expect(events[0]!.details).toMatchObject({ name: 'data-steward', scope: 'project' })
    expect(sorted(events[0]!.details.permissions as string[])).toEqual(['files.delete', 'project.view', 'results.delete'])
  })

  it('refuses a duplicate name and leaves no audit event for it', () => {
    const db = testDb()
    expect(() => createRole(db, { name: 'researcher', description: '', scope: 'site', permissions: [], groupIds: [] }, AUDIT)).toThrow()
    expect(auditRows(db)).toEqual([])
  })
})

describe('updateRole', () => {
  it('changes a custom site role for every holder at once (resolveActor before/after)', () => {
    const db = testDb()
    const role = createRole(db, { name: 'auditor', description: 'v1', scope: 'site', permissions: ['admin.access'], groupIds: [] }, AUDIT)
    const alice = insertUser(db, 'alice@example.org', 'auditor')
    const bob = insertUser(db, 'bob@example.org', 'auditor')
    const carol = insertUser(db, 'carol@example.org', 'researcher')

    for (const u of [alice, bob]) {
      expect(resolveActor(db, u).sitePermissions).toEqual(['admin.access'])
      expect(decideSite(resolveActor(db, u), 'audit.view').allowed).toBe(false)
    }

    updateRole(db, role, { description: 'v2', permissions: ['admin.access', 'audit.view', 'project.view'], groupIds: [] }, { ...AUDIT, at: 2_000 })

    // The same user objects (as a session would hold them) see the new permissions on the next resolve.
    for (const u of [alice, bob]) {
      expect(sorted(resolveActor(db, u).sitePermissions)).toEqual(['admin.access', 'audit.view'])
      expect(decideSite(resolveActor(db, u), 'audit.view').allowed).toBe(true)
    }
    expect(sorted(resolveActor(db, carol).sitePermissions)).toEqual(['projects.contribute', 'projects.create'])

    const after = getRoleById(db, role.id)!
    expect(after).toMatchObject({ name: 'auditor', scope: 'site', description: 'v2', isSystem: false, updatedAt: 2_000 })

    updateRole(db, after, { description: 'v3', permissions: [], groupIds: [] }, { ...AUDIT, at: 3_000 })
    expect(resolveActor(db, alice).sitePermissions).toEqual([])
    expect(decideSite(resolveActor(db, alice), 'admin.access').allowed).toBe(false)
  })

  it('keeps project.view in a project role and replaces its group limits', () => {
    const db = testDb()
    const g1 = insertGroup(db, 'North')
    const g2 = insertGroup(db, 'South')
    const role = createRole(db, { name: 'steward', description: '', scope: 'project', permissions: ['files.delete'], groupIds: [g1.id] }, AUDIT)
    updateRole(db, role, { description: 'now results', permissions: ['results.delete', 'banner.manage'], groupIds: [g2.id] }, AUDIT)
    const after = getRoleById(db, role.id)!
    expect(sorted(after.permissions)).toEqual(['project.view', 'results.delete'])
    expect(getRoleGroupIds(db, role.id)).toEqual([g2.id])
    updateRole(db, after, { description: 'any group', permissions: [], groupIds: [] }, AUDIT)
    expect(getRoleById(db, role.id)!.permissions).toEqual(['project.view'])
    expect(getRoleGroupIds(db, role.id)).toEqual([])
  })

  it('writes a role.updated audit event with the permissions before and after', () => {
    const db = testDb()
    const role = createRole(db, { name: 'auditor', description: '', scope: 'site', permissions: ['admin.access'], groupIds: [] }, AUDIT)
    updateRole(db, role, { description: 'more', permissions: ['admin.access', 'audit.view'], groupIds: [] }, { ...AUDIT, at: 5_000 })
    const events = auditRows(db)
    expect(events.map((e) => e.event)).toEqual(['role.created', 'role.updated'])
    const ev = events[1]!
    expect(ev).toMatchObject({ event: 'role.updated', at: 5_000, actorId: ADMIN.id, actorEmail: ADMIN.email, targetType: 'role', targetId: String(role.id) })
    expect(ev.details).toMatchObject({ name: 'auditor', before: ['admin.access'] })
    expect(sorted(ev.details.after as string[])).toEqual(['admin.access', 'audit.view'])
  })
})

describe('deleteRole', () => {
  function setupProject(db: Db) {
    const owner = insertUser(db, 'owner@example.org', 'researcher')
    const project = db.insert(projects).values({ name: 'P', ownerId: owner.id, createdAt: 0, updatedAt: 0 }).returning().get()
    return { owner, project }
  }

  it('refuses a site role while anyone holds it, returning how many; deletes it when none do', () => {
    const db = testDb()
    const role = createRole(db, { name: 'auditor', description: '', scope: 'site', permissions: ['audit.view'], groupIds: [] }, AUDIT)
    const a = insertUser(db, 'a@example.org', 'auditor')
    insertUser(db, 'b@example.org', 'auditor')
    expect(countRoleHolders(db, role)).toBe(2)
    expect(listRolesWithUsage(db).find((r) => r.id === role.id)!.holders).toBe(2)

    expect(deleteRole(db, role, { ...AUDIT, at: 2_000 })).toBe(2)
    expect(getRoleById(db, role.id)).not.toBeNull()
    expect(auditRows(db).map((e) => e.event)).toEqual(['role.created'])

    db.update(users).set({ role: 'observer' }).where(eq(users.id, a.id)).run()
    expect(deleteRole(db, role, AUDIT)).toBe(1)
    db.update(users).set({ role: 'observer' }).where(eq(users.email, 'b@example.org')).run()

    expect(deleteRole(db, role, { ...AUDIT, at: 3_000 })).toBe(0)
    expect(getRoleById(db, role.id)).toBeNull()
    const events = auditRows(db)
    expect(events.map((e) => e.event)).toEqual(['role.created', 'role.deleted'])
    expect(events[1]).toMatchObject({ at: 3_000, actorId: ADMIN.id, targetType: 'role', targetId: String(role.id), details: { name: 'auditor', scope: 'site' } })
  })

  it('refuses a project role while a membership holds it; deletes it (and its group limits) when none do', () => {
    const db = testDb()
    const { project } = setupProject(db)
    const g = insertGroup(db, 'North')
    const role = createRole(db, { name: 'steward', description: '', scope: 'project', permissions: ['files.delete'], groupIds: [g.id] }, AUDIT)
    const m1 = insertUser(db, 'm1@example.org', 'researcher')
    const m2 = insertUser(db, 'm2@example.org', 'researcher')
    const m3 = insertUser(db, 'm3@example.org', 'observer')
    db.insert(projectMembers).values([
      { projectId: project.id, userId: m1.id, roleId: role.id, createdAt: 0 },
      { projectId: project.id, userId: m2.id, roleId: role.id, createdAt: 0 },
      { projectId: project.id, userId: m3.id, roleId: getRoleByName(db, 'read-only')!.id, createdAt: 0 },
    ]).run()

    expect(deleteRole(db, role, AUDIT)).toBe(2)
    expect(getRoleById(db, role.id)).not.toBeNull()
    expect(auditRows(db).filter((e) => e.event === 'role.deleted')).toEqual([])

    db.delete(projectMembers).where(eq(projectMembers.roleId, role.id)).run()
    expect(deleteRole(db, role, AUDIT)).toBe(0)
    expect(getRoleById(db, role.id)).toBeNull()
    expect(db.select().from(roleGroups).where(eq(roleGroups.roleId, role.id)).all()).toEqual([])
    expect(auditRows(db).filter((e) => e.event === 'role.deleted')).toHaveLength(1)
  })

  it('a custom role nobody holds is deleted at once', () => {
    const db = testDb()
    const role = createRole(db, { name: 'lonely', description: '', scope: 'site', permissions: [], groupIds: [] }, AUDIT)
    expect(countRoleHolders(db, role)).toBe(0)
    expect(deleteRole(db, role, AUDIT)).toBe(0)
  })
})

describe('system roles', () => {
  const systemRoles = (db: Db): Role[] => db.select().from(roles).where(eq(roles.isSystem, true)).all()

  it.each(Object.keys(SYSTEM_ROLES))('"%s" cannot be edited or deleted, and nothing is written', (name) => {
    const db = testDb()
    const before = systemRoles(db)
    const role = getRoleByName(db, name)!
    expect(() => updateRole(db, role, { description: 'hacked', permissions: ['projects.manage_all', 'project.edit'], groupIds: [] }, AUDIT)).toThrow(/system/)
    expect(() => deleteRole(db, role, AUDIT)).toThrow(/system/)
    expect(systemRoles(db)).toEqual(before)
    expect(auditRows(db)).toEqual([])
  })
})
