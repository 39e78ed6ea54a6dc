import { Page, type PageChrome } from '../layouts/page.tsx'
import { Card, Field } from '../components/form.tsx'
import { DateTime } from '../components/time.tsx'
import { TableScroll } from '../components/table-scroll.tsx'
import type { IdentityProvider } from '../../src/db/schema.ts'
import type { FieldErrors } from '../../src/http/forms.ts'
import type { IdentityProviderRow } from '../../src/models/identity-providers.ts'

/** The form's values as shown again: text fields as typed (never the secret), checkboxes as booleans. */
export type IdpFormValues = { name: string; issuer: string; client_id: string; scopes: string; domains: string; trust_mfa: boolean; auto_link: boolean; enabled: boolean }

export function idpFormValuesOf(p: IdentityProvider): IdpFormValues {
  return { name: p.name, issuer: p.issuer, client_id: p.clientId, scopes: p.scopes, domains: p.domains, trust_mfa: p.trustMfa, auto_link: p.autoLink, enabled: p.enabled }
}

function Enabled(props: { enabled: boolean }) {
  return props.enabled ? <>enabled</> : <span class="badge">disabled</span>
}

export function IdentityProvidersPage(props: { chrome: PageChrome; providers: IdentityProviderRow[]; redirectUri: string }) {
  return (
    <Page title="Identity providers" chrome={props.chrome}>
      <p>
        <a href="/admin">← Admin</a>
      </p>
      <h1>Identity providers</h1>
      <p>
        OpenID Connect providers (Entra ID, Okta, Keycloak, CILogon, ORCID …) people can sign in with. Register Gatehouse at the provider with the redirect URI{' '}
        <code>{props.redirectUri}</code>. A provider with linked identities cannot be deleted, only disabled.
      </p>
      <p>
        <a href="/admin/identity-providers/new">Add a provider</a>
      </p>
      <TableScroll label="Identity providers">
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Issuer</th>
              <th scope="col">Status</th>
              <th scope="col">Linked identities</th>
              <th scope="col">Domains</th>
            </tr>
          </thead>
          <tbody>
            {props.providers.map((p) => (
              <tr>
                <td>
                  <a href={`/admin/identity-providers/${p.id}`}>{p.name}</a>
                </td>
                <td>
                  <code>{p.issuer}</code>
                </td>
                <td>
                  <Enabled enabled={p.enabled} />
                </td>
                <td>{p.linkedIdentities}</td>
                <td>{p.domains === '' ? '—' : p.domains.split(' ').join(', ')}</td>
              </tr>
            ))}
            {props.providers.length === 0 && (
              <tr>
                <td colspan={5}>No identity providers yet: everyone signs in with a password.</td>
              </tr>
            )}
          </tbody>
        </table>
      </TableScroll>
    </Page>
  )
}

function Check(props: { name: string; checked: boolean; label: string; hint: string }) {
  return (
    <div class="field">
      <label class="check">
        <input type="checkbox" name={props.name} checked={props.checked} aria-describedby={`f-${props.name}-hint`} /> {props.label}
      </label>
      <small id={`f-${props.name}-hint`} class="hint">
        {props.hint}
      </small>
    </div>
  )
}

/** The create and edit form; `mode` decides whether a blank secret keeps the stored one. */
function ProviderForm(props: { action: string; mode: 'create' | 'edit'; values: IdpFormValues; errors: FieldErrors; button: string }) {
  const { values, errors } = props
  return (
    <form method="post" action={props.action} class="stack">
      <Field name="name" label="Name" value={values.name} required maxlength={120} error={errors.name} autocomplete="off" hint="Shown on the sign-in button; the import's idp_name and fallback_idp refer to it." />
      <Field
        name="issuer"
        label="Issuer URL"
        type="url"
        value={values.issuer}
        required
        maxlength={500}
        error={errors.issuer}
        autocomplete="off"
        hint="Exactly as the provider's discovery document states it (https; http only for localhost, 127.0.0.0/8 and ::1)."
      />
      <Field name="client_id" label="Client ID" value={values.client_id} required maxlength={255} error={errors.client_id} autocomplete="off" />
      <Field
        name="client_secret"
        label="Client secret"
        type="password"
        value=""
        required={props.mode === 'create'}
        maxlength={2000}
        error={errors.client_secret}
        autocomplete="off"
        hint={
          props.mode === 'create'
            ? 'Stored encrypted and never shown again.'
            : 'Leave blank to keep the current secret. It is stored encrypted and never shown again.'
        }
      />
      <Field name="scopes" label="Scopes" value={values.scopes} maxlength={500} error={errors.scopes} autocomplete="off" hint="Separated by spaces; must include openid. Blank means “openid email profile”." />
      <Field
        name="domains"
        label="Email domains (optional)"
        value={values.domains}
        maxlength={2000}
        error={errors.domains}
        autocomplete="off"
        hint="Separated by commas or spaces, e.g. “example.ac.uk, nhs.net”: the sign-in page suggests this provider for these addresses."
      />
      <Check name="trust_mfa" checked={values.trust_mfa} label="Trust the provider's second factor" hint="When the ID token's amr shows a second factor (mfa, otp, hwk, swk, sms, fpt, face), Gatehouse does not ask for its own." />
      <Check name="auto_link" checked={values.auto_link} label="Link automatically on first sign-in" hint="A verified email (email_verified) equal to an account's address links the identity to that account." />
      <Check name="enabled" checked={values.enabled} label="Enabled" hint="Offered on the sign-in page; a disabled provider signs nobody in." />
      <button type="submit">{props.button}</button>
    </form>
  )
}

export function NewIdentityProviderPage(props: { chrome: PageChrome; values: IdpFormValues; errors: FieldErrors; redirectUri: string }) {
  return (
    <Page title="Add an identity provider" chrome={props.chrome}>
      <p>
        <a href="/admin/identity-providers">← Identity providers</a>
      </p>
      <h1>Add an identity provider</h1>
      <p>
        At the provider, register a confidential web client with the redirect URI <code>{props.redirectUri}</code>, then enter what it issued.
      </p>
      <Card>
        <ProviderForm action="/admin/identity-providers" mode="create" values={props.values} errors={props.errors} button="Add provider" />
      </Card>
    </Page>
  )
}

export function IdentityProviderPage(props: {
  chrome: PageChrome
  provider: IdentityProvider
  linkedIdentities: number
  redirectUri: string
  values: IdpFormValues
  errors: FieldErrors
  notice?: string
}) {
  const p = props.provider
  return (
    <Page title={p.name} chrome={props.chrome}>
      <p>
        <a href="/admin/identity-providers">← Identity providers</a>
      </p>
      <h1>
        {p.name}
        {!p.enabled && (
          <>
            {' '}
            <span class="badge">disabled</span>
          </>
        )}
      </h1>
      {props.notice && (
        <p class="error" role="alert">
          {props.notice}
        </p>
      )}
      <dl class="facts">
        <dt>Redirect URI (register it at the provider)</dt>
        <dd>
          <code id="redirect-uri">{props.redirectUri}</code>
        </dd>
        <dt>Scopes requested</dt>
        <dd>
          <code id="scopes">{p.scopes}</code>
        </dd>
        <dt>Status</dt>
        <dd>{p.enabled ? 'Enabled' : 'Disabled: nobody signs in with it'}</dd>
        <dt>Linked identities</dt>
        <dd>{props.linkedIdentities}</dd>
        <dt>Added</dt>
        <dd>
          <DateTime ms={p.createdAt} />
        </dd>
        <dt>Last changed</dt>
        <dd>
          <DateTime ms={p.updatedAt} />
        </dd>
      </dl>
      <Card title="Edit">
        <ProviderForm action={`/admin/identity-providers/${p.id}`} mode="edit" values={props.values} errors={props.errors} button="Save" />
      </Card>
      <Card title={p.enabled ? 'Disable' : 'Enable'}>
        {p.enabled ? (
          <>
            <p>Disabling removes the provider from the sign-in page and refuses its sign-ins; linked identities are kept and work again once it is enabled.</p>
            <form method="post" action={`/admin/identity-providers/${p.id}/disable`}>
              <button type="submit" class="caution">
                Disable provider…
              </button>
            </form>
          </>
        ) : (
          <form method="post" action={`/admin/identity-providers/${p.id}/enable`}>
            <button type="submit">Enable provider</button>
          </form>
        )}
      </Card>
      <Card title="Delete">
        {props.linkedIdentities > 0 ? (
          <p>
            {props.linkedIdentities === 1 ? 'One identity is' : `${props.linkedIdentities} identities are`} linked through this provider, so it cannot be deleted; disable it instead.
          </p>
        ) : (
          <>
            <p>No identity is linked through this provider; deleting removes its configuration.</p>
            <form method="post" action={`/admin/identity-providers/${p.id}/delete`}>
              <button type="submit" class="danger">
                Delete provider…
              </button>
            </form>
          </>
        )}
      </Card>
    </Page>
  )
}
