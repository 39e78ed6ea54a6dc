import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { beforeEach, describe, expect, it } from 'vitest'
import { testDb, T0, BASE_URL } from '../test/helpers.ts'
import type { Db } from '../db/client.ts'
import { applyConsortiumStructure } from '../models/consortium.ts'
import { getBlockingInvitation, getInvitationById, getInvitationByToken, revokeInvitation, startInvitationAcceptance, verifyInvitationSecurityToken } from '../models/invitations.ts'
import { dueFollowUp, planImport, type ImportReport, type NotifyMode } from './plan.ts'
import { applyImport, type ApplyContext } from './apply.ts'
import { listDueFollowUps, runFollowUps } from './follow-ups.ts'
import { followUpsCommand, importCommand, type ImportCliIo } from './import-cli.ts'

// SPEC §6.4: follow-ups for unclaimed invitations per notification mode. 'none' never, 'date' on
// days 7, 14 and 21 after the claim email (a missed day is not made up), 'force' one per run.
// The same link each time, working again for the invitation TTL.

const DAY = 86_400_000
const TTL = 48 * 3_600_000
const KEY = Buffer.alloc(32, 1)
const STRUCTURE = { studies: { adrc: 'primary' as const }, dataTypes: ['form'], centres: { 1: { group: 'alpha', studies: ['adrc'] } }, adminGroup: 'nacc' }

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url))
const USERS_FILE = fixture('directory/one-invite.yaml')
const AUTH_FILE = fixture('auth/basic.yaml')
const USERS = readFileSync(USERS_FILE, 'utf8')
const AUTH = readFileSync(AUTH_FILE, 'utf8')
const INVITEE = 'ann@alpha.edu'

const CLAIM = 'You are invited to Gatehouse'
const R = (n: number) => `Reminder${n > 1 ? ` (${n})` : ''}: your Gatehouse invitation`

let db: Db
let adminId: number
const ctx = (now: number, notify: NotifyMode): ApplyContext => ({ actor: { id: adminId, email: 'admin@example.org' }, now, ip: '', baseUrl: BASE_URL, key: KEY, ttlMs: TTL, inviter: 'Admin', notify })
const followUpCtx = (now: number) => ({ now, baseUrl: BASE_URL, key: KEY, ttlMs: TTL })
const n = (sql: string, ...params: unknown[]) => db.$client.prepare(sql).pluck().get(...params) as number

/** Plans and applies the fixture files as of `now`, the way the CLI and the admin page do. */
function importAt(now: number, notify: NotifyMode): ImportReport {
  const plan = planImport(db, { usersYaml: USERS, authYaml: AUTH, notify, now })
  expect(plan.errors).toEqual([])
  return applyImport(db, plan, ctx(now, notify))
}

/** Subjects of the emails to the invitee, oldest first. */
function subjects(): string[] {
  return db.$client.prepare('select subject from outbox where recipient = ? order by id').pluck().all(INVITEE) as string[]
}
function reminders(): string[] {
  return subjects().filter((s) => s.startsWith('Reminder'))
}
function linksIn(subjectPrefix: string): string[] {
  const bodies = db.$client.prepare('select text_body from outbox where recipient = ? and subject like ? order by id').pluck().all(INVITEE, `${subjectPrefix}%`) as string[]
  return bodies.map((b) => /Accept the invitation here: (\S+)/.exec(b)![1]!)
}
function invitation() {
  const row = db.$client.prepare('select id from invitations where email = ?').pluck().get(INVITEE) as number
  return getInvitationById(db, row)!
}

const DAYS = [6, 7, 14, 21, 28] as const

beforeEach(() => {
  db = testDb()
  adminId = Number(db.$client.prepare("insert into users (email, role, password_hash, password_changed_at, created_at) values ('admin@example.org', 'admin', 'x', 0, 0)").run().lastInsertRowid)
  expect(applyConsortiumStructure(db, STRUCTURE, { actor: { id: adminId, email: 'admin@example.org' }, now: T0, ip: '' }).ok).toBe(true)
})

describe('dueFollowUp (date mode)', () => {
  const inv = (followUpsSent: number) => ({ createdAt: T0, followUpsSent })

  it('is due exactly at the day boundary, not a millisecond before', () => {
    expect(dueFollowUp(inv(0), T0)).toBeNull()
    expect(dueFollowUp(inv(0), T0 + 7 * DAY - 1)).toBeNull()
    expect(dueFollowUp(inv(0), T0 + 7 * DAY)).toBe(1)
    expect(dueFollowUp(inv(1), T0 + 7 * DAY)).toBeNull()
    expect(dueFollowUp(inv(1), T0 + 14 * DAY - 1)).toBeNull()
    expect(dueFollowUp(inv(1), T0 + 14 * DAY)).toBe(2)
    expect(dueFollowUp(inv(2), T0 + 21 * DAY - 1)).toBeNull()
    expect(dueFollowUp(inv(2), T0 + 21 * DAY)).toBe(3)
  })

  it('never after the third', () => {
    expect(dueFollowUp(inv(3), T0 + 21 * DAY)).toBeNull()
    expect(dueFollowUp(inv(3), T0 + 28 * DAY)).toBeNull()
    expect(dueFollowUp(inv(3), T0 + 365 * DAY)).toBeNull()
  })

  it('does not make up a missed day: one follow-up, numbered for the latest day reached', () => {
    expect(dueFollowUp(inv(0), T0 + 14 * DAY)).toBe(2)
    expect(dueFollowUp(inv(0), T0 + 20 * DAY)).toBe(2)
    expect(dueFollowUp(inv(0), T0 + 21 * DAY)).toBe(3)
    expect(dueFollowUp(inv(1), T0 + 28 * DAY)).toBe(3)
  })
})

describe('follow-ups per notification mode, evaluated on days 6, 7, 14, 21 and 28', () => {
  it("'none': the claim email only; no run and no scheduler check ever sends a follow-up", () => {
    importAt(T0, 'none')
    expect(invitation().followUpMode).toBe('none')
    expect(subjects()).toEqual([CLAIM])
    for (const day of DAYS) {
      const report = importAt(T0 + day * DAY, 'none')
      expect(report.actions.map((a) => [a.action, a.reason])).toEqual([['skip', 'invitation outstanding']])
      expect(runFollowUps(db, followUpCtx(T0 + day * DAY))).toEqual([])
      expect(subjects(), `day ${day}`).toEqual([CLAIM])
    }
    expect(invitation().followUpsSent).toBe(0)
  })

  it("'date' by re-running the import: none on day 6, one each on days 7, 14, 21, nothing new on day 28 or on a same-day re-run", () => {
    importAt(T0, 'date')
    expect(invitation().followUpMode).toBe('date')
    const expected: Record<number, string[]> = { 6: [], 7: [R(1)], 14: [R(1), R(2)], 21: [R(1), R(2), R(3)], 28: [R(1), R(2), R(3)] }
    const expectedAction: Record<number, number | null> = { 6: null, 7: 1, 14: 2, 21: 3, 28: null }
    for (const day of DAYS) {
      const report = importAt(T0 + day * DAY, 'date')
      const number = expectedAction[day]!
      expect(report.actions.map((a) => [a.action, a.follow_up ?? a.reason]), `day ${day}`).toEqual([number === null ? ['skip', 'invitation outstanding; no follow-up due'] : ['follow_up', number]])
      expect(reminders(), `day ${day}`).toEqual(expected[day])
      // The same run again the same day: nothing new.
      const again = importAt(T0 + day * DAY + 60_000, 'date')
      expect(again.actions.map((a) => a.action)).toEqual(['skip'])
      expect(reminders(), `day ${day}, re-run`).toEqual(expected[day])
    }
    expect(subjects().filter((s) => s === CLAIM)).toHaveLength(1)
    expect(invitation().followUpsSent).toBe(3)
  })

  it("'date' by the scheduler (runFollowUps): the same days, once each, then never again", () => {
    importAt(T0, 'date')
    const expected: Record<number, number[]> = { 6: [], 7: [1], 14: [2], 21: [3], 28: [] }
    for (const day of DAYS) {
      const sent = runFollowUps(db, followUpCtx(T0 + day * DAY))
      expect(sent.map((d) => [d.invitation.email, d.number]), `day ${day}`).toEqual(expected[day]!.map((num) => [INVITEE, num]))
      expect(runFollowUps(db, followUpCtx(T0 + day * DAY + 3_600_000)), `day ${day}, an hour later`).toEqual([])
    }
    expect(reminders()).toEqual([R(1), R(2), R(3)])
    expect(subjects()).toEqual([CLAIM, R(1), R(2), R(3)])
    expect(n("select count(*) from audit_events where event = 'invitation.follow_up_sent'")).toBe(3)
  })

  it("'date' by the CLI (follow-ups): prints and sends what is due", () => {
    importAt(T0, 'date')
    const SENT = 'Sent 1 follow-up (queued in the outbox; the server delivers them).\n'
    const printed: Record<number, string[]> = {
      6: ['Sent 0 follow-ups.\n'],
      7: [SENT, `  ${INVITEE}: follow-up 1 (invited 2026-11-02)\n`],
      14: [SENT, `  ${INVITEE}: follow-up 2 (invited 2026-11-02)\n`],
      21: [SENT, `  ${INVITEE}: follow-up 3 (invited 2026-11-02)\n`],
      28: ['Sent 0 follow-ups.\n'],
    }
    const expected: Record<number, string[]> = { 6: [], 7: [R(1)], 14: [R(1), R(2)], 21: [R(1), R(2), R(3)], 28: [R(1), R(2), R(3)] }
    for (const day of DAYS) {
      const io = cliIo(T0 + day * DAY)
      expect(followUpsCommand(db, [], io)).toBe(0)
      expect(io.output, `day ${day}`).toEqual(printed[day])
      expect(reminders(), `day ${day}`).toEqual(expected[day])
    }
  })

  it("'force': one follow-up per run, whatever the day (also twice the same day); the scheduler adds none", () => {
    importAt(T0, 'force')
    expect(invitation().followUpMode).toBe('none')
    expect(subjects()).toEqual([CLAIM])
    let count = 0
    for (const day of DAYS) {
      const report = importAt(T0 + day * DAY, 'force')
      count++
      expect(report.actions.map((a) => [a.action, a.follow_up]), `day ${day}`).toEqual([['follow_up', count]])
      expect(runFollowUps(db, followUpCtx(T0 + day * DAY))).toEqual([])
      expect(reminders(), `day ${day}`).toEqual(Array.from({ length: count }, (_, i) => R(i + 1)))
    }
    expect(reminders()).toEqual([R(1), R(2), R(3), R(4), R(5)])
    importAt(T0 + 28 * DAY + 60_000, 'force')
    expect(reminders()).toHaveLength(6)
    expect(reminders()[5]).toBe(R(6))
    expect(invitation().followUpsSent).toBe(6)
    expect(invitation().followUpMode).toBe('none')
  })
})

describe('a follow-up', () => {
  it('sends the same link as the claim email, and the link works again for the TTL', () => {
    importAt(T0, 'date')
    const first = invitation()
    expect(first.expiresAt).toBe(T0 + TTL)
    const [claimLink] = linksIn(CLAIM)
    expect(claimLink).toMatch(new RegExp(`^${BASE_URL}/invite/[a-z2-7]{32}$`))

    runFollowUps(db, followUpCtx(T0 + 7 * DAY))
    runFollowUps(db, followUpCtx(T0 + 14 * DAY + 5_000))
    expect(linksIn('Reminder')).toEqual([claimLink, claimLink])
    const after = invitation()
    expect(after.expiresAt).toBe(T0 + 14 * DAY + 5_000 + TTL)
    expect(after.followUpsSent).toBe(2)
    expect(after.lastFollowUpAt).toBe(T0 + 14 * DAY + 5_000)
    expect(after.sendCount).toBe(first.sendCount + 2)
    expect(getInvitationByToken(db, KEY, claimLink!.split('/').pop()!)?.id).toBe(first.id)
    const body = db.$client.prepare("select text_body from outbox where subject = ? ").pluck().get(R(2)) as string
    expect(body).toContain('The link works until 2026-11-18 09:00 UTC')
  })

  it('from an import run extends the expiry to now + TTL as well, and counts in the one import.applied event', () => {
    importAt(T0, 'date')
    const report = importAt(T0 + 7 * DAY, 'date') as ImportReport & { counts: { follow_ups: number } }
    expect(report.counts.follow_ups).toBe(1)
    expect(invitation().expiresAt).toBe(T0 + 7 * DAY + TTL)
    expect(linksIn('Reminder')).toEqual(linksIn(CLAIM))
    const events = db.$client.prepare("select details from audit_events where event = 'import.applied' order by id").pluck().all() as string[]
    expect(events.map((d) => JSON.parse(d).follow_ups)).toEqual([0, 1])
  })

  it('is never sent for an accepted invitation', () => {
    importAt(T0, 'date')
    const inv = getBlockingInvitation(db, INVITEE)!
    const c = { actor: null, now: T0 + DAY, ip: null, key: Buffer.alloc(32, 7) }
    const { tabBinding, securityToken } = startInvitationAcceptance(db, inv, { firstName: 'Ann', lastName: 'Smith', username: 'ann', passwordHash: 'x' }, c)
    expect(verifyInvitationSecurityToken(db, inv, { code: securityToken, tabBinding }, c).ok).toBe(true)

    expect(listDueFollowUps(db, T0 + 7 * DAY)).toEqual([])
    expect(runFollowUps(db, followUpCtx(T0 + 7 * DAY))).toEqual([])
    for (const notify of ['date', 'force'] as const) {
      const report = importAt(T0 + 7 * DAY, notify)
      expect(report.actions).toEqual([])
    }
    expect(reminders()).toEqual([])
  })

  it('is never sent for a revoked invitation', () => {
    importAt(T0, 'date')
    expect(revokeInvitation(db, getBlockingInvitation(db, INVITEE)!, { actor: null, now: T0 + DAY, ip: null })).toBe(true)
    expect(listDueFollowUps(db, T0 + 21 * DAY)).toEqual([])
    expect(runFollowUps(db, followUpCtx(T0 + 7 * DAY))).toEqual([])
    expect(runFollowUps(db, followUpCtx(T0 + 21 * DAY))).toEqual([])
    const plan = planImport(db, { usersYaml: USERS, authYaml: AUTH, notify: 'force', now: T0 + 7 * DAY })
    expect(plan.actions.filter((a) => a.action === 'follow_up')).toEqual([])
    expect(reminders()).toEqual([])
    expect(invitation().followUpsSent).toBe(0)
  })

  it('a missed day is not made up: first check on day 15 sends one, numbered 2; day 21 sends 3', () => {
    importAt(T0, 'date')
    expect(runFollowUps(db, followUpCtx(T0 + 15 * DAY)).map((d) => d.number)).toEqual([2])
    expect(reminders()).toEqual([R(2)])
    expect(runFollowUps(db, followUpCtx(T0 + 20 * DAY)).map((d) => d.number)).toEqual([])
    expect(runFollowUps(db, followUpCtx(T0 + 21 * DAY)).map((d) => d.number)).toEqual([3])
    expect(runFollowUps(db, followUpCtx(T0 + 100 * DAY))).toEqual([])
    expect(reminders()).toEqual([R(2), R(3)])
  })
})

describe('changing the mode with a later run', () => {
  it('date → none stops the follow-ups', () => {
    importAt(T0, 'date')
    expect(runFollowUps(db, followUpCtx(T0 + 7 * DAY)).map((d) => d.number)).toEqual([1])
    const report = importAt(T0 + 10 * DAY, 'none') as ImportReport & { counts: { follow_up_mode_changed: number } }
    expect(report.counts.follow_up_mode_changed).toBe(1)
    expect(invitation().followUpMode).toBe('none')
    expect(runFollowUps(db, followUpCtx(T0 + 14 * DAY))).toEqual([])
    expect(runFollowUps(db, followUpCtx(T0 + 21 * DAY))).toEqual([])
    importAt(T0 + 14 * DAY, 'none')
    expect(reminders()).toEqual([R(1)])
  })

  it('none → date starts them: the run itself sends the one due, the scheduler the later ones', () => {
    importAt(T0, 'none')
    const report = importAt(T0 + 8 * DAY, 'date')
    expect(report.actions.map((a) => [a.action, a.follow_up])).toEqual([['follow_up', 1]])
    expect(invitation().followUpMode).toBe('date')
    expect(runFollowUps(db, followUpCtx(T0 + 14 * DAY)).map((d) => d.number)).toEqual([2])
    expect(reminders()).toEqual([R(1), R(2)])
  })

  it("'force' leaves the schedule as it was", () => {
    importAt(T0, 'date')
    importAt(T0 + DAY, 'force')
    expect(invitation().followUpMode).toBe('date')
    importAt(T0 + 2 * DAY, 'none')
    importAt(T0 + 3 * DAY, 'force')
    expect(invitation().followUpMode).toBe('none')
    expect(reminders()).toEqual([R(1), R(2)])
  })
})

type TestIo = ImportCliIo & { output: string[]; errors: string[]; usage: string[] }
function cliIo(now: number): TestIo {
  const io: TestIo = {
    actor: { id: adminId, email: 'admin@example.org' },
    now,
    baseUrl: BASE_URL,
    key: KEY,
    ttlMs: TTL,
    inviter: 'Gatehouse import',
    output: [],
    errors: [],
    usage: [],
    out: (t) => void io.output.push(t),
    err: (t) => void io.errors.push(t),
    usageError: (m) => (io.usage.push(m), 2),
  }
  return io
}

describe('--now', () => {
  it('in a dry run evaluates the follow-ups as of that date and sends nothing', async () => {
    expect(await importCommand(db, [USERS_FILE, AUTH_FILE, '--notify', 'date'], cliIo(T0))).toBe(0)
    expect(subjects()).toEqual([CLAIM])
    const outboxBefore = n('select count(*) from outbox')

    const day6 = cliIo(T0 + 3_600_000)
    expect(await importCommand(db, [USERS_FILE, AUTH_FILE, '--notify', 'date', '--dry-run', '--json', '--now', '2026-11-08T09:00:00Z'], day6)).toBe(0)
    expect(JSON.parse(day6.output.join('')).actions).toEqual([{ entry: 0, email: 'ann.smith@alpha.edu', action: 'skip', account: INVITEE, reason: 'invitation outstanding; no follow-up due' }])

    const day7 = cliIo(T0 + 3_600_000)
    expect(await importCommand(db, [USERS_FILE, AUTH_FILE, '--notify', 'date', '--dry-run', '--json', '--now', '2026-11-09T09:00:00Z'], day7)).toBe(0)
    const report = JSON.parse(day7.output.join(''))
    expect(report).toMatchObject({ ok: true, applied: false })
    expect(report.actions).toEqual([{ entry: 0, email: 'ann.smith@alpha.edu', action: 'follow_up', account: INVITEE, follow_up: 1 }])

    const day21 = cliIo(T0 + 3_600_000)
    expect(await importCommand(db, [USERS_FILE, AUTH_FILE, '--notify', 'date', '--dry-run', '--json', '--now=2026-11-23T09:00:00Z'], day21)).toBe(0)
    expect(JSON.parse(day21.output.join('')).actions.map((a: { follow_up?: number }) => a.follow_up)).toEqual([3])

    // follow-ups: a date without a time is midnight UTC, before day 14's 09:00.
    const fu = cliIo(T0 + 3_600_000)
    expect(followUpsCommand(db, ['--dry-run', '--now', '2026-11-16'], fu)).toBe(0)
    expect(fu.output).toEqual(['Would send 1 follow-up as of 2026-11-16T00:00:00.000Z.\n', `  ${INVITEE}: follow-up 1 (invited 2026-11-02)\n`])
    const fu14 = cliIo(T0 + 3_600_000)
    expect(followUpsCommand(db, ['--dry-run', '--now', '2026-11-16T09:00:00Z'], fu14)).toBe(0)
    expect(fu14.output[1]).toBe(`  ${INVITEE}: follow-up 2 (invited 2026-11-02)\n`)

    expect(n('select count(*) from outbox')).toBe(outboxBefore)
    expect(invitation().followUpsSent).toBe(0)
    expect(invitation().expiresAt).toBe(T0 + TTL)
    expect(n('select count(*) from import_runs')).toBe(1)
  })

  it('without --dry-run is a usage error (exit 2) and nothing happens', async () => {
    const imp = cliIo(T0)
    expect(await importCommand(db, [USERS_FILE, AUTH_FILE, '--notify', 'date', '--now', '2026-11-09T09:00:00Z'], imp)).toBe(2)
    expect(imp.usage).toEqual(['import: --now only works with --dry-run (nothing is sent as of another date)'])
    expect(n('select count(*) from invitations')).toBe(0)
    expect(n('select count(*) from outbox')).toBe(0)

    importAt(T0, 'date')
    const fu = cliIo(T0)
    expect(followUpsCommand(db, ['--now', '2026-11-09T09:00:00Z'], fu)).toBe(2)
    expect(fu.usage).toEqual(['follow-ups: --now only works with --dry-run (nothing is sent as of another date)'])
    expect(fu.output).toEqual([])
    expect(reminders()).toEqual([])
  })

  it('with a value that is not an ISO date is a usage error', async () => {
    const io = cliIo(T0)
    expect(await importCommand(db, [USERS_FILE, AUTH_FILE, '--dry-run', '--now', 'next tuesday'], io)).toBe(2)
    expect(io.usage[0]).toMatch(/--now needs an ISO date/)
  })
})
