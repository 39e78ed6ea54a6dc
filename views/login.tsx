import { Page, type PageChrome } from './layouts/page.tsx'
import { Field, FormError } from './components/form.tsx'
import { PasskeyNeedsJs, PasskeyScripts, PasskeyStatus } from './components/passkeys.tsx'

export type LoginProvider = { id: number; name: string; domains?: string }

/**
 * One button per enabled provider; `suggestedId` marks the one whose `domains` serve the typed
 * address (the htmx fragment of GET /login/providers swaps this list while the email is typed).
 */
export function ProviderButtons(props: { providers: LoginProvider[]; suggestedId?: number | null; domain?: string }) {
  return (
    <ul id="provider-buttons" class="stack" role="list">
      {props.providers.map((p) => {
        const suggested = p.id === props.suggestedId
        return (
          <li>
            <a class={suggested ? 'button suggested' : 'button'} href={`/login/oidc/${p.id}`} data-suggested={suggested ? 'true' : undefined} aria-describedby={suggested ? `provider-hint-${p.id}` : undefined}>
              Sign in with {p.name}
            </a>
            {suggested && (
              <small id={`provider-hint-${p.id}`} class="hint">
                Suggested: {p.name} signs in addresses at {props.domain}.
              </small>
            )}
          </li>
        )
      })}
    </ul>
  )
}

/** The email field asks for the suggestion only when some provider serves domains. */
function suggestionAttributes(providers: LoginProvider[] | undefined): Record<string, string> | undefined {
  if (!providers || !providers.some((p) => p.domains)) return undefined
  return { 'hx-get': '/login/providers', 'hx-trigger': 'input changed delay:300ms, change', 'hx-target': '#provider-buttons', 'hx-swap': 'outerHTML' }
}

export function LoginPage(props: { chrome: PageChrome; email?: string; error?: string; providers?: LoginProvider[] }) {
  return (
    <Page title="Sign in" chrome={props.chrome} narrow>
      <h1>Sign in</h1>
      <form method="post" action="/login" class="stack">
        <FormError message={props.error} />
        <Field name="email" label="Email" type="email" value={props.email ?? ''} autocomplete="username" required autofocus={!props.email} maxlength={254} attributes={suggestionAttributes(props.providers)} />
        <Field name="password" label="Password" type="password" autocomplete="current-password" required autofocus={!!props.email} maxlength={256} />
        <button type="submit">Continue</button>
      </form>
      <p>
        <a href="/password/forgot">Forgot your password?</a>
      </p>
      <section aria-labelledby="passkey-heading" class="stack">
        <h2 id="passkey-heading">Or use a passkey</h2>
        <p>A passkey that verifies you (fingerprint, face or PIN) signs you in without your password and authenticator code.</p>
        <button type="button" hidden data-passkey="sign-in" data-passkey-button data-status="passkey-sign-in-status">
          Sign in with a passkey
        </button>
        <PasskeyNeedsJs alternative="Sign in with your password and authenticator code instead." />
        <PasskeyStatus id="passkey-sign-in-status" />
        <PasskeyScripts />
      </section>
      {props.providers && props.providers.length > 0 && (
        <section aria-labelledby="providers-heading" class="stack providers">
          <h2 id="providers-heading">Or sign in with your institution</h2>
          <div aria-live="polite">
            <ProviderButtons providers={props.providers} />
          </div>
        </section>
      )}
    </Page>
  )
}

export function LoginMfaPage(props: { chrome: PageChrome; error?: string; recoveryError?: string; hasPasskeys?: boolean }) {
  return (
    <Page title="Authenticator code" chrome={props.chrome} narrow>
      <h1>Authenticator code</h1>
      <p>Open your authenticator app and enter the 6-digit code it shows for Gatehouse.</p>
      <form method="post" action="/login/mfa" class="stack">
        <Field name="code" label="6-digit code" inputmode="numeric" autocomplete="one-time-code" required autofocus maxlength={7} pattern="[0-9 ]{6,7}" error={props.error} />
        <button type="submit">Verify</button>
      </form>
      {props.hasPasskeys && (
        <section aria-labelledby="passkey-heading" class="stack">
          <h2 id="passkey-heading">Or use a passkey</h2>
          <button type="button" hidden data-passkey="second-factor" data-passkey-button data-status="passkey-mfa-status">
            Use a passkey
          </button>
          <PasskeyNeedsJs alternative="Enter the code from your authenticator app instead." />
          <PasskeyStatus id="passkey-mfa-status" />
          <PasskeyScripts />
        </section>
      )}
      <details open={props.recoveryError !== undefined}>
        <summary>Use a recovery code</summary>
        <form method="post" action="/login/mfa" class="stack">
          <Field name="recovery_code" label="Recovery code" autocomplete="off" required maxlength={20} error={props.recoveryError} hint="One of the codes you saved when you set up your authenticator, like 7K3QD-9XW2M. Each code works once." />
          <button type="submit">Sign in with recovery code</button>
        </form>
      </details>
      <form method="post" action="/logout">
        <button type="submit" class="link">
          Cancel and sign out
        </button>
      </form>
    </Page>
  )
}
