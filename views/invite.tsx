import { Page, type PageChrome } from './layouts/page.tsx'
import { Field, FormError } from './components/form.tsx'
import type { FieldErrors } from '../src/http/forms.ts'

export function InviteFormPage(props: { chrome: PageChrome; action: string; email: string; values: Record<string, string>; errors: FieldErrors; minLength: number; providers?: { id: number; name: string }[] }) {
  const { values, errors } = props
  return (
    <Page title="Accept your invitation" chrome={props.chrome} narrow>
      <h1>Welcome to Gatehouse</h1>
      <p>
        You are creating the account for <strong>{props.email}</strong>.
      </p>
      <form method="post" action={props.action} class="stack">
        <FormError message={errors.form} />
        <input type="email" name="email_display" value={props.email} autocomplete="email" hidden aria-hidden="true" readonly />
        <Field name="first_name" label="First name" value={values.first_name ?? ''} required maxlength={100} autocomplete="given-name" error={errors.first_name} />
        <Field name="last_name" label="Last name" value={values.last_name ?? ''} required maxlength={100} autocomplete="family-name" error={errors.last_name} />
        <Field name="username" label="Username" value={values.username ?? ''} required minlength={2} maxlength={20} pattern="[A-Za-z0-9_\-]{2,20}" autocomplete="username" error={errors.username} hint="2 to 20 letters, digits, “_” or “-”." />
        <PasswordAndConfirm errors={errors} minLength={props.minLength} />
        <button type="submit">Continue</button>
        {props.providers && props.providers.length > 0 && (
          <section aria-labelledby="accept-with-heading" class="stack">
            <h2 id="accept-with-heading">Or accept without a password</h2>
            <p class="hint">
              Fill in your name and username, then sign in at your institution instead of choosing a password. It must confirm the address {props.email}. Gatehouse then signs you in through it, with no password of its own.
            </p>
            {props.providers.map((p) => (
              <button type="submit" class="secondary" formaction={`${props.action}/oidc`} formnovalidate name="provider_id" value={String(p.id)}>
                Accept with {p.name}
              </button>
            ))}
          </section>
        )}
      </form>
    </Page>
  )
}

/** The invitation form names its fields password / confirm_password (SPEC §7). */
function PasswordAndConfirm(props: { errors: FieldErrors; minLength: number }) {
  return (
    <>
      <Field name="password" label="Password" type="password" autocomplete="new-password" required minlength={props.minLength} maxlength={256} error={props.errors.password} hint={`At least ${props.minLength} characters. A passphrase of a few unrelated words works well; common passwords are refused.`} />
      <Field name="confirm_password" label="Repeat the password" type="password" autocomplete="new-password" required maxlength={256} error={props.errors.confirm_password} />
    </>
  )
}

export function InviteVerifyPage(props: { chrome: PageChrome; action: string; email: string; tabBinding: string; error?: string | undefined }) {
  return (
    <Page title="Enter your security code" chrome={props.chrome} narrow>
      <h1>Check your email</h1>
      <p>
        We have sent a 6-character security code to <strong>{props.email}</strong>. Enter it here, in this tab. It is valid for 60 minutes; after 5 wrong entries you will need to open the invitation link again.
      </p>
      <form method="post" action={props.action} class="stack">
        <input type="hidden" name="tab" value={props.tabBinding} />
        <Field name="security_token" label="Security code" required maxlength={9} autocomplete="one-time-code" autofocus error={props.error} />
        <button type="submit">Create my account</button>
      </form>
    </Page>
  )
}

export function InviteDeadEndPage(props: { chrome: PageChrome; title: string; message: string; restartUrl?: string }) {
  return (
    <Page title={props.title} chrome={props.chrome} narrow>
      <h1>{props.title}</h1>
      <p>{props.message}</p>
      {props.restartUrl ? (
        <p>
          <a href={props.restartUrl}>Open the invitation again</a>
        </p>
      ) : (
        <p>
          <a href="/login">Go to sign in</a>
        </p>
      )}
    </Page>
  )
}
