import { describe, expect, it } from 'vitest'
import { databaseBeforeMigration } from '../test/migrations.ts'

describe('migration 0015: site decisions as history', () => {
  it('carries the decisions recorded before it over as history rows (approved → approve, not approved → decline with a reason); undecided sites get none', () => {
    const database = databaseBeforeMigration('0015_site_decisions')
    let db = database.before()
    const s = db.$client
    const userId = Number(s.prepare("insert into users (email, role, password_hash, password_changed_at, created_at) values ('a@example.org', 'admin', 'x', 0, 0)").run().lastInsertRowid)
    const projectId = Number(s.prepare("insert into projects (name, owner_id, status, created_at, updated_at) values ('P', ?, 'approved', 0, 0)").run(userId).lastInsertRowid)
    const queryId = Number(s.prepare("insert into cohort_queries (project_id, version, sql_text, created_by, created_at) values (?, 1, 'SELECT 1', ?, 0)").run(projectId, userId).lastInsertRowid)
    const site = (code: string) => Number(s.prepare("insert into sites (name, code, api_key_hash, api_key_prefix, created_at, key_rotated_at) values (?, ?, ?, 'p', 0, 0)").run(code, code, `hash-${code}`).lastInsertRowid)
    const [a, b, c] = [site('A'), site('B'), site('C')]
    s.prepare("insert into project_sites (project_id, site_id, staged_at, decision, decided_by, decided_at) values (?, ?, 0, 'approved', ?, 500)").run(projectId, a, userId)
    s.prepare("insert into project_sites (project_id, site_id, staged_at, decision, decided_by, decided_at) values (?, ?, 0, 'not approved', ?, 500)").run(projectId, b, userId)
    s.prepare('insert into project_sites (project_id, site_id, staged_at) values (?, ?, 0)').run(projectId, c)
    s.close()

    db = database.after()
    const rows = db.$client.prepare('select project_id as projectId, site_id as siteId, decision, decided_by as decidedBy, decided_at as decidedAt, reason, cohort_query_id as cohortQueryId, expires_on as expiresOn from site_decisions order by site_id').all()
    expect(rows).toEqual([
      { projectId, siteId: a, decision: 'approve', decidedBy: userId, decidedAt: 500, reason: '', cohortQueryId: queryId, expiresOn: null },
      { projectId, siteId: b, decision: 'decline', decidedBy: userId, decidedAt: 500, reason: expect.stringContaining('Not approved'), cohortQueryId: queryId, expiresOn: null },
    ])
    expect(db.$client.pragma('foreign_key_check')).toEqual([])
    db.$client.close()
  })
})
