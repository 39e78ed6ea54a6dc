import { Page, type PageChrome } from '../layouts/page.tsx'
import { Card, Field, FormError } from '../components/form.tsx'
import type { RoleHolder, RoleWithUsage } from '../../src/models/roles.ts'
import type { GroupSummary } from '../../src/models/groups.ts'
import type { FieldErrors } from '../../src/http/forms.ts'
import { PERMISSION_LABELS, PROJECT_PERMISSIONS, REQUIRED_PERMISSIONS, SITE_PERMISSIONS } from '../../src/authz/permissions.ts'
import { TableScroll } from '../components/table-scroll.tsx'

export type RoleFormValues = { name: string; description: string; scope: 'site' | 'project'; permissions: string[]; groupIds: number[] }

function PermissionBoxes(props: { scope: 'site' | 'project'; checked: string[]; error?: string | undefined }) {
  const all = props.scope === 'site' ? SITE_PERMISSIONS : PROJECT_PERMISSIONS
  const required = REQUIRED_PERMISSIONS[props.scope] as readonly string[]
  return (
    <fieldset class={props.error ? 'invalid' : undefined}>
      <legend>{props.scope === 'site' ? 'Site permissions' : 'Project permissions'}</legend>
      {all.map((p) => (
        <label class="check">
          <input type="checkbox" name="permissions" value={p} checked={required.includes(p) || props.checked.includes(p)} disabled={required.includes(p)} />
          <code>{p}</code> — {PERMISSION_LABELS[p]}
          {required.includes(p) && <small> (always on)</small>}
        </label>
      ))}
      {props.error && <p class="error">{props.error}</p>}
    </fieldset>
  )
}

function GroupBoxes(props: { groups: GroupSummary[]; checked: number[]; error?: string | undefined }) {
  return (
    <fieldset>
      <legend>Limit to groups (none ticked: any project)</legend>
      {props.groups.length === 0 && <p class="muted">No groups yet.</p>}
      {props.groups.map((g) => (
        <label class="check">
          <input type="checkbox" name="group_ids" value={String(g.id)} checked={props.checked.includes(g.id)} /> {g.name}
        </label>
      ))}
      {props.error && <p class="error">{props.error}</p>}
    </fieldset>
  )
}

/** The permission boxes of the chosen scope (and the group limit for a project role): a fragment of the new-role form. */
export function ScopePermissions(props: { groups: GroupSummary[]; values: RoleFormValues; errors: FieldErrors }) {
  const { values, errors } = props
  return (
    <div id="scope-permissions" class="stack">
      <PermissionBoxes scope={values.scope} checked={values.permissions} error={errors.permissions} />
      {values.scope === 'project' ? <GroupBoxes groups={props.groups} checked={values.groupIds} error={errors.group_ids} /> : <FormError message={errors.group_ids} />}
    </div>
  )
}

export function RolesPage(props: { chrome: PageChrome; roles: RoleWithUsage[]; groups: GroupSummary[]; form?: { values: RoleFormValues; errors: FieldErrors } | undefined }) {
  const values = props.form?.values ?? { name: '', description: '', scope: 'project', permissions: [], groupIds: [] }
  const errors = props.form?.errors ?? {}
  return (
    <Page title="Roles" chrome={props.chrome}>
      <p>
        <a href="/admin">← Admin</a>
      </p>
      <h1>Roles</h1>
      <p>Site roles: every user holds exactly one. Project roles: what a member may do in a project. System roles are built in and cannot be changed.</p>
      <TableScroll label="Roles">
      <table>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Scope</th>
            <th scope="col">Permissions</th>
            <th scope="col">Held by</th>
          </tr>
        </thead>
        <tbody>
          {props.roles.map((r) => (
            <tr>
              <td>
                <a href={`/admin/roles/${r.id}`}>{r.name}</a>
                {r.isSystem && <span class="badge">system</span>}
                <br />
                <small class="muted">{r.description}</small>
              </td>
              <td>{r.scope}</td>
              <td>{r.permissions.length === 0 ? <span class="muted">none (read-only)</span> : r.permissions.map((p) => <code class="perm">{p}</code>)}</td>
              <td>{r.holders}</td>
            </tr>
          ))}
        </tbody>
      </table>
      </TableScroll>
      <Card title="New custom role">
        <form method="post" action="/admin/roles" class="stack">
          <Field name="name" label="Name" value={values.name} required maxlength={40} error={errors.name} autocomplete="off" />
          <Field name="description" label="Description" value={values.description} maxlength={250} error={errors.description} autocomplete="off" />
          <fieldset>
            <legend>Scope</legend>
            <label class="check">
              <input type="radio" name="scope" value="project" checked={values.scope === 'project'} hx-get="/admin/roles?scope=project" hx-trigger="change" hx-target="#scope-permissions" hx-swap="outerHTML" /> Project role (given to members of a project)
            </label>
            <label class="check">
              <input type="radio" name="scope" value="site" checked={values.scope === 'site'} hx-get="/admin/roles?scope=site" hx-trigger="change" hx-target="#scope-permissions" hx-swap="outerHTML" /> Site role (one per user)
            </label>
            {errors.scope && <p class="error">{errors.scope}</p>}
            <button type="submit" formmethod="get" formaction="/admin/roles" class="secondary">
              Show this scope's permissions
            </button>
          </fieldset>
          <ScopePermissions groups={props.groups} values={values} errors={errors} />
          <button type="submit">Create role</button>
        </form>
      </Card>
    </Page>
  )
}

export function RolePage(props: {
  chrome: PageChrome
  role: RoleWithUsage
  holders: RoleHolder[]
  groups: GroupSummary[]
  form?: { values: RoleFormValues; errors: FieldErrors } | undefined
  error?: string | undefined
  renameError?: string | undefined
  renameValue?: string | undefined
}) {
  const { role } = props
  const values = props.form?.values ?? { name: role.name, description: role.description, scope: role.scope, permissions: role.permissions, groupIds: role.groupIds }
  const errors = props.form?.errors ?? {}
  return (
    <Page title={`Role ${role.name}`} chrome={props.chrome}>
      <p>
        <a href="/admin/roles">← Roles</a>
      </p>
      <h1>
        {role.scope === 'site' ? 'Site' : 'Project'} role “{role.name}”
      </h1>
      <FormError message={props.error} />
      {role.holders === 0 ? (
        <p>Nobody holds this role.</p>
      ) : (
        <p>
          Held by {role.holders} {role.scope === 'site' ? (role.holders === 1 ? 'user' : 'users') : role.holders === 1 ? 'project membership' : 'project memberships'}
          {role.holders > props.holders.length ? ` (the first ${props.holders.length} below)` : ''}.
        </p>
      )}
      {props.holders.length > 0 && (
        <ul class="holders">
          {props.holders.map((h) => (
            <li>
              <a href={`/admin/users/${h.userId}`}>{h.email}</a>
              {h.project && (
                <>
                  {' '}
                  on <a href={`/projects/${h.project.id}`}>{h.project.name}</a>
                </>
              )}
            </li>
          ))}
        </ul>
      )}
      {!role.isSystem && (
        <form method="post" action={`/admin/roles/${role.id}/rename`} class="row">
          <Field name="name" label="Name" value={props.renameValue ?? role.name} required maxlength={40} error={props.renameError} autocomplete="off" />
          <button type="submit" class="secondary">
            Rename
          </button>
        </form>
      )}
      {role.isSystem ? (
        <>
          <p>This is a system role: it cannot be edited or deleted.</p>
          <ul>
            {role.permissions.map((p) => (
              <li>
                <code>{p}</code>
              </li>
            ))}
          </ul>
        </>
      ) : (
        <>
          <form method="post" action={`/admin/roles/${role.id}`} class="stack">
            <Field name="description" label="Description" value={values.description} maxlength={250} error={errors.description} autocomplete="off" />
            <PermissionBoxes scope={role.scope} checked={values.permissions} error={errors.permissions} />
            {role.scope === 'project' ? <GroupBoxes groups={props.groups} checked={values.groupIds} error={errors.group_ids} /> : <FormError message={errors.group_ids} />}
            <button type="submit">Save role</button>
          </form>
          <form method="post" action={`/admin/roles/${role.id}/delete`}>
            <button type="submit" class="danger">
              Delete role
            </button>
          </form>
        </>
      )}
    </Page>
  )
}
