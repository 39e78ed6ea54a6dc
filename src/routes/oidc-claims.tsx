import type { Context } from 'hono'
import type * as client from 'openid-client'
import type { AppEnv } from '../http/context.ts'
import { chrome } from '../http/page.ts'
import { setFlash } from '../http/flash.ts'
import { renderErrorPage } from '../http/errors.tsx'
import { InviteDeadEndPage } from '../../views/invite.tsx'
import { getInvitationById, invitationStatus, invitationToken } from '../models/invitations.ts'
import { acceptInvitationWithIdentity } from '../models/invitation-identity.ts'
import { getUserIdentity, hasIdentityAtProvider, linkUserIdentity } from '../models/user-identities.ts'
import { recordAuditEvent } from '../models/audit.ts'
import type { OidcPurpose } from '../auth/oidc.ts'
import { continueProviderSignIn } from './oidc-flow.tsx'
import type { IdentityProvider } from '../db/schema.ts'

// The two callback ends that are not a plain sign-in: accepting an invitation with a provider,
// and linking a provider identity to the signed-in account (SPEC §10 (a) and (b)).

type Claimed = { provider: IdentityProvider; sub: string; email: string | null }

/** "Accept with <provider>": the account exists after this, or nothing was created and the page says why. */
export function finishInvitationWithProvider(c: Context<AppEnv>, input: Claimed & { purpose: Extract<OidcPurpose, { kind: 'invite' }>; claims: client.IDToken }) {
  const { db, clock, config } = c.get('deps')
  const { provider, purpose } = input
  const now = clock.now()
  const ip = c.get('clientIp')
  const invitation = getInvitationById(db, purpose.invitationId)
  const open = invitation !== null && ['sent', 'link visited'].includes(invitationStatus(invitation, now))
  const restartUrl = invitation !== null && open ? `/invite/${invitationToken(config.encryptionKey, invitation.tokenSalt)}` : undefined
  const refuse = (reason: string, status: 403 | 409 | 410, title: string, message: string) => {
    recordAuditEvent(db, { event: 'invitation.provider_refused', at: now, targetType: 'invitation', targetId: purpose.invitationId, ip, details: { provider: provider.name, reason, sub: input.sub } })
    return c.html(<InviteDeadEndPage chrome={chrome(c)} title={title} message={message} {...(restartUrl ? { restartUrl } : {})} />, status)
  }
  if (invitation === null || !open) return refuse('invitation closed', 410, 'This invitation can no longer be used', 'It was accepted, withdrawn or has expired meanwhile. Sign in, or ask your Gatehouse administrator for a new invitation.')
  if (input.email === null) {
    return refuse('email not verified', 403, `${provider.name} did not confirm your email address`, `To accept the invitation with ${provider.name}, ${provider.name} must confirm that ${invitation.email} is yours, and it did not send a verified address. No account was created. Accept the invitation with a password instead, or ask your administrator.`)
  }
  if (input.email !== invitation.email.toLowerCase()) {
    return refuse('email mismatch', 403, 'This is not the invited address', `${provider.name} signed you in as ${input.email}, but the invitation is for ${invitation.email}. No account was created. Sign in at ${provider.name} with the invited address, or accept the invitation with a password.`)
  }
  const outcome = acceptInvitationWithIdentity(db, invitation.id, { firstName: purpose.firstName, lastName: purpose.lastName, username: purpose.username, provider, sub: input.sub, email: input.email }, { actor: null, now, ip, baseUrl: config.baseUrl })
  if (!outcome.ok) {
    switch (outcome.reason) {
      case 'closed':
        return refuse('invitation closed', 410, 'This invitation has already been used', 'The invitation was accepted or withdrawn meanwhile. Sign in, or ask your Gatehouse administrator for a new invitation.')
      case 'email mismatch':
        return refuse('email mismatch', 403, 'This is not the invited address', `${provider.name} signed you in with another address than the invited one. No account was created.`)
      case 'identity taken':
        return refuse('identity taken', 409, `This ${provider.name} identity is already in use`, `Your ${provider.name} identity is already linked to another Gatehouse account, so it cannot claim this invitation. No account was created. Accept the invitation with a password, or ask your administrator.`)
      case 'username taken':
        return refuse('username taken', 409, 'That username was taken meanwhile', 'Someone else took the username you chose. Open the invitation link again and choose another.')
      case 'email taken':
        return refuse('email taken', 409, 'An account with this address exists already', 'Someone created an account for this email address after the invitation was sent. Sign in with it instead.')
    }
  }
  c.get('deps').onEmailQueued?.()
  return continueProviderSignIn(c, { user: outcome.user, provider, amr: input.claims.amr, identityId: outcome.identity.id, returnTo: '/' })
}

/** "Link <provider>" from the account: only for the very session that started it. */
export function finishLinkWithProvider(c: Context<AppEnv>, input: Claimed & { purpose: Extract<OidcPurpose, { kind: 'link' }>; returnTo: string }) {
  const { db, clock, config } = c.get('deps')
  const { provider, purpose } = input
  const now = clock.now()
  const ip = c.get('clientIp')
  const auth = c.get('auth')
  const refuse = (reason: string, status: 403 | 409, title: string, message: string) => {
    recordAuditEvent(db, { event: 'identity.link_refused', at: now, actor: auth ? { id: auth.user.id, email: auth.user.email } : null, targetType: 'user', targetId: purpose.userId, ip, details: { provider: provider.name, reason, sub: input.sub } })
    return renderErrorPage(c, status, title, message)
  }
  if (!auth || auth.session.id !== purpose.sessionId || auth.user.id !== purpose.userId || !auth.session.mfaVerified || auth.user.disabledAt !== null) {
    return refuse('session changed', 403, 'Linking did not complete', `You signed out, or signed in again, while ${provider.name} was asked. Nothing was linked. Sign in and start linking again from your account page.`)
  }
  const existing = getUserIdentity(db, provider.id, input.sub)
  if (existing !== null && existing.userId === auth.user.id) {
    return refuse('already linked here', 409, `This ${provider.name} identity is already linked`, `This ${provider.name} identity is already linked to your account; nothing changed.`)
  }
  if (existing !== null) {
    return refuse('linked to another account', 409, `This ${provider.name} identity belongs to another account`, `This ${provider.name} identity is already linked to another Gatehouse account, so it cannot be linked to yours. Nothing was linked. Ask your administrator if this is wrong.`)
  }
  if (hasIdentityAtProvider(db, auth.user.id, provider.id)) {
    return refuse('provider already linked', 409, `Your account already has a ${provider.name} identity`, `Your account is already linked to another ${provider.name} identity. Unlink it first if you want to use this one.`)
  }
  try {
    linkUserIdentity(db, { user: auth.user, provider, sub: input.sub, email: input.email ?? '', now, ip, baseUrl: config.baseUrl, how: 'account' })
  } catch (error) {
    // a parallel link of the same identity won the unique (provider, sub) index
    if (error instanceof Error && /UNIQUE constraint failed/.test(error.message)) {
      return refuse('linked to another account', 409, `This ${provider.name} identity is already linked`, `This ${provider.name} identity was linked meanwhile. Nothing changed.`)
    }
    throw error
  }
  c.get('deps').onEmailQueued?.()
  setFlash(c, 'success', `${provider.name} is now linked to your account: you can sign in with it.`)
  return c.redirect(input.returnTo, 303)
}
