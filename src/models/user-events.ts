import { sql } from 'drizzle-orm'
import type { Db } from '../db/client.ts'
import type { AuditEvent } from '../db/schema.ts'

/**
 * The latest audit events about a user, for the admin user page: events targeting the account,
 * events the user did, and membership events (they target the project or group and name the
 * member in details.user_id). Each part is read through its own index (target, actor, the
 * expression index on details.user_id), newest first, so no part scans the audit log.
 */
export function listRecentUserEvents(db: Db, userId: number, limit = 20): AuditEvent[] {
  const rows = db.all<{ id: number; at: number; event: string; actor_id: number | null; actor_email: string | null; target_type: string | null; target_id: string | null; ip: string | null; details: string; hash: string | null }>(sql`
    select * from audit_events where id in (
      select id from (select id from audit_events where target_type = 'user' and target_id = ${String(userId)} order by id desc limit ${limit})
      union select id from (select id from audit_events where actor_id = ${userId} order by at desc, id desc limit ${limit})
      union select id from (select id from audit_events where json_extract(details, '$.user_id') = ${userId} order by id desc limit ${limit})
    ) order by id desc limit ${limit}`)
  return rows.map((r) => ({ id: r.id, at: r.at, event: r.event, actorId: r.actor_id, actorEmail: r.actor_email, targetType: r.target_type, targetId: r.target_id, ip: r.ip, details: r.details, hash: r.hash }))
}
