import { Page, type PageChrome } from '../layouts/page.tsx'

/** The question asked before a destructive or consequential action; works without JavaScript. */
export function ConfirmPage(props: { chrome: PageChrome; title: string; question: string; button: string; action: string; cancel: string; hidden?: Record<string, string>; /** 'primary' for a consequential but not destructive action (an approval). */ tone?: 'danger' | 'primary' }) {
  return (
    <Page title={props.title} chrome={props.chrome} narrow>
      <h1>{props.title}</h1>
      <p>{props.question}</p>
      <form method="post" action={props.action} class="row">
        <input type="hidden" name="confirm" value="yes" />
        {Object.entries(props.hidden ?? {}).map(([name, value]) => (
          <input type="hidden" name={name} value={value} />
        ))}
        <button type="submit" class={props.tone === 'primary' ? undefined : 'danger'}>
          {props.button}
        </button>
        <a href={props.cancel}>Cancel</a>
      </form>
    </Page>
  )
}
