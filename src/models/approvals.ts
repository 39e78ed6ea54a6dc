import { and, eq, inArray, sql } from 'drizzle-orm'
import { projectSites, siteApprovers, sites, type Site } from '../db/schema.ts'
import { preparedOnce, type Db } from '../db/client.ts'
import type { Actor } from '../authz/policy.ts'
import { cohortCountOf } from './projects.ts'
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

/** Rows per page in each site's "Awaiting" list and in the "Decided" table of /approvals. */
export const APPROVALS_PAGE_SIZE = 50

/** One page of a list: `page` is clamped to 1…pages (pages ≥ 1, also when total is 0). */
export type Paged<T> = { rows: T[]; total: number; page: number; pages: number; pageSize: number }

export function clampPage(requested: number, total: number, pageSize: number): { page: number; pages: number } {
  const pages = Math.max(1, Math.ceil(total / pageSize))
  const page = Number.isSafeInteger(requested) && requested >= 1 ? Math.min(requested, pages) : 1
  return { page, pages }
}

// Stagings at the given sites with no decision yet, on live staged or approved projects.
const awaitingWhere = (siteIds: number[]) =>
  sql`ps.site_id IN (${sql.join(siteIds.map((id) => sql`${id}`), sql`, `)}) AND ps.decision IS NULL AND p.deleted_at IS NULL AND p.status IN ('staged', 'approved')`

/**
 * Per deciding site, one page of the projects staged there with no decision yet (oldest staging
 * first) and how many there are in all. Two queries whatever the number of projects or sites:
 * the totals grouped by site, then the requested page of every site at once (row_number per
 * site) with each project's owner and its cohort count at that site for its current query.
 */
export function listAwaiting(db: Db, siteIds: number[], requestedPages: ReadonlyMap<number, number> = new Map(), pageSize = APPROVALS_PAGE_SIZE): Map<number, Paged<AwaitingCard>> {
  const totals = new Map<number, number>()
  if (siteIds.length > 0) {
    for (const r of db.all<{ siteId: number; n: number }>(sql`SELECT ps.site_id AS siteId, count(*) AS n FROM project_sites ps JOIN projects p ON p.id = ps.project_id WHERE ${awaitingWhere(siteIds)} GROUP BY ps.site_id`)) totals.set(r.siteId, r.n)
  }
  const out = new Map<number, Paged<AwaitingCard>>()
  const windows: ReturnType<typeof sql>[] = []
  for (const siteId of siteIds) {
    const total = totals.get(siteId) ?? 0
    const { page, pages } = clampPage(requestedPages.get(siteId) ?? 1, total, pageSize)
    out.set(siteId, { rows: [], total, page, pages, pageSize })
    if (total > 0) windows.push(sql`(a.site_id = ${siteId} AND a.rn > ${(page - 1) * pageSize} AND a.rn <= ${page * pageSize})`)
  }
  if (windows.length === 0) return out
  const rows = db.all<{ siteId: number; projectId: number; stagedAt: number; name: string; description: string; status: string; firstName: string; lastName: string; email: string; taskStatus: string | null; resultCount: number | null; error: string | null }>(sql`
    WITH a AS (
      SELECT ps.site_id, ps.project_id, ps.staged_at, row_number() OVER (PARTITION BY ps.site_id ORDER BY ps.staged_at, ps.project_id) AS rn
      FROM project_sites ps JOIN projects p ON p.id = ps.project_id
      WHERE ${awaitingWhere(siteIds)}
    )
    SELECT a.site_id AS siteId, a.project_id AS projectId, a.staged_at AS stagedAt, p.name AS name, p.description AS description, p.status AS status,
      u.first_name AS firstName, u.last_name AS lastName, u.email AS email, t.status AS taskStatus, t.result_count AS resultCount, t.error AS error
    FROM a
    JOIN projects p ON p.id = a.project_id
    JOIN users u ON u.id = p.owner_id
    LEFT JOIN tasks t ON t.id = (
      SELECT t2.id FROM tasks t2 JOIN cohort_queries cq ON cq.id = t2.cohort_query_id
      WHERE t2.project_id = a.project_id AND t2.site_id = a.site_id AND t2.kind = 'cohort_query'
        AND cq.version = (SELECT max(version) FROM cohort_queries WHERE project_id = a.project_id)
      ORDER BY t2.id DESC LIMIT 1
    )
    WHERE ${sql.join(windows, sql` OR `)}
    ORDER BY a.site_id, a.rn`)
  for (const r of rows) {
    // The count exactly as the project page shows it (small counts as "< 5").
    const count = cohortCountOf(r.taskStatus === null ? undefined : { status: r.taskStatus, count: r.resultCount, error: r.error }).shown
    out.get(r.siteId)!.rows.push({ projectId: r.projectId, name: r.name, description: r.description, owner: `${displayName(r)} <${r.email}>`, stagedAt: r.stagedAt, status: r.status, count })
  }
  return out
}

export type DecidedRow = { projectId: number; projectName: string; projectDeleted: boolean; siteId: number; siteName: string; decision: string; decidedBy: string; decidedAt: number; expiresOn: string | null; withdrawnAt: number | null }

/**
 * One page of the approvals and declines at these sites, newest first, and how many there are in
 * all (two queries). A withdrawal is shown on the approval it ended (the first withdraw row after
 * it at the same site, before that site's next decision), not as a row of its own.
 */
export function listDecided(db: Db, siteIds: number[], requestedPage = 1, pageSize = APPROVALS_PAGE_SIZE): Paged<DecidedRow> {
  if (siteIds.length === 0) return { rows: [], total: 0, page: 1, pages: 1, pageSize }
  const atSites = sql`d.site_id IN (${sql.join(siteIds.map((id) => sql`${id}`), sql`, `)}) AND d.decision <> 'withdraw'`
  const total = db.get<{ n: number }>(sql`SELECT count(*) AS n FROM site_decisions d WHERE ${atSites}`)?.n ?? 0
  const { page, pages } = clampPage(requestedPage, total, pageSize)
  const rows = db.all<{ projectId: number; projectName: string; deletedAt: number | null; siteId: number; siteName: string; decision: string; email: string | null; decidedAt: number; expiresOn: string | null; withdrawnAt: number | null }>(sql`
    SELECT d.project_id AS projectId, p.name AS projectName, p.deleted_at AS deletedAt, d.site_id AS siteId, s.name AS siteName, d.decision AS decision,
      u.email AS email, d.decided_at AS decidedAt, d.expires_on AS expiresOn,
      CASE WHEN d.decision = 'approve' THEN (
        SELECT w.decided_at FROM site_decisions w
        WHERE w.project_id = d.project_id AND w.site_id = d.site_id AND w.decision = 'withdraw' AND w.id > d.id
          AND NOT EXISTS (SELECT 1 FROM site_decisions x WHERE x.project_id = d.project_id AND x.site_id = d.site_id AND x.decision <> 'withdraw' AND x.id > d.id AND x.id < w.id)
        ORDER BY w.id LIMIT 1
      ) END AS withdrawnAt
    FROM site_decisions d
    JOIN projects p ON p.id = d.project_id
    JOIN sites s ON s.id = d.site_id
    LEFT JOIN users u ON u.id = d.decided_by
    WHERE ${atSites}
    ORDER BY d.id DESC
    LIMIT ${pageSize} OFFSET ${(page - 1) * pageSize}`)
  return {
    total,
    page,
    pages,
    pageSize,
    rows: rows.map((r) => ({ projectId: r.projectId, projectName: r.projectName, projectDeleted: r.deletedAt !== null, siteId: r.siteId, siteName: r.siteName, decision: r.decision, decidedBy: r.email ?? '(deleted user)', decidedAt: r.decidedAt, expiresOn: r.expiresOn, withdrawnAt: r.withdrawnAt })),
  }
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
