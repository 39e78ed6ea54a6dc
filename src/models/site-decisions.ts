import { and, desc, eq, inArray } from 'drizzle-orm'
import { models, projectSites, projects, siteApprovers, siteDecisions, sites, taskEvents, tasks, trainingRuns, users, type Project, type Site, type SiteDecision } from '../db/schema.ts'
import { writeTransaction, type Db } from '../db/client.ts'
import { recordAuditEvent } from './audit.ts'
import { createTask, getCurrentCohortQuery, getProject, sha256Hex, type Ctx } from './projects.ts'
import { projectOwner, projectUrl, queueWorkflowNotice } from '../mail/workflow.ts'
import { decideSiteDecision, type Actor, type Decision, type SiteDecisionAction, type SiteDecisionFacts } from '../authz/policy.ts'

// Per-site decisions (SPEC §4.1). site_decisions is append-only history: approve, decline and
// withdraw are rows; the latest row per (project, site) is the site's current decision, and an
// approval whose expires_on day (UTC) has ended counts as lapsed ("expired"). project_sites.decision
// caches the latest decision for the lists that already read it. Every decision and its audit
// event, and all its effects (project approved, tasks, models, cancellations), are one transaction.

export type SiteStanding = SiteDecisionFacts['current']

/** The refusal code the site API answers for tasks of a project whose approval is not current. */
export type ApprovalCode = 'approval_withdrawn' | 'approval_expired'

const DAY_MS = 86_400_000

/** The instant an approval with this expiry lapses: the end of that day, UTC. */
export function approvalLapsesAt(expiresOn: string): number {
  return Date.parse(`${expiresOn}T00:00:00Z`) + DAY_MS
}

/** The site's latest decision on the project, or null. */
export function getCurrentSiteDecision(db: Db, projectId: number, siteId: number): SiteDecision | null {
  return db.select().from(siteDecisions).where(and(eq(siteDecisions.projectId, projectId), eq(siteDecisions.siteId, siteId))).orderBy(desc(siteDecisions.id)).limit(1).get() ?? null
}

export function standingOf(decision: SiteDecision | null, now: number): SiteStanding {
  if (!decision) return 'none'
  if (decision.decision === 'withdraw') return 'withdrawn'
  if (decision.decision === 'decline') return 'declined'
  return decision.expiresOn !== null && now >= approvalLapsesAt(decision.expiresOn) ? 'expired' : 'approved'
}

export function getSiteStanding(db: Db, projectId: number, siteId: number, now: number): SiteStanding {
  return standingOf(getCurrentSiteDecision(db, projectId, siteId), now)
}

/** null while the site's approval of the project is current; otherwise the code the site API answers. */
export function approvalRefusalCode(db: Db, projectId: number, siteId: number, now: number): ApprovalCode | null {
  const standing = getSiteStanding(db, projectId, siteId, now)
  if (standing === 'approved') return null
  return standing === 'expired' ? 'approval_expired' : 'approval_withdrawn'
}

export function siteHasApprovers(db: Db, siteId: number): boolean {
  return db.select({ u: siteApprovers.userId }).from(siteApprovers).where(eq(siteApprovers.siteId, siteId)).limit(1).get() !== undefined
}

/** The ids among these sites that have at least one approver (they decide for themselves). */
export function sitesWithApprovers(db: Db, siteIds: number[]): number[] {
  if (siteIds.length === 0) return []
  return [...new Set(db.select({ siteId: siteApprovers.siteId }).from(siteApprovers).where(inArray(siteApprovers.siteId, siteIds)).all().map((r) => r.siteId))]
}

/** The facts the policy needs, loaded fresh (inside the caller's transaction when there is one). */
export function siteDecisionFacts(db: Db, actorId: number, project: Project, site: Site, now: number): SiteDecisionFacts {
  const approverIds = db.select({ u: siteApprovers.userId }).from(siteApprovers).where(eq(siteApprovers.siteId, site.id)).all().map((r) => r.u)
  return {
    site: { name: site.name, hasApprovers: approverIds.length > 0 },
    actorApprovesSite: approverIds.includes(actorId),
    project: { status: project.status, deletedAt: project.deletedAt },
    current: getSiteStanding(db, project.id, site.id, now),
  }
}

export function isStagedAt(db: Db, projectId: number, siteId: number): boolean {
  return db.select({ s: projectSites.siteId }).from(projectSites).where(and(eq(projectSites.projectId, projectId), eq(projectSites.siteId, siteId))).get() !== undefined
}

export type DecisionInput = { decision: 'approve' | 'decline'; reason: string; conditions: string; agreement: string; expiresOn: string | null }

/** Per-field problems with a decision form; empty when it is fine. `today` is YYYY-MM-DD (UTC). */
export function checkDecisionFields(values: { decision: string; reason: string; conditions: string; agreement: string; expires_on: string }, today: string): Record<string, string> {
  const errors: Record<string, string> = {}
  const len = (v: string) => [...v].length
  if (values.decision !== 'approve' && values.decision !== 'decline') errors.decision = 'Choose approve or decline.'
  if (values.decision === 'decline' && values.reason === '') errors.reason = 'Give the reason for declining.'
  else if (len(values.reason) > 2000) errors.reason = 'At most 2,000 characters.'
  if (len(values.conditions) > 2000) errors.conditions = 'At most 2,000 characters.'
  if (len(values.agreement) > 200) errors.agreement = 'At most 200 characters.'
  if (values.expires_on !== '') {
    const valid = /^\d{4}-\d{2}-\d{2}$/.test(values.expires_on) && !Number.isNaN(Date.parse(`${values.expires_on}T00:00:00Z`)) && new Date(`${values.expires_on}T00:00:00Z`).toISOString().slice(0, 10) === values.expires_on
    if (!valid) errors.expires_on = 'Enter a date as YYYY-MM-DD.'
    else if (values.expires_on <= today) errors.expires_on = 'The expiry date must be after today.'
    else if (values.decision === 'decline') errors.expires_on = 'Only an approval can have an expiry date.'
  }
  return errors
}

export function todayUtc(now: number): string {
  return new Date(now).toISOString().slice(0, 10)
}

export type DecisionOutcome = { ok: true; decision: SiteDecision; joined: boolean } | { ok: false; status: 403 | 409 | 422; reason: string; denial?: Decision }

/**
 * Records a site's decision. The policy is asked again inside the write transaction, on fresh
 * facts, so two deciders at once are serialised: both rows are recorded in order and the later
 * one is judged against the earlier. The first approval makes the project approved; a site
 * approving an approved project joins it (image retrieval task, added to existing models).
 */
export function recordSiteDecision(db: Db, actor: Actor, projectId: number, site: Site, input: DecisionInput, ctx: Ctx): DecisionOutcome {
  return writeTransaction(db, () => {
    const project = getProject(db, projectId)
    if (!project) return { ok: false, status: 409, reason: 'The project no longer exists.' }
    const facts = siteDecisionFacts(db, actor.id, project, site, ctx.now)
    const decision = decideSiteDecision(actor, input.decision, facts)
    if (!decision.allowed) return { ok: false, status: decision.kind === 'state' ? 409 : 403, reason: decision.rule, denial: decision }
    if (!isStagedAt(db, project.id, site.id)) return { ok: false, status: 422, reason: `${site.name} was not staged for this project, so it cannot decide on it.` }
    const query = getCurrentCohortQuery(db, project.id)
    const row = db
      .insert(siteDecisions)
      .values({
        projectId: project.id,
        siteId: site.id,
        decision: input.decision,
        decidedBy: ctx.actor.id,
        decidedAt: ctx.now,
        reason: input.reason,
        conditions: input.conditions,
        agreement: input.agreement,
        expiresOn: input.decision === 'approve' ? input.expiresOn : null,
        cohortQueryId: query?.id ?? null,
        cohortQuerySha256: query ? sha256Hex(query.sqlText) : null,
      })
      .returning()
      .get()
    db.update(projectSites)
      .set({ decision: input.decision === 'approve' ? 'approved' : 'not approved', decidedBy: ctx.actor.id, decidedAt: ctx.now })
      .where(and(eq(projectSites.projectId, project.id), eq(projectSites.siteId, site.id)))
      .run()
    let joined = false
    if (input.decision === 'approve') {
      if (project.status === 'staged') {
        db.update(projects).set({ status: 'approved', approvedAt: ctx.now, updatedAt: ctx.now }).where(and(eq(projects.id, project.id), eq(projects.status, 'staged'))).run()
      } else joined = true
      // A renewal of a current approval changes no work; any other approval starts the site's work.
      if (facts.current !== 'approved') {
        const open = db.select({ id: tasks.id }).from(tasks).where(and(eq(tasks.projectId, project.id), eq(tasks.siteId, site.id), eq(tasks.kind, 'image_retrieval'), inArray(tasks.status, ['pending', 'claimed']))).get()
        if (!open) createTask(db, { siteId: site.id, kind: 'image_retrieval', projectId: project.id }, ctx.now)
        for (const model of db.select().from(models).where(eq(models.projectId, project.id)).all()) {
          if (model.allowedSiteIds.includes(site.id)) continue
          db.update(models).set({ allowedSiteIds: [...model.allowedSiteIds, site.id].sort((a, b) => a - b), updatedAt: ctx.now }).where(eq(models.id, model.id)).run()
        }
      }
    }
    recordAuditEvent(db, {
      event: input.decision === 'approve' ? 'site.approved_project' : 'site.declined_project',
      at: ctx.now,
      actor: ctx.actor,
      targetType: 'project',
      targetId: project.id,
      ip: ctx.ip,
      details: { name: project.name, site_id: site.id, site: site.name, decision_id: row.id, reason: input.reason, conditions: input.conditions, agreement: input.agreement, expires_on: row.expiresOn, cohort_query_id: row.cohortQueryId, cohort_query_sha256: row.cohortQuerySha256, joined_late: joined },
    })
    queueWorkflowNotice(db, projectOwner(db, project.id), { kind: 'decided', project: project.name, site: site.name, decision: input.decision, by: ctx.actor.email, reason: input.reason, expiresOn: row.expiresOn }, projectUrl(ctx.baseUrl, project.id), ctx.now)
    return { ok: true, decision: row, joined }
  })
}

/**
 * Ends the site's work on the project: its pending and claimed image retrieval and training tasks
 * are cancelled (event `cancelled` with the code), its running training runs end as stopped.
 * Used by withdrawal (and by the expiry sweep with approval_expired).
 */
export function cancelSiteWork(db: Db, projectId: number, siteId: number, code: ApprovalCode, now: number, reason: string): { cancelledTaskIds: number[]; stoppedRunIds: number[] } {
  const open = db
    .select()
    .from(tasks)
    .where(and(eq(tasks.projectId, projectId), eq(tasks.siteId, siteId), inArray(tasks.kind, ['image_retrieval', 'training']), inArray(tasks.status, ['pending', 'claimed'])))
    .all()
  for (const task of open) {
    db.update(tasks).set({ status: 'cancelled', claimExpiresAt: null, completedAt: now }).where(eq(tasks.id, task.id)).run()
    db.insert(taskEvents).values({ taskId: task.id, at: now, event: 'cancelled', details: { code, reason, previous_status: task.status } }).run()
  }
  const runs = db
    .select({ id: trainingRuns.id })
    .from(trainingRuns)
    .innerJoin(models, eq(models.id, trainingRuns.modelId))
    .where(and(eq(models.projectId, projectId), eq(trainingRuns.siteId, siteId), inArray(trainingRuns.status, ['initiated', 'running'])))
    .all()
    .map((r) => r.id)
  if (runs.length > 0) {
    db.update(trainingRuns).set({ status: 'stopped', updatedAt: now }).where(inArray(trainingRuns.id, runs)).run()
    // A model whose training was under way only here is stopped with it.
    const modelIds = [...new Set(db.select({ modelId: trainingRuns.modelId }).from(trainingRuns).where(inArray(trainingRuns.id, runs)).all().map((r) => r.modelId))]
    for (const modelId of modelIds) {
      const stillActive = db.select({ id: trainingRuns.id }).from(trainingRuns).where(and(eq(trainingRuns.modelId, modelId), inArray(trainingRuns.status, ['initiated', 'running']))).get()
      if (!stillActive) db.update(models).set({ status: 'stopped', updatedAt: now }).where(and(eq(models.id, modelId), inArray(models.status, ['initiated', 'running']))).run()
    }
  }
  return { cancelledTaskIds: open.map((t) => t.id), stoppedRunIds: runs }
}

/** Withdraws the site's current approval (a 'withdraw' row, reason required) and ends its work on the project. */
export function withdrawSiteApproval(db: Db, actor: Actor, projectId: number, site: Site, reason: string, ctx: Ctx): DecisionOutcome {
  return writeTransaction(db, () => {
    const project = getProject(db, projectId)
    if (!project) return { ok: false, status: 409, reason: 'The project no longer exists.' }
    const facts = siteDecisionFacts(db, actor.id, project, site, ctx.now)
    const decision = decideSiteDecision(actor, 'withdraw', facts)
    if (!decision.allowed) return { ok: false, status: decision.kind === 'state' ? 409 : 403, reason: decision.rule, denial: decision }
    const query = getCurrentCohortQuery(db, project.id)
    const row = db
      .insert(siteDecisions)
      .values({ projectId: project.id, siteId: site.id, decision: 'withdraw', decidedBy: ctx.actor.id, decidedAt: ctx.now, reason, cohortQueryId: query?.id ?? null, cohortQuerySha256: query ? sha256Hex(query.sqlText) : null })
      .returning()
      .get()
    db.update(projectSites).set({ decision: 'withdrawn', decidedBy: ctx.actor.id, decidedAt: ctx.now }).where(and(eq(projectSites.projectId, project.id), eq(projectSites.siteId, site.id))).run()
    const effects = cancelSiteWork(db, project.id, site.id, 'approval_withdrawn', ctx.now, reason)
    recordAuditEvent(db, {
      event: 'site.withdrew_approval',
      at: ctx.now,
      actor: ctx.actor,
      targetType: 'project',
      targetId: project.id,
      ip: ctx.ip,
      details: { name: project.name, site_id: site.id, site: site.name, decision_id: row.id, reason, cancelled_task_ids: effects.cancelledTaskIds, stopped_training_run_ids: effects.stoppedRunIds },
    })
    queueWorkflowNotice(db, projectOwner(db, project.id), { kind: 'withdrawn', project: project.name, site: site.name, by: ctx.actor.email, reason }, projectUrl(ctx.baseUrl, project.id), ctx.now)
    return { ok: true, decision: row, joined: false }
  })
}

export type SiteDecisionRow = SiteDecision & { decidedByEmail: string | null; siteName: string }

/** Every decision on the project, newest first (the history view). */
export function listSiteDecisions(db: Db, projectId: number): SiteDecisionRow[] {
  return db
    .select({ d: siteDecisions, email: users.email, siteName: sites.name })
    .from(siteDecisions)
    .innerJoin(sites, eq(sites.id, siteDecisions.siteId))
    .leftJoin(users, eq(users.id, siteDecisions.decidedBy))
    .where(eq(siteDecisions.projectId, projectId))
    .orderBy(desc(siteDecisions.id))
    .all()
    .map((r) => ({ ...r.d, decidedByEmail: r.email, siteName: r.siteName }))
}

/** True when `actorId` decides for this site: one of its approvers, or (no approvers) holds projects.approve. */
export function decidesForSite(db: Db, actor: Actor, siteId: number): boolean {
  const approverIds = db.select({ u: siteApprovers.userId }).from(siteApprovers).where(eq(siteApprovers.siteId, siteId)).all().map((r) => r.u)
  return approverIds.length > 0 ? approverIds.includes(actor.id) : actor.disabledAt === null && actor.sitePermissions.includes('projects.approve')
}

/** For the project page: each staged site's current decision, standing, and whether this actor decides for it. */
export function siteDecisionSummary(db: Db, actor: Actor, projectId: number, now: number): Map<number, { current: SiteDecisionRow | null; standing: SiteStanding; canDecide: boolean; hasApprovers: boolean }> {
  const history = listSiteDecisions(db, projectId)
  const staged = db.select({ siteId: projectSites.siteId }).from(projectSites).where(eq(projectSites.projectId, projectId)).all()
  const withApprovers = new Set(sitesWithApprovers(db, staged.map((s) => s.siteId)))
  const out = new Map<number, { current: SiteDecisionRow | null; standing: SiteStanding; canDecide: boolean; hasApprovers: boolean }>()
  for (const { siteId } of staged) {
    const current = history.find((d) => d.siteId === siteId) ?? null
    out.set(siteId, { current, standing: standingOf(current, now), canDecide: decidesForSite(db, actor, siteId), hasApprovers: withApprovers.has(siteId) })
  }
  return out
}
