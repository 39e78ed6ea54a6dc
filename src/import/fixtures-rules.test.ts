import { readFileSync } from 'node:fs'
import { beforeEach, describe, expect, it } from 'vitest'
import { testDb, T0, BASE_URL } from '../test/helpers.ts'
import type { Db } from '../db/client.ts'
import { applyConsortiumStructure } from '../models/consortium.ts'
import { getBlockingInvitation, startInvitationAcceptance, verifyInvitationSecurityToken } from '../models/invitations.ts'
import { planImport, type ImportReport } from './plan.ts'
import { applyImport, type ApplyContext, type ImportCounts } from './apply.ts'

// SPEC §6.2–6.4 on the fixture files of src/import/fixtures/directory and …/auth: the rules the
// parser tests (directory.test.ts, authorization-map.test.ts) and plan.test.ts do not already
// cover with equivalent input, through the real plan and apply on an in-memory database.

const STRUCTURE = {
  studies: { adrc: 'primary' as const, dvcid: 'affiliated' as const },
  dataTypes: ['form'],
  centres: { 1: { group: 'alpha', studies: ['adrc', 'dvcid'] }, 2: { group: 'beta', studies: ['adrc'] } },
  adminGroup: 'nacc',
}
const read = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')
const AUTH = read('auth/basic.yaml')

let db: Db
let adminId: number
const ctx = (now = T0): ApplyContext => ({ actor: { id: adminId, email: 'admin@example.org' }, now, ip: '', baseUrl: BASE_URL, key: Buffer.alloc(32, 1), ttlMs: 48 * 3_600_000, inviter: 'Admin' })
const n = (sql: string, ...params: unknown[]) => db.$client.prepare(sql).pluck().get(...params) as number
const all = (sql: string, ...params: unknown[]) => db.$client.prepare(sql).all(...params)
const plan = (usersYaml: string, authYaml = AUTH, now = T0) => planImport(db, { usersYaml, authYaml, now })
type Applied = ImportReport & { counts: ImportCounts }
const apply = (report: ImportReport, now = T0) => applyImport(db, report, ctx(now)) as Applied

function addUser(email: string, options: { disabled?: boolean; contactEmail?: string } = {}): number {
  return Number(
    db.$client
      .prepare("insert into users (email, role, password_hash, password_changed_at, created_at, disabled_at, contact_email) values (?, 'researcher', 'x', 0, 0, ?, ?)")
      .run(email, options.disabled ? T0 - 1 : null, options.contactEmail ?? null).lastInsertRowid,
  )
}
function projectId(key: string): number {
  return n("select p.id from projects p join groups g on g.id = p.group_id where g.name || '/' || p.label = ?", key)
}
const roleId = (name: string) => n("select id from roles where name = ? and scope = 'project'", name)
function rolesOf(userId: number): [string, string][] {
  return (all("select g.name || '/' || p.label as project, r.name as role from project_members pm join projects p on p.id = pm.project_id join groups g on g.id = p.group_id join roles r on r.id = pm.role_id where pm.user_id = ? order by project", userId) as { project: string; role: string }[]).map((r) => [r.project, r.role])
}

const grant = (entry: number, email: string, account: string, project: string, role: string) => ({ entry, email, action: 'grant', account, project, role, on_accept: true as const })

beforeEach(() => {
  db = testDb()
  adminId = addUser('admin@example.org')
  db.$client.prepare("update users set role = 'admin' where id = ?").run(adminId)
  expect(applyConsortiumStructure(db, STRUCTURE, { actor: { id: adminId, email: 'admin@example.org' }, now: T0, ip: '' }).ok).toBe(true)
})

describe('directory/valid.yaml: one entry per kind of action', () => {
  let existing: number
  let back: number
  let gone: number
  let old: number
  beforeEach(() => {
    existing = addUser('existing@beta.edu')
    back = addUser('back@beta.edu', { disabled: true })
    gone = addUser('gone@alpha.edu')
    old = addUser('old@alpha.edu', { contactEmail: 'old.contact@alpha.edu' })
    db.$client.prepare("insert into sessions (id, secret_hash, user_id, created_at, last_active_at) values ('s-gone', x'00', ?, 0, 0)").run(gone)
  })

  it('plans invite, grant, enable and disable (by sign-in or second address), with no error or warning', () => {
    const report = plan(read('directory/valid.yaml'))
    expect(report).toMatchObject({ ok: true, applied: false, errors: [], warnings: [], flags: [] })
    expect(report.actions).toEqual([
      { entry: 0, email: 'new.person@alpha.edu', action: 'invite', account: 'new@alpha.edu', organization: 'Alpha ADRC', first_name: 'New', last_name: 'Person' },
      grant(0, 'new.person@alpha.edu', 'new@alpha.edu', 'alpha/metadata', 'read-only'),
      // approve-data → contributor and view-reports → read-only on accepted: the union, one grant per role (SPEC §6.3)
      grant(0, 'new.person@alpha.edu', 'new@alpha.edu', 'alpha/accepted', 'contributor'),
      grant(0, 'new.person@alpha.edu', 'new@alpha.edu', 'alpha/accepted', 'read-only'),
      grant(0, 'new.person@alpha.edu', 'new@alpha.edu', 'alpha/ingest-form', 'contributor'),
      grant(0, 'new.person@alpha.edu', 'new@alpha.edu', 'nacc/metadata', 'read-only'),
      { entry: 1, email: 'existing@beta.edu', action: 'grant', account: 'existing@beta.edu', project: 'beta/metadata', role: 'read-only' },
      { entry: 1, email: 'existing@beta.edu', action: 'grant', account: 'existing@beta.edu', project: 'beta/accepted', role: 'read-only' },
      { entry: 1, email: 'existing@beta.edu', action: 'grant', account: 'existing@beta.edu', project: 'nacc/metadata', role: 'read-only' },
      { entry: 2, email: 'back@beta.edu', action: 'enable', account: 'back@beta.edu' },
      { entry: 2, email: 'back@beta.edu', action: 'grant', account: 'back@beta.edu', project: 'beta/metadata', role: 'read-only' },
      { entry: 2, email: 'back@beta.edu', action: 'grant', account: 'back@beta.edu', project: 'beta/accepted', role: 'read-only' },
      { entry: 2, email: 'back@beta.edu', action: 'grant', account: 'back@beta.edu', project: 'nacc/metadata', role: 'read-only' },
      { entry: 3, email: 'gone@alpha.edu', action: 'disable', account: 'gone@alpha.edu' },
      { entry: 4, email: 'Old.Contact@alpha.edu', action: 'disable', account: 'old@alpha.edu' },
    ])
  })

  it('applies it in one go with one audit event, and a second run changes nothing and sends nothing', () => {
    const first = apply(plan(read('directory/valid.yaml')))
    expect(first.counts).toEqual({ invited: 1, granted: 6, enabled: 1, disabled: 2, sessions_ended: 1, follow_ups: 0, follow_up_mode_changed: 0, invitations_withdrawn: 0 })
    expect(all('select email, contact_email, first_name, last_name, organization, role, follow_up_mode from invitations')).toEqual([
      { email: 'new@alpha.edu', contact_email: 'new.person@alpha.edu', first_name: 'New', last_name: 'Person', organization: 'Alpha ADRC', role: 'researcher', follow_up_mode: 'none' },
    ])
    expect(JSON.parse(db.$client.prepare('select project_grants from invitations').pluck().get() as string)).toEqual([
      { projectId: projectId('alpha/metadata'), roleId: roleId('read-only') },
      { projectId: projectId('alpha/accepted'), roleId: roleId('contributor') },
      { projectId: projectId('alpha/accepted'), roleId: roleId('read-only') },
      { projectId: projectId('alpha/ingest-form'), roleId: roleId('contributor') },
      { projectId: projectId('nacc/metadata'), roleId: roleId('read-only') },
    ])
    expect(rolesOf(existing)).toEqual([['beta/accepted', 'read-only'], ['beta/metadata', 'read-only'], ['nacc/metadata', 'read-only']])
    expect(rolesOf(back)).toEqual(rolesOf(existing))
    expect(all('select id, disabled_at from users where id in (?, ?, ?) order by id', back, gone, old)).toEqual([
      { id: back, disabled_at: null },
      { id: gone, disabled_at: T0 },
      { id: old, disabled_at: T0 },
    ])
    expect(n('select count(*) from sessions where user_id = ?', gone)).toBe(0)
    expect(all('select recipient, subject from outbox')).toEqual([{ recipient: 'new@alpha.edu', subject: 'You are invited to Gatehouse' }])
    expect(n("select count(*) from audit_events where event = 'import.applied'")).toBe(1)

    const snapshot = () => ({
      users: all('select * from users order by id'),
      members: all('select * from project_members order by project_id, user_id'),
      invitations: all('select * from invitations order by id'),
      outbox: n('select count(*) from outbox'),
      audit: n('select count(*) from audit_events'),
    })
    const before = snapshot()
    const again = plan(read('directory/valid.yaml'), AUTH, T0 + 3_600_000)
    expect(again.actions).toEqual([{ entry: 0, email: 'new.person@alpha.edu', action: 'skip', account: 'new@alpha.edu', reason: 'invitation outstanding' }])
    const second = apply(again, T0 + 3_600_000)
    expect(second.counts).toEqual({ invited: 0, granted: 0, enabled: 0, disabled: 0, sessions_ended: 0, follow_ups: 0, follow_up_mode_changed: 0, invitations_withdrawn: 0 })
    expect(snapshot()).toEqual(before)
  })
})

describe('an inactive entry', () => {
  it('disables the account whose second address (copied from the accepted invitation) is its email', () => {
    apply(plan(read('directory/one-invite.yaml')))
    const inv = getBlockingInvitation(db, 'ann@alpha.edu')!
    const c = { actor: null, now: T0 + 60_000, ip: null, key: Buffer.alloc(32, 7) }
    const { tabBinding, securityToken } = startInvitationAcceptance(db, inv, { firstName: 'Ann', lastName: 'Smith', username: 'ann', passwordHash: 'x' }, c)
    const accepted = verifyInvitationSecurityToken(db, inv, { code: securityToken, tabBinding }, c)
    expect(accepted.ok).toBe(true)
    const user = accepted.ok ? accepted.user : null
    expect(user).toMatchObject({ email: 'ann@alpha.edu', contactEmail: 'ann.smith@alpha.edu' })

    const report = plan(read('directory/one-inactive.yaml'), AUTH, T0 + 120_000)
    expect(report.actions).toEqual([{ entry: 0, email: 'Ann.Smith@alpha.edu', action: 'disable', account: 'ann@alpha.edu' }])
    expect(apply(report, T0 + 120_000).counts.disabled).toBe(1)
    expect(n('select disabled_at from users where id = ?', user!.id)).toBe(T0 + 120_000)
    expect(plan(read('directory/one-inactive.yaml'), AUTH, T0 + 180_000).actions).toEqual([])
  })
})

describe('directory/warnings.yaml', () => {
  it('unknown centre: invited with no roles; study not at the centre: only the admin metadata role; no auth_email: nothing', () => {
    const report = plan(read('directory/warnings.yaml'))
    expect(report.ok).toBe(true)
    expect(report.errors).toEqual([])
    expect(report.warnings).toEqual([
      { entry: 0, email: 'nowhere@gamma.edu', code: 'unknown_center', message: 'Centre 99 is not in the consortium structure: the user is invited but gets no roles' },
      { entry: 1, email: 'dv@beta.edu', code: 'study_not_at_center', message: 'Centre 2 (beta) does not take part in study "dvcid": only the admin metadata role is granted' },
      { entry: 2, email: 'nobody@alpha.edu', code: 'no_auth_email', message: 'Active entry without auth_email: nothing is provisioned' },
    ])
    expect(report.actions).toEqual([
      { entry: 0, email: 'nowhere@gamma.edu', action: 'invite', account: 'nowhere@gamma.edu', organization: 'Gamma', first_name: 'Nia', last_name: 'Nowhere' },
      { entry: 1, email: 'dv@beta.edu', action: 'invite', account: 'dv@beta.edu', organization: 'Beta ADRC', first_name: 'Dov', last_name: 'Vance' },
      grant(1, 'dv@beta.edu', 'dv@beta.edu', 'nacc/metadata', 'read-only'),
    ])
    apply(report)
    const rows = (all('select email, project_grants from invitations order by email') as { email: string; project_grants: string }[]).map((r) => [r.email, JSON.parse(r.project_grants)])
    expect(rows).toEqual([
      ['dv@beta.edu', [{ projectId: projectId('nacc/metadata'), roleId: roleId('read-only') }]],
      ['nowhere@gamma.edu', []],
    ])
    expect(n("select count(*) from outbox where recipient = 'nobody@alpha.edu'")).toBe(0)
  })

  it('gives an existing account of an unknown centre no role, and one of a study not at its centre only the admin metadata', () => {
    const nowhere = addUser('nowhere@gamma.edu')
    const dv = addUser('dv@beta.edu')
    const report = plan(read('directory/warnings.yaml'))
    expect(report.actions).toEqual([{ entry: 1, email: 'dv@beta.edu', action: 'grant', account: 'dv@beta.edu', project: 'nacc/metadata', role: 'read-only' }])
    apply(report)
    expect(rolesOf(nowhere)).toEqual([])
    expect(rolesOf(dv)).toEqual([['nacc/metadata', 'read-only']])
  })
})

describe('exact vs generic label (auth/exact-generic.yaml)', () => {
  it('the exact label wins and is never merged with the generic one; without one, the generic applies', () => {
    const report = plan(read('directory/exact-generic.yaml'), read('auth/exact-generic.yaml'))
    expect(report.errors).toEqual([])
    expect(report.actions.filter((a) => a.action === 'grant').map((a) => [a.entry, a.project, a.role])).toEqual([
      [0, 'alpha/accepted', 'contributor'],
      [0, 'alpha/accepted', 'read-only'],
      [0, 'alpha/ingest-form', 'contributor'],
      [0, 'nacc/metadata', 'read-only'],
      // approve-data is mapped only by the generic `accepted`: not merged into accepted-dvcid.
      [1, 'alpha/accepted-dvcid', 'read-only'],
      [1, 'alpha/ingest-form-dvcid', 'contributor'],
      [1, 'nacc/metadata', 'read-only'],
    ])
  })
})

/** 1-based line of each entry's `- ` in a directory file. */
function entryLines(text: string): number[] {
  return text.split('\n').flatMap((l, i) => (l.startsWith('- ') ? [i + 1] : []))
}

/** Every error names its entry, the entry's email (when valid), a path under the entry, and a line within it. */
function expectLocated(text: string, report: ImportReport, emails: (string | null)[]) {
  const starts = entryLines(text)
  const lastLine = text.split('\n').length
  expect(report.errors.length).toBeGreaterThan(0)
  for (const e of report.errors) {
    expect(e.entry, e.message).not.toBeNull()
    const i = e.entry!
    expect(e.email, e.path).toBe(emails[i])
    expect(e.path.startsWith(`[${i}]`), e.path).toBe(true)
    expect(e.line, e.path).not.toBeNull()
    expect(e.line!, e.path).toBeGreaterThanOrEqual(starts[i]!)
    expect(e.line!, e.path).toBeLessThan(starts[i + 1] ?? lastLine + 1)
  }
}

describe('directory/type-errors.yaml: strict types', () => {
  const TEXT = read('directory/type-errors.yaml')

  it('reports each type error with its entry, email, path, line and what was found', () => {
    const report = plan(TEXT)
    expect(report.ok).toBe(false)
    expect(report.errors.map((e) => [e.entry, e.email, e.path, e.line, e.message])).toEqual([
      [0, null, '[0].email', 7, '"email" must be a string, not the number 42'],
      [1, 'p1@alpha.edu', '[1].name', 16, '"name" must be a mapping with first_name and last_name, not a list'],
      [2, 'p2@alpha.edu', '[2].authorizations', 22, '"authorizations" must be a mapping, not a list'],
      [3, 'p3@alpha.edu', '[3].authorizations.submit', 30, '"submit" must be a list of data types, not a mapping'],
      [4, 'p4@alpha.edu', '[4].org_name', 41, '"org_name" must be a string, not the number 7'],
      [5, 'p5@alpha.edu', '[5].active', 43, '"active" must be true or false, not the number 1'],
      [6, 'p6@alpha.edu', '[6].authorizations.audit_data', 54, '"audit_data" must be true or false, not the string "off"'],
      [6, 'p6@alpha.edu', '[6].authorizations.view_reports', 54, '"view_reports" must be true or false, not the string "Y"'],
      [7, 'p7@alpha.edu', '[7].adcid', 60, '"adcid" must be an integer, not the number 1'],
      [8, 'p8@alpha.edu', '[8].name.first_name', 72, '"first_name" must be a string, not the number 42'],
      [8, 'p8@alpha.edu', '[8].name.last_name', 72, '"last_name" must be a string, not the boolean true'],
      [9, 'p9@alpha.edu', '[9].auth_email', 77, '"auth_email" must be an email address or null, not a list'],
      [10, 'p10@alpha.edu', '[10].authorizations.study_id', 86, '"study_id" must be a string, not null'],
      [10, 'p10@alpha.edu', '[10].authorizations.submit[0]', 86, '"submit" items must be data type names, not a mapping'],
      [11, 'p11@alpha.edu', '[11].active', 91, '"active" must be true or false, not null'],
    ])
    expect(report.actions).toEqual([])
    const applied = apply(report)
    expect(applied).toMatchObject({ ok: false, applied: false })
    expect(n('select count(*) from invitations')).toBe(0)
    expect(n("select count(*) from audit_events where event = 'import.applied'")).toBe(0)
  })

  it('every error carries entry, email, path and a line within its entry', () => {
    expectLocated(TEXT, plan(TEXT), [null, ...Array.from({ length: 11 }, (_, i) => `p${i + 1}@alpha.edu`)])
  })
})

describe('directory/duplicate-keys.yaml', () => {
  it('reports a duplicate key inside name and inside authorizations, with its line; the entry is not imported', () => {
    const text = read('directory/duplicate-keys.yaml')
    const report = plan(text)
    expect(report.errors.map((e) => [e.entry, e.email, e.path, e.line, e.message])).toEqual([
      [0, 'dk@alpha.edu', '[0].name.first_name', 16, 'Duplicate key "first_name"'],
      [0, 'dk@alpha.edu', '[0].authorizations.view_reports', 9, 'Duplicate key "view_reports"'],
    ])
    expect(report.actions).toEqual([])
    expectLocated(text, report, ['dk@alpha.edu'])
  })
})

describe('directory/empty.yaml', () => {
  it('is a valid no-op, with an empty or a full authorization map', () => {
    const text = read('directory/empty.yaml')
    expect(text).toBe('')
    for (const auth of ['', AUTH]) {
      const report = plan(text, auth)
      expect(report).toEqual({ ok: true, applied: false, errors: [], warnings: [], actions: [], flags: [] })
      const applied = apply(report)
      expect(applied).toMatchObject({ ok: true, applied: true, actions: [] })
      expect(applied.counts).toEqual({ invited: 0, granted: 0, enabled: 0, disabled: 0, sessions_ended: 0, follow_ups: 0, follow_up_mode_changed: 0, invitations_withdrawn: 0 })
    }
    expect(n("select count(*) from audit_events where event = 'import.applied'")).toBe(0)
    expect(n('select count(*) from outbox')).toBe(0)
  })
})

describe('directory/active-invalid.yaml', () => {
  // SPEC §6.2 "All problems are reported at once": an ill-typed `active` does not hide the errors
  // of the centre fields.
  it('reports the errors of the centre fields too, not only the one of active', () => {
    const report = plan(read('directory/active-invalid.yaml'))
    expect(report.errors.map((e) => e.path)).toEqual(['[0].active', '[0].adcid', '[0].authorizations.approve_data'])
  })
})
