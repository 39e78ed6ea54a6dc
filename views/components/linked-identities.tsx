import { DateTime } from './time.tsx'
import { TableScroll } from './table-scroll.tsx'
import type { LinkedIdentity } from '../../src/models/user-identities.ts'

/**
 * A user's linked provider identities (SPEC §10). `unlinkAction(id)` adds an Unlink button per
 * identity (it posts to a confirmation page first); without it the table is read-only.
 */
export function LinkedIdentitiesTable(props: { identities: LinkedIdentity[]; unlinkAction?: (identityId: number) => string; /** the one identity is the only way in: no Unlink button (the route refuses it too) */ onlyWayIn?: boolean }) {
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
                <code title={i.sub}>{i.sub}</code>
              </td>
              <td>{i.emailAtLink || '—'}</td>
              <td>
                <DateTime ms={i.linkedAt} />
              </td>
              <td>
                <DateTime ms={i.lastUsedAt} />
              </td>
              {unlink && props.onlyWayIn && (
                <td>
                  <span class="hint">Only way in</span>
                </td>
              )}
              {unlink && !props.onlyWayIn && (
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

export type LinkableProvider = { id: number; name: string }

/**
 * The signed-in person's own linked identities (SPEC §10, §11): the table with an Unlink button each
 * (POST /account/identities/:id/unlink, which asks for confirmation; none when `onlyWayIn`), and a "Link <provider>" form per
 * enabled provider not linked yet (POST /account/identities/link). Forms need no token: unsafe
 * methods are guarded by the Origin check. `returnTo` is where a completed link lands.
 */
export function LinkedIdentitiesSection(props: { identities: LinkedIdentity[]; providers: LinkableProvider[]; returnTo?: string; headingLevel?: 2 | 3; onlyWayIn?: boolean }) {
  const Heading = props.headingLevel === 3 ? 'h3' : 'h2'
  return (
    <section aria-labelledby="linked-identities-heading" class="stack" id="linked-identities">
      <Heading id="linked-identities-heading">Sign-in with your institution</Heading>
      {props.identities.length === 0 ? <p>No identity provider is linked to your account.</p> : <LinkedIdentitiesTable identities={props.identities} unlinkAction={(id) => `/account/identities/${id}/unlink`} onlyWayIn={props.onlyWayIn} />}
      {props.onlyWayIn && props.identities.length > 0 && (
        <p class="hint" id="linked-identities-only-way-in">
          Your account has no Gatehouse password, so this identity is your only way in and cannot be unlinked. Link another provider first to be able to unlink it.
        </p>
      )}
      {props.providers.length > 0 && (
        <div class="stack">
          <p class="hint">Linking sends you to the provider to sign in; afterwards you can sign in to Gatehouse with it. Your Gatehouse second factor is still asked unless the provider is trusted for it.</p>
          {props.providers.map((p) => (
            <form method="post" action="/account/identities/link">
              <input type="hidden" name="provider_id" value={String(p.id)} />
              {props.returnTo && <input type="hidden" name="return_to" value={props.returnTo} />}
              <button type="submit" class="secondary">
                Link {p.name}
              </button>
            </form>
          ))}
        </div>
      )}
    </section>
  )
}
