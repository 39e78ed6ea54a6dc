import { Page, type PageChrome } from '../layouts/page.tsx'
import { Card, Field, FormError } from '../components/form.tsx'
import type { GroupMemberRow, GroupSummary } from '../../src/models/groups.ts'
import type { Group } from '../../src/db/schema.ts'
import type { FieldErrors } from '../../src/http/forms.ts'
import { TableScroll } from '../components/table-scroll.tsx'

export function GroupsPage(props: { chrome: PageChrome; groups: GroupSummary[]; values?: Record<string, string>; errors?: FieldErrors }) {
  const values = props.values ?? {}
  const errors = props.errors ?? {}
  return (
    <Page title="Groups" chrome={props.chrome}>
      <p>
        <a href="/admin">← Admin</a>
      </p>
      <h1>Groups</h1>
      <p>A group — a centre, team or consortium — holds projects. Its group admins may delete the group's projects and manage their members.</p>
      <TableScroll label="Groups">
      <table>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Members</th>
            <th scope="col">Projects</th>
          </tr>
        </thead>
        <tbody>
          {props.groups.map((g) => (
            <tr>
              <td>
                <a href={`/admin/groups/${g.id}`}>{g.name}</a>
                <br />
                <small class="muted">{g.description}</small>
              </td>
              <td>{g.members}</td>
              <td>{g.projects}</td>
            </tr>
          ))}
          {props.groups.length === 0 && (
            <tr>
              <td colspan={3}>No groups yet.</td>
            </tr>
          )}
        </tbody>
      </table>
      </TableScroll>
      <Card title="New group">
        <form method="post" action="/admin/groups" class="stack">
          <Field name="name" label="Name" value={values.name ?? ''} required maxlength={80} error={errors.name} autocomplete="off" />
          <Field name="description" label="Description" value={values.description ?? ''} maxlength={500} error={errors.description} autocomplete="off" />
          <button type="submit">Create group</button>
        </form>
      </Card>
    </Page>
  )
}

/** notDeletable: why the group cannot be deleted (null: it is empty and can be). */
export function GroupPage(props: { chrome: PageChrome; group: Group; members: GroupMemberRow[]; projects: number; values: Record<string, string>; errors: FieldErrors; error?: string | undefined; notDeletable: string | null }) {
  const { group, values, errors } = props
  return (
    <Page title={group.name} chrome={props.chrome}>
      <p>
        <a href="/admin/groups">← Groups</a>
      </p>
      <h1>{group.name}</h1>
      <FormError message={props.error} />
      <p>{props.projects} projects.</p>
      <Card title="Members">
        <TableScroll label="Members">
        <table>
          <thead>
            <tr>
              <th scope="col">Email</th>
              <th scope="col">Name</th>
              <th scope="col">Group role</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {props.members.map((m) => (
              <tr>
                <td>
                  <a href={`/admin/users/${m.userId}`}>{m.email}</a>
                </td>
                <td>{`${m.firstName} ${m.lastName}`.trim()}</td>
                <td>{m.role === 'group_admin' ? 'group admin' : 'member'}</td>
                <td>
                  <form method="post" action={`/admin/groups/${group.id}/members/${m.userId}/remove`} class="inline">
                    <button type="submit" class="link">
                      Remove
                    </button>
                  </form>
                </td>
              </tr>
            ))}
            {props.members.length === 0 && (
              <tr>
                <td colspan={4}>No members yet.</td>
              </tr>
            )}
          </tbody>
        </table>
        </TableScroll>
        <form method="post" action={`/admin/groups/${group.id}/members`} class="stack">
          <Field name="email" label="Add or change a member: email" type="email" value={values.email ?? ''} required error={errors.email} autocomplete="off" />
          <div class="field">
            <label for="f-group-role">Group role</label>
            <select id="f-group-role" name="role">
              <option value="member" selected={values.role !== 'group_admin'}>
                member
              </option>
              <option value="group_admin" selected={values.role === 'group_admin'}>
                group admin
              </option>
            </select>
            {errors.role && <p class="error">{errors.role}</p>}
          </div>
          <button type="submit">Save member</button>
        </form>
      </Card>
      <Card title="Rename">
        <form method="post" action={`/admin/groups/${group.id}`} class="stack">
          <Field name="name" label="Name" value={values.name ?? group.name} required maxlength={80} error={errors.name} autocomplete="off" />
          <Field name="description" label="Description" value={values.description ?? group.description} maxlength={500} error={errors.description} autocomplete="off" />
          <button type="submit">Save</button>
        </form>
      </Card>
      <Card title="Delete">
        {props.notDeletable === null ? (
          <form method="post" action={`/admin/groups/${group.id}/delete`}>
            <p>The group is empty: no projects, members, invitations, limited roles or consortium studies refer to it.</p>
            <button type="submit" class="danger">
              Delete group…
            </button>
          </form>
        ) : (
          <p>Only an empty group can be deleted; this one cannot: {props.notDeletable}.</p>
        )}
      </Card>
    </Page>
  )
}
