import { Field } from './form.tsx'
import { DateTime } from './time.tsx'
import { TableScroll } from './table-scroll.tsx'
import type { Passkey } from '../../src/db/schema.ts'

/** The script of every passkey ceremony (with the @simplewebauthn/browser bundle it needs). */
export function PasskeyScripts() {
  return (
    <>
      <script src="/public/simplewebauthn-browser.umd.min.js" defer></script>
      <script src="/public/passkeys.js" defer></script>
    </>
  )
}

/** Shown until public/passkeys.js runs: passkeys need JavaScript, the authenticator code does not. */
export function PasskeyNeedsJs(props: { alternative: string }) {
  return (
    <p class="hint" data-passkey-needs-js>
      Passkeys need JavaScript in your browser. {props.alternative}
    </p>
  )
}

/** Where the script reports progress and errors. */
export function PasskeyStatus(props: { id: string }) {
  return <p id={props.id} class="hint" role="status" aria-live="polite" data-passkey-status></p>
}

/**
 * The passkeys of the signed-in user, one kind of second factor on /account (#passkeys, an h3
 * inside "Second factors"): each with its name, when it was added and last used, and a remove
 * button (confirmed on the next page); then the registration form (needs JavaScript).
 */
export function PasskeysSection(props: { passkeys: Passkey[] }) {
  return (
    <section aria-labelledby="passkeys-heading" class="account-factor stack" id="passkeys">
      <h3 id="passkeys-heading">Passkeys</h3>
      <p>A passkey on your phone, computer or security key can replace the authenticator code when you sign in. Passkeys that verify you (fingerprint, face or PIN) also sign you in without your password.</p>
      {props.passkeys.length === 0 ? (
        <p id="passkeys-none">You have no passkeys yet.</p>
      ) : (
        <TableScroll label="Your passkeys">
        <table id="passkeys-table">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Added</th>
              <th scope="col">Last used</th>
              <th scope="col">Signs in alone</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {props.passkeys.map((p) => (
              <tr>
                <td>{p.name}</td>
                <td>
                  <DateTime ms={p.createdAt} />
                </td>
                <td>{p.lastUsedAt === null ? 'Never' : <DateTime ms={p.lastUsedAt} />}</td>
                <td>{p.userVerifiedAtRegistration ? 'Yes' : 'No (second step only)'}</td>
                <td>
                  <form method="post" action={`/account/passkeys/${p.id}/remove`}>
                    <button type="submit" class="danger" aria-label={`Remove passkey ${p.name}`}>
                      Remove
                    </button>
                  </form>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        </TableScroll>
      )}
      <form method="post" action="/account/passkeys" class="stack" data-passkey="register" data-status="passkey-register-status">
        <Field name="name" label="Name of the new passkey" autocomplete="off" required maxlength={60} hint="Something you will recognise, such as “Work laptop” or “Phone”." />
        <button type="submit" hidden data-passkey-button>
          Add a passkey
        </button>
        <PasskeyNeedsJs alternative="Your authenticator app works without it." />
        <PasskeyStatus id="passkey-register-status" />
      </form>
      <PasskeyScripts />
    </section>
  )
}

/**
 * "Or confirm with a passkey": the fresh-factor alternative to a typed code (POST `action` with the
 * assertion in `passkey_assertion`), for replacing the authenticator and making new recovery codes.
 */
export function FreshPasskeyForm(props: { action: string; button: string; error?: string | undefined }) {
  return (
    <form method="post" action={props.action} class="stack">
      <p>Or confirm with one of your passkeys instead of a code.</p>
      {props.error && (
        <p class="error" role="alert">
          {props.error}
        </p>
      )}
      <input type="hidden" name="passkey_assertion" value="" />
      <button type="button" class="secondary" hidden data-passkey="reauth" data-passkey-button data-status="passkey-reauth-status">
        {props.button}
      </button>
      <PasskeyNeedsJs alternative="Use the code from your authenticator app above." />
      <PasskeyStatus id="passkey-reauth-status" />
      <PasskeyScripts />
    </form>
  )
}
