import { raw } from 'hono/html'
import { Page, type PageChrome } from './layouts/page.tsx'
import { Field } from './components/form.tsx'

/** A new authenticator secret: QR code, the key in groups of four, and the otpauth URI in #totp-uri. */
export function TotpSecretFigure(props: { secret: string; uri: string; qrSvg: string }) {
  const grouped = props.secret.match(/.{1,4}/g)?.join(' ') ?? props.secret
  return (
    <>
      <figure class="qr">
        <div role="img" aria-label="QR code containing your authenticator secret">
          {raw(props.qrSvg)}
        </div>
        <figcaption>
          Can't scan? Enter this key by hand: <code id="totp-secret">{grouped}</code>
        </figcaption>
      </figure>
      <details>
        <summary>Setup link for this device</summary>
        <p>
          <a id="totp-uri" href={props.uri}>
            {props.uri}
          </a>
        </p>
      </details>
    </>
  )
}

export function MfaSetupPage(props: { chrome: PageChrome; secret: string; uri: string; qrSvg: string; error?: string }) {
  return (
    <Page title="Set up your authenticator" chrome={props.chrome} narrow>
      <h1>Set up your authenticator</h1>
      <p>Gatehouse requires a second step at every sign-in. Scan this code with an authenticator app (for example FreeOTP, Aegis, Google or Microsoft Authenticator, 1Password).</p>
      <TotpSecretFigure secret={props.secret} uri={props.uri} qrSvg={props.qrSvg} />
      <form method="post" action="/mfa/setup" class="stack">
        <Field name="code" label="Code from your app" inputmode="numeric" autocomplete="one-time-code" required autofocus maxlength={7} pattern="[0-9 ]{6,7}" error={props.error} hint="Enter the 6-digit code your app now shows, to confirm it is set up." />
        <button type="submit">Confirm and continue</button>
      </form>
      <form method="post" action="/logout">
        <button type="submit" class="link">
          Sign out
        </button>
      </form>
    </Page>
  )
}
