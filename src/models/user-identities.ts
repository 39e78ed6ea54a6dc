import { and, asc, eq } from 'drizzle-orm'
import { identityProviders, sessions, userIdentities, users, type IdentityProvider, type User, type UserIdentity } from '../db/schema.ts'
import { hasLocalPassword } from '../auth/local-password.ts'
import { writeTransaction, type Db } from '../db/client.ts'
import { recordAuditEvent } from './audit.ts'
import { queueSecurityNotice } from '../mail/security-notice.ts'

export function getUserIdentity(db: Db, providerId: number, sub: string): UserIdentity | null {
  return db.select().from(userIdentities).where(and(eq(userIdentities.providerId, providerId), eq(userIdentities.sub, sub))).get() ?? null
}

export function hasIdentityAtProvider(db: Db, userId: number, providerId: number): boolean {
  return db.select({ id: userIdentities.id }).from(userIdentities).where(and(eq(userIdentities.userId, userId), eq(userIdentities.providerId, providerId))).get() !== undefined
}

export function touchUserIdentity(db: Db, identityId: number, now: number): void {
  db.update(userIdentities).set({ lastUsedAt: now }).where(eq(userIdentities.id, identityId)).run()
}

/** Links (provider, sub) to the account, audited as identity.linked, with a security notice, in one transaction. */
export function linkUserIdentity(
  db: Db,
  input: { user: User; provider: IdentityProvider; sub: string; email: string; now: number; ip: string; baseUrl: string; how: string },
): UserIdentity {
  return writeTransaction(db, () => {
    const identity = db
      .insert(userIdentities)
      .values({ userId: input.user.id, providerId: input.provider.id, sub: input.sub, emailAtLink: input.email, linkedAt: input.now, lastUsedAt: input.now })
      .returning()
      .get()
    recordAuditEvent(db, { event: 'identity.linked', at: input.now, actor: { id: input.user.id, email: input.user.email }, targetType: 'user', targetId: input.user.id, ip: input.ip, details: { provider: input.provider.name, sub: input.sub, how: input.how } })
    queueSecurityNotice(db, { to: input.user.email, subject: `Sign-in with ${input.provider.name} was linked to your account`, what: `Your ${input.provider.name} identity (${input.email}) was linked to your Gatehouse account and can now be used to sign in.`, now: input.now, ip: input.ip, baseUrl: input.baseUrl })
    return identity
  })
}

/** A user's linked identities with their provider's name, oldest link first. */
export type LinkedIdentity = UserIdentity & { providerName: string; providerEnabled: boolean }

export function listUserIdentities(db: Db, userId: number): LinkedIdentity[] {
  return db
    .select({ identity: userIdentities, providerName: identityProviders.name, providerEnabled: identityProviders.enabled })
    .from(userIdentities)
    .innerJoin(identityProviders, eq(identityProviders.id, userIdentities.providerId))
    .where(eq(userIdentities.userId, userId))
    .orderBy(asc(userIdentities.linkedAt), asc(userIdentities.id))
    .all()
    .map((r) => ({ ...r.identity, providerName: r.providerName, providerEnabled: r.providerEnabled }))
}

/** The identity when it belongs to this user (null for another user's id, so the caller answers 404). */
export function getUserIdentityForUser(db: Db, identityId: number, userId: number): LinkedIdentity | null {
  return listUserIdentities(db, userId).find((i) => i.id === identityId) ?? null
}

export type UnlinkCtx = { actor: { id: number; email: string }; now: number; ip: string; baseUrl: string; /** the caller's own session, kept when a user unlinks from it */ keepSessionId?: string }

export const ONLY_WAY_IN = 'This identity is the only way into the account (it has no local password and no other linked identity), so it cannot be unlinked.'

/** True when an account's identities are its only way in: no local password and at most one identity, which then cannot be unlinked. */
export function isOnlyWayIn(user: Pick<User, 'passwordHash'>, identityCount: number): boolean {
  return !hasLocalPassword(user) && identityCount <= 1
}

/**
 * Unlinks an identity of this user: refused when it is the account's only way in (no local password
 * and no other identity). Sessions signed in through that provider end (but `keepSessionId`). Audited
 * identity.unlinked with provider and subject, and a security notice, in one transaction.
 */
export function unlinkUserIdentity(db: Db, input: { identityId: number; userId: number }, ctx: UnlinkCtx): { ok: true; identity: LinkedIdentity } | { ok: false; reason: 'not_found' | 'only_way_in' } {
  return writeTransaction(db, () => {
    const user = db.select().from(users).where(eq(users.id, input.userId)).get()
    const all = user ? listUserIdentities(db, user.id) : []
    const identity = all.find((i) => i.id === input.identityId)
    if (!user || !identity) return { ok: false, reason: 'not_found' } as const
    if (isOnlyWayIn(user, all.length)) return { ok: false, reason: 'only_way_in' } as const
    db.delete(userIdentities).where(and(eq(userIdentities.id, identity.id), eq(userIdentities.userId, user.id))).run()
    const method = `oidc:${identity.providerName}`
    const ended = db
      .select({ id: sessions.id, authMethod: sessions.authMethod })
      .from(sessions)
      .where(eq(sessions.userId, user.id))
      .all()
      .filter((s) => s.id !== ctx.keepSessionId && (s.authMethod === method || s.authMethod.startsWith(`${method}+`)))
    for (const s of ended) db.delete(sessions).where(eq(sessions.id, s.id)).run()
    recordAuditEvent(db, { event: 'identity.unlinked', at: ctx.now, actor: ctx.actor, targetType: 'user', targetId: user.id, ip: ctx.ip, details: { provider: identity.providerName, sub: identity.sub, email_at_link: identity.emailAtLink, sessions_ended: ended.length, by: ctx.actor.id === user.id ? 'self' : 'admin' } })
    queueSecurityNotice(db, {
      to: user.email,
      subject: `Sign-in with ${identity.providerName} was unlinked from your account`,
      what: `Your ${identity.providerName} identity${identity.emailAtLink ? ` (${identity.emailAtLink})` : ''} was unlinked from your Gatehouse account${ctx.actor.id === user.id ? '' : ' by an administrator'} and can no longer be used to sign in.`,
      now: ctx.now,
      ip: ctx.ip,
      baseUrl: ctx.baseUrl,
    })
    return { ok: true, identity } as const
  })
}
