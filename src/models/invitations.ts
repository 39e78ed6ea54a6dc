import { and, desc, eq, gt, inArray, lte, sql } from 'drizzle-orm'
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { encodeBase32LowerCaseNoPadding } from '@oslojs/encoding'
import { generateRandomString, type RandomReader } from '@oslojs/crypto/random'
import { groupMembers, invitations, projectMembers, users, type GroupRole, type Invitation, type User } from '../db/schema.ts'
import { joinOrWriteTransaction, preparedOnce, writeTransaction, type Db } from '../db/client.ts'
import { hashToken, keyedTokenHash } from '../auth/tokens.ts'
import { recordAuditEvent } from './audit.ts'
import { enqueueEmail } from '../mail/outbox.ts'
import { invitationAcceptedEmail, invitationEmail, invitationFollowUpEmail, securityTokenEmail } from '../../views/emails/invitation.tsx'
import { displayName } from './users.ts'
import { INVITATION_RESEND_EVENTS, invitationSendsInLastHour, SECURITY_CODE_EVENTS, SendLimitReached, SENDS_PER_HOUR } from '../auth/send-limits.ts'

export const SECURITY_TOKEN_TTL_MS = 60 * 60_000
export const SECURITY_TOKEN_MAX_FAILURES = 5
/** Crockford's base32: 32 symbols, no I, L, O or U. */
const SECURITY_TOKEN_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'

export type InvitationStatus = 'sent' | 'link visited' | 'expired' | 'accepted' | 'revoked'
export type InvitationGrants = { groupId: number | null; groupRole: GroupRole | null; projectGrants: { projectId: number; roleId: number }[] }
export type Ctx = { actor: { id: number; email: string } | null; now: number; ip: string | null }

const random: RandomReader = { read: (bytes) => void bytes.set(randomBytes(bytes.length)) }

/**
 * The link token (160 bits), derived from the server key and the invitation's salt. Only its keyed
 * hash (HMAC with a key derived from the server key) is stored, yet a resend can send the very same link.
 */
export function invitationToken(key: Buffer, salt: string): string {
  return encodeBase32LowerCaseNoPadding(createHmac('sha256', key).update(`invitation:${salt}`).digest().subarray(0, 20))
}

export function invitationLink(baseUrl: string, key: Buffer, invitation: Pick<Invitation, 'tokenSalt'>): string {
  return `${baseUrl}/invite/${invitationToken(key, invitation.tokenSalt)}`
}

export function invitationStatus(invitation: Invitation, now: number): InvitationStatus {
  if (invitation.status === 'accepted' || invitation.status === 'revoked') return invitation.status
  return invitation.expiresAt <= now ? 'expired' : invitation.status
}

export function getInvitationById(db: Db, id: number): Invitation | null {
  return db.select().from(invitations).where(eq(invitations.id, id)).get() ?? null
}

export function getInvitationByToken(db: Db, key: Buffer, token: string): Invitation | null {
  return db.select().from(invitations).where(eq(invitations.tokenHash, keyedTokenHash(key, token))).get() ?? null
}

/**
 * Invitations stored before link hashes were keyed hold the bare SHA-256 of their token; the token is
 * derived from the key and salt, so the keyed hash can be computed and stored. Run at start; returns
 * how many were upgraded (0 once done). Only open invitations matter: a closed link never works again.
 */
export function upgradeInvitationTokenHashes(db: Db, key: Buffer): number {
  const open = db.select({ id: invitations.id, tokenSalt: invitations.tokenSalt, tokenHash: invitations.tokenHash }).from(invitations).where(inArray(invitations.status, ['sent', 'link visited'])).all()
  const stale = open.filter((row) => row.tokenHash === hashToken(invitationToken(key, row.tokenSalt)))
  if (stale.length === 0) return 0
  writeTransaction(db, () => {
    for (const row of stale) db.update(invitations).set({ tokenHash: keyedTokenHash(key, invitationToken(key, row.tokenSalt)) }).where(eq(invitations.id, row.id)).run()
  })
  return stale.length
}

const openByColumn = (column: typeof invitations.email | typeof invitations.contactEmail) => (db: Db) =>
  db.select().from(invitations).where(and(eq(column, sql.placeholder('email')), inArray(invitations.status, ['sent', 'link visited']))).prepare()
const openByEmail = openByColumn(invitations.email)
const openByContactEmail = openByColumn(invitations.contactEmail)

/** The invitation that stops a new one to this email: outstanding, or expired but not deleted. */
export function getBlockingInvitation(db: Db, email: string): Invitation | null {
  return preparedOnce(db, openByEmail).get({ email }) ?? null
}

/** An outstanding invitation to this address, or carrying it as its second address (a consortium import). */
export function getOpenInvitationFor(db: Db, email: string): Invitation | null {
  const e = email.trim().toLowerCase()
  return getBlockingInvitation(db, e) ?? preparedOnce(db, openByContactEmail).get({ email: e }) ?? null
}

export const OPEN_INVITATION_STATES = ['outstanding', 'expired'] as const
export type OpenInvitationState = (typeof OPEN_INVITATION_STATES)[number]

/** Newest first (at most 500): open invitations, or all with `includeClosed`; `state` keeps only the open ones still valid at `now` (outstanding) or past their expiry (expired), as the dashboard counts them. */
export function listInvitations(db: Db, options: { includeClosed: boolean; state: OpenInvitationState | null; now: number }): Invitation[] {
  const open = inArray(invitations.status, ['sent', 'link visited'])
  const now = options.now
  const where = options.state === 'outstanding' ? and(open, gt(invitations.expiresAt, now)) : options.state === 'expired' ? and(open, lte(invitations.expiresAt, now)) : options.includeClosed ? undefined : open
  return db.select().from(invitations).where(where).orderBy(desc(invitations.createdAt)).limit(500).all()
}

/** Outstanding (and expired, not deleted) invitations whose email or organisation contains q. */
export function listOpenInvitationsMatching(db: Db, q: string): Invitation[] {
  const like = `%${q.toLowerCase().replace(/[\\%_]/g, (ch) => '\\' + ch)}%`
  return db
    .select()
    .from(invitations)
    .where(and(inArray(invitations.status, ['sent', 'link visited']), sql`(lower(${invitations.email}) like ${like} escape '\\' or lower(${invitations.organization}) like ${like} escape '\\')`))
    .orderBy(invitations.email)
    .limit(50)
    .all()
}

function sendInvitationEmail(db: Db, invitation: Invitation, input: { baseUrl: string; key: Buffer; inviter: string; now: number }) {
  enqueueEmail(db, invitationEmail({ to: invitation.email, link: invitationLink(input.baseUrl, input.key, invitation), inviter: input.inviter, expiresAt: invitation.expiresAt, organization: invitation.organization }), input.now)
}

function auditInvitation(db: Db, ctx: Ctx, event: string, invitation: Invitation, details: Record<string, unknown> = {}) {
  recordAuditEvent(db, { event, at: ctx.now, actor: ctx.actor, targetType: 'invitation', targetId: invitation.id, ip: ctx.ip, details: { email: invitation.email, ...details } })
}

export type InvitationInput = { email: string; role: string; organization: string } & InvitationGrants
/** What a consortium import adds: the directory's second address and name, and the follow-up schedule. */
export type ImportedInvitationFields = Partial<Pick<Invitation, 'contactEmail' | 'firstName' | 'lastName' | 'followUpMode'>>

// Prepared once per database: a consortium import creates thousands of invitations in one transaction.
function buildInsertInvitation(db: Db) {
  const p = (name: string) => sql.placeholder(name)
  return db
    .insert(invitations)
    .values({
      email: p('email'),
      role: p('role'),
      organization: p('organization'),
      groupId: p('groupId'),
      groupRole: p('groupRole'),
      projectGrants: p('projectGrants'),
      tokenSalt: p('tokenSalt'),
      tokenHash: p('tokenHash'),
      status: 'sent',
      invitedBy: p('invitedBy'),
      createdAt: p('now'),
      sentAt: p('now'),
      expiresAt: p('expiresAt'),
      contactEmail: p('contactEmail'),
      firstName: p('firstName'),
      lastName: p('lastName'),
      followUpMode: p('followUpMode'),
    })
    .returning()
    .prepare()
}

/**
 * Creates the invitation and queues its email. `audit: false` is for a caller that records one
 * event for many (the consortium import).
 */
export function createInvitation(db: Db, input: InvitationInput & ImportedInvitationFields, ctx: Ctx & { baseUrl: string; key: Buffer; ttlMs: number; inviter: string }, options: { audit: boolean } = { audit: true }): Invitation {
  return joinOrWriteTransaction(db, () => {
    const tokenSalt = encodeBase32LowerCaseNoPadding(randomBytes(16))
    const invitation = preparedOnce(db, buildInsertInvitation).get({
      email: input.email,
      role: input.role,
      organization: input.organization,
      groupId: input.groupId,
      groupRole: input.groupRole,
      projectGrants: input.projectGrants,
      tokenSalt,
      tokenHash: keyedTokenHash(ctx.key, invitationToken(ctx.key, tokenSalt)),
      invitedBy: ctx.actor?.id ?? null,
      now: ctx.now,
      expiresAt: ctx.now + ctx.ttlMs,
      contactEmail: input.contactEmail ?? null,
      firstName: input.firstName ?? null,
      lastName: input.lastName ?? null,
      followUpMode: input.followUpMode ?? 'none',
    })!
    sendInvitationEmail(db, invitation, { ...ctx, inviter: ctx.inviter })
    if (options.audit) auditInvitation(db, ctx, 'invitation.created', invitation, { role: input.role, organization: input.organization, group_id: input.groupId, project_grants: input.projectGrants })
    return invitation
  })
}

/**
 * Follow-up number `number` for an unclaimed invitation: the same link again, working for another
 * INVITATION_TTL_HOURS from now (follow-ups come long after a 48-hour link has expired).
 */
export function sendFollowUp(db: Db, invitation: Invitation, number: number, ctx: Ctx & { baseUrl: string; key: Buffer; ttlMs: number }, options: { audit: boolean } = { audit: true }): void {
  writeTransaction(db, () => {
    const expiresAt = Math.max(invitation.expiresAt, ctx.now + ctx.ttlMs)
    db.update(invitations)
      .set({ followUpsSent: number, lastFollowUpAt: ctx.now, sentAt: ctx.now, sendCount: sql`${invitations.sendCount} + 1`, expiresAt })
      .where(eq(invitations.id, invitation.id))
      .run()
    enqueueEmail(db, invitationFollowUpEmail({ to: invitation.email, link: invitationLink(ctx.baseUrl, ctx.key, invitation), expiresAt, organization: invitation.organization, number }), ctx.now)
    if (options.audit) auditInvitation(db, ctx, 'invitation.follow_up_sent', invitation, { number, expires_at: expiresAt })
  })
}

/**
 * Sends the same link with the same text again (the expiry does not move); false (nothing sent)
 * when it was resent SENDS_PER_HOUR times in the last hour already.
 */
export function resendInvitation(db: Db, invitation: Invitation, ctx: Ctx & { baseUrl: string; key: Buffer; inviter: string }): boolean {
  return writeTransaction(db, () => {
    if (invitationSendsInLastHour(db, invitation.id, INVITATION_RESEND_EVENTS, ctx.now) >= SENDS_PER_HOUR) return false
    db.update(invitations).set({ sentAt: ctx.now, sendCount: sql`${invitations.sendCount} + 1` }).where(eq(invitations.id, invitation.id)).run()
    sendInvitationEmail(db, invitation, ctx)
    auditInvitation(db, ctx, 'invitation.resent', invitation)
    return true
  })
}

/** Changes everything but the email. */
export function updateInvitation(db: Db, invitation: Invitation, changes: Omit<InvitationInput, 'email'>, ctx: Ctx): void {
  writeTransaction(db, () => {
    db.update(invitations).set(changes).where(eq(invitations.id, invitation.id)).run()
    auditInvitation(db, ctx, 'invitation.updated', invitation, { before: { role: invitation.role, organization: invitation.organization, group_id: invitation.groupId, project_grants: invitation.projectGrants }, after: changes })
  })
}

/** "Delete": the link stops working at once; the row stays for the audit trail. */
export function revokeInvitation(db: Db, invitation: Invitation, ctx: Ctx, options: { audit: boolean } = { audit: true }): boolean {
  return writeTransaction(db, () => {
    const changed = db
      .update(invitations)
      .set({ status: 'revoked', revokedAt: ctx.now, securityTokenHash: null, tabBindingHash: null, pendingPasswordHash: null })
      .where(and(eq(invitations.id, invitation.id), inArray(invitations.status, ['sent', 'link visited'])))
      .run().changes
    if (changed > 0 && options.audit) auditInvitation(db, ctx, 'invitation.deleted', invitation)
    return changed > 0
  })
}

/** Opening the link: recorded once as "link visited"; every opening starts the form again. */
export function markInvitationVisited(db: Db, invitation: Invitation, ctx: Ctx): void {
  writeTransaction(db, () => {
    db.update(invitations)
      .set({ status: 'link visited', visitedAt: invitation.visitedAt ?? ctx.now, securityTokenHash: null, securityTokenExpiresAt: null, securityTokenFailures: 0, tabBindingHash: null, pendingPasswordHash: null })
      .where(and(eq(invitations.id, invitation.id), inArray(invitations.status, ['sent', 'link visited'])))
      .run()
    if (invitation.visitedAt === null) auditInvitation(db, ctx, 'invitation.link_visited', invitation)
  })
}

/**
 * Keeps the form's answers and emails a new 6-character security token (replacing any earlier
 * one). Returns the value to render into the tab: the token only works together with it. Throws
 * SendLimitReached (nothing changed or sent) when SENDS_PER_HOUR codes were emailed for it in the last hour.
 */
export function startInvitationAcceptance(db: Db, invitation: Invitation, answers: { firstName: string; lastName: string; username: string; passwordHash: string }, ctx: Ctx & { key: Buffer }): { tabBinding: string; securityToken: string } {
  const securityToken = generateRandomString(random, SECURITY_TOKEN_ALPHABET, 6)
  const tabBinding = encodeBase32LowerCaseNoPadding(randomBytes(20))
  writeTransaction(db, () => {
    if (invitationSendsInLastHour(db, invitation.id, SECURITY_CODE_EVENTS, ctx.now) >= SENDS_PER_HOUR) throw new SendLimitReached()
    db.update(invitations)
      .set({
        pendingFirstName: answers.firstName,
        pendingLastName: answers.lastName,
        pendingUsername: answers.username,
        pendingPasswordHash: answers.passwordHash,
        // keyed (HMAC with the server key): a 6-character code under a bare SHA-256 is guessed offline
        securityTokenHash: keyedTokenHash(ctx.key, securityToken),
        securityTokenExpiresAt: ctx.now + SECURITY_TOKEN_TTL_MS,
        securityTokenFailures: 0,
        tabBindingHash: hashToken(tabBinding),
      })
      .where(eq(invitations.id, invitation.id))
      .run()
    enqueueEmail(db, securityTokenEmail({ to: invitation.email, token: securityToken }), ctx.now)
    auditInvitation(db, ctx, 'invitation.security_token_sent', invitation)
  })
  return { tabBinding, securityToken }
}

/** Reads a typed security token: case and spaces ignored, O read as 0, I and L as 1. */
export function normalizeSecurityToken(raw: string): string {
  return raw.replace(/[\s-]/g, '').toUpperCase().replace(/O/g, '0').replace(/[IL]/g, '1')
}

function sameHash(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b))
}

export type VerifyOutcome =
  | { ok: true; user: User }
  | { ok: false; reason: 'no token' | 'other tab' | 'expired' | 'locked' | 'username taken' | 'email taken' | 'closed' }
  | { ok: false; reason: 'wrong'; remaining: number }

/**
 * Checks the security token against the tab it was issued to; on success, in one transaction:
 * the account with its role, the memberships, the invitation accepted, the audit event and the
 * email to the inviter.
 */
export function verifyInvitationSecurityToken(db: Db, invitation: Invitation, input: { code: string; tabBinding: string }, ctx: Ctx & { key: Buffer }): VerifyOutcome {
  return writeTransaction(db, () => {
    const current = getInvitationById(db, invitation.id)!
    if (!current.securityTokenHash || !current.tabBindingHash || !current.pendingPasswordHash) return { ok: false, reason: 'no token' }
    if (!sameHash(hashToken(input.tabBinding), current.tabBindingHash)) return { ok: false, reason: 'other tab' }
    if (current.securityTokenFailures >= SECURITY_TOKEN_MAX_FAILURES) return { ok: false, reason: 'locked' }
    if ((current.securityTokenExpiresAt ?? 0) <= ctx.now) return { ok: false, reason: 'expired' }
    if (!sameHash(keyedTokenHash(ctx.key, normalizeSecurityToken(input.code)), current.securityTokenHash)) {
      const failures = current.securityTokenFailures + 1
      db.update(invitations).set({ securityTokenFailures: failures }).where(eq(invitations.id, current.id)).run()
      auditInvitation(db, ctx, 'invitation.security_token_failed', current, { failures })
      return failures >= SECURITY_TOKEN_MAX_FAILURES ? { ok: false, reason: 'locked' } : { ok: false, reason: 'wrong', remaining: SECURITY_TOKEN_MAX_FAILURES - failures }
    }
    const created = createAccountFromInvitation(db, current, { firstName: current.pendingFirstName ?? '', lastName: current.pendingLastName ?? '', username: current.pendingUsername!, passwordHash: current.pendingPasswordHash, claimedVia: 'local' }, ctx)
    return created
  })
}

/**
 * The account an invitation creates, inside the caller's transaction: the user with the invited
 * role, the group and project memberships, the invitation accepted (a guarded UPDATE: only one
 * caller ever accepts it), the audit event and the email to the inviter. Null-free refusals:
 * `closed` when the invitation is no longer open (accepted, revoked, expired meanwhile).
 */
export function createAccountFromInvitation(
  db: Db,
  current: Invitation,
  answers: { firstName: string; lastName: string; username: string; passwordHash: string; claimedVia: string },
  ctx: Ctx,
): { ok: true; user: User } | { ok: false; reason: 'closed' | 'username taken' | 'email taken' } {
  if (db.select({ id: users.id }).from(users).where(eq(users.email, current.email)).get()) return { ok: false, reason: 'email taken' }
  const username = answers.username
  if (db.select({ id: users.id }).from(users).where(sql`lower(${users.username}) = lower(${username})`).get()) return { ok: false, reason: 'username taken' }
  const accepted = db
    .update(invitations)
    .set({ status: 'accepted', acceptedAt: ctx.now, securityTokenHash: null, tabBindingHash: null, pendingPasswordHash: null })
    .where(and(eq(invitations.id, current.id), inArray(invitations.status, ['sent', 'link visited']), sql`${invitations.expiresAt} > ${ctx.now}`))
    .run().changes
  if (accepted !== 1) return { ok: false, reason: 'closed' }
  const user = db
    .insert(users)
    .values({
      email: current.email,
      firstName: answers.firstName,
      lastName: answers.lastName,
      username,
      organization: current.organization,
      role: current.role,
      passwordHash: answers.passwordHash,
      passwordChangedAt: ctx.now,
      claimedVia: answers.claimedVia,
      contactEmail: current.contactEmail !== null && current.contactEmail !== current.email ? current.contactEmail : null,
      createdAt: ctx.now,
    })
    .returning()
    .get()
  if (current.groupId !== null) db.insert(groupMembers).values({ groupId: current.groupId, userId: user.id, role: current.groupRole ?? 'member', createdAt: ctx.now }).onConflictDoNothing().run()
  for (const grant of current.projectGrants) {
    db.insert(projectMembers).values({ projectId: grant.projectId, userId: user.id, roleId: grant.roleId, createdAt: ctx.now }).onConflictDoNothing().run()
  }
  db.update(invitations).set({ acceptedUserId: user.id }).where(eq(invitations.id, current.id)).run()
  recordAuditEvent(db, { event: 'invitation.accepted', at: ctx.now, actor: { id: user.id, email: user.email }, targetType: 'invitation', targetId: current.id, ip: ctx.ip, details: { user_id: user.id, username, role: user.role, group_id: current.groupId, project_grants: current.projectGrants, claimed_via: answers.claimedVia } })
  const inviter = current.invitedBy === null ? null : db.select().from(users).where(eq(users.id, current.invitedBy)).get()
  if (inviter) enqueueEmail(db, invitationAcceptedEmail({ to: inviter.email, invitee: displayName(user), username }), ctx.now)
  return { ok: true, user }
}
