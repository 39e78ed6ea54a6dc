import { Pager } from '../components/pager.tsx'
import { SessionsTable } from '../components/sessions-table.tsx'
import { BreakableEmail } from '../components/email.tsx'
import { LinkedIdentitiesTable } from '../components/linked-identities.tsx'
import type { LinkedIdentity } from '../../src/models/user-identities.ts'
import { FactorsSummaryFacts, type FactorsSummary } from '../components/factors-summary.tsx'
import { AuditTable } from '../components/audit-table.tsx'
import { Page, type PageChrome } from '../layouts/page.tsx'
import { Card, Field, FormError } from '../components/form.tsx'
import { DateTime } from '../components/time.tsx'
import { USER_FACETS, USER_TABLE_PAGE_SIZES, type UserFacet, type UserTablePage, type UserTableQuery, type UserTableSort } from '../../src/models/user-table.ts'
import type { AuditEvent, Invitation, Project, Session, User } from '../../src/db/schema.ts'
import type { UserMemberships } from '../../src/models/user-admin.ts'
import type { Decision } from '../../src/authz/policy.ts'
import type { FieldErrors } from '../../src/http/forms.ts'
import type { InvitationStatus } from '../../src/models/invitations.ts'
import { invitationStatusLabel } from './invitations.tsx'

export type InvitationRow = Omit<Invitation, 'status'> & { status: InvitationStatus }
import { PERMISSION_LABELS } from '../../src/authz/permissions.ts'
import { TableScroll } from '../components/table-scroll.tsx'
import type { AuditTargetName } from '../../src/models/audit-log.ts'

const COLUMNS: [UserTableSort, string][] = [
  ['first_name', 'First name'],
  ['last_name', 'Last name'],
  ['username', 'Username'],
  ['email', 'Email'],
  ['organization', 'Organisation'],
  ['role', 'Role'],
  ['projects', 'Projects'],
  ['last_sign_in', 'Last sign-in'],
  ['status', 'Status'],
]

const FACET_LABELS: Record<UserFacet, string> = {
  active: 'Active',
  admins: 'Admins',
  disabled: 'Disabled',
  locked: 'Locked',
  mfa_not_enrolled: 'MFA not enrolled',
  must_change_password: 'Must change password',
  inactive: 'Inactive',
  invitations: 'Invitations',
}

/** The list's query string: every setting kept unless `change` replaces it; defaults left out. */
function tableParams(q: UserTableQuery, change: Partial<UserTableQuery> = {}): URLSearchParams {
  const next = { ...q, ...change }
  const params = new URLSearchParams()
  if (next.q) params.set('q', next.q)
  if (next.status) params.set('status', next.status)
  params.set('sort', next.sort)
  params.set('dir', next.dir)
  if (next.perPage !== 50) params.set('per_page', String(next.perPage))
  if (next.page > 1) params.set('page', String(next.page))
  return params
}

function tableUrl(q: UserTableQuery, change: Partial<UserTableQuery>): string {
  return `/admin/users?${tableParams(q, change)}`
}

export function UsersPage(props: { chrome: PageChrome; table: UserTablePage; inactiveDays: number; roles: string[]; form: { email?: string; role?: string; errors?: FieldErrors } }) {
  const { query } = props.table
  const errors = props.form.errors ?? {}
  return (
    <Page title="Users" chrome={props.chrome}>
      <h1>Users</h1>
      <p>
        <a href="/admin/invitations">Invite someone</a> · <a href="/admin/invitations?all=1">All invitations</a>
      </p>
      <form method="get" action="/admin/users" class="filter" role="search" hx-get="/admin/users" hx-trigger="input changed delay:250ms from:#f-q, submit" hx-target="#user-table" hx-swap="outerMorph" hx-push-url="true">
        <label for="f-q">Filter by name, username, email or organisation</label>
        <div class="row">
          <input id="f-q" type="search" name="q" value={query.q} autocomplete="off" maxlength={100} />
          <input type="hidden" name="sort" value={query.sort} />
          <input type="hidden" name="dir" value={query.dir} />
          {query.status && <input type="hidden" name="status" value={query.status} />}
          {query.perPage !== 50 && <input type="hidden" name="per_page" value={String(query.perPage)} />}
          <button type="submit" class="secondary">
            Filter
          </button>
        </div>
      </form>
      <UserTable table={props.table} inactiveDays={props.inactiveDays} bulkRoles={props.roles} />
      <script src="/public/select-all.js" defer></script>
      <Card title="Register a user">
        <p>They receive a temporary password by email, valid 7 days; at first sign-in they choose their own password and set up an authenticator.</p>
        <form method="post" action="/admin/users" class="stack">
          <Field name="email" label="Email" type="email" value={props.form.email ?? ''} required maxlength={254} error={errors.email} autocomplete="off" />
          <div class={errors.role ? 'field invalid' : 'field'}>
            <label for="f-role">Role</label>
            <select id="f-role" name="role" required aria-invalid={errors.role ? 'true' : undefined} aria-describedby={errors.role ? 'f-role-error' : undefined}>
              {props.roles.map((r) => (
                <option value={r} selected={(props.form.role ?? 'researcher') === r}>
                  {r}
                </option>
              ))}
            </select>
            {errors.role && (
              <p id="f-role-error" class="error">
                {errors.role}
              </p>
            )}
          </div>
          <button type="submit">Register</button>
        </form>
      </Card>
    </Page>
  )
}

/** Facets, count, table and pager: swapped together when the htmx filter changes (the counts follow the text filter). */
export function UserTable(props: { table: UserTablePage; inactiveDays: number; /** the site roles the bulk "change role" may give */ bulkRoles: string[] }) {
  const { entries, total, page, pages, query, facets } = props.table
  const facetLink = (status: UserFacet | '', label: string, count: number) => (
    <li>
      <a href={tableUrl(query, { status, page: 1 })} aria-current={query.status === status ? 'page' : undefined}>
        {label} <span class="badge">{count.toLocaleString('en-GB')}</span>
      </a>
    </li>
  )
  const plural = (n: number, one: string, many: string) => `${n.toLocaleString('en-GB')} ${n === 1 ? one : many}`
  const accounts = facets.all - facets.invitations
  const counted =
    query.status === 'invitations' ? plural(total, 'invitation', 'invitations') : query.status !== '' || facets.invitations === 0 ? plural(total, 'user', 'users') : `${plural(total, 'row', 'rows')} (${plural(accounts, 'user', 'users')}, ${plural(facets.invitations, 'invitation', 'invitations')})`
  const facetNote = query.status ? ` · ${FACET_LABELS[query.status].toLowerCase()}` : ''
  return (
    <section id="user-table">
      <nav aria-label="Status" class="facets">
        <ul class="tabs">
          {facetLink('', 'All', facets.all)}
          {USER_FACETS.map((f) => facetLink(f, f === 'inactive' ? `Inactive (${props.inactiveDays}+ days)` : FACET_LABELS[f], facets[f]))}
        </ul>
      </nav>
      <p class="muted">
        <span id="user-count" aria-live="polite">
          {counted}
          {facetNote}
          {query.q ? ` matching “${query.q}”` : ''}
          {pages > 1 ? ` · page ${page} of ${pages}` : ''}
        </span>
        {query.status !== 'invitations' && (
          <>
            {' · '}
            <a href={`/admin/users.csv?${new URLSearchParams({ ...(query.q ? { q: query.q } : {}), ...(query.status ? { status: query.status } : {}), sort: query.sort, dir: query.dir })}`} download>
              Download as CSV
            </a>
          </>
        )}
      </p>
      <form method="post" action="/admin/users/bulk" class="bulk">
      <input type="hidden" name="back" value={tableParams(query).toString()} />
      {entries.map((e) => (
        <input type="hidden" name={e.kind === 'user' ? 'page_user_ids' : 'page_invitation_ids'} value={String(e.kind === 'user' ? e.user.id : e.invitation.id)} />
      ))}
      <TableScroll label="Users">
        <table class="users">
          <thead>
            <tr>
              <th scope="col" class="select">
                <input type="checkbox" name="select_page" id="f-select-page" aria-label="Select every row on this page" data-select-all />
              </th>
              {COLUMNS.map(([key, label]) => (
                <SortHeader query={query} sort={key} label={label} />
              ))}
            </tr>
          </thead>
          <tbody>
            {entries.map((e) => {
              if (e.kind === 'invitation') {
                const i = e.invitation
                return (
                  <tr class="invitation">
                    <td class="select">
                      <input type="checkbox" name="invitation_ids" value={String(i.id)} aria-label={`Select the invitation to ${i.email}`} />
                    </td>
                    <td>{i.firstName ?? ''}</td>
                    <td>{i.lastName ?? ''}</td>
                    <td></td>
                    <td class="email">
                      <a href={`/admin/invitations/${i.id}`}>
                        <BreakableEmail email={i.email} />
                      </a>
                    </td>
                    <td>{i.organization}</td>
                    <td class="nowrap">{i.role}</td>
                    <td></td>
                    <td></td>
                    <td>
                      <span class="badge">{invitationStatusLabel(i.status)}</span>
                    </td>
                  </tr>
                )
              }
              const u = e.user
              return (
                <tr>
                  <td class="select">
                    <input type="checkbox" name="user_ids" value={String(u.id)} aria-label={`Select ${u.email}`} />
                  </td>
                  <td>{u.firstName}</td>
                  <td>{u.lastName}</td>
                  <td>{u.username ?? ''}</td>
                  <td class="email">
                    <a href={`/admin/users/${u.id}`}>
                      <BreakableEmail email={u.email} />
                    </a>
                  </td>
                  <td>{u.organization}</td>
                  <td class="nowrap">{u.role}</td>
                  <td>
                    {u.projects.join(', ')}
                    {u.moreProjects > 0 ? ` +${u.moreProjects}` : ''}
                  </td>
                  <td>
                    <DateTime ms={u.lastSignInAt} />
                  </td>
                  <td>
                    {u.statuses.map((s) => (
                      <span class="badge">{s}</span>
                    ))}
                  </td>
                </tr>
              )
            })}
            {entries.length === 0 && (
              <tr>
                <td colspan={COLUMNS.length + 1}>No users match.</td>
              </tr>
            )}
          </tbody>
        </table>
      </TableScroll>
      <BulkControls roles={props.bulkRoles} disabled={entries.length === 0} />
      </form>
      <div class="row pager-bar">
        <Pager page={page} pages={pages} label="Pages" href={(n) => tableUrl(query, { page: n })} />
        <form method="get" action="/admin/users" class="row per-page">
          {[...tableParams(query, { page: 1 })].filter(([k]) => k !== 'per_page').map(([k, v]) => (
            <input type="hidden" name={k} value={v} />
          ))}
          <label for="f-per-page">Rows per page</label>
          <select id="f-per-page" name="per_page">
            {USER_TABLE_PAGE_SIZES.map((n) => (
              <option value={String(n)} selected={n === query.perPage}>
                {n}
              </option>
            ))}
          </select>
          <button type="submit" class="secondary">
            Show
          </button>
        </form>
      </div>
    </section>
  )
}

/** A column header that is a sort control: the arrow shows the current direction (aria-sort says it too); the link toggles it. */
function SortHeader(props: { query: UserTableQuery; sort: UserTableSort; label: string }) {
  const { query } = props
  const active = query.sort === props.sort
  const next = active && query.dir === 'asc' ? 'desc' : 'asc'
  return (
    <th scope="col" aria-sort={active ? (query.dir === 'asc' ? 'ascending' : 'descending') : undefined}>
      <a href={tableUrl(query, { sort: props.sort, dir: next, page: 1 })} class="sort">
        {props.label}
        <span class="sort-arrow" aria-hidden="true">
          {active ? (query.dir === 'asc' ? '▲' : '▼') : '↕'}
        </span>
        <span class="visually-hidden">{active ? `, sorted ${query.dir === 'asc' ? 'ascending' : 'descending'}; sort ${next === 'asc' ? 'ascending' : 'descending'}` : ', sort ascending'}</span>
      </a>
    </th>
  )
}

/** The bulk action on the checked rows: reviewed on a confirmation page before anything changes. */
function BulkControls(props: { roles: string[]; disabled: boolean }) {
  return (
    <fieldset class="row bulk-actions">
      <legend>With the selected rows</legend>
      <label for="f-bulk-action">Action</label>
      <select id="f-bulk-action" name="action">
        <option value="disable">Disable accounts</option>
        <option value="enable">Enable accounts</option>
        <option value="role">Change role</option>
        <option value="resend">Resend invitations</option>
      </select>
      <label for="f-bulk-role">New role (for “Change role”)</label>
      <select id="f-bulk-role" name="role">
        {props.roles.map((r) => (
          <option value={r} selected={r === 'researcher'}>
            {r}
          </option>
        ))}
      </select>
      <button type="submit" class="secondary" disabled={props.disabled}>
        Review…
      </button>
    </fieldset>
  )
}

function ActionButton(props: { userId: number; action: string; label: string; danger?: boolean }) {
  return (
    <form method="post" action={`/admin/users/${props.userId}/${props.action}`} class="inline">
      <button type="submit" class={props.danger ? 'caution' : 'secondary'}>
        {props.label}
      </button>
    </form>
  )
}

export function UserPage(props: {
  chrome: PageChrome
  user: User
  self: boolean
  /** false when the account's site role holds a permission the viewer lacks (the privilege ceiling). */
  mayAct: boolean
  roles: string[]
  lockedUntil: number | null
  memberships: UserMemberships
  sessions: Session[]
  identities: LinkedIdentity[]
  factors: FactorsSummary
  events: AuditEvent[]
  eventTargets?: Map<string, AuditTargetName>
  projects: { id: number; name: string }[]
  error?: string | undefined
  errors: FieldErrors
  values: Record<string, string>
  now: number
}) {
  const { user, errors, values } = props
  return (
    <Page title={user.email} chrome={props.chrome}>
      <p>
        <a href="/admin/users">← Users</a>
      </p>
      <h1>{user.email}</h1>
      <FormError message={props.error} />
      <div class="tiles">
        <Card title="Status">
          <dl class="facts">
            <dt>Username</dt>
            <dd>{user.username ?? '—'}</dd>
            <dt>Account</dt>
            <dd>{user.disabledAt ? <strong class="bad">Disabled</strong> : 'Enabled'}</dd>
            <dt>Sign-in</dt>
            <dd>{props.lockedUntil ? <strong class="bad">Locked until <DateTime ms={props.lockedUntil} /></strong> : 'Not locked'}</dd>
            <dt>Password</dt>
            <dd>{user.mustChangePassword ? 'Temporary: must change at next sign-in' : <>changed <DateTime ms={user.passwordChangedAt} /></>}</dd>
            <FactorsSummaryFacts factors={props.factors} />
            <dt>Last sign-in</dt>
            <dd>
              <DateTime ms={user.lastSignInAt} />
            </dd>
            <dt>Registered</dt>
            <dd>
              <DateTime ms={user.createdAt} />
            </dd>
            {user.contactEmail && (
              <>
                <dt>Second email</dt>
                <dd>{user.contactEmail}</dd>
              </>
            )}
            <dt>Claimed through</dt>
            <dd>{user.claimedVia === 'local' ? 'Local password' : user.claimedVia}</dd>
          </dl>
          {!props.mayAct ? (
            <p>This account's site role holds permissions you do not hold: you cannot change, disable, unlock or reset it.</p>
          ) : (
          <div class="actions">
            {user.disabledAt ? <ActionButton userId={user.id} action="enable" label="Enable" /> : !props.self && <ActionButton userId={user.id} action="disable" label="Disable" danger />}
            {props.lockedUntil && <ActionButton userId={user.id} action="unlock" label="Unlock" />}
            {props.self ? <><a href="/password/change">Change your password</a> <a href="/account/recovery-codes">Recovery codes</a></> : <ActionButton userId={user.id} action="reset-password" label="Reset password" danger />}
            {!props.self && user.totpSecret && <ActionButton userId={user.id} action="reset-mfa" label="Reset authenticator" danger />}
          </div>
          )}
        </Card>
        <Card title="Role">
          {props.self ? (
            <p>
              <strong>{user.role}</strong> — you cannot change your own role.
            </p>
          ) : !props.mayAct ? (
            <p>
              <strong>{user.role}</strong> — this role holds permissions you do not hold, so you cannot change it.
            </p>
          ) : (
            <form method="post" action={`/admin/users/${user.id}/role`} class="stack">
              <div class={errors.role ? 'field invalid' : 'field'}>
                <label for="f-role">Site role (exactly one)</label>
                <select id="f-role" name="role">
                  {props.roles.map((r) => (
                    <option value={r} selected={r === user.role}>
                      {r}
                    </option>
                  ))}
                </select>
                {errors.role && (
                  <p id="f-role-error" class="error">
                    {errors.role}
                  </p>
                )}
              </div>
              <button type="submit">Change role</button>
            </form>
          )}
        </Card>
        <Card title="Profile">
          <form method="post" action={`/admin/users/${user.id}`} class="stack">
            <Field name="first_name" label="First name" value={values.first_name ?? user.firstName} maxlength={100} error={errors.first_name} autocomplete="off" />
            <Field name="last_name" label="Last name" value={values.last_name ?? user.lastName} maxlength={100} error={errors.last_name} autocomplete="off" />
            <Field name="organization" label="Organisation" value={values.organization ?? user.organization} maxlength={200} error={errors.organization} autocomplete="off" />
            <button type="submit">Save</button>
          </form>
        </Card>
      </div>
      <Card title="Groups and projects">
        <h3>Groups</h3>
        {props.memberships.groups.length === 0 ? (
          <p>None.</p>
        ) : (
          <ul>
            {props.memberships.groups.map((g) => (
              <li>
                {g.name} — {g.role === 'group_admin' ? 'group admin' : 'member'}
              </li>
            ))}
          </ul>
        )}
        <h3>Projects</h3>
        {props.memberships.projects.length === 0 ? (
          <p>None.</p>
        ) : (
          <ul>
            {props.memberships.projects.map((p) => (
              <li>
                {p.name} — {p.owner ? 'owner' : p.role} ({p.status}) · <a href={`/admin/users/${user.id}/explain?project_id=${p.id}`}>explain access</a>
              </li>
            ))}
          </ul>
        )}
        <form method="get" action={`/admin/users/${user.id}/explain`} class="row">
          <label for="f-project">Explain access to a project</label>
          <select id="f-project" name="project_id">
            {props.projects.map((p) => (
              <option value={String(p.id)}>{p.name}</option>
            ))}
          </select>
          <button type="submit" class="secondary" disabled={props.projects.length === 0}>
            Explain
          </button>
        </form>
        <form method="post" action={`/admin/users/${user.id}/copy-permissions`} class="stack">
          <Field name="source_email" label="Copy permissions from user (adds their group and project memberships; removes nothing)" type="email" value={values.source_email ?? ''} error={errors.source_email} autocomplete="off" />
          <button type="submit" class="secondary">
            Copy permissions
          </button>
        </form>
      </Card>
      <Card title="Linked identities">
        <LinkedIdentitiesTable identities={props.identities} {...(props.mayAct ? { unlinkAction: (id: number) => `/admin/users/${user.id}/identities/${id}/unlink` } : {})} />
      </Card>
      <Card title="Active sessions">
        <SessionsTable sessions={props.sessions} {...(props.mayAct ? { revokeAction: (id: string) => `/admin/users/${user.id}/sessions/${id}/revoke` } : {})} />
      </Card>
      <Card title="Recent audit events">
        <AuditTable events={props.events} targets={props.eventTargets} />
      </Card>
    </Page>
  )
}

export function ExplainPage(props: { chrome: PageChrome; user: User; project: Project; decisions: Decision[] }) {
  return (
    <Page title="Explain access" chrome={props.chrome}>
      <p>
        <a href={`/admin/users/${props.user.id}`}>← {props.user.email}</a>
      </p>
      <h1>
        Access of {props.user.email} to “{props.project.name}”
      </h1>
      <p>
        Site role <strong>{props.user.role}</strong>; project status <strong>{props.project.status}</strong>.
      </p>
      <TableScroll label="Access by permission">
      <table>
        <thead>
          <tr>
            <th scope="col">Permission</th>
            <th scope="col">Answer</th>
            <th scope="col">Rule</th>
          </tr>
        </thead>
        <tbody>
          {props.decisions.map((d) => (
            <tr>
              <td>
                <code>{d.permission}</code>
                <br />
                <small>{PERMISSION_LABELS[d.permission]}</small>
              </td>
              <td>{d.allowed ? <strong class="good">Allowed</strong> : <strong class="bad">{d.kind === 'state' ? 'Not now' : 'Denied'}</strong>}</td>
              <td>{d.rule}</td>
            </tr>
          ))}
        </tbody>
      </table>
      </TableScroll>
    </Page>
  )
}
