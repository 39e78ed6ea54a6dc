// Follow-ups for unclaimed invitations in 'date' mode (SPEC §6.4): on days 7, 14 and 21 after the
// first claim email, then never again. The server checks every hour (each follow-up goes out once,
// within the hour its day is reached); `npm run cli -- follow-ups` does the same by hand. Every
// email goes through the outbox, in the transaction that records it.

import { and, eq, inArray, lt, sql } from 'drizzle-orm'
import { invitations, settings, type Invitation } from '../db/schema.ts'
import type { Db } from '../db/client.ts'
import type { Clock } from '../http/context.ts'
import { sendFollowUp } from '../models/invitations.ts'
import { dueFollowUp, FOLLOW_UP_DAYS } from './plan.ts'
import { startPeriodic } from '../models/periodic.ts'

/** The settings key holding when the follow-ups last ran (ms). */
export const FOLLOW_UPS_LAST_RUN_SETTING = 'follow_ups_last_run'

const DAY_MS = 86_400_000

export type FollowUpContext = { now: number; baseUrl: string; key: Buffer; ttlMs: number }
export type DueFollowUp = { invitation: Invitation; number: number }

/** The follow-ups due as of `now`, oldest invitation first. */
export function listDueFollowUps(db: Db, now: number): DueFollowUp[] {
  // Only the invitations whose next follow-up day is reached (not every unclaimed one): the day of
  // follow-up n+1 is FOLLOW_UP_DAYS[n], n = follow-ups sent so far.
  const nextDay = sql.join([sql`case ${invitations.followUpsSent}`, ...FOLLOW_UP_DAYS.map((d, n) => sql`when ${sql.raw(String(n))} then ${sql.raw(String(d * DAY_MS))}`), sql`end`], sql` `)
  const candidates = db
    .select()
    .from(invitations)
    .where(
      and(
        inArray(invitations.status, ['sent', 'link visited']),
        eq(invitations.followUpMode, 'date'),
        lt(invitations.followUpsSent, FOLLOW_UP_DAYS.length),
        sql`${invitations.createdAt} + ${nextDay} <= ${sql.raw(String(Math.floor(now)))}`,
      ),
    )
    .orderBy(invitations.createdAt)
    .all()
  const due: DueFollowUp[] = []
  for (const invitation of candidates) {
    const number = dueFollowUp(invitation, now)
    if (number !== null) due.push({ invitation, number })
  }
  return due
}

/** Sends the due follow-ups (each in its own transaction, with its audit event) unless `dryRun`. */
export function runFollowUps(db: Db, ctx: FollowUpContext, options: { dryRun?: boolean } = {}): DueFollowUp[] {
  const due = listDueFollowUps(db, ctx.now)
  if (options.dryRun) return due
  for (const { invitation, number } of due) sendFollowUp(db, invitation, number, { ...ctx, actor: null, ip: null })
  db.insert(settings)
    .values({ key: FOLLOW_UPS_LAST_RUN_SETTING, value: String(ctx.now) })
    .onConflictDoUpdate({ target: settings.key, set: { value: String(ctx.now) } })
    .run()
  return due
}

export function followUpsLastRun(db: Db): number | null {
  const row = db.select().from(settings).where(eq(settings.key, FOLLOW_UPS_LAST_RUN_SETTING)).get()
  return row ? Number(row.value) : null
}

/** The in-process scheduler: a first check a minute after start, then every hour. */
export function startFollowUpScheduler(
  db: Db,
  clock: Clock,
  ctx: Omit<FollowUpContext, 'now'>,
  hooks: { onSent: (count: number) => void; onError: (error: unknown) => void },
): { stop(): void } {
  const tick = () => {
    try {
      const sent = runFollowUps(db, { ...ctx, now: clock.now() })
      if (sent.length > 0) hooks.onSent(sent.length)
    } catch (error) {
      hooks.onError(error)
    }
  }
  return startPeriodic(tick, { firstAfterMs: 60_000, everyMs: 60 * 60_000 })
}
