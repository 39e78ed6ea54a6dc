import type { Child } from 'hono/jsx'
import { DateTime } from './time.tsx'

/** "claimed_at" → "Claimed at". */
export function keyLabel(key: string): string {
  const words = key.replace(/[_-]+/g, ' ').trim()
  return words.charAt(0).toUpperCase() + words.slice(1)
}

/** A plausible epoch-milliseconds timestamp (2001–2286) under a key that names a time. */
function isTimestamp(key: string, value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value > 1e12 && value < 1e13 && (key === 'at' || key.endsWith('_at') || key.endsWith('At') || key === 'until')
}

function Value(props: { name: string; value: unknown; depth: number }): Child {
  const { name, value } = props
  if (value === null || value === undefined || value === '') return <span class="muted">—</span>
  if (isTimestamp(name, value)) return <DateTime ms={value} />
  if (typeof value === 'boolean') return value ? 'yes' : 'no'
  if (typeof value === 'number') return String(value)
  if (typeof value === 'string') return value
  if (Array.isArray(value)) {
    if (value.length === 0) return <span class="muted">none</span>
    if (value.every((v) => v === null || ['string', 'number', 'boolean'].includes(typeof v))) return value.map(String).join(', ')
    return (
      <ol>
        {value.map((v) => (
          <li>
            <Value name={name} value={v} depth={props.depth + 1} />
          </li>
        ))}
      </ol>
    )
  }
  if (typeof value === 'object' && props.depth < 3) return <KeyValues values={value as Record<string, unknown>} depth={props.depth + 1} />
  return JSON.stringify(value) // deeper than three levels: rare enough to show as written
}

/**
 * Details (of an audit event, a task step, a result) as a key–value list: times formatted, lists
 * joined, nested objects nested. `render` replaces the value of a key (e.g. a linked name), `labels` its label.
 */
export function KeyValues(props: { values: Record<string, unknown>; depth?: number; render?: Record<string, Child>; labels?: Record<string, string> }) {
  const entries = Object.entries(props.values)
  if (entries.length === 0) return <span class="muted">—</span>
  return (
    <dl class="facts kv">
      {entries.map(([key, value]) => (
        <>
          <dt>{props.labels?.[key] ?? keyLabel(key)}</dt>
          <dd>{props.render?.[key] ?? <Value name={key} value={value} depth={props.depth ?? 0} />}</dd>
        </>
      ))}
    </dl>
  )
}
