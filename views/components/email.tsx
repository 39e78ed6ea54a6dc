/** An email address with line-break opportunities after "@" and each ".": a narrow column wraps it there, never inside a word. */
export function BreakableEmail(props: { email: string }) {
  return <>{props.email.split(/(?<=[@.])/).map((part, i) => (i === 0 ? part : <><wbr />{part}</>))}</>
}
