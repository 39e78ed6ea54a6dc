import { and, count, eq, gt } from 'drizzle-orm'
import { auditEvents, identityProviders, userIdentities, type User } from '../db/schema.ts'
import { writeTransaction, type Db } from '../db/client.ts'
import { recordAuditEvent } from './audit.ts'
import { enqueueEmail } from '../mail/outbox.ts'
import { providerSignInReminderEmail } from '../../views/emails/provider-sign-in.tsx'
import { SEND_WINDOW_MS, SENDS_PER_HOUR } from '../auth/send-limits.ts'

// Accounts without a local password (claimed through an identity provider): what "forgot password" does for them.

export const PROVIDER_REMINDER_EVENT = 'password.provider_reminder_sent'

/** The names of the providers the account signs in with: its linked identities, else the provider it was claimed via. */
export function signInProviderNames(db: Db, user: User): string[] {
  const linked = db
    .selectDistinct({ name: identityProviders.name })
    .from(userIdentities)
    .innerJoin(identityProviders, eq(identityProviders.id, userIdentities.providerId))
    .where(eq(userIdentities.userId, user.id))
    .orderBy(identityProviders.name)
    .all()
    .map((r) => r.name)
  if (linked.length > 0) return linked
  return user.claimedVia !== 'local' ? [user.claimedVia] : []
}

/**
 * Emails the account which provider(s) it signs in with, instead of a reset link: at most
 * SENDS_PER_HOUR per account per hour (counted inside the transaction, like reset emails);
 * false when the limit held it back (audited as password.reset_throttled).
 */
export function sendProviderSignInReminder(db: Db, user: User, ctx: { now: number; ip: string; baseUrl: string }): boolean {
  return writeTransaction(db, () => {
    const sent = db
      .select({ n: count() })
      .from(auditEvents)
      .where(and(eq(auditEvents.event, PROVIDER_REMINDER_EVENT), eq(auditEvents.targetType, 'user'), eq(auditEvents.targetId, String(user.id)), gt(auditEvents.at, ctx.now - SEND_WINDOW_MS)))
      .get()!.n
    if (sent >= SENDS_PER_HOUR) {
      recordAuditEvent(db, { event: 'password.reset_throttled', at: ctx.now, targetType: 'user', targetId: user.id, ip: ctx.ip, details: { per_hour: SENDS_PER_HOUR, no_local_password: true } })
      return false
    }
    const providers = signInProviderNames(db, user)
    enqueueEmail(db, providerSignInReminderEmail({ to: user.email, providers: providers.length > 0 ? providers : ['your identity provider'], loginUrl: `${ctx.baseUrl}/login` }), ctx.now)
    recordAuditEvent(db, { event: PROVIDER_REMINDER_EVENT, at: ctx.now, targetType: 'user', targetId: user.id, ip: ctx.ip, details: { providers } })
    return true
  })
}
