import { Page, type PageChrome } from './layouts/page.tsx'

export function ErrorPage(props: { chrome: PageChrome; status: number; title: string; message: string; detail?: string; reference?: string }) {
  return (
    <Page title={props.title} chrome={props.chrome} narrow>
      <h1>{props.title}</h1>
      <p>{props.message}</p>
      {props.detail && (
        <p>
          <small>{props.detail}</small>
        </p>
      )}
      {props.reference && (
        <p>
          <small>
            Reference: <code>{props.reference}</code> (give it to your administrator; it is in the server log)
          </small>
        </p>
      )}
      <p>
        <a href="/">Go to the home page</a>
      </p>
    </Page>
  )
}
