import { Hono, type Context } from 'hono'
import type { AppEnv } from '../../http/context.ts'
import { requireUser } from '../../auth/middleware.ts'
import { requirePermission } from '../../authz/middleware.ts'
import { chrome } from '../../http/page.ts'
import { redirectTo } from '../../http/htmx.ts'
import { readForm, checkTextFields, normalizeEmail, hasErrors, type FieldErrors, idParam } from '../../http/forms.ts'
import { setFlash } from '../../http/flash.ts'
import { forbiddenPage, notFoundPage } from '../../http/errors.tsx'
import { denyGroupGrant } from '../../models/access.ts'
import { GroupsPage, GroupPage } from '../../../views/admin/groups.tsx'
import { ConfirmPage } from '../../../views/components/confirm.tsx'
import { countGroupProjects, createGroup, deleteEmptyGroup, whyGroupIsNotEmpty, getGroupById, getGroupByName, listGroupMembers, listGroups, removeGroupMember, setGroupMember, updateGroup } from '../../models/groups.ts'
import { getUserByEmail } from '../../models/users.ts'
import { GROUP_ROLES, type Group, type GroupRole } from '../../db/schema.ts'

export const adminGroups = new Hono<AppEnv>()

const guard = [requireUser, requirePermission('groups.manage')] as const

function auditBase(c: Context<AppEnv>) {
  const actor = c.get('actor')
  return { at: c.get('deps').clock.now(), actor: { id: actor.id, email: actor.email }, ip: c.get('clientIp') }
}

function checkGroupFields(c: Context<AppEnv>, name: string, description: string, except?: Group): FieldErrors {
  const existing = name ? getGroupByName(c.get('deps').db, name) : null
  return {
    name: name.length < 2 || name.length > 80 ? 'Between 2 and 80 characters.' : existing && existing.id !== except?.id ? 'A group with this name exists already.' : undefined,
    description: description.length > 500 ? 'At most 500 characters.' : undefined,
  }
}

adminGroups.get('/admin/groups', ...guard, (c) => c.html(<GroupsPage chrome={chrome(c)} groups={listGroups(c.get('deps').db)} />))

adminGroups.post('/admin/groups', ...guard, async (c) => {
  const form = await readForm(c)
  const values = { name: form.get('name').trim(), description: form.get('description').trim() }
  const errors = checkTextFields(checkGroupFields(c, values.name, values.description), values, ['description'])
  if (hasErrors(errors)) return c.html(<GroupsPage chrome={chrome(c)} groups={listGroups(c.get('deps').db)} values={values} errors={errors} />, 422)
  const group = createGroup(c.get('deps').db, values, auditBase(c))
  setFlash(c, 'success', `Group “${group.name}” created.`)
  return redirectTo(c, `/admin/groups/${group.id}`)
})

function loadGroup(c: Context<AppEnv>): Group | null {
  const id = idParam(c.req.param('id'))
  return id === null ? null : getGroupById(c.get('deps').db, id)
}

function renderGroup(c: Context<AppEnv>, group: Group, extra: { values?: Record<string, string>; errors?: FieldErrors; error?: string } = {}, status: 200 | 409 | 422 = 200) {
  const { db } = c.get('deps')
  return c.html(
    <GroupPage chrome={chrome(c)} group={group} members={listGroupMembers(db, group.id)} projects={countGroupProjects(db, group.id)} values={extra.values ?? {}} errors={extra.errors ?? {}} error={extra.error} notDeletable={whyGroupIsNotEmpty(db, group)} />,
    status,
  )
}

adminGroups.get('/admin/groups/:id', ...guard, (c) => {
  const group = loadGroup(c)
  return group ? renderGroup(c, group) : notFoundPage(c)
})

/** Rename or re-describe. */
adminGroups.post('/admin/groups/:id', ...guard, async (c) => {
  const group = loadGroup(c)
  if (!group) return notFoundPage(c)
  const form = await readForm(c)
  const values = { name: form.get('name').trim(), description: form.get('description').trim() }
  const errors = checkTextFields(checkGroupFields(c, values.name, values.description, group), values, ['description'])
  if (hasErrors(errors)) return renderGroup(c, group, { values, errors }, 422)
  updateGroup(c.get('deps').db, group, values, auditBase(c))
  setFlash(c, 'success', 'Group saved.')
  return redirectTo(c, `/admin/groups/${group.id}`)
})

adminGroups.post('/admin/groups/:id/members', ...guard, async (c) => {
  const group = loadGroup(c)
  if (!group) return notFoundPage(c)
  const form = await readForm(c)
  const email = normalizeEmail(form.get('email'))
  const user = email ? getUserByEmail(c.get('deps').db, email) : null
  const role = form.get('role') as GroupRole
  const errors: FieldErrors = {
    email: user ? undefined : 'No user has this email address.',
    role: (GROUP_ROLES as readonly string[]).includes(role) ? undefined : 'Choose group admin or member.',
  }
  if (hasErrors(errors)) return renderGroup(c, group, { values: { email: form.get('email'), role }, errors }, 422)
  // The ceiling covers the role given and the one it replaces: nobody below a group admin mints or demotes one.
  const current = listGroupMembers(c.get('deps').db, group.id).find((m) => m.userId === user!.id)?.role ?? null
  const denial = denyGroupGrant(c.get('deps').db, c.get('actor'), group.id, role) ?? (current ? denyGroupGrant(c.get('deps').db, c.get('actor'), group.id, current) : null)
  if (denial) return forbiddenPage(c, denial)
  setGroupMember(c.get('deps').db, group, user!, role, auditBase(c))
  setFlash(c, 'success', `${user!.email} is now ${role === 'group_admin' ? 'a group admin' : 'a member'} of ${group.name}.`)
  return redirectTo(c, `/admin/groups/${group.id}`)
})

adminGroups.post('/admin/groups/:id/members/:userId/remove', ...guard, async (c) => {
  const group = loadGroup(c)
  if (!group) return notFoundPage(c)
  const userId = idParam(c.req.param('userId'))
  const member = userId === null ? undefined : listGroupMembers(c.get('deps').db, group.id).find((m) => m.userId === userId)
  if (!member) return notFoundPage(c)
  const denial = denyGroupGrant(c.get('deps').db, c.get('actor'), group.id, member.role)
  if (denial) return forbiddenPage(c, denial)
  if ((await readForm(c)).get('confirm') !== 'yes') {
    return c.html(<ConfirmPage chrome={chrome(c)} title={`Remove from ${group.name}?`} question="They lose their group role; their project memberships stay." button="Remove" action={c.req.path} cancel={`/admin/groups/${group.id}`} />)
  }
  if (!removeGroupMember(c.get('deps').db, group, member.userId, auditBase(c))) return notFoundPage(c)
  setFlash(c, 'success', 'Member removed.')
  return redirectTo(c, `/admin/groups/${group.id}`)
})

adminGroups.post('/admin/groups/:id/delete', ...guard, async (c) => {
  const group = loadGroup(c)
  if (!group) return notFoundPage(c)
  const { db } = c.get('deps')
  const why = whyGroupIsNotEmpty(db, group)
  if (why !== null) return renderGroup(c, group, { error: `“${group.name}” cannot be deleted: ${why}.` }, 409)
  if ((await readForm(c)).get('confirm') !== 'yes') {
    return c.html(<ConfirmPage chrome={chrome(c)} title={`Delete the group “${group.name}”?`} question="The empty group is removed for good; its audit trail stays." button="Delete group" action={c.req.path} cancel={`/admin/groups/${group.id}`} />)
  }
  const deletion = deleteEmptyGroup(db, group, auditBase(c))
  if (deletion.outcome === 'gone') return notFoundPage(c)
  if (deletion.outcome === 'refused') return renderGroup(c, group, { error: `“${group.name}” cannot be deleted: ${deletion.why}.` }, 409)
  setFlash(c, 'success', `Group “${group.name}” deleted.`)
  return redirectTo(c, '/admin/groups')
})
