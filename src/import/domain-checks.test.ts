import { readFileSync } from 'node:fs'
import { beforeEach, describe, expect, it } from 'vitest'
import { testDb, T0, BASE_URL } from '../test/helpers.ts'
import type { Db } from '../db/client.ts'
import { applyConsortiumStructure } from '../models/consortium.ts'
import { createInvitation, getBlockingInvitation, startInvitationAcceptance, verifyInvitationSecurityToken } from '../models/invitations.ts'
import { planImport, type ImportReport } from './plan.ts'
import { applyImport, type ApplyContext } from './apply.ts'
import { applyAndRecord } from './runs.ts'
import { parseDomainConfig } from './domains.ts'

// SPEC §6.5 as the import uses it: possible duplicate people (combined / name only; a flagged
// entry is not provisioned) and a wrong identity provider (advisory). Only with a domain config;
// a config with errors stops the import like any other file error.

const STRUCTURE = { studies: { adrc: 'primary' as const }, dataTypes: ['form'], centres: { 1: { group: 'alpha', studies: ['adrc'] } }, adminGroup: 'nacc' }
const read = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')
const AUTH = read('auth/basic.yaml')
const DOMAINS = read('domains/import-checks.yaml')
const DUPLICATES = read('directory/possible-duplicates.yaml')
const IDPS = read('directory/identity-providers.yaml')
const ONE = read('directory/one-invite.yaml')

let db: Db
let adminId: number
const ctx = (now = T0): ApplyContext => ({ actor: { id: adminId, email: 'admin@example.org' }, now, ip: '', baseUrl: BASE_URL, key: Buffer.alloc(32, 1), ttlMs: 48 * 3_600_000, inviter: 'Admin' })
const n = (sql: string, ...params: unknown[]) => db.$client.prepare(sql).pluck().get(...params) as number
const invitedEmails = () => db.$client.prepare('select email from invitations order by email').pluck().all() as string[]

function addUser(email: string, first = '', last = '', options: { claimedVia?: string; contactEmail?: string; disabled?: boolean } = {}): number {
  return Number(
    db.$client
      .prepare("insert into users (email, first_name, last_name, role, password_hash, password_changed_at, created_at, claimed_via, contact_email, disabled_at) values (?, ?, ?, 'researcher', 'x', 0, 0, ?, ?, ?)")
      .run(email, first, last, options.claimedVia ?? 'local', options.contactEmail ?? null, options.disabled ? T0 - 1 : null).lastInsertRowid,
  )
}

function plan(usersYaml: string, domainsYaml: string | null = DOMAINS, now = T0): ImportReport {
  return planImport(db, { usersYaml, authYaml: AUTH, domainsYaml, now })
}

/** The actions of each entry, without the grants an invitation carries. */
function summary(report: ImportReport): [number, string][] {
  return report.actions.filter((a) => !a.on_accept).map((a) => [a.entry, a.action])
}

const dup = (entry: number, email: string, kind: 'combined' | 'name_only', name: string, matches: string[]) => ({
  entry,
  email,
  type: 'possible_duplicate',
  kind,
  matches,
  message:
    kind === 'combined'
      ? `${name} has the name and a related email domain of ${matches.join(', ')}: possibly the same person; not provisioned`
      : `${name} has the name of ${matches.join(', ')} (unrelated domains): possibly the same person; not provisioned`,
})

beforeEach(() => {
  db = testDb()
  adminId = addUser('admin@example.org', 'Site', 'Admin')
  db.$client.prepare("update users set role = 'admin' where id = ?").run(adminId)
  expect(applyConsortiumStructure(db, STRUCTURE, { actor: { id: adminId, email: 'admin@example.org' }, now: T0, ip: '' }).ok).toBe(true)
})

describe('possible duplicate people', () => {
  beforeEach(() => {
    addUser('ann.smith@jhu.edu', 'Ann', 'Smith')
    addUser('carl.jones@ucsf.edu', 'Carl', 'Jones')
    addUser('dana.white@umich.edu', 'Dana', 'White')
    addUser('mary.lopez@umich.edu', 'Mary Ann', 'Lopez')
    createInvitation(
      db,
      { email: 'hal@beta.edu', role: 'researcher', organization: 'Beta', groupId: null, groupRole: null, projectGrants: [], firstName: 'Hal', lastName: 'Moss' },
      { actor: null, now: T0 - 86_400_000, ip: null, baseUrl: BASE_URL, key: Buffer.alloc(32, 1), ttlMs: 48 * 3_600_000, inviter: 'Admin' },
    )
  })

  const EXPECTED_FLAGS = [
    dup(0, 'asmith@jhmi.edu', 'combined', 'Ann Smith', ['ann.smith@jhu.edu']),
    dup(1, 'carl@ucla.edu', 'combined', 'Carl Jones', ['carl.jones@ucsf.edu']),
    dup(2, 'dana@gmail.com', 'name_only', 'DANA WHITE', ['dana.white@umich.edu']),
    dup(4, 'frank.lee@beta.edu', 'name_only', 'frank LEE', ['entry [3] frank@alpha.edu']),
    dup(6, 'gpark@ucla.edu', 'combined', 'Gina Park', ['entry [5] gina@ucsf.edu']),
    dup(7, 'hmoss@beta.edu', 'combined', 'Hal Moss', ['hal@beta.edu (invited)']),
    dup(9, 'm.lopez@med.umich.edu', 'combined', 'Mary  Ann Lopez', ['mary.lopez@umich.edu']),
  ]

  it('flags exactly the entries whose folded name matches an account, an invitation or an earlier entry', () => {
    const report = plan(DUPLICATES)
    expect(report.errors).toEqual([])
    expect(report.ok).toBe(true)
    expect(report.flags).toEqual(EXPECTED_FLAGS)
  })

  it('combined: a related domain through parent_child (jhmi.edu → jhu.edu)', () => {
    expect(plan(DUPLICATES).flags.find((f) => f.entry === 0)).toEqual(EXPECTED_FLAGS[0])
  })

  it('combined: a related domain through an affiliated group (ucla.edu ~ ucsf.edu)', () => {
    expect(plan(DUPLICATES).flags.find((f) => f.entry === 1)).toMatchObject({ kind: 'combined', matches: ['carl.jones@ucsf.edu'] })
  })

  it('combined: through the entry’s email (not auth_email), whose parent is the account’s domain; names folded', () => {
    expect(plan(DUPLICATES).flags.find((f) => f.entry === 9)).toMatchObject({ kind: 'combined', matches: ['mary.lopez@umich.edu'] })
  })

  it('name_only: unrelated domains; case and spacing are folded', () => {
    expect(plan(DUPLICATES).flags.find((f) => f.entry === 2)).toMatchObject({ kind: 'name_only', matches: ['dana.white@umich.edu'] })
  })

  it('against an earlier entry of the same file (name only and combined), never a later one', () => {
    const flags = plan(DUPLICATES).flags
    expect(flags.find((f) => f.entry === 4)).toMatchObject({ kind: 'name_only', matches: ['entry [3] frank@alpha.edu'] })
    expect(flags.find((f) => f.entry === 6)).toMatchObject({ kind: 'combined', matches: ['entry [5] gina@ucsf.edu'] })
    expect(flags.some((f) => f.entry === 3 || f.entry === 5)).toBe(false)
  })

  it('against an outstanding import invitation that carries the name', () => {
    expect(plan(DUPLICATES).flags.find((f) => f.entry === 7)).toMatchObject({ kind: 'combined', matches: ['hal@beta.edu (invited)'] })
  })

  it('a domain match alone (same domain, another name) is never flagged', () => {
    const report = plan(DUPLICATES)
    expect(report.flags.some((f) => f.entry === 8)).toBe(false)
    expect(summary(report).filter(([e]) => e === 8)).toEqual([[8, 'invite']])
  })

  it('a flagged entry is not provisioned (a skip, no invitation); the others are invited', () => {
    const report = plan(DUPLICATES)
    expect(summary(report)).toEqual([
      [0, 'skip'],
      [1, 'skip'],
      [2, 'skip'],
      [3, 'invite'],
      [4, 'skip'],
      [5, 'invite'],
      [6, 'skip'],
      [7, 'skip'],
      [8, 'invite'],
      [9, 'skip'],
    ])
    for (const a of report.actions.filter((a) => a.action === 'skip')) expect(a.reason).toBe('possible duplicate person (see flags): not provisioned')
    expect(report.actions.filter((a) => a.on_accept && [0, 1, 2, 4, 6, 7, 9].includes(a.entry))).toEqual([])
    const applied = applyImport(db, report, ctx()) as ImportReport & { counts: { invited: number } }
    expect(applied.counts.invited).toBe(3)
    expect(invitedEmails()).toEqual(['frank@alpha.edu', 'gina@ucsf.edu', 'hal@beta.edu', 'ivy@jhu.edu'])
    expect(n("select count(*) from outbox where subject = 'You are invited to Gatehouse'")).toBe(4)
    // The invitations keep the directory's name: the next run compares against them.
    expect(db.$client.prepare("select first_name || ' ' || last_name from invitations where email = 'gina@ucsf.edu'").pluck().get()).toBe('Gina Park')
  })

  it('without a domain config there are no flags: every entry is invited', () => {
    for (const report of [plan(DUPLICATES, null), planImport(db, { usersYaml: DUPLICATES, authYaml: AUTH, now: T0 })]) {
      expect(report.ok).toBe(true)
      expect(report.flags).toEqual([])
      expect(summary(report)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((e) => [e, 'invite']))
    }
  })
})

describe('the entry itself', () => {
  it('an entry never matches its own invitation or account on a re-run', () => {
    applyImport(db, plan(ONE), ctx())
    expect(invitedEmails()).toEqual(['ann@alpha.edu'])
    // Outstanding invitation named Ann Smith, for this very entry.
    const again = plan(ONE, DOMAINS, T0 + 60_000)
    expect(again.flags).toEqual([])
    expect(summary(again)).toEqual([[0, 'skip']])
    expect(again.actions[0]!.reason).toBe('invitation outstanding')

    // Accepted: the account Ann Smith is the entry's own.
    const inv = getBlockingInvitation(db, 'ann@alpha.edu')!
    const c = { actor: null, now: T0 + 120_000, ip: null, key: Buffer.alloc(32, 7) }
    const { tabBinding, securityToken } = startInvitationAcceptance(db, inv, { firstName: 'Ann', lastName: 'Smith', username: 'ann', passwordHash: 'x' }, c)
    expect(verifyInvitationSecurityToken(db, inv, { code: securityToken, tabBinding }, c).ok).toBe(true)
    const third = plan(ONE, DOMAINS, T0 + 180_000)
    expect(third.flags).toEqual([])
    expect(third.actions).toEqual([])
  })

  it('a later namesake lists an earlier, already invited entry once, not as invitation and entry both', () => {
    applyImport(db, plan(ONE), ctx())
    const namesake = ONE.replaceAll('ann@alpha.edu', 'ann.smith@beta-mail.org').replace(/email: (?!ann\.smith@beta)\S+/, 'email: ann.smith@beta-mail.org')
    const again = plan(ONE + namesake, DOMAINS, T0 + 60_000)
    expect(again.flags).toHaveLength(1)
    expect(again.flags[0]).toMatchObject({ entry: 1, type: 'possible_duplicate', matches: ['ann@alpha.edu (invited)'] })
  })
})

describe('wrong identity provider', () => {
  let wendy: number
  beforeEach(() => {
    wendy = addUser('wendy@umich.edu', 'Wendy', 'Orr', { claimedVia: 'ORCID', disabled: true })
    addUser('xavier@eecs.umich.edu', 'Xavier', 'Pratt', { claimedVia: 'Google' })
    addUser('yara@jhmi.edu', 'Yara', 'Quinn', { claimedVia: 'ORCID' })
    addUser('zed@umich.edu', 'Zed', 'Ross', { claimedVia: 'local' })
    addUser('abe@alumni.umich.edu', 'Abe', 'Stone', { claimedVia: 'ORCID' })
    addUser('bea@umich.edu', 'Bea', 'Tate', { claimedVia: 'University of Michigan' })
    addUser('cy@stanford.edu', 'Cy', 'Usher', { claimedVia: 'ORCID' })
  })

  const wrong = (entry: number, email: string, via: string, domain: string, expected: string) => ({
    entry,
    email,
    type: 'wrong_idp',
    matches: [email],
    message: `${email} was claimed through ${via}, but ${domain} expects ${expected}`,
  })

  it('flags a claim through another provider than the domain’s (or its parent’s) institutional one', () => {
    const report = plan(IDPS)
    expect(report.errors).toEqual([])
    expect(report.flags).toEqual([
      wrong(0, 'wendy@umich.edu', 'ORCID', 'umich.edu', 'University of Michigan'),
      wrong(1, 'xavier@eecs.umich.edu', 'Google', 'eecs.umich.edu', 'University of Michigan'),
      wrong(2, 'yara@jhmi.edu', 'ORCID', 'jhmi.edu', 'Johns Hopkins'),
    ])
    for (const f of report.flags) expect(f).not.toHaveProperty('kind')
  })

  it('never flags a local claim, a fallback domain, the expected provider, or a domain with none', () => {
    const flagged = plan(IDPS).flags.map((f) => f.entry)
    for (const entry of [3, 4, 5, 6]) expect(flagged).not.toContain(entry)
  })

  it('is advisory: the entry is still enabled and granted', () => {
    const report = plan(IDPS)
    expect(report.actions.filter((a) => a.entry === 0).map((a) => [a.action, a.project ?? null])).toEqual([
      ['enable', null],
      ['grant', 'alpha/metadata'],
      ['grant', 'alpha/accepted'],
      ['grant', 'nacc/metadata'],
    ])
    expect(report.actions.filter((a) => a.action === 'grant')).toHaveLength(21)
    const applied = applyImport(db, report, ctx()) as ImportReport & { counts: { granted: number; enabled: number } }
    expect(applied.counts).toMatchObject({ granted: 21, enabled: 1 })
    expect(n('select disabled_at is null from users where id = ?', wendy)).toBe(1)
    expect(n('select count(*) from project_members where user_id = ?', wendy)).toBe(3)
    // Still advisory on the next run, which has nothing else to do.
    const again = plan(IDPS, DOMAINS, T0 + 1)
    expect(again.flags.map((f) => f.entry)).toEqual([0, 1, 2])
    expect(again.actions).toEqual([])
  })

  it('is not checked without a domain config', () => {
    const report = plan(IDPS, null)
    expect(report.flags).toEqual([])
    expect(report.actions.filter((a) => a.action === 'grant')).toHaveLength(21)
  })
})

describe('a domain config with errors', () => {
  const ERROR_FIXTURES = [
    'bad-domain.yaml',
    'chain.yaml',
    'child-equals-parent.yaml',
    'domain-in-two-groups.yaml',
    'duplicate-child.yaml',
    'duplicate-key.yaml',
    'fallback-idp-empty.yaml',
    'fallback-idp-not-string.yaml',
    'fallback-repeated.yaml',
    'group-duplicate-name.yaml',
    'group-missing-name.yaml',
    'group-one-domain.yaml',
    'idp-duplicate-domain.yaml',
    'idp-missing-fields.yaml',
    'institutional-and-fallback.yaml',
    'many-errors.yaml',
    'missing-child-parent.yaml',
    'not-a-mapping.yaml',
    'syntax-error.yaml',
    'unknown-key.yaml',
    'wrong-types.yaml',
  ]

  it.each(ERROR_FIXTURES)('%s: every violation is a report error with entry null, and nothing is applied', (name) => {
    const text = read(`domains/${name}`)
    const own = parseDomainConfig(text).errors
    expect(own.length).toBeGreaterThan(0)
    const report = plan(ONE, text)
    expect(report.ok).toBe(false)
    expect(report.errors).toEqual(own.map((e) => ({ entry: null, email: null, path: e.path, line: e.line, message: `domain config: ${e.message}` })))
    // The plan still shows what the valid entry would do.
    expect(summary(report)).toEqual([[0, 'invite']])

    const applied = applyImport(db, report, ctx())
    expect(applied).toMatchObject({ ok: false, applied: false })
    const recorded = applyAndRecord(db, { report, entries: 1 }, { usersFilename: 'u.yaml', authFilename: 'a.yaml', domainsFilename: name, usersYaml: ONE, authYaml: AUTH, domainsYaml: text }, { ...ctx(), notify: 'none', createdBy: adminId })
    expect(recorded).toMatchObject({ ok: false, applied: false })
    expect(n('select count(*) from invitations')).toBe(0)
    expect(n('select count(*) from outbox')).toBe(0)
    expect(n('select count(*) from import_runs')).toBe(0)
    expect(n("select count(*) from audit_events where event = 'import.applied'")).toBe(0)
  })

  it.each(['valid.yaml', 'empty.yaml', 'comments-only.yaml', 'empty-sections.yaml', 'default-idp.yaml', 'import-checks.yaml'])('%s: no error; the import goes ahead', (name) => {
    const report = plan(ONE, read(`domains/${name}`))
    expect(report.errors).toEqual([])
    expect(report.flags).toEqual([])
    applyImport(db, report, ctx())
    expect(invitedEmails()).toEqual(['ann@alpha.edu'])
  })
})
