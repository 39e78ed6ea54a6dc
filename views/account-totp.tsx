import { Page, type PageChrome } from './layouts/page.tsx'
import { Field } from './components/form.tsx'
import { TotpSecretFigure } from './mfa.tsx'
import { FreshPasskeyForm } from './components/passkeys.tsx'

// Replacing the authenticator from /account (SPEC §11): a fresh code from the current one (or a
// fresh passkey assertion) first, then the new secret, confirmed with a code from it.

/** Step 1: prove the current authenticator with a code it shows now. */
export function TotpReplaceStartPage(props: { chrome: PageChrome; error?: string; passkeyError?: string; hasPasskeys?: boolean }) {
  return (
    <Page title="Replace your authenticator" chrome={props.chrome} narrow>
      <h1>Replace your authenticator</h1>
      <p>First enter a code from the authenticator you use now. Gatehouse then shows a new key for your new app or phone; your current authenticator keeps working until you confirm the new one.</p>
      <form method="post" action="/account/totp" class="stack">
        <Field name="code" label="Code from your current authenticator app" inputmode="numeric" autocomplete="one-time-code" required autofocus maxlength={7} pattern="[0-9 ]{6,7}" error={props.error} hint="Enter the 6-digit code your app now shows." />
        <button type="submit">Continue</button>
      </form>
      {props.hasPasskeys && <FreshPasskeyForm action="/account/totp" button="Confirm with a passkey and continue" error={props.passkeyError} />}
      <p>
        Lost your authenticator? Sign in with a recovery code, or ask your Gatehouse administrator to reset it. <a href="/account">Back to your account</a>
      </p>
    </Page>
  )
}

/** Step 2: the new secret; a code from it replaces the old one (the token binds this form to step 1). */
export function TotpReplaceConfirmPage(props: { chrome: PageChrome; secret: string; uri: string; qrSvg: string; token: string; error?: string }) {
  return (
    <Page title="Set up the new authenticator" chrome={props.chrome} narrow>
      <h1>Set up the new authenticator</h1>
      <p>Scan this code with your new authenticator app. Your current one stops working as soon as you confirm the new one.</p>
      <TotpSecretFigure secret={props.secret} uri={props.uri} qrSvg={props.qrSvg} />
      <form method="post" action="/account/totp" class="stack">
        <input type="hidden" name="replace_token" value={props.token} />
        <Field name="new_code" label="Code from your new app" inputmode="numeric" autocomplete="one-time-code" required autofocus maxlength={7} pattern="[0-9 ]{6,7}" error={props.error} hint="Enter the 6-digit code the new app shows, to confirm it is set up." />
        <button type="submit">Replace my authenticator</button>
      </form>
      <p>
        <a href="/account">Cancel: keep the current authenticator</a>
      </p>
    </Page>
  )
}
