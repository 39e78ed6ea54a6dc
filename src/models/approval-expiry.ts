import { and, eq, isNotNull, isNull, sql } from 'drizzle-orm'
import { approvalNotices, projects, siteDecisions, sites } from '../db/schema.ts'
import { writeTransaction, type Db } from '../db/client.ts'
import type { Clock } from '../http/context.ts'
import { recordAuditEvent } from './audit.ts'
import { approvalLapsesAt, cancelSiteWork } from './site-decisions.ts'
import { startPeriodic } from './periodic.ts'
import { projectOwner, projectUrl, queueWorkflowNotice, siteDeciders } from '../mail/workflow.ts'

// Approval expiry (SPEC §4.1, issue 12 item 5). An approval with expires_on lapses at the end of
// that day (UTC); hand-out already refuses it from that instant. This hourly job gives the lapse
// the effects of a withdrawal (cancelSiteWork with approval_expired), audits `approval.expired`
// and tells the project owner; before that it sends the reminders 30 and 7 days before the lapse
// to the site's deciders and the project owner. Each of these is claimed with one INSERT into
// approval_notices (primary key decision, kind) inside the transaction that does it, so
// overlapping runs (or two processes on one file) act once.

const DAY_MS = 86_400_000
const REMINDERS = [
  { kind: 'reminder_7', days: 7 },
  { kind: 'reminder_30', days: 30 },
] as const

export type ExpiryRun = { lapsed: number[]; reminded: { decisionId: number; kind: 'reminder_30' | 'reminder_7' }[] }

/** The current approvals that carry an expiry: the latest decision per (project, site) is an approve with expires_on, project not deleted. */
function currentExpiringApprovals(db: Db) {
  return db
    .select({ d: siteDecisions, projectName: projects.name, siteName: sites.name })
    .from(siteDecisions)
    .innerJoin(projects, eq(projects.id, siteDecisions.projectId))
    .innerJoin(sites, eq(sites.id, siteDecisions.siteId))
    .where(
      and(
        eq(siteDecisions.decision, 'approve'),
        isNotNull(siteDecisions.expiresOn),
        isNull(projects.deletedAt),
        sql`${siteDecisions.id} = (select max(d2.id) from site_decisions d2 where d2.project_id = ${siteDecisions.projectId} and d2.site_id = ${siteDecisions.siteId})`,
        sql`not exists (select 1 from approval_notices n where n.decision_id = ${siteDecisions.id} and n.kind = 'lapsed')`,
      ),
    )
    .all()
}

/** Claims (decision, kind): true for the one caller whose INSERT went in. */
function claim(db: Db, decisionId: number, kind: 'reminder_30' | 'reminder_7' | 'lapsed', now: number): boolean {
  return db.insert(approvalNotices).values({ decisionId, kind, at: now }).onConflictDoNothing().run().changes === 1
}

/** One pass of the expiry job at `now`. Idempotent: a lapse or reminder already handled is skipped. */
export function runApprovalExpiry(db: Db, now: number, baseUrl: string): ExpiryRun {
  const out: ExpiryRun = { lapsed: [], reminded: [] }
  for (const { d, projectName, siteName } of currentExpiringApprovals(db)) {
    const expiresOn = d.expiresOn!
    const lapsesAt = approvalLapsesAt(expiresOn)
    const url = projectUrl(baseUrl, d.projectId)
    writeTransaction(db, () => {
      // still the current decision? (a withdrawal or renewal may have landed since the list was read)
      const latest = db.select({ id: sql<number>`max(${siteDecisions.id})` }).from(siteDecisions).where(and(eq(siteDecisions.projectId, d.projectId), eq(siteDecisions.siteId, d.siteId))).get()
      if (latest?.id !== d.id) return
      if (now >= lapsesAt) {
        if (!claim(db, d.id, 'lapsed', now)) return
        const reason = `The approval lapsed at the end of ${expiresOn} (UTC).`
        const effects = cancelSiteWork(db, d.projectId, d.siteId, 'approval_expired', now, reason)
        recordAuditEvent(db, {
          event: 'approval.expired',
          at: now,
          actor: null,
          targetType: 'project',
          targetId: d.projectId,
          details: { name: projectName, site_id: d.siteId, site: siteName, decision_id: d.id, expires_on: expiresOn, cancelled_task_ids: effects.cancelledTaskIds, stopped_training_run_ids: effects.stoppedRunIds },
        })
        queueWorkflowNotice(db, projectOwner(db, d.projectId), { kind: 'lapsed', project: projectName, site: siteName, expiresOn }, url, now)
        out.lapsed.push(d.id)
        return
      }
      // the nearest reminder due; a 7-day reminder also settles the 30-day one (never both at once, never late)
      const due = REMINDERS.find((r) => now >= lapsesAt - r.days * DAY_MS)
      if (!due) return
      if (!claim(db, d.id, due.kind, now)) return
      if (due.kind === 'reminder_7') claim(db, d.id, 'reminder_30', now)
      const days = Math.ceil((lapsesAt - now) / DAY_MS)
      const recipients = [...siteDeciders(db, d.siteId), ...projectOwner(db, d.projectId)]
      const sent = queueWorkflowNotice(db, recipients, { kind: 'reminder', project: projectName, site: siteName, expiresOn, days }, url, now)
      recordAuditEvent(db, { event: 'approval.expiry_reminder', at: now, actor: null, targetType: 'project', targetId: d.projectId, details: { name: projectName, site_id: d.siteId, site: siteName, decision_id: d.id, expires_on: expiresOn, reminder: due.kind, emails: sent.length } })
      out.reminded.push({ decisionId: d.id, kind: due.kind })
    })
  }
  return out
}

/** Runs the expiry job a minute after start, then hourly. */
export function startApprovalExpiry(db: Db, clock: Clock, baseUrl: string, hooks: { onRun?: (run: ExpiryRun) => void; onError?: (error: unknown) => void } = {}): { stop(): void } {
  const tick = () => {
    try {
      hooks.onRun?.(runApprovalExpiry(db, clock.now(), baseUrl))
    } catch (error) {
      hooks.onError?.(error)
    }
  }
  return startPeriodic(tick, { firstAfterMs: 60_000, everyMs: 60 * 60_000 })
}
