import { Page, type PageChrome } from '../layouts/page.tsx'
import { FormError } from '../components/form.tsx'
import type { BulkAction, BulkRow } from '../../src/models/user-bulk.ts'

/** What the action does, for the confirmation page's title and question. */
export function bulkActionLabel(action: BulkAction, role: string | null): string {
  switch (action) {
    case 'disable':
      return 'Disable accounts'
    case 'enable':
      return 'Enable accounts'
    case 'role':
      return `Change the site role to “${role}”`
    case 'resend':
      return 'Resend invitations'
  }
}

const CONSEQUENCES: Record<BulkAction, string> = {
  disable: 'Each account is signed out everywhere at once and cannot sign in until re-enabled. Their records stay.',
  enable: 'Each account will be able to sign in again.',
  role: 'The new site role replaces each account’s current one.',
  resend: 'The same invitation link is emailed again to each address.',
}

/** The one confirmation of a bulk action: exactly who is affected and who is skipped and why. */
export function UsersBulkPage(props: { chrome: PageChrome; action: BulkAction; role: string | null; rows: BulkRow[]; back: string }) {
  const affected = props.rows.filter((r) => r.skip === null)
  const skipped = props.rows.filter((r) => r.skip !== null)
  const title = bulkActionLabel(props.action, props.role)
  return (
    <Page title={title} chrome={props.chrome}>
      <p>
        <a href={props.back}>← Users</a>
      </p>
      <h1>{title}?</h1>
      <p>{CONSEQUENCES[props.action]}</p>
      <section aria-labelledby="bulk-affected">
        <h2 id="bulk-affected">Affected ({affected.length})</h2>
        {affected.length === 0 ? (
          <p>Nobody: every selected row is skipped.</p>
        ) : (
          <ul class="bulk-list">
            {affected.map((r) => (
              <li>{r.label}</li>
            ))}
          </ul>
        )}
      </section>
      {skipped.length > 0 && (
        <section aria-labelledby="bulk-skipped">
          <h2 id="bulk-skipped">Skipped ({skipped.length})</h2>
          <ul class="bulk-list">
            {skipped.map((r) => (
              <li>
                {r.label} — {r.skip}
              </li>
            ))}
          </ul>
        </section>
      )}
      <form method="post" action="/admin/users/bulk/apply" class="row">
        <input type="hidden" name="action" value={props.action} />
        {props.role !== null && <input type="hidden" name="role" value={props.role} />}
        <input type="hidden" name="back" value={props.back} />
        {affected.map((r) => (
          <input type="hidden" name={r.kind === 'user' ? 'user_ids' : 'invitation_ids'} value={String(r.id)} />
        ))}
        {affected.length > 0 && (
          <button type="submit" class={props.action === 'disable' ? 'danger' : undefined}>
            {title} ({affected.length})
          </button>
        )}
        <a href={props.back}>Cancel</a>
      </form>
    </Page>
  )
}

/** A bulk request that cannot be read (nothing chosen, too many or malformed ids): 422 with the reason. */
export function UsersBulkErrorPage(props: { chrome: PageChrome; error: string; back: string }) {
  return (
    <Page title="Bulk action" chrome={props.chrome} narrow>
      <h1>Bulk action</h1>
      <FormError message={props.error} />
      <p>
        <a href={props.back}>← Back to the users list</a>
      </p>
    </Page>
  )
}
