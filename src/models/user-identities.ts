import { and, eq } from 'drizzle-orm'
import { identityProviders, userIdentities, type IdentityProvider, type User, type UserIdentity } from '../db/schema.ts'
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

export type LinkedIdentityRow = { id: number; providerId: number; providerName: string; sub: string; emailAtLink: string; linkedAt: number; lastUsedAt: number | null }

/** The account's linked identities with their provider's name, oldest link first. */
export function listUserIdentities(db: Db, userId: number): LinkedIdentityRow[] {
  return db
    .select({ id: userIdentities.id, providerId: userIdentities.providerId, providerName: identityProviders.name, sub: userIdentities.sub, emailAtLink: userIdentities.emailAtLink, linkedAt: userIdentities.linkedAt, lastUsedAt: userIdentities.lastUsedAt })
    .from(userIdentities)
    .innerJoin(identityProviders, eq(identityProviders.id, userIdentities.providerId))
    .where(eq(userIdentities.userId, userId))
    .orderBy(userIdentities.linkedAt, userIdentities.id)
    .all()
}
