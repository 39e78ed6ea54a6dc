import { and, asc, count, desc, eq, inArray, isNull, max, or, sql } from 'drizzle-orm'
import { siteApprovers, siteDecisions, cohortQueries, groups, projectMembers, projectSites, projects, roles, sites, taskEvents, tasks, users, type CohortQuery, type Project, type Site } from '../db/schema.ts'
import { writeTransaction, type Db } from '../db/client.ts'
import { recordAuditEvent } from './audit.ts'
import { createHash } from 'node:crypto'
import { projectOwner as projectOwnerOf, projectUrl, queueWorkflowNotice, siteDeciders } from '../mail/workflow.ts'

/** Hex SHA-256 of a text (the cohort query a decision saw). */
export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex')
}

// Projects and their lifecycle (SPEC §4): unstaged → staged → approved. Every transition is a
// guarded UPDATE (it only happens from the state it starts from) plus its audit event, in one
// transaction. Permission questions are the policy's; these functions enforce state.

/** `baseUrl` makes the links in workflow emails absolute (routes pass config.baseUrl). */
export type Ctx = { actor: { id: number; email: string }; now: number; ip: string; baseUrl?: string }
export type Refusal = { ok: false; status: 409 | 422; field?: string; reason: string }
export type Outcome<T = undefined> = ({ ok: true } & (T extends undefined ? unknown : { value: T })) | Refusal

/** Counts under this are shown as "< 5" (small-number suppression). */
export const SMALL_NUMBER_THRESHOLD = 5

function audit(db: Db, ctx: Ctx, event: string, project: { id: number; name: string }, details: Record<string, unknown> = {}) {
  recordAuditEvent(db, { event, at: ctx.now, actor: ctx.actor, targetType: 'project', targetId: project.id, ip: ctx.ip, details: { name: project.name, ...details } })
}

export function getProject(db: Db, id: number): Project | null {
  return db.select().from(projects).where(and(eq(projects.id, id), isNull(projects.deletedAt))).get() ?? null
}

export const PROJECT_PAGE_SIZE = 25

export const PROJECT_SORTS = ['updated', 'name', 'owner', 'status', 'group'] as const
export type ProjectSort = (typeof PROJECT_SORTS)[number]
export const PROJECT_STATUS_FILTERS = ['unstaged', 'staged', 'approved', 'deleted'] as const
export type ProjectListQuery = {
  userId: number
  /** Every project (admins); else owned, member or group admin. Only then may `status` be `deleted`. */
  everything: boolean
  q: string
  page: number
  status?: (typeof PROJECT_STATUS_FILTERS)[number] | null
  /** A substring of the owner's email. */
  owner?: string
  groupId?: number | null
  /** Only projects with a staged site that has not decided yet. */
  awaiting?: boolean
  sort?: ProjectSort
  dir?: 'asc' | 'desc'
}

function likePattern(text: string): string {
  return `%${text.toLowerCase().replace(/[\\%_]/g, (c) => '\\' + c)}%`
}

/** A project has a staged site that has not decided yet (SQL, for lists and counts). */
export const AWAITING_SITE_DECISION = sql`(${projects.status} in ('staged', 'approved') and exists (select 1 from project_sites ps where ps.project_id = ${projects.id} and ps.decision is null))`

/** The projects a user may read, filtered and sorted in SQL (newest first by default), 25 a page. */
export function listProjectsForUser(db: Db, input: ProjectListQuery) {
  const visible = input.everything
    ? sql`1 = 1`
    : or(
        eq(projects.ownerId, input.userId),
        sql`exists (select 1 from project_members pm where pm.project_id = ${projects.id} and pm.user_id = ${input.userId})`,
        sql`exists (select 1 from group_members gm where gm.group_id = ${projects.groupId} and gm.user_id = ${input.userId} and gm.role = 'group_admin')`,
      )!
  const status = input.status === 'deleted' && !input.everything ? null : (input.status ?? null)
  const where = and(
    status === 'deleted' ? sql`${projects.deletedAt} is not null` : isNull(projects.deletedAt),
    visible,
    status && status !== 'deleted' ? eq(projects.status, status) : undefined,
    input.q ? sql`(lower(${projects.name}) like ${likePattern(input.q)} escape '\\' or lower(${projects.description}) like ${likePattern(input.q)} escape '\\')` : undefined,
    input.owner ? sql`lower(${users.email}) like ${likePattern(input.owner)} escape '\\'` : undefined,
    input.groupId != null ? eq(projects.groupId, input.groupId) : undefined,
    input.awaiting ? AWAITING_SITE_DECISION : undefined,
  )
  const total = db.select({ n: count() }).from(projects).innerJoin(users, eq(users.id, projects.ownerId)).where(where).get()!.n
  const pages = Math.max(1, Math.ceil(total / PROJECT_PAGE_SIZE))
  const page = Math.min(Math.max(1, input.page), pages)
  const direction = input.dir === 'asc' ? asc : desc
  const order = {
    updated: [direction(projects.updatedAt), direction(projects.id)],
    name: [direction(sql`lower(${projects.name})`), direction(projects.id)],
    owner: [direction(users.email), direction(projects.id)],
    status: [direction(projects.status), direction(projects.id)],
    group: [direction(sql`coalesce(lower(${groups.name}), '')`), direction(projects.id)],
  }[input.sort ?? 'updated']
  const rows = db
    .select({ project: projects, ownerEmail: users.email, groupName: groups.name })
    .from(projects)
    .innerJoin(users, eq(users.id, projects.ownerId))
    .leftJoin(groups, eq(groups.id, projects.groupId))
    .where(where)
    .orderBy(...order)
    .limit(PROJECT_PAGE_SIZE)
    .offset((page - 1) * PROJECT_PAGE_SIZE)
    .all()
  return { rows, total, page, pages }
}

export function createProject(db: Db, input: { name: string; description: string; groupId: number | null }, ctx: Ctx): Project {
  return writeTransaction(db, () => {
    const project = db.insert(projects).values({ ...input, ownerId: ctx.actor.id, status: 'unstaged', createdAt: ctx.now, updatedAt: ctx.now }).returning().get()
    audit(db, ctx, 'project.created', project, { group_id: input.groupId })
    return project
  })
}

function lockedRefusal(status: string): Refusal {
  return { ok: false, status: 409, reason: `The project is ${status}: it is locked for editing${status === 'staged' ? ' until an admin unstages it' : ''}.` }
}

export function updateProject(db: Db, project: Project, input: { name: string; description: string }, ctx: Ctx): Outcome {
  return writeTransaction(db, () => {
    const changed = db.update(projects).set({ ...input, updatedAt: ctx.now }).where(and(eq(projects.id, project.id), eq(projects.status, 'unstaged'), isNull(projects.deletedAt))).run().changes
    if (changed === 0) return lockedRefusal(getProject(db, project.id)?.status ?? project.status)
    audit(db, ctx, 'project.updated', project, { before: { name: project.name, description: project.description }, after: input })
    return { ok: true }
  })
}

/** Soft delete, in any status: hidden everywhere afterwards; its rows and audit trail stay. */
export function deleteProject(db: Db, project: Project, ctx: Ctx): boolean {
  return writeTransaction(db, () => {
    const changed = db.update(projects).set({ deletedAt: ctx.now }).where(and(eq(projects.id, project.id), isNull(projects.deletedAt))).run().changes
    if (changed > 0) audit(db, ctx, 'project.deleted', project, { status: project.status })
    return changed > 0
  })
}

export function listSites(db: Db): Site[] {
  return db.select().from(sites).orderBy(asc(sites.name)).all()
}

export function getCurrentCohortQuery(db: Db, projectId: number): CohortQuery | null {
  return db.select().from(cohortQueries).where(eq(cohortQueries.projectId, projectId)).orderBy(desc(cohortQueries.version)).limit(1).get() ?? null
}

export function listCohortQueryVersions(db: Db, projectId: number): CohortQuery[] {
  return db.select().from(cohortQueries).where(eq(cohortQueries.projectId, projectId)).orderBy(desc(cohortQueries.version)).all()
}

export function createTask(db: Db, input: { siteId: number; kind: 'cohort_query' | 'image_retrieval' | 'training'; projectId: number; cohortQueryId?: number; trainingRunId?: number }, now: number) {
  const task = db.insert(tasks).values({ ...input, status: 'pending', createdAt: now }).returning().get()
  db.insert(taskEvents).values({ taskId: task.id, at: now, event: 'created' }).run()
  return task
}

/** Saves a new version and sends it to every site as a cohort task. Only while unstaged. */
export function saveCohortQuery(db: Db, project: Project, sqlText: string, ctx: Ctx): Outcome<CohortQuery> {
  return writeTransaction(db, () => {
    const current = getProject(db, project.id)
    if (!current || current.status !== 'unstaged') return lockedRefusal(current?.status ?? project.status)
    const version = (db.select({ v: max(cohortQueries.version) }).from(cohortQueries).where(eq(cohortQueries.projectId, project.id)).get()?.v ?? 0) + 1
    const query = db.insert(cohortQueries).values({ projectId: project.id, version, sqlText: sqlText.trim(), createdBy: ctx.actor.id, createdAt: ctx.now }).returning().get()
    const allSites = listSites(db)
    for (const site of allSites) createTask(db, { siteId: site.id, kind: 'cohort_query', projectId: project.id, cohortQueryId: query.id }, ctx.now)
    db.update(projects).set({ updatedAt: ctx.now }).where(eq(projects.id, project.id)).run()
    audit(db, ctx, 'cohort_query.saved', project, { version, sites: allSites.length })
    return { ok: true, value: query }
  })
}

export type SiteCount = { site: Site; state: 'waiting' | 'error' | 'counted'; count: number | null; shown: string; error: string | null }

/** Each site's answer to a cohort query version; counts under 5 are shown as "< 5". */
export function getCohortCounts(db: Db, cohortQueryId: number | null): SiteCount[] {
  const all = listSites(db)
  const byId = new Map<number, { status: string; count: number | null; error: string | null }>()
  if (cohortQueryId !== null) {
    for (const t of db.select().from(tasks).where(and(eq(tasks.kind, 'cohort_query'), eq(tasks.cohortQueryId, cohortQueryId))).all()) {
      byId.set(t.siteId, { status: t.status, count: t.resultCount, error: t.error })
    }
  }
  return all.map((site) => ({ site, ...cohortCountOf(byId.get(site.id)) }))
}

/** One site's cohort count as the project page shows it, from its cohort query task (undefined: none sent). */
export function cohortCountOf(t: { status: string; count: number | null; error: string | null } | undefined): Omit<SiteCount, 'site'> {
  if (!t || t.status === 'pending' || t.status === 'claimed') return { state: 'waiting', count: null, shown: t ? 'waiting for the site' : 'not sent', error: null }
  if (t.status === 'error') return { state: 'error', count: null, shown: 'error', error: t.error }
  const n = t.count ?? 0
  return { state: 'counted', count: n, shown: n < SMALL_NUMBER_THRESHOLD ? `< ${SMALL_NUMBER_THRESHOLD}` : n.toLocaleString('en-GB'), error: null }
}

/**
 * Stages the project on the chosen sites: only from unstaged, at least one site, none disabled,
 * and each site must have reported a non-zero count for the current cohort query. Locks project and query.
 */
export function stageProject(db: Db, project: Project, siteIds: number[], ctx: Ctx): Outcome {
  return writeTransaction(db, () => {
    const current = getProject(db, project.id)
    if (!current || current.status !== 'unstaged') return { ok: false, status: 409, reason: `The project is ${current?.status ?? project.status}: only an unstaged project can be staged.` }
    const chosen = [...new Set(siteIds)]
    if (chosen.length === 0) return { ok: false, status: 422, field: 'site_ids', reason: 'Choose at least one site.' }
    const query = getCurrentCohortQuery(db, project.id)
    if (!query) return { ok: false, status: 422, field: 'site_ids', reason: 'Write and save a cohort query first: sites must report a count for it.' }
    const counts = new Map(getCohortCounts(db, query.id).map((c) => [c.site.id, c]))
    const unknown = chosen.filter((id) => !counts.has(id))
    if (unknown.length > 0) return { ok: false, status: 422, field: 'site_ids', reason: `No such site: ${unknown.join(', ')}.` }
    const disabled = chosen.map((id) => counts.get(id)!.site).filter((site) => site.disabledAt !== null)
    if (disabled.length > 0) return { ok: false, status: 422, field: 'site_ids', reason: `Disabled, so it cannot be staged: ${disabled.map((site) => site.name).join(', ')}. Nothing was changed.` }
    const notReady = chosen.map((id) => counts.get(id)!).filter((c) => c.state !== 'counted' || !c.count)
    if (notReady.length > 0) {
      return { ok: false, status: 422, field: 'site_ids', reason: `These sites have not reported a non-zero count for the current cohort query (version ${query.version}): ${notReady.map((c) => `${c.site.name} (${c.state === 'counted' ? 'count 0' : c.shown})`).join(', ')}.` }
    }
    db.update(projects).set({ status: 'staged', stagedAt: ctx.now, updatedAt: ctx.now }).where(and(eq(projects.id, project.id), eq(projects.status, 'unstaged'))).run()
    db.insert(projectSites).values(chosen.map((siteId) => ({ projectId: project.id, siteId, stagedAt: ctx.now }))).run()
    audit(db, ctx, 'project.staged', project, { site_ids: chosen, cohort_query_version: query.version })
    for (const siteId of chosen) {
      const site = counts.get(siteId)!.site
      queueWorkflowNotice(db, siteDeciders(db, siteId), { kind: 'staged', project: project.name, site: site.name }, `${projectUrl(ctx.baseUrl, project.id)}/sites/${siteId}/decision`, ctx.now)
    }
    return { ok: true }
  })
}

/** Admin only (the policy decides): back to unstaged, site decisions cleared. Only from staged. */
export function unstageProject(db: Db, project: Project, ctx: Ctx): Outcome {
  return writeTransaction(db, () => {
    const changed = db.update(projects).set({ status: 'unstaged', stagedAt: null, updatedAt: ctx.now }).where(and(eq(projects.id, project.id), eq(projects.status, 'staged'))).run().changes
    if (changed === 0) {
      const status = getProject(db, project.id)?.status ?? project.status
      return { ok: false, status: 409, reason: status === 'approved' ? 'An approved project cannot be unstaged.' : `The project is ${status}: only a staged project can be unstaged.` }
    }
    db.delete(projectSites).where(eq(projectSites.projectId, project.id)).run()
    audit(db, ctx, 'project.unstaged', project)
    return { ok: true }
  })
}

export type StagedSite = { site: Site; decision: string | null; decidedAt: number | null; decidedBy: string | null }

export function listStagedSites(db: Db, projectId: number): StagedSite[] {
  return db
    .select({ site: sites, decision: projectSites.decision, decidedAt: projectSites.decidedAt, decidedBy: users.email })
    .from(projectSites)
    .innerJoin(sites, eq(sites.id, projectSites.siteId))
    .leftJoin(users, eq(users.id, projectSites.decidedBy))
    .where(eq(projectSites.projectId, projectId))
    .orderBy(asc(sites.name))
    .all()
}

/**
 * Records every staged site's decision at once ("Save site approvals"): at least one on; a site
 * that was not staged refuses the whole request. The project becomes approved and each
 * approved site gets an image retrieval task.
 */
export function approveProjectSites(db: Db, project: Project, approvedSiteIds: number[], ctx: Ctx): Outcome {
  return writeTransaction(db, () => {
    const current = getProject(db, project.id)
    if (!current || current.status !== 'staged') return { ok: false, status: 409, reason: `The project is ${current?.status ?? project.status}: site approvals are recorded on a staged project.` }
    const staged = listStagedSites(db, project.id)
    const stagedIds = new Set(staged.map((s) => s.site.id))
    const approved = [...new Set(approvedSiteIds)]
    const outside = approved.filter((id) => !stagedIds.has(id))
    if (outside.length > 0) {
      const names = db.select({ id: sites.id, name: sites.name }).from(sites).where(inArray(sites.id, outside)).all()
      const label = outside.map((id) => names.find((n) => n.id === id)?.name ?? `#${id}`).join(', ')
      return { ok: false, status: 422, field: 'approved_site_ids', reason: `Not staged for this project, so it cannot be approved: ${label}. Nothing was changed.` }
    }
    if (approved.length === 0) return { ok: false, status: 422, field: 'approved_site_ids', reason: 'Approve at least one site.' }
    // Sites with approvers decide for themselves (the route refuses naming one): the admin form leaves them alone.
    const withApprovers = new Set(db.select({ siteId: siteApprovers.siteId }).from(siteApprovers).all().map((r) => r.siteId))
    const query = getCurrentCohortQuery(db, project.id)
    for (const s of staged) {
      if (withApprovers.has(s.site.id)) continue
      const yes = approved.includes(s.site.id)
      db.update(projectSites)
        .set({ decision: yes ? 'approved' : 'not approved', decidedBy: ctx.actor.id, decidedAt: ctx.now })
        .where(and(eq(projectSites.projectId, project.id), eq(projectSites.siteId, s.site.id)))
        .run()
      db.insert(siteDecisions)
        .values({ projectId: project.id, siteId: s.site.id, decision: yes ? 'approve' : 'decline', decidedBy: ctx.actor.id, decidedAt: ctx.now, reason: yes ? '' : 'Not approved (admin form).', cohortQueryId: query?.id ?? null, cohortQuerySha256: query ? sha256Hex(query.sqlText) : null })
        .run()
    }
    db.update(projects).set({ status: 'approved', approvedAt: ctx.now, updatedAt: ctx.now }).where(and(eq(projects.id, project.id), eq(projects.status, 'staged'))).run()
    for (const siteId of approved) createTask(db, { siteId, kind: 'image_retrieval', projectId: project.id }, ctx.now)
    audit(db, ctx, 'project.approved', project, { approved_site_ids: approved, not_approved_site_ids: [...stagedIds].filter((id) => !approved.includes(id)) })
    const decided = staged.filter((s) => !withApprovers.has(s.site.id))
    const named = (yes: boolean) => decided.filter((s) => approved.includes(s.site.id) === yes).map((s) => s.site.name)
    queueWorkflowNotice(db, projectOwnerOf(db, project.id), { kind: 'decided_by_admins', project: project.name, by: ctx.actor.email, approved: named(true), declined: named(false) }, projectUrl(ctx.baseUrl, project.id), ctx.now)
    return { ok: true }
  })
}

export function getApprovedSiteIds(db: Db, projectId: number): number[] {
  return db.select({ id: projectSites.siteId }).from(projectSites).where(and(eq(projectSites.projectId, projectId), eq(projectSites.decision, 'approved'))).all().map((r) => r.id)
}

/** A member and their project roles (names, sorted). */
export type ProjectMemberRow = { userId: number; email: string; name: string; roles: string[]; siteRole: string }

export function listProjectMembers(db: Db, projectId: number): ProjectMemberRow[] {
  const rows = db
    .select({ userId: users.id, email: users.email, name: sql<string>`trim(${users.firstName} || ' ' || ${users.lastName})`, roleName: roles.name, siteRole: users.role })
    .from(projectMembers)
    .innerJoin(users, eq(users.id, projectMembers.userId))
    .innerJoin(roles, eq(roles.id, projectMembers.roleId))
    .where(eq(projectMembers.projectId, projectId))
    .orderBy(asc(users.email), asc(users.id), asc(roles.name))
    .all()
  const members: ProjectMemberRow[] = []
  for (const { roleName, ...r } of rows) {
    const last = members.at(-1)
    if (last?.userId === r.userId) last.roles.push(roleName)
    else members.push({ ...r, roles: [roleName] })
  }
  return members
}

/**
 * Gives the user these project roles on the project, adding to any they hold already (a membership
 * is a set of roles; nothing is removed). 422 when they hold every one of them already.
 */
export function addProjectMember(db: Db, project: Project, user: { id: number; email: string }, roleSet: { id: number; name: string } | readonly { id: number; name: string }[], ctx: Ctx): Outcome {
  const wanted = Array.isArray(roleSet) ? roleSet : [roleSet as { id: number; name: string }]
  return writeTransaction(db, () => {
    const wasMember = db.select({ one: sql`1` }).from(projectMembers).where(and(eq(projectMembers.projectId, project.id), eq(projectMembers.userId, user.id))).get() !== undefined
    const added = wanted.filter((role) => db.insert(projectMembers).values({ projectId: project.id, userId: user.id, roleId: role.id, createdAt: ctx.now }).onConflictDoNothing().run().changes > 0).map((r) => r.name)
    if (added.length === 0) return { ok: false, status: 422, field: 'role', reason: 'This person holds these project roles already.' }
    audit(db, ctx, wasMember ? 'project.member_roles_added' : 'project.member_added', project, { user_id: user.id, email: user.email, roles: added })
    return { ok: true }
  })
}

export function removeProjectMember(db: Db, project: Project, userId: number, ctx: Ctx): boolean {
  return writeTransaction(db, () => {
    const removed = db.delete(projectMembers).where(and(eq(projectMembers.projectId, project.id), eq(projectMembers.userId, userId))).run().changes > 0
    if (removed) audit(db, ctx, 'project.member_removed', project, { user_id: userId })
    return removed
  })
}
