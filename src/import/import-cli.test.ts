import { afterEach, describe, expect, it } from 'vitest'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openDatabase } from '../db/client.ts'
import { applyMigrations } from '../db/migrate.ts'
import { applyConsortiumStructure } from '../models/consortium.ts'
import { PROJECT_ROOT } from '../paths.ts'

// `npm run cli -- import USERS.yaml AUTH.yaml [--dry-run] [--json]` as an operator runs it: a real
// process on a temporary DATA_DIR. Exit 0 no errors, 1 file errors (nothing applied), 2 usage.

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

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
  const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-import-cli-'))
  dirs.push(dataDir)
  const db = openDatabase(join(dataDir, 'gatehouse.sqlite'))
  applyMigrations(db)
  const admin = Number(db.$client.prepare("insert into users (email, role, password_hash, password_changed_at, created_at) values ('admin@example.org', 'admin', 'x', 0, 0)").run().lastInsertRowid)
  applyConsortiumStructure(db, { studies: { adrc: 'primary' }, dataTypes: ['form'], centres: { 1: { group: 'alpha', studies: ['adrc'] } }, adminGroup: 'nacc' }, { actor: { id: admin, email: 'admin@example.org' }, now: 0, ip: '' })
  db.$client.close()
  const file = (name: string, text: string) => {
    const path = join(dataDir, name)
    writeFileSync(path, text)
    return path
  }
  return { dataDir, file }
}

function cli(dataDir: string, ...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'import', ...args], {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', DATA_DIR: dataDir, SECRET_KEY: 'ab'.repeat(32), BASE_URL: 'http://gatehouse.test' },
    encoding: 'utf8',
    timeout: 60_000,
  })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

function count(dataDir: string, sqlText: string): number {
  const db = openDatabase(join(dataDir, 'gatehouse.sqlite'))
  try {
    return (db.$client.prepare(sqlText).pluck().get() as number) ?? 0
  } finally {
    db.$client.close()
  }
}

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
