import { count, desc, inArray, sql } from 'drizzle-orm'
import { auditEvents, invitations, outbox, projects, users, type AuditEvent } from '../db/schema.ts'
import type { Db } from '../db/client.ts'
import { AWAITING_SITE_DECISION } from './projects.ts'

const DAY = 86_400_000

export type AdminSummary = {
  users: { total: number; admins: number; disabled: number; withoutMfa: number; mustChangePassword: number; locked: number }
  invitations: { outstanding: number; expired: number }
  projectsAwaitingDecision: number
  outbox: Record<'queued' | 'sent' | 'failed' | 'logged', number>
  /** Successful sign-ins per UTC day, oldest first, the last 30 days including today. */
  signInsPerDay: { day: string; count: number }[]
  recentEvents: AuditEvent[]
}

export function getAdminSummary(db: Db, now: number): AdminSummary {
  const u = db
    .select({
      total: count(),
      admins: sql<number>`coalesce(sum(${users.role} = 'admin'), 0)`,
      disabled: sql<number>`coalesce(sum(${users.disabledAt} is not null), 0)`,
      withoutMfa: sql<number>`coalesce(sum(${users.totpSecret} is null), 0)`,
      mustChangePassword: sql<number>`coalesce(sum(${users.mustChangePassword}), 0)`,
    })
    .from(users)
    .get()!
  const locked = db.get<{ n: number }>(sql`select count(*) as n from sign_in_throttles t join users u on u.email = t.email where t.locked_until > ${now}`).n
  const inv = db
    .select({ outstanding: sql<number>`coalesce(sum(${invitations.expiresAt} > ${now}), 0)`, expired: sql<number>`coalesce(sum(${invitations.expiresAt} <= ${now}), 0)` })
    .from(invitations)
    .where(inArray(invitations.status, ['sent', 'link visited']))
    .get()!
  const awaiting = db.select({ n: count() }).from(projects).where(sql`${AWAITING_SITE_DECISION} and ${projects.deletedAt} is null`).get()!.n
  const mail = { queued: 0, sent: 0, failed: 0, logged: 0 }
  for (const row of db.select({ status: outbox.status, n: count() }).from(outbox).groupBy(outbox.status).all()) mail[row.status] = row.n
  const today = Math.floor(now / DAY) * DAY
  const since = today - 29 * DAY
  const perDay = new Map(
    db
      .all<{ day: number; n: number }>(sql`select (at / ${sql.raw(String(DAY))}) * ${sql.raw(String(DAY))} as day, count(*) as n from audit_events where event = 'signin.succeeded' and at >= ${since} group by 1`)
      .map((r) => [r.day, r.n]),
  )
  const signInsPerDay = Array.from({ length: 30 }, (_, i) => {
    const day = since + i * DAY
    return { day: new Date(day).toISOString().slice(0, 10), count: perDay.get(day) ?? 0 }
  })
  const recentEvents = db.select().from(auditEvents).orderBy(desc(auditEvents.id)).limit(15).all()
  return { users: { ...u, locked }, invitations: inv, projectsAwaitingDecision: awaiting, outbox: mail, signInsPerDay, recentEvents }
}
