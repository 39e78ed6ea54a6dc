import { and, eq, isNotNull, isNull, sql } from 'drizzle-orm'
import { sessions, users, type User } from '../db/schema.ts'
import { writeTransaction, type Db } from '../db/client.ts'
import { recordAuditEvent } from './audit.ts'
import { countEnabledAdmins, generateTemporaryPassword, resetUserMfa, type Actor } from './users.ts'
import { invalidateUserSessions } from '../auth/session.ts'
import { clearSignInFailures } from '../auth/rate-limit.ts'
import { hashPassword } from '../auth/password.ts'
import { enqueueEmail } from '../mail/outbox.ts'
import { queueSecurityNotice } from '../mail/security-notice.ts'
import { temporaryPasswordEmail } from '../../views/emails/temporary-password.tsx'
import { TEMPORARY_PASSWORD_TTL_MS } from './users.ts'

// Admin actions on accounts. Each one is a guarded change plus its audit event in one
// transaction; a refusal is returned as a sentence for the admin, and changes nothing.

export type AdminContext = { actor: NonNullable<Actor>; now: number; ip: string }
export type Outcome = { ok: true } | { ok: false; reason: string }

const ok: Outcome = { ok: true }

function isLastEnabledAdmin(db: Db, target: User): boolean {
  return target.role === 'admin' && target.disabledAt === null && countEnabledAdmins(db) <= 1
}

function audit(db: Db, ctx: AdminContext, event: string, target: User, details: Record<string, unknown> = {}) {
  recordAuditEvent(db, { event, at: ctx.now, actor: ctx.actor, targetType: 'user', targetId: target.id, ip: ctx.ip, details: { email: target.email, ...details } })
}

/** Roles are exclusive: the new one replaces the old. Nobody demotes themselves; the last enabled admin stays admin. */
export function changeUserRole(db: Db, target: User, role: string, ctx: AdminContext): Outcome {
  if (role === target.role) return ok
  if (target.id === ctx.actor.id) return { ok: false, reason: 'You cannot change your own role. Ask another admin.' }
  return writeTransaction(db, () => {
    if (isLastEnabledAdmin(db, target)) return { ok: false, reason: 'This is the last enabled admin: make someone else an admin first.' }
    db.update(users).set({ role }).where(eq(users.id, target.id)).run()
    audit(db, ctx, 'user.role_changed', target, { from: target.role, to: role })
    return ok
  })
}

/** For a caller that records one audit event for many changes (the consortium import). */
export type AuditOption = { audit: boolean }

/**
 * Refuses sign-in from now on and ends every session. Not yourself, not the last enabled admin.
 * `changed` is false when the account was disabled already.
 */
export function disableUser(db: Db, target: User, ctx: AdminContext, options: AuditOption = { audit: true }): (Outcome & { ok: true; changed: boolean; sessionsEnded: number }) | Extract<Outcome, { ok: false }> {
  if (target.id === ctx.actor.id) return { ok: false, reason: 'You cannot disable your own account.' }
  return writeTransaction(db, () => {
    if (isLastEnabledAdmin(db, target)) return { ok: false, reason: 'This is the last enabled admin and cannot be disabled.' }
    const changed = db.update(users).set({ disabledAt: ctx.now }).where(and(eq(users.id, target.id), isNull(users.disabledAt))).run().changes
    if (changed === 0) return { ok: true, changed: false, sessionsEnded: 0 }
    const ended = invalidateUserSessions(db, target.id)
    if (options.audit) audit(db, ctx, 'user.disabled', target, { sessions_ended: ended })
    return { ok: true, changed: true, sessionsEnded: ended }
  })
}

/** Lets the account sign in again; `changed` is false when it was enabled already. */
export function enableUser(db: Db, target: User, ctx: AdminContext, options: AuditOption = { audit: true }): Outcome & { ok: true; changed: boolean } {
  return writeTransaction(db, () => {
    const changed = db.update(users).set({ disabledAt: null }).where(and(eq(users.id, target.id), isNotNull(users.disabledAt))).run().changes > 0
    if (changed && options.audit) audit(db, ctx, 'user.enabled', target)
    return { ok: true, changed }
  })
}

/** Clears the failed sign-in counter and any lock before it runs out. */
export function unlockUser(db: Db, target: User, ctx: AdminContext): Outcome {
  writeTransaction(db, () => {
    clearSignInFailures(db, target.email)
    audit(db, ctx, 'user.unlocked', target)
  })
  return ok
}

/** A new emailed temporary password (7 days, forced change); every session ends. */
export async function resetUserPassword(db: Db, target: User, ctx: AdminContext & { baseUrl: string }): Promise<Outcome> {
  const password = generateTemporaryPassword()
  const hash = await hashPassword(password)
  writeTransaction(db, () => {
    db.update(users)
      .set({ passwordHash: hash, passwordChangedAt: ctx.now, mustChangePassword: true, temporaryPasswordExpiresAt: ctx.now + TEMPORARY_PASSWORD_TTL_MS })
      .where(eq(users.id, target.id))
      .run()
    const ended = invalidateUserSessions(db, target.id)
    audit(db, ctx, 'password.reset_by_admin', target, { sessions_ended: ended })
    enqueueEmail(db, temporaryPasswordEmail({ to: target.email, password, loginUrl: `${ctx.baseUrl}/login`, reason: 'reset' }), ctx.now)
    queueSecurityNotice(db, { to: target.email, subject: 'An administrator issued you a temporary password', what: 'An administrator reset your password: your old password no longer works, you were signed out everywhere, and a temporary password was sent to you in a separate email.', now: ctx.now, ip: ctx.ip, baseUrl: ctx.baseUrl })
  })
  return ok
}

/** Clears the authenticator (next sign-in enrols again) and ends every session. Not on yourself: use the CLI. */
export function resetUserMfaByAdmin(db: Db, target: User, ctx: AdminContext & { baseUrl: string }): Outcome {
  if (target.id === ctx.actor.id) return { ok: false, reason: 'You cannot reset your own authenticator here. Another admin can, or use `npm run cli -- reset-mfa EMAIL` on the server.' }
  writeTransaction(db, () => resetUserMfa(db, { userId: target.id, email: target.email, now: ctx.now, actor: ctx.actor, ip: ctx.ip, via: 'admin', baseUrl: ctx.baseUrl }))
  return ok
}

export function updateUserProfile(db: Db, target: User, input: { firstName: string; lastName: string; organization: string }, ctx: AdminContext): Outcome {
  writeTransaction(db, () => {
    db.update(users).set(input).where(eq(users.id, target.id)).run()
    audit(db, ctx, 'user.updated', target, { before: { first_name: target.firstName, last_name: target.lastName, organization: target.organization }, after: { first_name: input.firstName, last_name: input.lastName, organization: input.organization } })
  })
  return ok
}

export function revokeUserSession(db: Db, target: User, sessionId: string, ctx: AdminContext): Outcome {
  return writeTransaction(db, () => {
    const changed = db.delete(sessions).where(and(eq(sessions.id, sessionId), eq(sessions.userId, target.id))).run().changes
    if (changed === 0) return { ok: false, reason: 'That session has already ended.' }
    audit(db, ctx, 'session.revoked', target, { session: sessionId.slice(0, 6) })
    return ok
  })
}

/**
 * Adds the source user's group and project memberships to the target; never removes or
 * downgrades any they already have. Returns how many were added.
 */
export function copyPermissionsFromUser(db: Db, target: User, source: User, ctx: AdminContext): { groups: number; projects: number } {
  return writeTransaction(db, () => {
    const groupsAdded = db.run(sql`insert or ignore into group_members (group_id, user_id, role, created_at)
      select group_id, ${target.id}, role, ${ctx.now} from group_members where user_id = ${source.id}`).changes
    const projectsAdded = db.run(sql`insert or ignore into project_members (project_id, user_id, role_id, created_at)
      select project_id, ${target.id}, role_id, ${ctx.now} from project_members where user_id = ${source.id}`).changes
    audit(db, ctx, 'user.permissions_copied', target, { from_user: source.id, from_email: source.email, groups_added: groupsAdded, projects_added: projectsAdded })
    return { groups: groupsAdded, projects: projectsAdded }
  })
}

export type UserMemberships = {
  groups: { id: number; name: string; role: string }[]
  /** roles: the membership's project roles by name (empty for an owner who is no member); role: them joined, or 'owner'. */
  projects: { id: number; name: string; role: string; roles: string[]; owner: boolean; status: string }[]
}

export function getUserMemberships(db: Db, userId: number): UserMemberships {
  const groupRows = db.all<{ id: number; name: string; role: string }>(sql`select g.id, g.name, gm.role from group_members gm join groups g on g.id = gm.group_id where gm.user_id = ${userId} order by g.name`)
  const projectRows = db.all<{ id: number; name: string; roles: string | null; owner: number; status: string }>(sql`
    select p.id, p.name, group_concat(r.name, char(31)) as roles, p.owner_id = ${userId} as owner, p.status
    from projects p left join project_members pm on pm.project_id = p.id and pm.user_id = ${userId} left join roles r on r.id = pm.role_id
    where p.deleted_at is null and (p.owner_id = ${userId} or pm.user_id is not null) group by p.id order by p.name`)
  return {
    groups: groupRows,
    projects: projectRows.map(({ roles: list, ...p }) => {
      const roles = list === null ? [] : list.split('\u001f').sort()
      return { ...p, owner: p.owner === 1, roles, role: roles.length === 0 ? 'owner' : roles.join(', ') }
    }),
  }
}
