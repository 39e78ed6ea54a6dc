import { DateTime } from './time.tsx'
import type { AuditEvent } from '../../src/db/schema.ts'
import { AUDIT_DETAIL_REFERENCES, detailReferenceIds, type AuditTargetName } from '../../src/models/audit-log.ts'
import type { Child } from 'hono/jsx'
import { TableScroll } from './table-scroll.tsx'
import { KeyValues, keyLabel } from './key-values.tsx'

/** Where a target of each type is shown (a model on its project's models page). */
function targetHref(type: string, id: string, target: AuditTargetName | undefined): string | null {
  switch (type) {
    case 'user':
      return `/admin/users/${id}`
    case 'project':
      return `/projects/${id}`
    case 'group':
      return `/admin/groups/${id}`
    case 'site':
      return `/admin/sites/${id}`
    case 'role':
      return `/admin/roles/${id}`
    case 'invitation':
      return `/admin/invitations/${id}`
    case 'identity_provider':
      return `/admin/identity-providers/${id}`
    case 'email':
      return `/admin/outbox/${id}`
    case 'import':
      return `/admin/import/${id}`
    case 'model':
      return target?.projectId ? `/projects/${target.projectId}/models` : null
    default:
      return null
  }
}

/** The target by name and linked when it still exists; "type id" when it does not. */
function Target(props: { event: AuditEvent; targets: Map<string, AuditTargetName> }) {
  const { targetType: type, targetId: id } = props.event
  if (!type) return <>—</>
  if (type === 'settings') return <a href="/admin/settings">{`settings: ${id ?? ''}`}</a>
  if (type === 'import' && id && /^\d+$/.test(id)) return <a href={`/admin/import/${id}`}>{`import #${id}`}</a>
  const target = props.targets.get(`${type} ${id ?? ''}`)
  const href = id ? targetHref(type, id, target) : null
  if (!target || !href) return <>{`${type} ${id ?? ''}`}</>
  return (
    <>
      <span class="muted">{type}</span> <a href={href}>{target.name}</a>
    </>
  )
}

/** A record a detail refers to: its name linked while it exists, "type id" once it does not. */
function Reference(props: { type: string; id: number; targets: Map<string, AuditTargetName> }) {
  const target = props.targets.get(`${props.type} ${props.id}`)
  const href = targetHref(props.type, String(props.id), target)
  return target && href ? <a href={href}>{target.name}</a> : <>{`${props.type} ${props.id}`}</>
}

/** An event's details (stored as JSON) as key–value pairs; ids of users, projects, groups, sites and roles shown by name and linked. */
function Details(props: { json: string; targets: Map<string, AuditTargetName> }) {
  let value: unknown
  try {
    value = JSON.parse(props.json)
  } catch {
    return <>{props.json}</>
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return <>{String(value)}</>
  const values = value as Record<string, unknown>
  if (Object.keys(values).length === 0) return <></>
  const render: Record<string, Child> = {}
  const labels: Record<string, string> = {}
  for (const [key, type] of Object.entries(AUDIT_DETAIL_REFERENCES)) {
    const ids = key in values ? detailReferenceIds(values[key]) : []
    const all = Array.isArray(values[key]) ? (values[key] as unknown[]).length : 1
    if (ids.length === 0 || ids.length !== all) continue // not (only) ids: shown as stored
    labels[key] = keyLabel(key.replace(/_ids$/, 's').replace(/_id$/, '')) // "site_ids" → "Sites"
    render[key] = (
      <>
        {ids.map((id, i) => (
          <>
            {i > 0 && ', '}
            <Reference type={type} id={id} targets={props.targets} />
          </>
        ))}
      </>
    )
  }
  return <KeyValues values={values} render={render} labels={labels} />
}

/**
 * Audit events as a table; `details` adds the details column. `targets` (from resolveAuditTargets,
 * one query for the page) names the targets; without it they show as "type id".
 */
export function AuditTable(props: { events: AuditEvent[]; details?: boolean; targets?: Map<string, AuditTargetName> }) {
  const targets = props.targets ?? new Map<string, AuditTargetName>()
  return (
    <TableScroll label="Audit events">
      <table>
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Event</th>
            <th scope="col">Actor</th>
            <th scope="col">Target</th>
            <th scope="col">IP</th>
            {props.details && <th scope="col">Details</th>}
          </tr>
        </thead>
        <tbody>
          {props.events.map((e) => (
            <tr>
              <td>
                <DateTime ms={e.at} />
              </td>
              <td class="nowrap">
                <code>{e.event}</code>
              </td>
              <td>{e.actorEmail === null ? 'system' : e.actorId === null ? e.actorEmail : <a href={`/admin/users/${e.actorId}`}>{e.actorEmail}</a>}</td>
              <td>
                <Target event={e} targets={targets} />
              </td>
              <td class="nowrap">{e.ip ?? '—'}</td>
              {props.details && (
                <td class="details">
                  <Details json={e.details} targets={targets} />
                </td>
              )}
            </tr>
          ))}
          {props.events.length === 0 && (
            <tr>
              <td colspan={props.details ? 6 : 5}>No events.</td>
            </tr>
          )}
        </tbody>
      </table>
    </TableScroll>
  )
}
