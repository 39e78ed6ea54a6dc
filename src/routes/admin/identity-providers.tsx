import { Hono, type Context } from 'hono'
import type { AppEnv } from '../../http/context.ts'
import { requireUser } from '../../auth/middleware.ts'
import { requirePermission } from '../../authz/middleware.ts'
import { chrome } from '../../http/page.ts'
import { redirectTo } from '../../http/htmx.ts'
import { readForm, hasErrors, idParam, type FieldErrors, type FormData } from '../../http/forms.ts'
import { setFlash } from '../../http/flash.ts'
import { notFoundPage } from '../../http/errors.tsx'
import { ConfirmPage } from '../../../views/components/confirm.tsx'
import { IdentityProviderPage, IdentityProvidersPage, NewIdentityProviderPage, idpFormValuesOf, type IdpFormValues } from '../../../views/admin/identity-providers.tsx'
import type { IdentityProvider } from '../../db/schema.ts'
import {
  DEFAULT_IDP_SCOPES,
  checkIdentityProviderFields,
  countLinkedIdentities,
  createIdentityProvider,
  deleteIdentityProvider,
  getIdentityProviderById,
  getIdentityProviderByName,
  listIdentityProvidersWithCounts,
  oidcRedirectUri,
  setIdentityProviderEnabled,
  updateIdentityProvider,
  type IdpCtx,
} from '../../models/identity-providers.ts'

export const adminIdentityProviders = new Hono<AppEnv>()

const guard = [requireUser, requirePermission('identity_providers.manage')] as const

function ctxOf(c: Context<AppEnv>): IdpCtx {
  const actor = c.get('actor')
  return { actor: { id: actor.id, email: actor.email }, now: c.get('deps').clock.now(), ip: c.get('clientIp') }
}

const redirectUri = (c: Context<AppEnv>) => oidcRedirectUri(c.get('deps').config.baseUrl)

/** The posted fields (checkboxes: present = on); the secret is kept apart so it is never shown again. */
function readProviderForm(form: FormData) {
  const values: IdpFormValues = {
    name: form.get('name'),
    issuer: form.get('issuer'),
    client_id: form.get('client_id'),
    scopes: form.get('scopes'),
    domains: form.get('domains'),
    trust_mfa: form.get('trust_mfa') !== '',
    auto_link: form.get('auto_link') !== '',
    enabled: form.get('enabled') !== '',
  }
  return { values, secret: form.get('client_secret') }
}

/** The name error when another provider has this name (case-insensitively). */
function nameTaken(c: Context<AppEnv>, name: string, self: number | null): string | undefined {
  const other = getIdentityProviderByName(c.get('deps').db, name)
  return other && other.id !== self ? 'A provider with this name exists already.' : undefined
}

adminIdentityProviders.get('/admin/identity-providers', ...guard, (c) =>
  c.html(<IdentityProvidersPage chrome={chrome(c)} providers={listIdentityProvidersWithCounts(c.get('deps').db)} redirectUri={redirectUri(c)} />),
)

adminIdentityProviders.get('/admin/identity-providers/new', ...guard, (c) => {
  const values: IdpFormValues = { name: '', issuer: '', client_id: '', scopes: DEFAULT_IDP_SCOPES, domains: '', trust_mfa: false, auto_link: false, enabled: true }
  return c.html(<NewIdentityProviderPage chrome={chrome(c)} values={values} errors={{}} redirectUri={redirectUri(c)} />)
})

adminIdentityProviders.post('/admin/identity-providers', ...guard, async (c) => {
  const { db, config } = c.get('deps')
  const { values, secret } = readProviderForm(await readForm(c))
  const { errors, input } = checkIdentityProviderFields({ ...values, client_secret: secret }, 'create')
  const allErrors: FieldErrors = { ...errors, name: errors.name ?? nameTaken(c, input.name, null) }
  if (hasErrors(allErrors) || input.clientSecret === null) {
    return c.html(<NewIdentityProviderPage chrome={chrome(c)} values={values} errors={allErrors} redirectUri={redirectUri(c)} />, 422)
  }
  const provider = createIdentityProvider(db, config.encryptionKey, { ...input, clientSecret: input.clientSecret }, ctxOf(c))
  setFlash(c, 'success', `${provider.name} added. Register the redirect URI shown below at the provider.`)
  return redirectTo(c, `/admin/identity-providers/${provider.id}`)
})

function loadProvider(c: Context<AppEnv>): IdentityProvider | null {
  const id = idParam(c.req.param('id'))
  return id === null ? null : getIdentityProviderById(c.get('deps').db, id)
}

function providerPage(c: Context<AppEnv>, provider: IdentityProvider, options: { values?: IdpFormValues; errors?: FieldErrors; notice?: string } = {}, status: 200 | 409 | 422 = 200) {
  return c.html(
    <IdentityProviderPage
      chrome={chrome(c)}
      provider={provider}
      linkedIdentities={countLinkedIdentities(c.get('deps').db, provider.id)}
      redirectUri={redirectUri(c)}
      values={options.values ?? idpFormValuesOf(provider)}
      errors={options.errors ?? {}}
      notice={options.notice}
    />,
    status,
  )
}

adminIdentityProviders.get('/admin/identity-providers/:id', ...guard, (c) => {
  const provider = loadProvider(c)
  return provider ? providerPage(c, provider) : notFoundPage(c)
})

/** Saves every field; a blank secret keeps the stored one. */
adminIdentityProviders.post('/admin/identity-providers/:id', ...guard, async (c) => {
  const provider = loadProvider(c)
  if (!provider) return notFoundPage(c)
  const { db, config } = c.get('deps')
  const { values, secret } = readProviderForm(await readForm(c))
  const { errors, input } = checkIdentityProviderFields({ ...values, client_secret: secret }, 'edit')
  const linked = countLinkedIdentities(db, provider.id)
  const allErrors: FieldErrors = {
    ...errors,
    name: errors.name ?? nameTaken(c, input.name, provider.id),
    // Note: a `sub` is unique only within its issuer, so linked identities never move to another issuer.
    // Note: the stored secret was issued by the old issuer; kept, it would be sent to the new one's token endpoint
    client_secret: errors.client_secret ?? (input.clientSecret === null && input.issuer !== provider.issuer ? 'Enter the client secret again: the stored one is never sent to a changed issuer.' : undefined),
    issuer: errors.issuer ?? (linked > 0 && input.issuer !== provider.issuer ? `${linked === 1 ? 'One identity is' : `${linked} identities are`} linked through this issuer, so it cannot change; add a new provider instead.` : undefined),
  }
  if (hasErrors(allErrors)) return providerPage(c, provider, { values, errors: allErrors }, 422)
  updateIdentityProvider(db, config.encryptionKey, provider, input, ctxOf(c))
  setFlash(c, 'success', input.clientSecret === null ? 'Provider saved; the client secret is unchanged.' : 'Provider saved with the new client secret.')
  return redirectTo(c, `/admin/identity-providers/${provider.id}`)
})

adminIdentityProviders.post('/admin/identity-providers/:id/disable', ...guard, async (c) => {
  const provider = loadProvider(c)
  if (!provider) return notFoundPage(c)
  if (!provider.enabled) return providerPage(c, provider, { notice: 'The provider is disabled already.' }, 409)
  if ((await readForm(c)).get('confirm') !== 'yes') {
    return c.html(
      <ConfirmPage
        chrome={chrome(c)}
        title={`Disable ${provider.name}?`}
        question="It leaves the sign-in page and nobody can sign in with it until it is enabled again; people with a password or passkey can still use those. Linked identities are kept."
        button="Disable provider"
        action={c.req.path}
        cancel={`/admin/identity-providers/${provider.id}`}
      />,
    )
  }
  if (setIdentityProviderEnabled(c.get('deps').db, provider, false, ctxOf(c)) === 'conflict') return providerPage(c, provider, { notice: 'The provider is disabled already.' }, 409)
  setFlash(c, 'success', `${provider.name} disabled.`)
  return redirectTo(c, `/admin/identity-providers/${provider.id}`)
})

adminIdentityProviders.post('/admin/identity-providers/:id/enable', ...guard, (c) => {
  const provider = loadProvider(c)
  if (!provider) return notFoundPage(c)
  const enabled = setIdentityProviderEnabled(c.get('deps').db, provider, true, ctxOf(c))
  if (enabled === 'conflict') return providerPage(c, provider, { notice: 'The provider is enabled already.' }, 409)
  setFlash(c, 'success', `${provider.name} enabled.`)
  return redirectTo(c, `/admin/identity-providers/${provider.id}`)
})

/** Only a provider without linked identities: deleting one would orphan accounts' sign-in (409 otherwise). */
adminIdentityProviders.post('/admin/identity-providers/:id/delete', ...guard, async (c) => {
  const provider = loadProvider(c)
  if (!provider) return notFoundPage(c)
  const { db } = c.get('deps')
  const refuse = (n: number) => providerPage(c, provider, { notice: `${n === 1 ? 'One identity is' : `${n} identities are`} linked through ${provider.name}: it cannot be deleted, only disabled.` }, 409)
  const linked = countLinkedIdentities(db, provider.id)
  if (linked > 0) return refuse(linked)
  if ((await readForm(c)).get('confirm') !== 'yes') {
    return c.html(
      <ConfirmPage
        chrome={chrome(c)}
        title={`Delete ${provider.name}?`}
        question="Its configuration, including the stored client secret, is removed. This cannot be undone; add it again to use it later."
        button="Delete provider"
        action={c.req.path}
        cancel={`/admin/identity-providers/${provider.id}`}
      />,
    )
  }
  const result = deleteIdentityProvider(db, provider, ctxOf(c))
  if (!result.deleted) return result.linkedIdentities > 0 ? refuse(result.linkedIdentities) : notFoundPage(c)
  setFlash(c, 'success', `${provider.name} deleted.`)
  return redirectTo(c, '/admin/identity-providers')
})
