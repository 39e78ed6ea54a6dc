import { DateTime } from './time.tsx'
import type { Session } from '../../src/db/schema.ts'
import { TableScroll } from './table-scroll.tsx'

/**
 * A user's sessions. `currentId` marks the viewer's own browser; `revokeAction(id)` adds a
 * Revoke button per session (admin user page).
 */
export function SessionsTable(props: { sessions: Session[]; currentId?: string; revokeAction?: (sessionId: string) => string }) {
  if (props.sessions.length === 0) return <p>Not signed in anywhere.</p>
  const revoke = props.revokeAction
  return (
    <TableScroll label="Sessions">
    <table>
      <thead>
        <tr>
          <th scope="col">Signed in</th>
          <th scope="col">Last active</th>
          <th scope="col">IP</th>
          <th scope="col">Browser</th>
          {revoke && (
            <th scope="col">
              <span class="visually-hidden">Actions</span>
            </th>
          )}
        </tr>
      </thead>
      <tbody>
        {props.sessions.map((s) => (
          <tr>
            <td>
              <DateTime ms={s.createdAt} /> {s.id === props.currentId && <strong>(this browser)</strong>}
            </td>
            <td>
              <DateTime ms={s.lastActiveAt} />
            </td>
            <td class="nowrap">{s.ip}</td>
            <td class="truncate" title={s.userAgent}>
              {s.userAgent}
            </td>
            {revoke && (
              <td>
                <form method="post" action={revoke(s.id)} class="inline">
                  <button type="submit" class="link">
                    Revoke
                  </button>
                </form>
              </td>
            )}
          </tr>
        ))}
      </tbody>
    </table>
    </TableScroll>
  )
}
