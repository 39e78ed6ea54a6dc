import type { IdentityProvider, User, UserIdentity } from '../db/schema.ts'
import { writeTransaction, type Db } from '../db/client.ts'
import { NO_LOCAL_PASSWORD } from '../auth/local-password.ts'
import { createAccountFromInvitation, getInvitationById, invitationStatus, type Ctx } from './invitations.ts'
import { getUserIdentity, linkUserIdentity } from './user-identities.ts'

export type ProviderAcceptOutcome =
  | { ok: true; user: User; identity: UserIdentity }
  | { ok: false; reason: 'closed' | 'email mismatch' | 'identity taken' | 'username taken' | 'email taken' }

/**
 * Accepts an invitation through an identity provider (SPEC §10 (a)), in one transaction: the
 * provider's verified `email` must equal the invitation's address; the account is created as a
 * password acceptance creates it, `claimed_via` the provider's name and without a local password,
 * and the identity is linked (audited, with a security notice). Nothing changes on a refusal.
 */
export function acceptInvitationWithIdentity(
  db: Db,
  invitationId: number,
  input: { firstName: string; lastName: string; username: string; provider: IdentityProvider; sub: string; email: string },
  ctx: Ctx & { baseUrl: string },
): ProviderAcceptOutcome {
  return writeTransaction(db, () => {
    const current = getInvitationById(db, invitationId)
    if (current === null) return { ok: false, reason: 'closed' }
    const status = invitationStatus(current, ctx.now)
    if (status !== 'sent' && status !== 'link visited') return { ok: false, reason: 'closed' }
    // ASCII case only: toLowerCase() would make "\u212Aim@…" (Kelvin sign) equal "kim@…"
    const asciiLower = (s: string) => s.replace(/[A-Z]/g, (ch) => ch.toLowerCase())
    if (asciiLower(input.email) !== asciiLower(current.email)) return { ok: false, reason: 'email mismatch' }
    if (getUserIdentity(db, input.provider.id, input.sub) !== null) return { ok: false, reason: 'identity taken' }
    const created = createAccountFromInvitation(db, current, { firstName: input.firstName, lastName: input.lastName, username: input.username, passwordHash: NO_LOCAL_PASSWORD, claimedVia: input.provider.name }, ctx)
    if (!created.ok) return created
    const identity = linkUserIdentity(db, { user: created.user, provider: input.provider, sub: input.sub, email: input.email.toLowerCase(), now: ctx.now, ip: ctx.ip ?? '', baseUrl: ctx.baseUrl, how: 'invitation' })
    return { ok: true, user: created.user, identity }
  })
}
