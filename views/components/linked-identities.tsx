import { DateTime } from './time.tsx'
import { TableScroll } from './table-scroll.tsx'
import type { LinkedIdentity } from '../../src/models/user-identities.ts'

/**
 * A user's linked provider identities (SPEC §10). `unlinkAction(id)` adds an Unlink button per
 * identity (it posts to a confirmation page first); without it the table is read-only.
 */
export function LinkedIdentitiesTable(props: { identities: LinkedIdentity[]; unlinkAction?: (identityId: number) => string }) {
  if (props.identities.length === 0) return <p>No identity provider is linked: this account signs in with its password only.</p>
  const unlink = props.unlinkAction
  return (
    <TableScroll label="Linked identities">
      <table>
        <thead>
          <tr>
            <th scope="col">Provider</th>
            <th scope="col">Subject</th>
            <th scope="col">Email at link</th>
            <th scope="col">Linked</th>
            <th scope="col">Last used</th>
            {unlink && (
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            )}
          </tr>
        </thead>
        <tbody>
          {props.identities.map((i) => (
            <tr>
              <td>
                {i.providerName}
                {!i.providerEnabled && <span class="badge">provider disabled</span>}
              </td>
              <td class="truncate">
                <code>{i.sub}</code>
              </td>
              <td>{i.emailAtLink || '—'}</td>
              <td>
                <DateTime ms={i.linkedAt} />
              </td>
              <td>
                <DateTime ms={i.lastUsedAt} />
              </td>
              {unlink && (
                <td>
                  <form method="post" action={unlink(i.id)} class="inline">
                    <button type="submit" class="link" aria-label={`Unlink ${i.providerName} identity ${i.sub}`}>
                      Unlink
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
