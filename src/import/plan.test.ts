import { beforeEach, describe, expect, it } from 'vitest'
import { testDb, T0, BASE_URL } from '../test/helpers.ts'
import type { Db } from '../db/client.ts'
import { applyConsortiumStructure } from '../models/consortium.ts'
import { planImport } from './plan.ts'
import { applyImport, type ApplyContext } from './apply.ts'

// SPEC §6.4: the import plan and its application, on a real in-memory database.

const STRUCTURE = { studies: { adrc: 'primary' as const }, dataTypes: ['form'], centres: { 1: { group: 'alpha', studies: ['adrc'] } }, adminGroup: 'nacc' }

const AUTH = `metadata:
  view-reports: read-only
accepted:
  view-reports: read-only
  approve-data: contributor
ingest-form:
  submit-form: contributor
`

function person(authEmail: string, email = authEmail): string {
  return `- active: true
  adcid: 1
  auth_email: ${authEmail}
  authorizations: { approve_data: true, audit_data: false, view_reports: true, study_id: adrc, submit: [form] }
  email: ${email}
  name: { first_name: Ann, last_name: Smith }
  org_name: Alpha ADRC
`
}

function inactive(email: string): string {
  return `- active: false
  auth_email: null
  email: ${email}
  name: { first_name: Old, last_name: Timer }
`
}

let db: Db
let adminId: number
const ctx = (): ApplyContext => ({ actor: { id: adminId, email: 'admin@example.org' }, now: T0, ip: '', baseUrl: BASE_URL, key: Buffer.alloc(32, 1), ttlMs: 48 * 3_600_000, inviter: 'Admin' })
const n = (sql: string, ...params: unknown[]) => db.$client.prepare(sql).pluck().get(...params) as number

function addUser(email: string, disabled = false): number {
  return Number(db.$client.prepare("insert into users (email, role, password_hash, password_changed_at, created_at, disabled_at) values (?, 'researcher', 'x', 0, 0, ?)").run(email, disabled ? 1 : null).lastInsertRowid)
}
function projectId(key: string): number {
  return n('select p.id from projects p join groups g on g.id = p.group_id where g.name || \'/\' || p.label = ?', key)
}
function roleOf(userId: number, key: string): string | undefined {
  return db.$client.prepare('select r.name from project_members pm join roles r on r.id = pm.role_id where pm.user_id = ? and pm.project_id = ?').pluck().get(userId, projectId(key)) as string | undefined
}

beforeEach(() => {
  db = testDb()
  adminId = addUser('admin@example.org')
  db.$client.prepare("update users set role = 'admin' where id = ?").run(adminId)
  const r = applyConsortiumStructure(db, STRUCTURE, { actor: { id: adminId, email: 'admin@example.org' }, now: T0, ip: '' })
  expect(r.ok).toBe(true)
})

describe('planImport / applyImport', () => {
  it('invites a new person with the roles granted on acceptance, once', () => {
    const plan = planImport(db, { usersYaml: person('Ann@Alpha.edu', 'ann.smith@alpha.edu'), authYaml: AUTH, now: T0 })
    expect(plan).toMatchObject({ ok: true, applied: false, errors: [], warnings: [], flags: [] })
    expect(plan.actions).toEqual([
      { entry: 0, email: 'ann.smith@alpha.edu', action: 'invite', account: 'ann@alpha.edu', organization: 'Alpha ADRC', first_name: 'Ann', last_name: 'Smith' },
      { entry: 0, email: 'ann.smith@alpha.edu', action: 'grant', account: 'ann@alpha.edu', project: 'alpha/metadata', role: 'read-only', on_accept: true },
      // approve-data → contributor and view-reports → read-only: one role per project, the one with most permissions.
      { entry: 0, email: 'ann.smith@alpha.edu', action: 'grant', account: 'ann@alpha.edu', project: 'alpha/accepted', role: 'contributor', on_accept: true },
      { entry: 0, email: 'ann.smith@alpha.edu', action: 'grant', account: 'ann@alpha.edu', project: 'alpha/ingest-form', role: 'contributor', on_accept: true },
      { entry: 0, email: 'ann.smith@alpha.edu', action: 'grant', account: 'ann@alpha.edu', project: 'nacc/metadata', role: 'read-only', on_accept: true },
    ])
    const applied = applyImport(db, plan, ctx())
    expect(applied.applied).toBe(true)
    expect(applied.counts.invited).toBe(1)
    const inv = db.$client.prepare('select email, role, organization, project_grants from invitations').all() as { email: string; project_grants: string }[]
    expect(inv).toHaveLength(1)
    expect(inv[0]).toMatchObject({ email: 'ann@alpha.edu', role: 'researcher', organization: 'Alpha ADRC' })
    expect(JSON.parse(inv[0]!.project_grants)).toHaveLength(4)
    expect(n("select count(*) from outbox where recipient = 'ann@alpha.edu'")).toBe(1)
    expect(n("select count(*) from audit_events where event = 'import.applied'")).toBe(1)

    // Again: the invitation is outstanding, so nothing is done and nothing is sent.
    const again = planImport(db, { usersYaml: person('Ann@Alpha.edu', 'ann.smith@alpha.edu'), authYaml: AUTH, now: T0 })
    expect(again.actions.map((a) => a.action)).toEqual(['skip'])
    applyImport(db, again, ctx())
    expect(n('select count(*) from invitations')).toBe(1)
    expect(n('select count(*) from outbox')).toBe(1)
    expect(n("select count(*) from audit_events where event = 'import.applied'")).toBe(1)
  })

  it('grants an existing account only its missing roles, never changing an existing one', () => {
    const ann = addUser('ann@alpha.edu')
    const readOnly = n("select id from roles where name = 'read-only'")
    db.$client.prepare('insert into project_members (project_id, user_id, role_id, created_at) values (?, ?, ?, 0)').run(projectId('alpha/accepted'), ann, readOnly)
    const plan = planImport(db, { usersYaml: person('ANN@alpha.edu'), authYaml: AUTH, now: T0 })
    expect(plan.actions.map((a) => [a.action, a.project, a.role])).toEqual([
      ['grant', 'alpha/metadata', 'read-only'],
      ['grant', 'alpha/ingest-form', 'contributor'],
      ['grant', 'nacc/metadata', 'read-only'],
    ])
    expect(applyImport(db, plan, ctx()).counts.granted).toBe(3)
    expect(roleOf(ann, 'alpha/accepted')).toBe('read-only')
    expect(roleOf(ann, 'alpha/ingest-form')).toBe('contributor')
    expect(roleOf(ann, 'nacc/metadata')).toBe('read-only')
    expect(n('select count(*) from outbox')).toBe(0)

    const audits = n('select count(*) from audit_events')
    const again = planImport(db, { usersYaml: person('ann@alpha.edu'), authYaml: AUTH, now: T0 })
    expect(again.actions).toEqual([])
    applyImport(db, again, ctx())
    expect(n('select count(*) from audit_events')).toBe(audits)
  })

  it('re-enables a disabled account', () => {
    const ann = addUser('ann@alpha.edu', true)
    const plan = planImport(db, { usersYaml: person('ann@alpha.edu'), authYaml: AUTH, now: T0 })
    expect(plan.actions[0]).toMatchObject({ action: 'enable', account: 'ann@alpha.edu' })
    expect(applyImport(db, plan, ctx()).counts.enabled).toBe(1)
    expect(n('select disabled_at is null from users where id = ?', ann)).toBe(1)
    expect(planImport(db, { usersYaml: person('ann@alpha.edu'), authYaml: AUTH, now: T0 }).actions).toEqual([])
  })

  it('disables the account of an inactive entry and ends its sessions; sends nothing', () => {
    const bob = addUser('bob@beta.edu')
    db.$client.prepare("insert into sessions (id, secret_hash, user_id, created_at, last_active_at) values ('s1', x'00', ?, 0, 0)").run(bob)
    const plan = planImport(db, { usersYaml: inactive('Bob@Beta.edu'), authYaml: AUTH, now: T0 })
    expect(plan.actions).toEqual([{ entry: 0, email: 'Bob@Beta.edu', action: 'disable', account: 'bob@beta.edu' }])
    const r = applyImport(db, plan, ctx())
    expect(r.counts).toMatchObject({ disabled: 1, sessions_ended: 1 })
    expect(n('select disabled_at from users where id = ?', bob)).toBe(T0)
    expect(n('select count(*) from sessions where user_id = ?', bob)).toBe(0)
    expect(n('select count(*) from outbox')).toBe(0)
    expect(planImport(db, { usersYaml: inactive('bob@beta.edu'), authYaml: AUTH, now: T0 }).actions).toEqual([])
  })

  it('never disables the last enabled admin', () => {
    const plan = planImport(db, { usersYaml: inactive('admin@example.org'), authYaml: AUTH, now: T0 })
    expect(plan.actions).toMatchObject([{ action: 'skip', account: 'admin@example.org' }])
    applyImport(db, plan, ctx())
    expect(n('select disabled_at is null from users where id = ?', adminId)).toBe(1)
  })

  it('does nothing for an entry without auth_email (a warning)', () => {
    const plan = planImport(db, { usersYaml: person('null', 'ann@alpha.edu'), authYaml: AUTH, now: T0 })
    expect(plan.actions).toEqual([])
    expect(plan.warnings.map((w) => w.code)).toEqual(['no_auth_email'])
  })

  it('with errors: still plans the valid entries, but applies nothing', () => {
    const users = person('ann@alpha.edu') + `- active: maybe\n  email: x@y.org\n`
    const plan = planImport(db, { usersYaml: users, authYaml: AUTH + 'bogus:\n  view-reports: read-only\n', now: T0 })
    expect(plan.ok).toBe(false)
    expect(plan.errors.length).toBeGreaterThan(1)
    expect(plan.actions.some((a) => a.action === 'invite')).toBe(true)
    const r = applyImport(db, plan, ctx())
    expect(r).toMatchObject({ ok: false, applied: false })
    expect(n('select count(*) from invitations')).toBe(0)
    expect(n('select count(*) from outbox')).toBe(0)
  })
})
