import { Page, type PageChrome } from './layouts/page.tsx'
import { PasskeysSection } from './components/passkeys.tsx'
import type { Passkey } from '../src/db/schema.ts'

/** The user's own passkeys page (the same section the account page embeds). */
export function PasskeysPage(props: { chrome: PageChrome; passkeys: Passkey[]; error?: string }) {
  return (
    <Page title="Passkeys" chrome={props.chrome} narrow>
      <h1>Your passkeys</h1>
      <PasskeysSection passkeys={props.passkeys} error={props.error} />
      <p>
        <a href="/">Back to home</a>
      </p>
    </Page>
  )
}
