import type { Child } from 'hono/jsx'

/** A table's own horizontal scroll container, so a wide table never widens the page; focusable so keyboards can scroll it. */
export function TableScroll(props: { label: string; children: Child }) {
  return (
    <div class="table-scroll" role="region" aria-label={props.label} tabindex={0}>
      {props.children}
    </div>
  )
}
