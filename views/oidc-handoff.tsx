import { Page, type PageChrome } from './layouts/page.tsx'

/**
 * The step between a form (Accept with …, Link …) and the provider: the browser is sent on by a
 * Refresh header, because the pages' CSP `form-action 'self'` blocks a form's redirect to another origin.
 */
export function ProviderHandoffPage(props: { chrome: PageChrome; providerName: string; url: string }) {
  return (
    <Page title={`Continue to ${props.providerName}`} chrome={props.chrome} narrow>
      <h1>Continue to {props.providerName}</h1>
      <p>You are being sent to {props.providerName} to sign in. If nothing happens within a few seconds, use the link.</p>
      <p>
        <a class="button" href={props.url} id="provider-continue">
          Continue to {props.providerName}
        </a>
      </p>
    </Page>
  )
}
