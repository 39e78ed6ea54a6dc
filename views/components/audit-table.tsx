import { DateTime } from './time.tsx'
import type { AuditEvent } from '../../src/db/schema.ts'
import { TableScroll } from './table-scroll.tsx'

/** Audit events as a table; `details` adds the JSON details column. */
export function AuditTable(props: { events: AuditEvent[]; details?: boolean }) {
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
              <td>
                <code>{e.event}</code>
              </td>
              <td>{e.actorEmail ?? 'system'}</td>
              <td>{e.targetType ? `${e.targetType} ${e.targetId ?? ''}` : '—'}</td>
              <td class="nowrap">{e.ip ?? '—'}</td>
              {props.details && (
                <td class="details">
                  <code>{e.details === '{}' ? '' : e.details}</code>
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
