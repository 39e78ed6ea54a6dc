import { and, asc, eq, sql } from 'drizzle-orm'
import { alias } from 'drizzle-orm/sqlite-core'
import { siteApprovers, sites, users, type Site, type User } from '../db/schema.ts'
import { writeTransaction, type Db } from '../db/client.ts'
import { recordAuditEvent } from './audit.ts'
import { displayName } from './users.ts'
import { queueSiteApproverNotice } from '../mail/site-approver-notice.ts'

// Site approvers (SPEC §4.1): the users who decide for a site. Any site role may approve, a
// user may approve for several sites, and nobody appoints themselves. Each appointment and
// removal is audited, and the site's contact address (when set) is told, in one transaction.

export type SiteApproverCtx = { actor: { id: number; email: string }; now: number; ip: string; baseUrl: string }

export type SiteApproverRow = {
  userId: number
  name: string
  email: string
  disabled: boolean
  appointedAt: number
  appointedById: number
  appointedByName: string
}

export type AppointRefusal = 'self' | 'disabled' | 'already'

function audit(db: Db, ctx: SiteApproverCtx, event: string, site: Site, user: User) {
  recordAuditEvent(db, {
    event,
    at: ctx.now,
    actor: ctx.actor,
    targetType: 'site',
    targetId: site.id,
    ip: ctx.ip,
    details: { code: site.code, user_id: user.id, user_email: user.email },
  })
}

/** Why `user` may not be appointed to `site` by the actor, or null when they may. */
export function whyNotAppointable(db: Db, site: Site, user: User, actorId: number): AppointRefusal | null {
  if (user.id === actorId) return 'self'
  if (user.disabledAt !== null) return 'disabled'
  if (isSiteApprover(db, site.id, user.id)) return 'already'
  return null
}

/** Appoints `user` as an approver of `site`: the row, its audit event and the contact's email land together or not at all. */
export function appointSiteApprover(db: Db, site: Site, user: User, ctx: SiteApproverCtx): { ok: true } | { ok: false; reason: AppointRefusal } {
  if (user.id === ctx.actor.id) return { ok: false, reason: 'self' }
  return writeTransaction(db, () => {
    // Note: re-read inside the write transaction, so a parallel disable or appointment cannot slip past.
    const current = db.select().from(users).where(eq(users.id, user.id)).get()
    if (!current || current.disabledAt !== null) return { ok: false as const, reason: 'disabled' as const }
    const inserted = db.insert(siteApprovers).values({ siteId: site.id, userId: user.id, appointedBy: ctx.actor.id, appointedAt: ctx.now }).onConflictDoNothing().returning().get()
    if (!inserted) return { ok: false as const, reason: 'already' as const }
    audit(db, ctx, 'site.approver_appointed', site, current)
    queueSiteApproverNotice(db, { site, approver: { name: displayName(current), email: current.email }, change: 'appointed', by: ctx.actor.email, now: ctx.now, baseUrl: ctx.baseUrl })
    return { ok: true as const }
  })
}

/** Removes `user` from the approvers of `site`; false (nothing written) when they were not one. */
export function removeSiteApprover(db: Db, site: Site, user: User, ctx: SiteApproverCtx): boolean {
  return writeTransaction(db, () => {
    const removed = db.delete(siteApprovers).where(and(eq(siteApprovers.siteId, site.id), eq(siteApprovers.userId, user.id))).returning().get()
    if (!removed) return false
    audit(db, ctx, 'site.approver_removed', site, user)
    queueSiteApproverNotice(db, { site, approver: { name: displayName(user), email: user.email }, change: 'removed', by: ctx.actor.email, now: ctx.now, baseUrl: ctx.baseUrl })
    return true
  })
}

export function isSiteApprover(db: Db, siteId: number, userId: number): boolean {
  return db.select({ one: sql`1` }).from(siteApprovers).where(and(eq(siteApprovers.siteId, siteId), eq(siteApprovers.userId, userId))).get() !== undefined
}

/** A site's approvers with who appointed them, oldest appointment first. */
export function listApproversForSite(db: Db, siteId: number): SiteApproverRow[] {
  const appointer = alias(users, 'appointer')
  return db
    .select({ approver: users, appointer, appointedAt: siteApprovers.appointedAt })
    .from(siteApprovers)
    .innerJoin(users, eq(users.id, siteApprovers.userId))
    .innerJoin(appointer, eq(appointer.id, siteApprovers.appointedBy))
    .where(eq(siteApprovers.siteId, siteId))
    .orderBy(asc(siteApprovers.appointedAt), asc(users.id))
    .all()
    .map((r) => ({
      userId: r.approver.id,
      name: displayName(r.approver),
      email: r.approver.email,
      disabled: r.approver.disabledAt !== null,
      appointedAt: r.appointedAt,
      appointedById: r.appointer.id,
      appointedByName: displayName(r.appointer),
    }))
}

/** The sites `userId` approves for, by name. */
export function listSitesApprovedBy(db: Db, userId: number): Site[] {
  return db
    .select({ site: sites })
    .from(siteApprovers)
    .innerJoin(sites, eq(sites.id, siteApprovers.siteId))
    .where(eq(siteApprovers.userId, userId))
    .orderBy(asc(sites.name), asc(sites.id))
    .all()
    .map((r) => r.site)
}
