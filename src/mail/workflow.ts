import { and, eq, inArray, isNull } from 'drizzle-orm'
import type { Db } from '../db/client.ts'
import { projects, siteApprovers, users } from '../db/schema.ts'
import { enqueueEmail } from './outbox.ts'
import { workflowEmail, type WorkflowNotice } from '../../views/emails/workflow.tsx'

// Workflow notifications (SPEC §12). Each is queued in the caller's transaction, one per
// recipient, to enabled users whose workflow_emails setting is on (security notices are not
// these and are always sent).

type Recipient = { id: number; email: string }

/** Who decides for the site: its approvers, or the enabled admins when it has none. All of them, whatever their setting. */
export function siteDeciders(db: Db, siteId: number): Recipient[] {
  const approvers = db
    .select({ id: users.id, email: users.email })
    .from(siteApprovers)
    .innerJoin(users, eq(users.id, siteApprovers.userId))
    .where(and(eq(siteApprovers.siteId, siteId), isNull(users.disabledAt)))
    .all()
  const appointed = db.select({ u: siteApprovers.userId }).from(siteApprovers).where(eq(siteApprovers.siteId, siteId)).limit(1).get()
  if (appointed) return approvers
  return db.select({ id: users.id, email: users.email }).from(users).where(and(eq(users.role, 'admin'), isNull(users.disabledAt))).orderBy(users.id).all()
}

export function projectOwner(db: Db, projectId: number): Recipient[] {
  const row = db.select({ id: users.id, email: users.email }).from(projects).innerJoin(users, eq(users.id, projects.ownerId)).where(and(eq(projects.id, projectId), isNull(users.disabledAt))).get()
  return row ? [row] : []
}

/** Queues the notice to each recipient (deduplicated) who wants workflow emails; returns the outbox ids. */
export function queueWorkflowNotice(db: Db, recipients: Recipient[], notice: WorkflowNotice, url: string, now: number): number[] {
  const ids = [...new Set(recipients.map((r) => r.id))]
  if (ids.length === 0) return []
  const wanting = db.select({ id: users.id, email: users.email }).from(users).where(and(inArray(users.id, ids), eq(users.workflowEmails, true), isNull(users.disabledAt))).orderBy(users.id).all()
  return wanting.map((r) => enqueueEmail(db, workflowEmail(r.email, notice, url), now))
}

export function projectUrl(baseUrl: string | undefined, projectId: number): string {
  return `${baseUrl ?? ''}/projects/${projectId}`
}
