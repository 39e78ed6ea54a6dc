import { Page, type PageChrome } from './layouts/page.tsx'

export function ErrorPage(props: { chrome: PageChrome; status: number; title: string; message: string; detail?: string }) {
  return (
    <Page title={props.title} chrome={props.chrome} narrow>
      <h1>{props.title}</h1>
      <p>{props.message}</p>
      {props.detail && (
        <p>
          <small>{props.detail}</small>
        </p>
      )}
      <p>
        <a href="/">Go to the home page</a>
      </p>
    </Page>
  )
}
