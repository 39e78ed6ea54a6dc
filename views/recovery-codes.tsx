import { Page, type PageChrome } from './layouts/page.tsx'
import { FreshPasskeyForm } from './components/passkeys.tsx'
import { Card, Field } from './components/form.tsx'
import { RECOVERY_CODES_LOW } from '../src/auth/recovery-codes.ts'

/** The chain step for a user without codes: one button creates and shows them. */
export function RecoveryCodesOfferPage(props: { chrome: PageChrome }) {
  return (
    <Page title="Recovery codes" chrome={props.chrome} narrow>
      <h1>Recovery codes</h1>
      <p>If you lose your authenticator, a recovery code lets you sign in instead of the 6-digit code. Each code works once. Gatehouse shows them only once, so keep them somewhere safe (a password manager, or printed).</p>
      <form method="post" action="/mfa/recovery-codes">
        <button type="submit">Create my recovery codes</button>
      </form>
    </Page>
  )
}

/** The one time the codes are shown: copy (JavaScript), download as text (a data: link), or copy by hand. */
export function RecoveryCodesShownPage(props: { chrome: PageChrome; codes: string[]; continueHref: string; continueLabel: string; siteName: string }) {
  const text = `Gatehouse recovery codes (${props.siteName})\nEach code works once.\n\n${props.codes.join('\n')}\n`
  return (
    <Page title="Your recovery codes" chrome={props.chrome} narrow>
      <h1>Your recovery codes</h1>
      <p>Save these {props.codes.length} codes now: they will not be shown again. Each one signs you in once, in place of the code from your authenticator. Any earlier codes no longer work.</p>
      <pre id="recovery-codes" class="recovery-codes" aria-label="Your recovery codes">
        {props.codes.join('\n')}
      </pre>
      <p class="actions">
        <a href={`data:text/plain;charset=utf-8,${encodeURIComponent(text)}`} download="gatehouse-recovery-codes.txt">
          Download as text
        </a>{' '}
        <button type="button" class="copy-button" data-copy-target="recovery-codes" hidden>
          Copy codes
        </button>
        <span class="copy-status" role="status" aria-live="polite"></span>
      </p>
      <p>
        <a href={props.continueHref}>{props.continueLabel}</a>
      </p>
      <script src="/public/copy-key.js" defer></script>
    </Page>
  )
}

/** Own recovery codes: how many are left, and the regenerate form (needs a fresh authenticator code). */
export function RecoveryCodesAccountPage(props: { chrome: PageChrome; left: number; error?: string; passkeyError?: string; hasPasskeys?: boolean }) {
  return (
    <Page title="Recovery codes" chrome={props.chrome} narrow>
      <h1>Recovery codes</h1>
      <p id="recovery-codes-left">
        {props.left === 1 ? '1 unused recovery code is left.' : `${props.left} unused recovery codes are left.`}
        {props.left <= RECOVERY_CODES_LOW && ' Make new ones soon.'}
      </p>
      <Card title="Make new codes">
        <p>New codes replace all your current ones: the old codes stop working at once.</p>
        <form method="post" action="/account/recovery-codes" class="stack">
          <Field name="code" label="Code from your authenticator app" inputmode="numeric" autocomplete="one-time-code" required maxlength={7} pattern="[0-9 ]{6,7}" error={props.error} hint="Enter the 6-digit code your app now shows." />
          <button type="submit">Make new recovery codes</button>
        </form>
        {props.hasPasskeys && <FreshPasskeyForm action="/account/recovery-codes" button="Confirm with a passkey and make new codes" error={props.passkeyError} />}
      </Card>
      <p>
        <a href="/account">Back to your account</a>
      </p>
    </Page>
  )
}
