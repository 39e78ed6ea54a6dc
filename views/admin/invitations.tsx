import { Page, type PageChrome } from '../layouts/page.tsx'
import { Card, Field, FormError } from '../components/form.tsx'
import { DateTime } from '../components/time.tsx'
import type { Invitation, Role } from '../../src/db/schema.ts'
import type { GroupSummary } from '../../src/models/groups.ts'
import type { InvitationStatus, OpenInvitationState } from '../../src/models/invitations.ts'
import type { FieldErrors } from '../../src/http/forms.ts'
import { TableScroll } from '../components/table-scroll.tsx'

export type InvitationFormValues = { email: string; role: string; organization: string; groupId: string; groupRole: string; projectIds: string[]; projectRoles: string[] }

type Pickers = { siteRoles: string[]; projectRoles: Role[]; groups: GroupSummary[]; projects: { id: number; name: string }[] }

function Select(props: { name: string; label: string; value: string; options: [string, string][]; error?: string | undefined; multiple?: boolean; values?: string[]; hint?: string }) {
  const id = `f-${props.name}`
  return (
    <div class={props.error ? 'field invalid' : 'field'}>
      <label for={id}>{props.label}</label>
      {props.hint && <small class="hint">{props.hint}</small>}
      <select id={id} name={props.name} multiple={props.multiple} size={props.multiple ? 6 : undefined} aria-invalid={props.error ? 'true' : undefined} aria-describedby={props.error ? `${id}-error` : undefined}>
        {props.options.map(([value, label]) => (
          <option value={value} selected={props.multiple ? (props.values ?? []).includes(value) : props.value === value}>
            {label}
          </option>
        ))}
      </select>
      {props.error && (
        <p id={`${id}-error`} class="error">
          {props.error}
        </p>
      )}
    </div>
  )
}

/** Role, organisation and the memberships granted on acceptance: shared by invite and edit. */
function GrantFields(props: Pickers & { values: InvitationFormValues; errors: FieldErrors }) {
  const { values, errors } = props
  return (
    <>
      <Select name="role" label="Site role" value={values.role} options={props.siteRoles.map((r) => [r, r])} error={errors.role} />
      <Field name="organization" label="Organisation" value={values.organization} maxlength={200} error={errors.organization} autocomplete="off" />
      <Select name="group_id" label="Group (optional)" value={values.groupId} options={[['', '— none —'], ...props.groups.map((g): [string, string] => [String(g.id), g.name])]} error={errors.group_id} />
      <Select name="group_role" label="Group role" value={values.groupRole} options={[['member', 'member'], ['group_admin', 'group admin']]} error={errors.group_role} />
      <Select name="project_ids" label="Projects to join on acceptance (optional)" value="" multiple values={values.projectIds} options={props.projects.map((p): [string, string] => [String(p.id), p.name])} error={errors.project_ids} hint="Ctrl/⌘-click to choose several." />
      <fieldset class={errors.project_role ? 'invalid' : undefined}>
        <legend>Project roles in those projects (one or more: a member holds their union)</legend>
        {props.projectRoles.map((r) => (
          <label class="check">
            <input type="checkbox" name="project_role" value={r.name} checked={values.projectRoles.includes(r.name)} /> {r.name}
          </label>
        ))}
        {errors.project_role && (
          <p id="f-project_role-error" class="error">
            {errors.project_role}
          </p>
        )}
      </fieldset>
    </>
  )
}

const STATUS_LABEL: Record<InvitationStatus, string> = { sent: 'Invitation sent', 'link visited': 'Invitation link visited', expired: 'Invitation expired', accepted: 'Accepted', revoked: 'Deleted' }

export function invitationStatusLabel(status: InvitationStatus): string {
  return STATUS_LABEL[status]
}

export function InvitationsPage(props: Pickers & { chrome: PageChrome; invitations: Invitation[]; showAll: boolean; state: OpenInvitationState | null; now: number; form: { values: InvitationFormValues; errors: FieldErrors; note?: string | undefined } }) {
  const { values, errors } = props.form
  return (
    <Page title="Invitations" chrome={props.chrome}>
      <p>
        <a href="/admin/users">← Users</a>
      </p>
      <h1>Invitations</h1>
      <nav class="facets flat" aria-label="Filter invitations">
        <a href="/admin/invitations" aria-current={!props.showAll && props.state === null ? 'page' : undefined}>
          Open
        </a>
        <a href="/admin/invitations?state=outstanding" aria-current={props.state === 'outstanding' ? 'page' : undefined}>
          Outstanding
        </a>
        <a href="/admin/invitations?state=expired" aria-current={props.state === 'expired' ? 'page' : undefined}>
          Expired
        </a>
        <a href="/admin/invitations?all=1" aria-current={props.showAll && props.state === null ? 'page' : undefined}>
          All, accepted and deleted too
        </a>
      </nav>
      <TableScroll label="Invitations">
      <table>
        <thead>
          <tr>
            <th scope="col">Email</th>
            <th scope="col">Name</th>
            <th scope="col">Role</th>
            <th scope="col">Status</th>
            <th scope="col">Sent</th>
            <th scope="col">Link visited</th>
            <th scope="col">Expires / closed</th>
          </tr>
        </thead>
        <tbody>
          {props.invitations.map((i) => {
            const status = i.status === 'accepted' || i.status === 'revoked' ? i.status : i.expiresAt <= props.now ? 'expired' : i.status
            return (
              <tr>
                <td>
                  <a href={`/admin/invitations/${i.id}`}>{i.email}</a>
                </td>
                <td>{[i.firstName, i.lastName].filter(Boolean).join(' ')}</td>
                <td>{i.role}</td>
                <td>
                  <span class="badge">{STATUS_LABEL[status]}</span>
                </td>
                <td>
                  <DateTime ms={i.sentAt} />
                </td>
                <td>
                  <DateTime ms={i.visitedAt} />
                </td>
                <td>
                  <DateTime ms={i.acceptedAt ?? i.revokedAt ?? i.expiresAt} />
                </td>
              </tr>
            )
          })}
          {props.invitations.length === 0 && (
            <tr>
              <td colspan={7}>No invitations.</td>
            </tr>
          )}
        </tbody>
      </table>
      </TableScroll>
      <Card title="Invite someone">
        {props.form.note && <p class="flash flash-info">{props.form.note}</p>}
        <form method="get" action="/admin/invitations" class="row">
          <label for="f-copy_from">Copy group and projects from user</label>
          <input id="f-copy_from" name="copy_from" type="email" autocomplete="off" />
          {values.projectIds.map((p) => (
            <input type="hidden" name="project_ids" value={p} />
          ))}
          <input type="hidden" name="email" value={values.email} />
          <button type="submit" class="secondary">
            Copy
          </button>
        </form>
        <form method="post" action="/admin/invitations" class="stack">
          <Field name="email" label="Email" type="email" value={values.email} required maxlength={254} error={errors.email} autocomplete="off" />
          <GrantFields {...props} values={values} errors={errors} />
          <button type="submit">Send invitation</button>
        </form>
      </Card>
    </Page>
  )
}

export function InvitationPage(props: Pickers & { chrome: PageChrome; invitation: Invitation; status: InvitationStatus; values: InvitationFormValues; errors: FieldErrors; error?: string | undefined }) {
  const { invitation: i, status } = props
  const open = status === 'sent' || status === 'link visited'
  return (
    <Page title={`Invitation to ${i.email}`} chrome={props.chrome}>
      <p>
        <a href="/admin/invitations">← Invitations</a>
      </p>
      <h1>Invitation to {i.email}</h1>
      <FormError message={props.error} />
      <Card title="Status">
        <p>
          <span class="badge">{STATUS_LABEL[status]}</span>
        </p>
        <dl class="facts">
          <dt>Created</dt>
          <dd>
            <DateTime ms={i.createdAt} />
          </dd>
          <dt>Last sent</dt>
          <dd>
            <DateTime ms={i.sentAt} /> ({i.sendCount} {i.sendCount === 1 ? 'time' : 'times'})
          </dd>
          <dt>Link visited</dt>
          <dd>
            <DateTime ms={i.visitedAt} />
          </dd>
          <dt>{status === 'expired' ? 'Expired' : 'Expires'}</dt>
          <dd>
            <DateTime ms={i.expiresAt} />
          </dd>
          <dt>Accepted</dt>
          <dd>
            <DateTime ms={i.acceptedAt} />
            {i.acceptedUserId !== null && (
              <>
                {' '}
                — <a href={`/admin/users/${i.acceptedUserId}`}>the account</a>
              </>
            )}
          </dd>
          <dt>Deleted</dt>
          <dd>
            <DateTime ms={i.revokedAt} />
          </dd>
        </dl>
        <div class="actions">
          {open && (
            <form method="post" action={`/admin/invitations/${i.id}/resend`} class="inline">
              <button type="submit" class="secondary">
                Resend the same link
              </button>
            </form>
          )}
          {(open || status === 'expired') && (
            <form method="post" action={`/admin/invitations/${i.id}/delete`} class="inline">
              <button type="submit" class="danger">
                Delete invitation…
              </button>
            </form>
          )}
        </div>
      </Card>
      {open && (
        <Card title="Edit">
          <form method="post" action={`/admin/invitations/${i.id}`} class="stack">
            <p>The email address cannot be changed: delete this invitation and invite the right address instead.</p>
            <GrantFields {...props} values={props.values} errors={props.errors} />
            <label class="check">
              <input type="checkbox" name="resend" /> Send the invitation email again after saving
            </label>
            <button type="submit">Save</button>
          </form>
        </Card>
      )}
    </Page>
  )
}
