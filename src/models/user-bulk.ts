import { inArray } from 'drizzle-orm'
import { invitations, users, type Invitation, type User } from '../db/schema.ts'
import { writeTransaction, type Db } from '../db/client.ts'
import type { Actor } from '../authz/policy.ts'
import { denyActOnUser } from './access.ts'
import { changeUserRole, disableUser, enableUser, type AdminContext } from './user-admin.ts'
import { invitationStatus, resendInvitation } from './invitations.ts'
import { INVITATION_RESEND_EVENTS, invitationSendsInLastHour, SENDS_PER_HOUR } from '../auth/send-limits.ts'

// Bulk actions on the users list (issue 15 §2): each selected row goes through the same rules,
// model function and audit event as the single action; the whole batch is one transaction.

export const BULK_ACTIONS = ['disable', 'enable', 'role', 'resend'] as const
export type BulkAction = (typeof BULK_ACTIONS)[number]
export const BULK_MAX_IDS = 500

export type BulkSelection = { userIds: number[]; invitationIds: number[] }
export type BulkRequest = { action: BulkAction; role: string | null; selection: BulkSelection }
/** One selected row: `skip` is why it is left alone (null: it is affected). */
export type BulkRow = { kind: 'user' | 'invitation'; id: number; label: string; skip: string | null }

export type BulkContext = AdminContext & { policyActor: NonNullable<Actor>; baseUrl: string; key: Buffer; inviter: string }

function userSkip(db: Db, request: BulkRequest, user: User, ctx: BulkContext): string | null {
  if (request.action === 'resend') return 'not an invitation'
  if (user.id === ctx.actor.id && request.action !== 'enable') return 'is you'
  if (denyActOnUser(db, ctx.policyActor, user) !== null) return 'above your permissions'
  if (request.action === 'disable' && user.disabledAt !== null) return 'already disabled'
  if (request.action === 'enable' && user.disabledAt === null) return 'already enabled'
  if (request.action === 'role' && user.role === request.role) return `already ${user.role}`
  return null
}

function invitationSkip(db: Db, request: BulkRequest, invitation: Invitation, now: number): string | null {
  if (request.action !== 'resend') return 'an invitation, not an account'
  const status = invitationStatus(invitation, now)
  if (status !== 'sent' && status !== 'link visited') return `invitation ${status}`
  if (invitationSendsInLastHour(db, invitation.id, INVITATION_RESEND_EVENTS, now) >= SENDS_PER_HOUR) return `sent ${SENDS_PER_HOUR} times in the last hour already`
  return null
}

function loadRows(db: Db, request: BulkRequest, ctx: BulkContext): { row: BulkRow; user?: User; invitation?: Invitation }[] {
  const { userIds, invitationIds } = request.selection
  const byUser = new Map((userIds.length === 0 ? [] : db.select().from(users).where(inArray(users.id, userIds)).all()).map((u) => [u.id, u]))
  const byInvitation = new Map((invitationIds.length === 0 ? [] : db.select().from(invitations).where(inArray(invitations.id, invitationIds)).all()).map((i) => [i.id, i]))
  return [
    ...userIds.map((id) => {
      const user = byUser.get(id)
      if (!user) return { row: { kind: 'user' as const, id, label: `account #${id}`, skip: 'no such account' } }
      return { row: { kind: 'user' as const, id, label: user.email, skip: userSkip(db, request, user, ctx) }, user }
    }),
    ...invitationIds.map((id) => {
      const invitation = byInvitation.get(id)
      if (!invitation) return { row: { kind: 'invitation' as const, id, label: `invitation #${id}`, skip: 'no such invitation' } }
      return { row: { kind: 'invitation' as const, id, label: invitation.email, skip: invitationSkip(db, request, invitation, ctx.now) }, invitation }
    }),
  ]
}

/** Who the action would affect and who it would skip, and why; changes nothing. */
export function planBulkAction(db: Db, request: BulkRequest, ctx: BulkContext): BulkRow[] {
  return loadRows(db, request, ctx).map((r) => r.row)
}

/**
 * Applies the action in one transaction, re-reading and re-checking every row (the ceiling, the
 * state) at apply time; a row the model refuses (the last enabled admin) is skipped with its reason.
 */
export function applyBulkAction(db: Db, request: BulkRequest, ctx: BulkContext): BulkRow[] {
  return writeTransaction(db, () =>
    loadRows(db, request, ctx).map(({ row, user, invitation }): BulkRow => {
      if (row.skip !== null) return row
      if (user) {
        const outcome = request.action === 'disable' ? disableUser(db, user, ctx) : request.action === 'enable' ? enableUser(db, user, ctx) : changeUserRole(db, user, request.role!, ctx)
        if (!outcome.ok) return { ...row, skip: outcome.reason }
        if ('changed' in outcome && !outcome.changed) return { ...row, skip: request.action === 'disable' ? 'already disabled' : 'already enabled' }
        return row
      }
      return resendInvitation(db, invitation!, ctx) ? row : { ...row, skip: `sent ${SENDS_PER_HOUR} times in the last hour already` }
    }),
  )
}
