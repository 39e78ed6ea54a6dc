import { Hono } from 'hono'
import type { AppEnv } from '../http/context.ts'
import { requireUser } from '../auth/middleware.ts'
import { chrome } from '../http/page.ts'
import { idParam, readForm } from '../http/forms.ts'
import { setFlash } from '../http/flash.ts'
import { notFoundPage, renderErrorPage } from '../http/errors.tsx'
import { ConfirmPage } from '../../views/components/confirm.tsx'
import { getUserIdentityForUser, ONLY_WAY_IN, unlinkUserIdentity } from '../models/user-identities.ts'

// The signed-in user unlinks one of their own provider identities (SPEC §10, §11). Another user's
// identity id is a 404. The current session stays even when it was signed in through that provider.

export const accountIdentities = new Hono<AppEnv>()

accountIdentities.post('/account/identities/:id/unlink', requireUser, async (c) => {
  const { db, clock, config } = c.get('deps')
  const actor = c.get('actor')
  const identityId = idParam(c.req.param('id'))
  const identity = identityId === null ? null : getUserIdentityForUser(db, identityId, actor.id)
  if (!identity) return notFoundPage(c)
  const form = await readForm(c)
  if (form.get('confirm') !== 'yes') {
    return c.html(
      <ConfirmPage
        chrome={chrome(c)}
        title={`Unlink ${identity.providerName}?`}
        question={`You will no longer be able to sign in with your ${identity.providerName} identity${identity.emailAtLink ? ` (${identity.emailAtLink})` : ''}; other browsers signed in through it are signed out. You can link it again later from your account page.`}
        button="Unlink identity"
        action={`/account/identities/${identity.id}/unlink`}
        cancel="/account"
      />,
    )
  }
  const result = unlinkUserIdentity(db, { identityId: identity.id, userId: actor.id }, { actor: { id: actor.id, email: actor.email }, now: clock.now(), ip: c.get('clientIp'), baseUrl: config.baseUrl, keepSessionId: c.get('auth')!.session.id })
  if (!result.ok) return result.reason === 'not_found' ? notFoundPage(c) : renderErrorPage(c, 409, 'This identity cannot be unlinked', `${ONLY_WAY_IN} Set a password first (or link another provider), then unlink it.`)
  c.get('deps').onEmailQueued?.()
  setFlash(c, 'success', `${identity.providerName} is no longer linked to your account.`)
  return c.redirect('/account', 303)
})
