import { Hono } from 'hono'
import type { AppEnv } from '../http/context.ts'
import { requireUser } from '../auth/middleware.ts'
import { readForm } from '../http/forms.ts'
import { limitByIp } from '../http/ip-limit.ts'
import { renderErrorPage } from '../http/errors.tsx'
import { getIdentityProviderById } from '../models/identity-providers.ts'
import { hasIdentityAtProvider } from '../models/user-identities.ts'
import { safeReturnTo } from '../auth/oidc.ts'
import { startOidcFlow } from './oidc-flow.tsx'

// POST /account/identities/link (`provider_id`): links a provider identity to the signed-in
// account (SPEC §10 (b)). The attempt is bound to this session; the callback links it
// (routes/oidc-claims.tsx finishLinkWithProvider).

export const accountIdentityLink = new Hono<AppEnv>()

accountIdentityLink.post('/account/identities/link', requireUser, async (c) => {
  const limited = limitByIp(c)
  if (limited) return limited
  const { db } = c.get('deps')
  const auth = c.get('auth')!
  const form = await readForm(c)
  const providerId = Number(form.get('provider_id'))
  const provider = Number.isInteger(providerId) && providerId > 0 ? getIdentityProviderById(db, providerId) : null
  if (provider === null || !provider.enabled) return renderErrorPage(c, 404, 'Not found', 'This identity provider is not offered.')
  if (hasIdentityAtProvider(db, auth.user.id, provider.id)) return renderErrorPage(c, 409, `${provider.name} is already linked`, `Your account is already linked to a ${provider.name} identity. Unlink it first if you want to link another one.`)
  return startOidcFlow(c, provider, { returnTo: safeReturnTo(form.get('return_to') || '/account'), fromForm: true, purpose: { kind: 'link', userId: auth.user.id, sessionId: auth.session.id } })
})
