import { and, desc, eq, inArray, isNull, sql } from 'drizzle-orm'
import { projectSites, projects, siteApprovers, siteDecisions, sites, users, type Site } from '../db/schema.ts'
import { preparedOnce, type Db } from '../db/client.ts'
import type { Actor } from '../authz/policy.ts'
import { getCohortCounts, getCurrentCohortQuery } from './projects.ts'
import { displayName } from './users.ts'

// The approvals inbox (/approvals, SPEC §4.1): the sites a user decides for are the sites they
// approve for, plus — for holders of projects.approve (admins) — every site without approvers.
// "Awaiting" is a staging at such a site with no decision yet, on a live staged or approved project.

/** A site counts as "online" while its last authenticated API request is this recent. */
export const ONLINE_WINDOW_MS = 5 * 60_000
/** sites.last_seen_at is written at most this often per site, to keep API requests cheap. */
export const LAST_SEEN_GRANULARITY_MS = 60_000

/** Records a site's authenticated API request: one conditional UPDATE, a no-op within a minute of the last write. */
export function touchSiteLastSeen(db: Db, siteId: number, now: number): void {
  db.run(sql`UPDATE sites SET last_seen_at = ${now} WHERE id = ${siteId} AND (last_seen_at IS NULL OR last_seen_at <= ${now - LAST_SEEN_GRANULARITY_MS})`)
}

export function isOnline(lastSeenAt: number | null, now: number): boolean {
  return lastSeenAt !== null && now - lastSeenAt < ONLINE_WINDOW_MS
}

function mayDecideUnapprovedSites(actor: Actor): boolean {
  return actor.disabledAt === null && actor.sitePermissions.includes('projects.approve')
}

/** SQL: the site id column `col` is one this actor decides for. */
function decidesFor(actor: Actor, col: ReturnType<typeof sql.raw>) {
  const own = sql`${col} IN (SELECT site_id FROM site_approvers WHERE user_id = ${actor.id})`
  if (!mayDecideUnapprovedSites(actor)) return own
  return sql`(${own} OR NOT EXISTS (SELECT 1 FROM site_approvers sa WHERE sa.site_id = ${col}))`
}

/**
 * For the navigation, on every page: null when the user decides for no site (no nav entry),
 * otherwise how many stagings await their decision. Two indexed queries at most.
 */
export function approvalsNavCount(db: Db, actor: Actor): number | null {
  if (actor.disabledAt !== null) return null
  const nav = preparedOnce(db, prepareNavQueries)
  const approves = nav.approves.get({ userId: actor.id }) !== undefined
  const admin = mayDecideUnapprovedSites(actor)
  const unapproved = admin && nav.unapprovedSiteExists.get() !== undefined
  if (!approves && !unapproved) return null
  return (admin ? nav.awaitingAsAdmin : nav.awaitingAsApprover).get({ userId: actor.id })?.n ?? 0
}

// The nav count runs on every page a decider opens: its statements are prepared once per database.
function prepareNavQueries(db: Db) {
  const awaiting = (admin: boolean) =>
    db.$client.prepare<{ userId: number }, { n: number }>(
      `SELECT count(*) AS n FROM project_sites ps JOIN projects p ON p.id = ps.project_id
       WHERE ps.decision IS NULL AND p.deleted_at IS NULL AND p.status IN ('staged', 'approved')
         AND (ps.site_id IN (SELECT site_id FROM site_approvers WHERE user_id = @userId)` +
        (admin ? ` OR NOT EXISTS (SELECT 1 FROM site_approvers sa WHERE sa.site_id = ps.site_id))` : `)`),
    )
  return {
    approves: db.$client.prepare<{ userId: number }, { one: number }>('SELECT 1 AS one FROM site_approvers WHERE user_id = @userId LIMIT 1'),
    unapprovedSiteExists: db.$client.prepare<[], { one: number }>('SELECT 1 AS one FROM sites s WHERE NOT EXISTS (SELECT 1 FROM site_approvers sa WHERE sa.site_id = s.id) LIMIT 1'),
    awaitingAsAdmin: awaiting(true),
    awaitingAsApprover: awaiting(false),
  }
}

/** The sites this actor decides for, by name, with whether it is as an approver or as an admin. */
export function listDecidingSites(db: Db, actor: Actor): (Site & { asApprover: boolean })[] {
  if (actor.disabledAt !== null) return []
  const rows = db.all<{ id: number }>(sql`SELECT s.id AS id FROM sites s WHERE ${decidesFor(actor, sql.raw('s.id'))}`)
  if (rows.length === 0) return []
  const mine = new Set(db.select({ s: siteApprovers.siteId }).from(siteApprovers).where(eq(siteApprovers.userId, actor.id)).all().map((r) => r.s))
  return db
    .select()
    .from(sites)
    .where(inArray(sites.id, rows.map((r) => r.id)))
    .orderBy(sites.name, sites.id)
    .all()
    .map((s) => ({ ...s, asApprover: mine.has(s.id) }))
}

export type AwaitingCard = { projectId: number; name: string; description: string; owner: string; stagedAt: number; status: string; count: string }

/** Per deciding site, the projects staged there with no decision yet, oldest staging first. */
export function listAwaiting(db: Db, siteIds: number[]): Map<number, AwaitingCard[]> {
  const out = new Map<number, AwaitingCard[]>(siteIds.map((id) => [id, []]))
  if (siteIds.length === 0) return out
  const rows = db
    .select({ siteId: projectSites.siteId, stagedAt: projectSites.stagedAt, project: projects, owner: users })
    .from(projectSites)
    .innerJoin(projects, eq(projects.id, projectSites.projectId))
    .innerJoin(users, eq(users.id, projects.ownerId))
    .where(and(inArray(projectSites.siteId, siteIds), isNull(projectSites.decision), isNull(projects.deletedAt), inArray(projects.status, ['staged', 'approved'])))
    .orderBy(projectSites.stagedAt, projects.id)
    .all()
  const counts = new Map<number, Map<number, string>>()
  for (const r of rows) {
    let perSite = counts.get(r.project.id)
    if (!perSite) {
      // The count exactly as the project page shows it (small counts as "< 5").
      perSite = new Map(getCohortCounts(db, getCurrentCohortQuery(db, r.project.id)?.id ?? null).map((c) => [c.site.id, c.shown]))
      counts.set(r.project.id, perSite)
    }
    out.get(r.siteId)!.push({ projectId: r.project.id, name: r.project.name, description: r.project.description, owner: `${displayName(r.owner)} <${r.owner.email}>`, stagedAt: r.stagedAt, status: r.project.status, count: perSite.get(r.siteId) ?? 'not sent' })
  }
  return out
}

export type DecidedRow = { projectId: number; projectName: string; projectDeleted: boolean; siteId: number; siteName: string; decision: string; decidedBy: string; decidedAt: number; expiresOn: string | null; withdrawnAt: number | null }

/**
 * Approvals and declines at these sites, newest first; a withdrawal is shown on the approval it
 * ended (the first withdraw row after it at the same site), not as a row of its own.
 */
export function listDecided(db: Db, siteIds: number[], limit = 200): DecidedRow[] {
  if (siteIds.length === 0) return []
  const rows = db
    .select({ d: siteDecisions, projectName: projects.name, deletedAt: projects.deletedAt, siteName: sites.name, email: users.email })
    .from(siteDecisions)
    .innerJoin(projects, eq(projects.id, siteDecisions.projectId))
    .innerJoin(sites, eq(sites.id, siteDecisions.siteId))
    .leftJoin(users, eq(users.id, siteDecisions.decidedBy))
    .where(inArray(siteDecisions.siteId, siteIds))
    .orderBy(desc(siteDecisions.id))
    .all()
  const out: DecidedRow[] = []
  const laterWithdrawal = new Map<string, number>() // project:site → the withdrawal seen after (newer than) the rows still to come
  for (const r of rows) {
    const key = `${r.d.projectId}:${r.d.siteId}`
    if (r.d.decision === 'withdraw') {
      laterWithdrawal.set(key, r.d.decidedAt)
      continue
    }
    const withdrawnAt = r.d.decision === 'approve' ? (laterWithdrawal.get(key) ?? null) : null
    laterWithdrawal.delete(key)
    out.push({ projectId: r.d.projectId, projectName: r.projectName, projectDeleted: r.deletedAt !== null, siteId: r.d.siteId, siteName: r.siteName, decision: r.d.decision, decidedBy: r.email ?? '(deleted user)', decidedAt: r.d.decidedAt, expiresOn: r.d.expiresOn, withdrawnAt })
    if (out.length >= limit) break
  }
  return out
}

/** True when the actor approves for a site this project is staged at (the approver's read-only view). */
export function approvesStagedSite(db: Db, actorId: number, projectId: number): boolean {
  return (
    db
      .select({ one: sql`1` })
      .from(projectSites)
      .innerJoin(siteApprovers, eq(siteApprovers.siteId, projectSites.siteId))
      .where(and(eq(projectSites.projectId, projectId), eq(siteApprovers.userId, actorId)))
      .limit(1)
      .get() !== undefined
  )
}
