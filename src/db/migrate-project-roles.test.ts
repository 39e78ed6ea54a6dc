import { describe, expect, it } from 'vitest'
import { databaseBeforeMigration } from '../test/migrations.ts'

describe('migration 0011: project roles as sets', () => {
  it('carries an existing single-role membership over, and the membership can then hold a second role', () => {
    const database = databaseBeforeMigration('0011_project_member_roles')
    let db = database.before()
    const sqlite = db.$client
    const userId = Number(sqlite.prepare("insert into users (email, role, password_hash, password_changed_at, created_at) values ('m@example.org', 'researcher', 'x', 0, 0)").run().lastInsertRowid)
    const projectId = Number(sqlite.prepare("insert into projects (name, owner_id, created_at, updated_at) values ('P', ?, 0, 0)").run(userId).lastInsertRowid)
    const roleIds = new Map((sqlite.prepare("select name, id from roles where scope = 'project'").all() as { name: string; id: number }[]).map((r) => [r.name, r.id]))
    const role = (name: string) => roleIds.get(name)!
    sqlite.prepare('insert into project_members (project_id, user_id, role_id, created_at) values (?, ?, ?, 123)').run(projectId, userId, role('contributor'))
    // before: one role per membership
    expect(() => sqlite.prepare('insert into project_members (project_id, user_id, role_id, created_at) values (?, ?, ?, 124)').run(projectId, userId, role('read-only'))).toThrow(/UNIQUE|PRIMARY/)
    sqlite.close()

    db = database.after()
    const rows = () => db.$client.prepare('select project_id as projectId, user_id as userId, role_id as roleId, created_at as createdAt from project_members order by role_id').all()
    expect(rows()).toEqual([{ projectId, userId, roleId: role('contributor'), createdAt: 123 }])
    db.$client.prepare('insert into project_members (project_id, user_id, role_id, created_at) values (?, ?, ?, 124)').run(projectId, userId, role('read-only'))
    expect(rows()).toHaveLength(2)
    // the same role twice is still refused
    expect(() => db.$client.prepare('insert into project_members (project_id, user_id, role_id, created_at) values (?, ?, ?, 125)').run(projectId, userId, role('read-only'))).toThrow(/UNIQUE|PRIMARY/)
    expect(db.$client.pragma('foreign_key_check')).toEqual([])
    db.$client.close()
  })
})
