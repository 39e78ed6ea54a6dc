// Applies an import plan (SPEC §6.4) in one transaction with one audit event `import.applied`.
// Nothing is applied when the plan has errors. Every action is re-checked against what is stored,
// so applying a stale plan, or the same plan twice, adds nothing and sends nothing twice.

import { and, eq } from 'drizzle-orm'
import { invitations, projectMembers, roles } from '../db/schema.ts'
import { writeTransaction, type Db } from '../db/client.ts'
import { labelledProjectIds } from '../models/consortium.ts'
import { createInvitation, getBlockingInvitation, revokeInvitation, sendFollowUp } from '../models/invitations.ts'
import { findAccountByAnyEmail, getUserByEmail, getUserById } from '../models/users.ts'
import { disableUser, enableUser } from '../models/user-admin.ts'
import { recordAuditEvent } from '../models/audit.ts'
import { collectGarbage } from './memory.ts'
import { denyActOnUser, denyGrantSiteRole, denyProjectGrants } from '../models/access.ts'
import type { Actor, Denial } from '../authz/policy.ts'
import { INVITED_SITE_ROLE, type ImportAction, type ImportReport, type NotifyMode } from './plan.ts'

/** Actions between two garbage collections (see memory.ts). */
const GC_EVERY_ACTIONS = 40_000

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
  /** The notification mode the plan was made with (default 'none'). */
  notify?: NotifyMode
  /** The import run this applies (the audit event's target), if recorded. */
  runId?: number | null
}

export type ImportCounts = {
  invited: number
  granted: number
  enabled: number
  disabled: number
  sessions_ended: number
  follow_ups: number
  /** Outstanding invitations whose follow-up schedule this run's mode changed (none ↔ date). */
  follow_up_mode_changed: number
  /** Outstanding invitations of inactive entries, withdrawn. */
  invitations_withdrawn: number
}

export function applyImport(db: Db, plan: ImportReport, ctx: ApplyContext): ImportReport & { counts: ImportCounts } {
  const counts: ImportCounts = { invited: 0, granted: 0, enabled: 0, disabled: 0, sessions_ended: 0, follow_ups: 0, follow_up_mode_changed: 0, invitations_withdrawn: 0 }
  const notify = ctx.notify ?? 'none'
  if (plan.errors.length > 0) return { ...plan, ok: false, applied: false, counts }

  // A run touches a few hundred projects and a handful of roles, tens of thousands of times: each is looked up once.
  const projectIds = labelledProjectIds(db)
  const resolve = (key: string) => {
    const id = projectIds.get(key)
    return id === undefined ? null : { id }
  }
  const roleCache = new Map<string, number | null>()
  const roleId = (name: string) => {
    if (!roleCache.has(name)) roleCache.set(name, db.select({ id: roles.id }).from(roles).where(and(eq(roles.name, name), eq(roles.scope, 'project'))).get()?.id ?? null)
    return roleCache.get(name)!
  }
  const adminCtx = { actor: ctx.actor, now: ctx.now, ip: ctx.ip }
  // invited_by references an account: the CLI's operator (id 0) has none.
  const inviter = getUserById(db, ctx.actor.id) ? ctx.actor : null

  // The schedule of an outstanding invitation follows the latest run's mode ('force' leaves it).
  const modeFor = (invitation: { id: number; followUpMode: string }) => {
    if (notify === 'force' || invitation.followUpMode === notify) return
    counts.follow_up_mode_changed += db.update(invitations).set({ followUpMode: notify }).where(eq(invitations.id, invitation.id)).run().changes
  }

  writeTransaction(db, () => {
    // Group the on-accept grants by invitee.
    const onAccept = new Map<string, ImportAction[]>()
    for (const a of plan.actions) {
      if (a.action !== 'grant' || !a.on_accept) continue
      const list = onAccept.get(a.account)
      if (list) list.push(a)
      else onAccept.set(a.account, [a])
    }

    let done = 0
    for (const a of plan.actions) {
      if (++done % GC_EVERY_ACTIONS === 0) collectGarbage()
      switch (a.action) {
        case 'invite': {
          if (getUserByEmail(db, a.account) || getBlockingInvitation(db, a.account)) break
          const projectGrants: { projectId: number; roleId: number }[] = []
          for (const g of onAccept.get(a.account) ?? []) {
            const project = resolve(g.project!)
            const rid = roleId(g.role!)
            if (project && rid !== null && !projectGrants.some((p) => p.projectId === project.id && p.roleId === rid)) projectGrants.push({ projectId: project.id, roleId: rid })
          }
          const contactEmail = a.email.toLowerCase() === a.account ? null : a.email.toLowerCase()
          createInvitation(
            db,
            { email: a.account, role: INVITED_SITE_ROLE, organization: a.organization ?? '', groupId: null, groupRole: null, projectGrants, contactEmail, firstName: a.first_name ?? null, lastName: a.last_name ?? null, followUpMode: notify === 'date' ? 'date' : 'none' },
            { ...ctx, actor: inviter },
            { audit: false },
          )
          counts.invited++
          break
        }
        case 'follow_up': {
          const invitation = getBlockingInvitation(db, a.account)
          if (!invitation || a.follow_up === undefined || a.follow_up <= invitation.followUpsSent) break
          modeFor(invitation)
          sendFollowUp(db, invitation, a.follow_up, { ...ctx, actor: inviter }, { audit: false })
          counts.follow_ups++
          break
        }
        case 'skip': {
          const invitation = getBlockingInvitation(db, a.account)
          if (invitation) modeFor(invitation)
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
          const user = getUserByEmail(db, a.account)
          if (user && enableUser(db, user, adminCtx, { audit: false }).changed) counts.enabled++
          break
        }
        case 'disable': {
          if (a.invitation) {
            const invitation = getBlockingInvitation(db, a.account)
            if (invitation && revokeInvitation(db, invitation, { ...ctx, actor: inviter }, { audit: false })) counts.invitations_withdrawn++
            break
          }
          // The same rules as an admin's disable, checked again here (the plan may be stale): never
          // the one applying, never the last enabled admin.
          const user = findAccountByAnyEmail(db, a.account)
          const outcome = user ? disableUser(db, user, adminCtx, { audit: false }) : null
          if (outcome?.ok && outcome.changed) {
            counts.disabled++
            counts.sessions_ended += outcome.sessionsEnded
          }
          break
        }
        default:
          break
      }
    }
    if (counts.invited + counts.granted + counts.enabled + counts.disabled + counts.follow_ups + counts.follow_up_mode_changed + counts.invitations_withdrawn > 0) {
      recordAuditEvent(db, { event: 'import.applied', at: ctx.now, actor: ctx.actor, targetType: 'import', targetId: ctx.runId ?? null, ip: ctx.ip, details: { ...counts, notify } })
    }
  })
  return { ...plan, ok: true, applied: true, counts }
}

/**
 * The privilege ceiling on an import run from the admin page (SPEC §2.2): every invitation's site
 * role, every project role granted (now or on acceptance), and every account enabled or disabled
 * must be within what the acting user holds. Returns the first refusal (the page answers 403 and
 * applies nothing). The CLI runs as the system operator and is not limited.
 */
export function denyImportPlan(db: Db, actor: Actor, plan: ImportReport): Denial | null {
  const projectIds = labelledProjectIds(db)
  const roleIds = new Map(db.select({ id: roles.id, name: roles.name }).from(roles).where(eq(roles.scope, 'project')).all().map((r) => [r.name, r.id]))
  const checked = new Set<string>()
  const once = (key: string, check: () => Denial | null): Denial | null => {
    if (checked.has(key)) return null
    checked.add(key)
    return check()
  }
  for (const a of plan.actions) {
    let denial: Denial | null = null
    if (a.action === 'invite') denial = once(`site:${INVITED_SITE_ROLE}`, () => denyGrantSiteRole(db, actor, INVITED_SITE_ROLE))
    else if (a.action === 'grant') {
      const projectId = projectIds.get(a.project!)
      const roleId = roleIds.get(a.role!)
      if (projectId !== undefined && roleId !== undefined) denial = once(`grant:${projectId}:${roleId}`, () => denyProjectGrants(db, actor, [{ projectId, roleId }]))
    } else if ((a.action === 'enable' || a.action === 'disable') && !a.invitation) {
      const user = a.action === 'enable' ? getUserByEmail(db, a.account) : findAccountByAnyEmail(db, a.account)
      if (user) denial = once(`role:${user.role}`, () => denyActOnUser(db, actor, user))
    }
    if (denial) return { ...denial, rule: `entry ${a.entry} (${a.email}): ${denial.rule}` }
  }
  return null
}
