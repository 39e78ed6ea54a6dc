import { count, desc, sql } from 'drizzle-orm'
import { auditEvents, outbox, users, type AuditEvent } from '../db/schema.ts'
import type { Db } from '../db/client.ts'

export type AdminSummary = {
  users: { total: number; admins: number; disabled: number; withoutMfa: number }
  outbox: Record<'queued' | 'sent' | 'failed' | 'logged', number>
  recentEvents: AuditEvent[]
}

export function getAdminSummary(db: Db): AdminSummary {
  const u = db
    .select({
      total: count(),
      admins: sql<number>`coalesce(sum(${users.role} = 'admin'), 0)`,
      disabled: sql<number>`coalesce(sum(${users.disabledAt} is not null), 0)`,
      withoutMfa: sql<number>`coalesce(sum(${users.totpSecret} is null), 0)`,
    })
    .from(users)
    .get()!
  const mail = { queued: 0, sent: 0, failed: 0, logged: 0 }
  for (const row of db.select({ status: outbox.status, n: count() }).from(outbox).groupBy(outbox.status).all()) mail[row.status] = row.n
  const recentEvents = db.select().from(auditEvents).orderBy(desc(auditEvents.id)).limit(15).all()
  return { users: u, outbox: mail, recentEvents }
}
