import { Page, type PageChrome } from './layouts/page.tsx'
import { Field, FormError } from './components/form.tsx'
import type { FieldErrors } from '../src/http/forms.ts'

export function PasswordChangePage(props: { chrome: PageChrome; reason: 'temporary' | 'expired' | 'voluntary'; email: string; errors?: FieldErrors; minLength: number }) {
  const errors = props.errors ?? {}
  return (
    <Page title="Change your password" chrome={props.chrome} narrow>
      <h1>Change your password</h1>
      {props.reason === 'temporary' && <p>You signed in with a temporary password. Choose your own password to continue.</p>}
      {props.reason === 'expired' && <p>Your password has expired. Choose a new one to continue.</p>}
      <form method="post" action="/password/change" class="stack">
        <FormError message={errors.form} />
        <input type="text" name="username" value={props.email} autocomplete="username" hidden aria-hidden="true" readonly />
        <Field name="current_password" label="Current password" type="password" autocomplete="current-password" required error={errors.current_password} maxlength={256} />
        <NewPasswordFields errors={errors} minLength={props.minLength} />
        <button type="submit">Change password</button>
      </form>
    </Page>
  )
}

/** /password/change for an account claimed through an identity provider: nothing to change here. */
export function NoLocalPasswordPage(props: { chrome: PageChrome; providers: string[] }) {
  const names = props.providers.length > 0 ? props.providers.join(', ') : 'your identity provider'
  return (
    <Page title="No Gatehouse password" chrome={props.chrome} narrow>
      <h1>Your account has no Gatehouse password</h1>
      <p>
        You sign in with <strong>{names}</strong>, so there is no password to change here. To change the password you use there, go to {names}. Your Gatehouse second factor stays as it is.
      </p>
      <p>
        <a href="/">Back to your account</a>
      </p>
    </Page>
  )
}

export function NewPasswordFields(props: { errors: FieldErrors; minLength: number }) {
  return (
    <>
      <Field name="new_password" label="New password" type="password" autocomplete="new-password" required minlength={props.minLength} maxlength={256} error={props.errors.new_password} hint={`At least ${props.minLength} characters. A passphrase of a few unrelated words works well; common passwords are refused.`} />
      <Field name="confirm_password" label="Repeat the new password" type="password" autocomplete="new-password" required maxlength={256} error={props.errors.confirm_password} />
    </>
  )
}

export function PasswordForgotPage(props: { chrome: PageChrome; sent?: boolean; email?: string; error?: string }) {
  return (
    <Page title="Forgot password" chrome={props.chrome} narrow>
      <h1>Forgot your password?</h1>
      {props.sent ? (
        <p role="status">If an account exists for that address, we have emailed a link to reset its password. The link works once, for one hour.</p>
      ) : (
        <form method="post" action="/password/forgot" class="stack">
          <p>Enter your email address and we will send you a link to choose a new password.</p>
          <Field name="email" label="Email" type="email" value={props.email ?? ''} autocomplete="username" required autofocus error={props.error} maxlength={254} />
          <button type="submit">Send reset link</button>
        </form>
      )}
      <p>
        <a href="/login">Back to sign in</a>
      </p>
    </Page>
  )
}

export function PasswordResetPage(props: { chrome: PageChrome; action: string; email: string; errors?: FieldErrors; minLength: number }) {
  return (
    <Page title="Choose a new password" chrome={props.chrome} narrow>
      <h1>Choose a new password</h1>
      <form method="post" action={props.action} class="stack">
        <input type="text" name="username" value={props.email} autocomplete="username" hidden aria-hidden="true" readonly />
        <NewPasswordFields errors={props.errors ?? {}} minLength={props.minLength} />
        <button type="submit">Set password</button>
      </form>
    </Page>
  )
}
