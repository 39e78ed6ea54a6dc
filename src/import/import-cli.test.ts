import { describe, expect, it } from 'vitest'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { openDatabase } from '../db/client.ts'
import { applyMigrations } from '../db/migrate.ts'
import { applyConsortiumStructure } from '../models/consortium.ts'
import { countIn, runCli, tempDataDir } from '../test/cli.ts'

// `npm run cli -- import USERS.yaml AUTH.yaml [--dry-run] [--json]` as an operator runs it: a real
// process on a temporary DATA_DIR. Exit 0 no errors, 1 file errors (nothing applied), 2 usage.

const USERS = `- active: true
  adcid: 1
  auth_email: ann@alpha.edu
  authorizations: { approve_data: false, audit_data: false, view_reports: true, study_id: adrc, submit: [] }
  email: ann@alpha.edu
  name: { first_name: Ann, last_name: Smith }
  org_name: Alpha ADRC
`
const AUTH = `accepted:
  view-reports: read-only
`

function setup() {
  const { dataDir, file } = tempDataDir('import-cli')
  const db = openDatabase(join(dataDir, 'gatehouse.sqlite'))
  applyMigrations(db)
  const admin = Number(db.$client.prepare("insert into users (email, role, password_hash, password_changed_at, created_at) values ('admin@example.org', 'admin', 'x', 0, 0)").run().lastInsertRowid)
  applyConsortiumStructure(db, { studies: { adrc: 'primary' }, dataTypes: ['form'], centres: { 1: { group: 'alpha', studies: ['adrc'] } }, adminGroup: 'nacc' }, { actor: { id: admin, email: 'admin@example.org' }, now: 0, ip: '' })
  db.$client.close()
  return { dataDir, file }
}

const cli = (dataDir: string, ...args: string[]) => runCli(dataDir, 'import', ...args)
const count = countIn

describe('cli import', () => {
  it('prints the JSON report; dry run applies nothing; the real run invites once', () => {
    const { dataDir, file } = setup()
    const users = file('users.yaml', USERS)
    const auth = file('auth.yaml', AUTH)

    const dry = cli(dataDir, users, auth, '--dry-run', '--json')
    expect(dry.code, dry.stderr).toBe(0)
    const report = JSON.parse(dry.stdout)
    expect(Object.keys(report).sort()).toEqual(['actions', 'applied', 'errors', 'flags', 'ok', 'warnings'])
    expect(report).toMatchObject({ ok: true, applied: false, errors: [], warnings: [], flags: [] })
    expect(report.actions).toEqual([
      { entry: 0, email: 'ann@alpha.edu', action: 'invite', account: 'ann@alpha.edu', organization: 'Alpha ADRC', first_name: 'Ann', last_name: 'Smith' },
      { entry: 0, email: 'ann@alpha.edu', action: 'grant', account: 'ann@alpha.edu', project: 'alpha/accepted', role: 'read-only', on_accept: true },
      { entry: 0, email: 'ann@alpha.edu', action: 'grant', account: 'ann@alpha.edu', project: 'nacc/metadata', role: 'read-only', on_accept: true },
    ])
    expect(count(dataDir, 'select count(*) from invitations')).toBe(0)

    const run = cli(dataDir, users, auth)
    expect(run.code, run.stderr).toBe(0)
    expect(run.stdout).toMatch(/^Applied: 1 invitations \(2 roles on acceptance\)/)
    expect(count(dataDir, 'select count(*) from invitations')).toBe(1)
    expect(count(dataDir, "select count(*) from outbox where recipient = 'ann@alpha.edu'")).toBe(1)

    const again = cli(dataDir, users, auth, '--json')
    expect(again.code).toBe(0)
    expect(JSON.parse(again.stdout).actions.map((a: { action: string }) => a.action)).toEqual(['skip'])
    expect(count(dataDir, 'select count(*) from outbox')).toBe(1)
  })

  it('exits 1 with a clear error for a directory over 100,000 entries or a YAML node nested deeper than 64; nothing applied', () => {
    const { dataDir, file } = setup()
    const big = file('big.yaml', USERS + '- {}\n'.repeat(100_000))
    const deep = file('deep.yaml', `${USERS}- active: false\n  name: ${'['.repeat(10_000)}${']'.repeat(10_000)}\n`)
    const auth = file('auth.yaml', AUTH)
    for (const [users, message] of [[big, /100,001 entries; at most 100,000 are allowed/], [deep, /nested deeper than 64 levels \(at line 9\)/]] as const) {
      const run = cli(dataDir, users, auth, '--json')
      expect(run.code, run.stderr).toBe(1)
      expect(run.stderr).not.toMatch(/RangeError|\n\s+at /)
      expect(JSON.parse(run.stdout)).toMatchObject({ ok: false, applied: false, errors: [{ entry: null, message: expect.stringMatching(message) }] })
    }
    const deepStructure = file('structure.yaml', `studies: ${'{a: '.repeat(70)}1${'}'.repeat(70)}\n`)
    const structureRun = runCli(dataDir, 'import-structure', deepStructure)
    expect(structureRun.code).toBe(1)
    expect(structureRun.stderr + structureRun.stdout).toMatch(/nested deeper than 64 levels/)
    expect(count(dataDir, 'select count(*) from invitations')).toBe(0)
  }, 120_000)

  it('exits 1 on file errors and applies nothing; 2 on usage errors', () => {
    const { dataDir, file } = setup()
    const users = file('users.yaml', USERS + '- active: yes\n')
    const auth = file('auth.yaml', AUTH)
    const bad = cli(dataDir, users, auth, '--json')
    expect(bad.code).toBe(1)
    const report = JSON.parse(bad.stdout)
    expect(report.ok).toBe(false)
    expect(report.applied).toBe(false)
    expect(report.errors[0]).toMatchObject({ entry: 1, path: expect.stringContaining('[1]') })
    expect(report.actions.map((a: { action: string }) => a.action)).toContain('invite')
    expect(count(dataDir, 'select count(*) from invitations')).toBe(0)

    const human = cli(dataDir, users, auth)
    expect(human.code).toBe(1)
    expect(human.stderr).toMatch(/nothing applied/)

    expect(cli(dataDir, users).code).toBe(2)
    expect(cli(dataDir, users, auth, '--bogus').code).toBe(2)
    expect(cli(dataDir, users, join(dataDir, 'missing.yaml')).code).toBe(2)
    expect(count(dataDir, 'select count(*) from invitations')).toBe(0)
  })
})

const DOMAINS_FIXTURE = fileURLToPath(new URL('./fixtures/domains/import-checks.yaml', import.meta.url))
const WENDY = `- active: true
  adcid: 1
  auth_email: wendy@umich.edu
  authorizations: { approve_data: false, audit_data: false, view_reports: true, study_id: adrc, submit: [] }
  email: wendy@umich.edu
  name: { first_name: Wendy, last_name: Orr }
  org_name: Alpha ADRC
`

function rows(dataDir: string, sqlText: string): Record<string, unknown>[] {
  const db = openDatabase(join(dataDir, 'gatehouse.sqlite'))
  try {
    return db.$client.prepare(sqlText).all() as Record<string, unknown>[]
  } finally {
    db.$client.close()
  }
}

describe('cli import: domains, notification mode, recorded runs', () => {
  it('exits 2 on --domains with a missing file, an unknown --notify, and --now without --dry-run; nothing applied', () => {
    const { dataDir, file } = setup()
    const users = file('users.yaml', USERS)
    const auth = file('auth.yaml', AUTH)

    const missing = cli(dataDir, users, auth, '--domains', join(dataDir, 'no-such-domains.yaml'))
    expect(missing.code).toBe(2)
    expect(missing.stderr).toContain(`import: ${join(dataDir, 'no-such-domains.yaml')}: no such file`)

    const bogus = cli(dataDir, users, auth, '--notify', 'bogus')
    expect(bogus.code).toBe(2)
    expect(bogus.stderr).toContain('import: --notify must be one of none, date, force')

    const now = cli(dataDir, users, auth, '--now', '2026-12-01')
    expect(now.code).toBe(2)
    expect(now.stderr).toContain('import: --now only works with --dry-run')

    expect(count(dataDir, 'select count(*) from invitations')).toBe(0)
    expect(count(dataDir, 'select count(*) from outbox')).toBe(0)
    expect(count(dataDir, 'select count(*) from import_runs')).toBe(0)
  })

  it('--json reports the flags; an applied run is recorded in import_runs and the import.applied event targets it', () => {
    const { dataDir, file } = setup()
    const db = openDatabase(join(dataDir, 'gatehouse.sqlite'))
    db.$client.prepare("insert into users (email, first_name, last_name, role, password_hash, password_changed_at, created_at, claimed_via) values ('wendy@umich.edu', 'Wendy', 'Orr', 'researcher', 'x', 0, 0, 'ORCID')").run()
    db.$client.close()
    const users = file('users.yaml', USERS + WENDY)
    const auth = file('auth.yaml', AUTH)
    const flag = { entry: 1, email: 'wendy@umich.edu', type: 'wrong_idp', matches: ['wendy@umich.edu'], message: 'wendy@umich.edu was claimed through ORCID, but umich.edu expects University of Michigan' }

    const dry = cli(dataDir, users, auth, '--domains', DOMAINS_FIXTURE, '--notify', 'date', '--dry-run', '--json')
    expect(dry.code, dry.stderr).toBe(0)
    expect(JSON.parse(dry.stdout).flags).toEqual([flag])
    expect(count(dataDir, 'select count(*) from import_runs')).toBe(0)

    const run = cli(dataDir, users, auth, '--domains', DOMAINS_FIXTURE, '--notify', 'date', '--json')
    expect(run.code, run.stderr).toBe(0)
    const report = JSON.parse(run.stdout)
    expect(Object.keys(report).sort()).toEqual(['actions', 'applied', 'errors', 'flags', 'ok', 'warnings'])
    expect(report).toMatchObject({ ok: true, applied: true, errors: [], warnings: [] })
    expect(report.flags).toEqual([flag])
    // Advisory: Wendy's grants were made all the same.
    expect(report.actions.filter((a: { entry: number }) => a.entry === 1).map((a: { action: string; project: string }) => [a.action, a.project])).toEqual([
      ['grant', 'alpha/accepted'],
      ['grant', 'nacc/metadata'],
    ])
    expect(count(dataDir, "select count(*) from project_members pm join users u on u.id = pm.user_id where u.email = 'wendy@umich.edu'")).toBe(2)
    expect(rows(dataDir, 'select follow_up_mode from invitations')).toEqual([{ follow_up_mode: 'date' }])

    const runs = rows(dataDir, 'select id, status, notify, created_by, users_filename, auth_filename, domains_filename, entries, applied_at is not null as applied, report_ok, report from import_runs join import_run_files on run_id = id')
    expect(runs).toHaveLength(1)
    const recorded = runs[0]!
    expect(recorded).toMatchObject({ status: 'applied', notify: 'date', created_by: null, users_filename: 'users.yaml', auth_filename: 'auth.yaml', domains_filename: 'import-checks.yaml', entries: 2, applied: 1, report_ok: 1 })
    const stored = JSON.parse(recorded.report as string)
    expect(stored.flags).toEqual([flag])
    expect(stored.counts).toMatchObject({ invited: 1, granted: 2 })

    const events = rows(dataDir, "select target_type, target_id, actor_email, details from audit_events where event = 'import.applied'")
    expect(events).toHaveLength(1)
    expect(events[0]).toMatchObject({ target_type: 'import', target_id: String(recorded.id), actor_email: expect.stringMatching(/^cli:/) })
    expect(JSON.parse(events[0]!.details as string)).toMatchObject({ invited: 1, granted: 2, notify: 'date' })
  })
})
