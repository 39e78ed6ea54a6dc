import { afterEach, describe, expect, it, vi } from 'vitest'
import { eq } from 'drizzle-orm'
import { FakeClock, testDb, T0, BASE_URL } from '../test/helpers.ts'
import { invitations, outbox } from '../db/schema.ts'
import { createInvitation } from '../models/invitations.ts'
import { followUpsLastRun, startFollowUpScheduler } from './follow-ups.ts'

// The in-process scheduler of SPEC §6.4: the server checks every hour and sends each 'date'
// follow-up once; time and timers are the test's.

const DAY = 86_400_000
const HOUR = 3_600_000
const ctx = { baseUrl: BASE_URL, key: Buffer.alloc(32, 7), ttlMs: 48 * HOUR }

afterEach(() => vi.useRealTimers())

describe('startFollowUpScheduler', () => {
  it('checks a minute after start and then hourly, sending each due follow-up once', () => {
    vi.useFakeTimers()
    const db = testDb()
    const clock = new FakeClock(T0)
    const invite = (email: string, mode: 'date' | 'none') =>
      createInvitation(db, { email, role: 'researcher', organization: 'Alpha', groupId: null, groupRole: null, projectGrants: [], followUpMode: mode }, { ...ctx, actor: null, now: T0, ip: null, inviter: 'Gatehouse import' })
    invite('dated@alpha.edu', 'date')
    invite('quiet@alpha.edu', 'none')
    const reminders = () => db.select().from(outbox).all().filter((m) => m.subject.startsWith('Reminder'))
    const sent: number[] = []
    const errors: unknown[] = []
    const scheduler = startFollowUpScheduler(db, clock, ctx, { onSent: (n) => sent.push(n), onError: (e) => errors.push(e) })

    clock.ms = T0 + 7 * DAY - HOUR // day 7 is an hour away
    vi.advanceTimersByTime(60_000)
    expect(reminders()).toHaveLength(0)
    expect(followUpsLastRun(db)).toBe(clock.ms)

    clock.ms = T0 + 7 * DAY
    vi.advanceTimersByTime(HOUR)
    expect(reminders().map((m) => [m.recipient, m.subject])).toEqual([['dated@alpha.edu', 'Reminder: your Gatehouse invitation']])
    expect(sent).toEqual([1])

    clock.ms += HOUR
    vi.advanceTimersByTime(HOUR) // the same day again: nothing new
    expect(reminders()).toHaveLength(1)

    clock.ms = T0 + 14 * DAY
    vi.advanceTimersByTime(HOUR)
    expect(reminders().map((m) => m.subject)).toEqual(['Reminder: your Gatehouse invitation', 'Reminder (2): your Gatehouse invitation'])
    expect(db.select().from(invitations).where(eq(invitations.email, 'dated@alpha.edu')).get()).toMatchObject({ followUpsSent: 2, lastFollowUpAt: T0 + 14 * DAY })

    scheduler.stop()
    clock.ms = T0 + 21 * DAY
    vi.advanceTimersByTime(2 * HOUR) // stopped: no third follow-up
    expect(reminders()).toHaveLength(2)
    expect(errors).toEqual([])
  })

  it('reports an error without stopping', () => {
    vi.useFakeTimers()
    const db = testDb()
    const errors: unknown[] = []
    const scheduler = startFollowUpScheduler(db, new FakeClock(), ctx, { onSent: () => {}, onError: (e) => errors.push(e) })
    db.$client.close()
    vi.advanceTimersByTime(60_000 + HOUR)
    expect(errors.length).toBe(2)
    scheduler.stop()
  })
})
