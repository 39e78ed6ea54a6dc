// Applies an import plan (SPEC §6.4) in one transaction with one audit event `import.applied`.
// Nothing is applied when the plan has errors. Every action is re-checked against what is stored,
// so applying a stale plan, or the same plan twice, adds nothing and sends nothing twice.

import { and, eq, isNotNull, isNull } from 'drizzle-orm'
import { projectMembers, users } from '../db/schema.ts'
import { writeTransaction, type Db } from '../db/client.ts'
import { getProjectByLabel } from '../models/consortium.ts'
import { createInvitation, getBlockingInvitation } from '../models/invitations.ts'
import { getUserByEmail, getUserById } from '../models/users.ts'
import { recordAuditEvent } from '../models/audit.ts'
import { invalidateUserSessions } from '../auth/session.ts'
import { groups, roles } from '../db/schema.ts'
import { INVITED_SITE_ROLE, splitProjectKey, type ImportAction, type ImportReport } from './plan.ts'

export type ApplyContext = {
  actor: { id: number; email: string }
  now: number
  ip: string
  baseUrl: string
  /** The server key (config.encryptionKey): invitation links are derived from it. */
  key: Buffer
  ttlMs: number
  /** The inviter's name in the claim email. */
  inviter: string
}

export type ImportCounts = { invited: number; granted: number; enabled: number; disabled: number; sessions_ended: number }

export function applyImport(db: Db, plan: ImportReport, ctx: ApplyContext): ImportReport & { counts: ImportCounts } {
  const counts: ImportCounts = { invited: 0, granted: 0, enabled: 0, disabled: 0, sessions_ended: 0 }
  if (plan.errors.length > 0) return { ...plan, ok: false, applied: false, counts }

  const resolve = (key: string) => {
    const { group, label } = splitProjectKey(key)
    const g = db.select().from(groups).where(eq(groups.name, group)).get()
    return g ? getProjectByLabel(db, g.id, label) : null
  }
  const roleId = (name: string) => db.select({ id: roles.id }).from(roles).where(and(eq(roles.name, name), eq(roles.scope, 'project'))).get()?.id ?? null

  writeTransaction(db, () => {
    // Group the on-accept grants by invitee.
    const onAccept = new Map<string, ImportAction[]>()
    for (const a of plan.actions) if (a.action === 'grant' && a.on_accept) onAccept.set(a.account, [...(onAccept.get(a.account) ?? []), a])

    for (const a of plan.actions) {
      switch (a.action) {
        case 'invite': {
          if (getUserByEmail(db, a.account) || getBlockingInvitation(db, a.account)) break
          const projectGrants: { projectId: number; roleId: number }[] = []
          for (const g of onAccept.get(a.account) ?? []) {
            const project = resolve(g.project!)
            const rid = roleId(g.role!)
            if (project && rid !== null && !projectGrants.some((p) => p.projectId === project.id)) projectGrants.push({ projectId: project.id, roleId: rid })
          }
          // invited_by references an account: the CLI's operator (id 0) has none.
          const inviter = getUserById(db, ctx.actor.id) ? ctx.actor : null
          createInvitation(db, { email: a.account, role: INVITED_SITE_ROLE, organization: a.organization ?? '', groupId: null, groupRole: null, projectGrants }, { ...ctx, actor: inviter })
          counts.invited++
          break
        }
        case 'grant': {
          if (a.on_accept) break
          const user = getUserByEmail(db, a.account)
          const project = resolve(a.project!)
          const rid = roleId(a.role!)
          if (!user || !project || rid === null) break
          counts.granted += db.insert(projectMembers).values({ projectId: project.id, userId: user.id, roleId: rid, createdAt: ctx.now }).onConflictDoNothing().run().changes
          break
        }
        case 'enable': {
          counts.enabled += db.update(users).set({ disabledAt: null }).where(and(eq(users.email, a.account), isNotNull(users.disabledAt))).run().changes
          break
        }
        case 'disable': {
          const user = getUserByEmail(db, a.account)
          if (!user) break
          const changed = db.update(users).set({ disabledAt: ctx.now }).where(and(eq(users.id, user.id), isNull(users.disabledAt))).run().changes
          if (changed > 0) {
            counts.disabled++
            counts.sessions_ended += invalidateUserSessions(db, user.id)
          }
          break
        }
        default:
          break
      }
    }
    if (counts.invited + counts.granted + counts.enabled + counts.disabled > 0) {
      recordAuditEvent(db, { event: 'import.applied', at: ctx.now, actor: ctx.actor, targetType: 'import', targetId: null, ip: ctx.ip, details: { ...counts } })
    }
  })
  return { ...plan, ok: true, applied: true, counts }
}
