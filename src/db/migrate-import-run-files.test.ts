import { describe, expect, it } from 'vitest'
import { databaseBeforeMigration } from '../test/migrations.ts'
import { getImportRun, getImportRunState } from '../import/runs.ts'

describe('migration 0023: import run files apart from the run', () => {
  it('keeps every run its files and report, and reads report_ok once from each report', () => {
    const database = databaseBeforeMigration('0023_import_run_files')
    let db = database.before()
    const insert = db.$client.prepare(
      "insert into import_runs (status, notify, created_at, users_filename, auth_filename, domains_filename, users_yaml, auth_yaml, domains_yaml, report, entries) values (?, 'none', 0, 'users.yaml', 'auth.yaml', ?, ?, 'auth: []', ?, ?, 2)",
    )
    const planned = Number(insert.run('planned', 'domains.yaml', 'people: [ann]', 'domains: []', JSON.stringify({ ok: true, errors: [] })).lastInsertRowid)
    const failedPlan = Number(insert.run('planned', null, 'people: [bad]', null, JSON.stringify({ ok: false, errors: [{ message: 'bad' }] })).lastInsertRowid)
    const planning = Number(insert.run('planning', null, 'people: []', null, null).lastInsertRowid)
    db.$client.close()

    db = database.after()
    expect(getImportRun(db, planned)).toMatchObject({ status: 'planned', domainsFilename: 'domains.yaml', usersYaml: 'people: [ann]', authYaml: 'auth: []', domainsYaml: 'domains: []', report: { ok: true, errors: [] }, reportOk: true, entries: 2 })
    expect(getImportRunState(db, planned)).toEqual({ id: planned, status: 'planned', ok: true })
    expect(getImportRunState(db, failedPlan)).toEqual({ id: failedPlan, status: 'planned', ok: false })
    expect(getImportRun(db, failedPlan)).toMatchObject({ usersYaml: 'people: [bad]', domainsYaml: null, report: { ok: false } })
    expect(getImportRunState(db, planning)).toEqual({ id: planning, status: 'planning', ok: null })
    expect(getImportRun(db, planning)).toMatchObject({ report: null, reportOk: null })
    // the run's own row no longer holds the files
    const columns = (db.$client.prepare("select name from pragma_table_info('import_runs')").pluck().all() as string[])
    expect(columns).not.toContain('users_yaml')
    expect(columns).not.toContain('report')
    // a run's files go with it
    db.$client.prepare('delete from import_runs where id = ?').run(planning)
    expect(db.$client.prepare('select count(*) from import_run_files where run_id = ?').pluck().get(planning)).toBe(0)
    expect(db.$client.pragma('foreign_key_check')).toEqual([])
    db.$client.close()
  })
})
