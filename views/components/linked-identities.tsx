import { DateTime } from './time.tsx'
import { TableScroll } from './table-scroll.tsx'

export type LinkedIdentityItem = { id: number; providerName: string; sub: string; emailAtLink: string; linkedAt: number; lastUsedAt: number | null }
export type LinkableProvider = { id: number; name: string }

/**
 * The account's linked sign-in identities (SPEC §10, §11): each with an unlink form
 * (POST /account/identities/:id/unlink, which asks for confirmation), and a "Link <provider>"
 * form per enabled provider not linked yet (POST /account/identities/link). Forms need no token:
 * unsafe methods are guarded by the Origin check. `returnTo` is where a completed link lands.
 */
export function LinkedIdentitiesSection(props: { identities: LinkedIdentityItem[]; providers: LinkableProvider[]; returnTo?: string; headingLevel?: 2 | 3 }) {
  const Heading = props.headingLevel === 3 ? 'h3' : 'h2'
  return (
    <section aria-labelledby="linked-identities-heading" class="stack" id="linked-identities">
      <Heading id="linked-identities-heading">Sign-in with your institution</Heading>
      {props.identities.length === 0 ? (
        <p>No identity provider is linked to your account.</p>
      ) : (
        <TableScroll label="Linked identities">
          <table>
            <thead>
              <tr>
                <th scope="col">Provider</th>
                <th scope="col">Subject</th>
                <th scope="col">Email when linked</th>
                <th scope="col">Linked</th>
                <th scope="col">Last used</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {props.identities.map((i) => (
                <tr>
                  <td>{i.providerName}</td>
                  <td>
                    <code>{i.sub}</code>
                  </td>
                  <td>{i.emailAtLink || '—'}</td>
                  <td>
                    <DateTime ms={i.linkedAt} />
                  </td>
                  <td>
                    <DateTime ms={i.lastUsedAt} />
                  </td>
                  <td>
                    <form method="post" action={`/account/identities/${i.id}/unlink`}>
                      <button type="submit" class="secondary" aria-label={`Unlink ${i.providerName} (${i.sub})`}>
                        Unlink
                      </button>
                    </form>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableScroll>
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
