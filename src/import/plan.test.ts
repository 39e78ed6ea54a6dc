import { beforeEach, describe, expect, it } from 'vitest'
import { testDb, T0, BASE_URL } from '../test/helpers.ts'
import type { Db } from '../db/client.ts'
import { applyConsortiumStructure } from '../models/consortium.ts'
import { planImport } from './plan.ts'
import { applyImport, type ApplyContext } from './apply.ts'
import { AUTH, STRUCTURE } from '../test/small-consortium.ts'

// SPEC §6.4: the import plan and its application, on a real in-memory database.


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
/** The membership's roles, joined with '+' in name order (undefined: no membership). */
function roleOf(userId: number, key: string): string | undefined {
  const names = db.$client.prepare('select r.name from project_members pm join roles r on r.id = pm.role_id where pm.user_id = ? and pm.project_id = ? order by r.name').pluck().all(userId, projectId(key)) as string[]
  return names.length === 0 ? undefined : names.join('+')
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
      // approve-data → contributor and view-reports → read-only: the union, one grant per role (SPEC §6.3).
      { entry: 0, email: 'ann.smith@alpha.edu', action: 'grant', account: 'ann@alpha.edu', project: 'alpha/accepted', role: 'contributor', on_accept: true },
      { entry: 0, email: 'ann.smith@alpha.edu', action: 'grant', account: 'ann@alpha.edu', project: 'alpha/accepted', role: 'read-only', on_accept: true },
      { entry: 0, email: 'ann.smith@alpha.edu', action: 'grant', account: 'ann@alpha.edu', project: 'alpha/ingest-form', role: 'contributor', on_accept: true },
      { entry: 0, email: 'ann.smith@alpha.edu', action: 'grant', account: 'ann@alpha.edu', project: 'nacc/metadata', role: 'read-only', on_accept: true },
    ])
    const applied = applyImport(db, plan, ctx())
    expect(applied.applied).toBe(true)
    expect(applied.counts.invited).toBe(1)
    const inv = db.$client.prepare('select email, role, organization, project_grants from invitations').all() as { email: string; project_grants: string }[]
    expect(inv).toHaveLength(1)
    expect(inv[0]).toMatchObject({ email: 'ann@alpha.edu', role: 'researcher', organization: 'Alpha ADRC' })
    expect(JSON.parse(inv[0]!.project_grants)).toHaveLength(5)
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

  it('grants an existing account only its missing roles, never removing an existing one', () => {
    const ann = addUser('ann@alpha.edu')
    const readOnly = n("select id from roles where name = 'read-only'")
    db.$client.prepare('insert into project_members (project_id, user_id, role_id, created_at) values (?, ?, ?, 0)').run(projectId('alpha/accepted'), ann, readOnly)
    const plan = planImport(db, { usersYaml: person('ANN@alpha.edu'), authYaml: AUTH, now: T0 })
    expect(plan.actions.map((a) => [a.action, a.project, a.role])).toEqual([
      ['grant', 'alpha/metadata', 'read-only'],
      ['grant', 'alpha/accepted', 'contributor'],
      ['grant', 'alpha/ingest-form', 'contributor'],
      ['grant', 'nacc/metadata', 'read-only'],
    ])
    expect(applyImport(db, plan, ctx()).counts.granted).toBe(4)
    expect(roleOf(ann, 'alpha/accepted')).toBe('contributor+read-only')
    expect(roleOf(ann, 'alpha/ingest-form')).toBe('contributor')
    expect(roleOf(ann, 'nacc/metadata')).toBe('read-only')
    expect(n('select count(*) from outbox')).toBe(0)

    const audits = n('select count(*) from audit_events')
    const again = planImport(db, { usersYaml: person('ann@alpha.edu'), authYaml: AUTH, now: T0 })
    expect(again.actions).toEqual([])
    applyImport(db, again, ctx())
    expect(n('select count(*) from audit_events')).toBe(audits)
  })

  it('a second run with a changed map adds the new role and keeps the old one (import only ever adds roles)', () => {
    const ann = addUser('ann@alpha.edu')
    const first = planImport(db, { usersYaml: person('ann@alpha.edu'), authYaml: 'ingest-form:\n  submit-form: read-only\n', now: T0 })
    expect(first.actions.map((a) => [a.project, a.role])).toEqual([['alpha/ingest-form', 'read-only'], ['nacc/metadata', 'read-only']])
    applyImport(db, first, ctx())
    expect(roleOf(ann, 'alpha/ingest-form')).toBe('read-only')
    const second = planImport(db, { usersYaml: person('ann@alpha.edu'), authYaml: 'ingest-form:\n  submit-form: contributor\n', now: T0 })
    expect(second.actions.map((a) => [a.action, a.project, a.role])).toEqual([['grant', 'alpha/ingest-form', 'contributor']])
    expect(applyImport(db, second, ctx()).counts.granted).toBe(1)
    expect(roleOf(ann, 'alpha/ingest-form')).toBe('contributor+read-only')
    expect(planImport(db, { usersYaml: person('ann@alpha.edu'), authYaml: 'ingest-form:\n  submit-form: contributor\n', now: T0 }).actions).toEqual([])
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

describe('inactive entries: what is never disabled, and outstanding invitations', () => {
  const makeAdmin = (email: string) => {
    const id = addUser(email)
    db.$client.prepare("update users set role = 'admin' where id = ?").run(id)
    return id
  }

  it('counts the disables planned earlier in the file: two admins out of two, only the first goes', () => {
    makeAdmin('a@alpha.edu') // with the test's own admin: three enabled admins
    makeAdmin('b@alpha.edu')
    const plan = planImport(db, { usersYaml: inactive('admin@example.org') + inactive('a@alpha.edu') + inactive('b@alpha.edu'), authYaml: AUTH, now: T0 })
    expect(plan.actions.map((a) => [a.account, a.action, a.reason])).toEqual([
      ['admin@example.org', 'disable', undefined],
      ['a@alpha.edu', 'disable', undefined],
      ['b@alpha.edu', 'skip', 'the last enabled admin is never disabled'],
    ])
    applyImport(db, plan, { ...ctx(), actor: { id: 0, email: 'cli:operator' } })
    expect(n("select count(*) from users where role = 'admin' and disabled_at is null")).toBe(1)
  })

  it('never disables the admin applying it, even from a stale plan; checks the last admin again on apply', () => {
    const other = makeAdmin('other@alpha.edu')
    const plan = planImport(db, { usersYaml: inactive('admin@example.org'), authYaml: AUTH, now: T0, actorId: adminId })
    expect(plan.actions).toEqual([{ entry: 0, email: 'admin@example.org', action: 'skip', account: 'admin@example.org', reason: 'your own account is never disabled by your import' }])
    // A plan made without the actor (stale or forged) is still refused on apply.
    const stale = planImport(db, { usersYaml: inactive('admin@example.org'), authYaml: AUTH, now: T0 })
    expect(stale.actions[0]!.action).toBe('disable')
    expect(applyImport(db, stale, ctx()).counts.disabled).toBe(0)
    // Planned while two admins are enabled; by the time it is applied, the actor is no admin any more.
    const second = planImport(db, { usersYaml: inactive('other@alpha.edu'), authYaml: AUTH, now: T0, actorId: adminId })
    expect(second.actions[0]!.action).toBe('disable')
    db.$client.prepare("update users set role = 'researcher' where id = ?").run(adminId)
    expect(applyImport(db, second, ctx()).counts.disabled).toBe(0) // other@ is now the last enabled admin
    expect(n('select disabled_at is null from users where id = ?', other)).toBe(1)
  })

  it('does not disable an account an active entry of the same file claims: a warning, and re-runs change nothing', () => {
    const ann = addUser('ann@alpha.edu')
    const files = { usersYaml: person('ann@alpha.edu', 'ann@beta.edu') + inactive('ann@alpha.edu'), authYaml: AUTH }
    for (let run = 0; run < 3; run++) {
      const plan = planImport(db, { ...files, now: T0 + run })
      expect(plan.warnings).toEqual([{ entry: 1, email: 'ann@alpha.edu', code: 'inactive_is_active', message: 'ann@alpha.edu is also the account of active entry 0: not disabled' }])
      expect(plan.actions.filter((a) => a.entry === 1)).toEqual([{ entry: 1, email: 'ann@alpha.edu', action: 'skip', account: 'ann@alpha.edu', reason: 'also active as entry 0' }])
      const counts = applyImport(db, plan, ctx()).counts
      expect([counts.disabled, counts.enabled]).toEqual([0, 0])
      expect(n('select disabled_at is null from users where id = ?', ann)).toBe(1)
    }
  })

  it('withdraws the outstanding invitation of a person who became inactive (found by the second address); no follow-up after', () => {
    applyImport(db, planImport(db, { usersYaml: person('ann@gmail.com', 'ann.smith@alpha.edu'), authYaml: AUTH, now: T0, notify: 'date' }), { ...ctx(), notify: 'date' })
    expect(n("select count(*) from invitations where status = 'sent' and follow_up_mode = 'date'")).toBe(1)
    const outbox = n('select count(*) from outbox')
    const plan = planImport(db, { usersYaml: inactive('Ann.Smith@alpha.edu'), authYaml: AUTH, now: T0 + 86_400_000 })
    expect(plan.actions).toEqual([{ entry: 0, email: 'Ann.Smith@alpha.edu', action: 'disable', account: 'ann@gmail.com', invitation: true }])
    const applied = applyImport(db, plan, { ...ctx(), now: T0 + 86_400_000 })
    expect(applied.counts.invitations_withdrawn).toBe(1)
    expect(n("select status from invitations where email = 'ann@gmail.com'") as unknown).toBe('revoked')
    expect(n('select count(*) from outbox')).toBe(outbox) // no email
    expect(n("select count(*) from audit_events where event = 'import.applied'")).toBe(2)
    // Nothing more to do on a re-run.
    expect(planImport(db, { usersYaml: inactive('Ann.Smith@alpha.edu'), authYaml: AUTH, now: T0 + 2 * 86_400_000 }).actions).toEqual([])
  })
})
