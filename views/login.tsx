import { Page, type PageChrome } from './layouts/page.tsx'
import { Field, FormError } from './components/form.tsx'
import { PasskeyNeedsJs, PasskeyScripts, PasskeyStatus } from './components/passkeys.tsx'

export function LoginPage(props: { chrome: PageChrome; email?: string; error?: string; providers?: { id: number; name: string }[] }) {
  return (
    <Page title="Sign in" chrome={props.chrome} narrow>
      <h1>Sign in</h1>
      <form method="post" action="/login" class="stack">
        <FormError message={props.error} />
        <Field name="email" label="Email" type="email" value={props.email ?? ''} autocomplete="username" required autofocus={!props.email} maxlength={254} />
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
        <section aria-labelledby="providers-heading" class="stack">
          <h2 id="providers-heading">Or sign in with your institution</h2>
          <ul class="stack" role="list">
            {props.providers.map((p) => (
              <li>
                <a class="button" href={`/login/oidc/${p.id}`}>
                  Sign in with {p.name}
                </a>
              </li>
            ))}
          </ul>
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
