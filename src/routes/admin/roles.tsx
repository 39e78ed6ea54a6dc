import { Hono, type Context } from 'hono'
import { sql } from 'drizzle-orm'
import type { AppEnv } from '../../http/context.ts'
import { requireUser } from '../../auth/middleware.ts'
import { requirePermission } from '../../authz/middleware.ts'
import { chrome } from '../../http/page.ts'
import { isHtmx, redirectTo } from '../../http/htmx.ts'
import { readForm, checkTextFields, hasErrors, type FieldErrors, type FormData, idParam } from '../../http/forms.ts'
import { setFlash } from '../../http/flash.ts'
import { forbiddenPage, notFoundPage } from '../../http/errors.tsx'
import { RolesPage, RolePage, ScopePermissions, type RoleFormValues } from '../../../views/admin/roles.tsx'
import { ConfirmPage } from '../../../views/components/confirm.tsx'
import { countRoleHolders, createRole, deleteRole, getRoleById, listRoleHolders, listRolesWithUsage, normalizePermissions, renameRole, updateRole } from '../../models/roles.ts'
import { listGroups } from '../../models/groups.ts'
import { isProjectPermission, isSitePermission } from '../../authz/permissions.ts'
import { roles, type Role } from '../../db/schema.ts'
import { denyRoleChange } from '../../authz/policy.ts'
import { actorHoldsRole } from '../../models/access.ts'

export const adminRoles = new Hono<AppEnv>()

const guard = [requireUser, requirePermission('roles.manage')] as const

function auditBase(c: Context<AppEnv>) {
  const actor = c.get('actor')
  return { at: c.get('deps').clock.now(), actor: { id: actor.id, email: actor.email }, ip: c.get('clientIp') }
}

function readRoleForm(c: Context<AppEnv>, form: FormData, scope: string): { values: RoleFormValues; errors: FieldErrors } {
  const values: RoleFormValues = {
    name: form.get('name').trim(),
    description: form.get('description').trim(),
    scope: scope === 'site' || scope === 'project' ? scope : 'project',
    permissions: form.getAll('permissions'),
    groupIds: [...new Set(form.getAll('group_ids').map(Number))],
  }
  const knownGroups = new Set(listGroups(c.get('deps').db).map((g) => g.id))
  const unknownGroups = values.groupIds.filter((id) => !knownGroups.has(id))
  const unknown = values.permissions.filter((p) => !isSitePermission(p) && !isProjectPermission(p))
  // A permission of the other scope comes from a stale or tampered form (the boxes shown are the scope's own): refused, never dropped silently.
  const otherScope = values.permissions.filter((p) => (values.scope === 'site' ? isProjectPermission(p) : isSitePermission(p)))
  return {
    values,
    errors: checkTextFields({
      scope: scope !== 'site' && scope !== 'project' ? 'Choose site or project.' : undefined,
      description: values.description.length > 250 ? 'At most 250 characters.' : undefined,
      permissions:
        unknown.length > 0
          ? `Unknown permissions: ${unknown.join(', ')}.`
          : otherScope.length > 0
            ? `${otherScope.join(', ')} ${otherScope.length === 1 ? 'is a' : 'are'} ${values.scope === 'site' ? 'project' : 'site'} ${otherScope.length === 1 ? 'permission' : 'permissions'}: a ${values.scope} role cannot hold ${otherScope.length === 1 ? 'it' : 'them'}. Tick only the permissions shown for this scope.`
            : undefined,
      group_ids:
        values.scope === 'site' && values.groupIds.length > 0
          ? 'Only project roles can be limited to groups.'
          : unknownGroups.length > 0
            ? 'One of the chosen groups no longer exists; reload the page.'
            : undefined,
    }, { name: values.name, description: values.description }),
  }
}


function renderRoles(c: Context<AppEnv>, form?: { values: RoleFormValues; errors: FieldErrors }, status: 200 | 422 = 200) {
  const { db } = c.get('deps')
  return c.html(<RolesPage chrome={chrome(c)} roles={listRolesWithUsage(db)} groups={listGroups(db)} form={form} />, status)
}

// The new-role form shows one scope's permissions: ?scope= picks it (a plain GET without JavaScript,
// the boxes alone as a fragment for htmx), keeping what was typed.
adminRoles.get('/admin/roles', ...guard, (c) => {
  const scope = c.req.query('scope')
  c.header('Vary', 'HX-Request')
  if (scope !== 'site' && scope !== 'project') return renderRoles(c)
  const values: RoleFormValues = { name: (c.req.query('name') ?? '').slice(0, 40), description: (c.req.query('description') ?? '').slice(0, 250), scope, permissions: [], groupIds: [] }
  if (isHtmx(c)) return c.html(<ScopePermissions groups={listGroups(c.get('deps').db)} values={values} errors={{}} />)
  return renderRoles(c, { values, errors: {} })
})

adminRoles.post('/admin/roles', ...guard, async (c) => {
  const { db } = c.get('deps')
  const form = await readForm(c)
  const { values, errors } = readRoleForm(c, form, form.get('scope'))
  errors.name = roleNameError(c, values.name)
  if (hasErrors(errors)) return renderRoles(c, { values, errors }, 422)
  const denial = denyRoleChange(c.get('actor'), values, normalizePermissions(values.scope, values.permissions), false)
  if (denial) return forbiddenPage(c, denial)
  const role = createRole(db, values, auditBase(c))
  setFlash(c, 'success', `Role “${role.name}” created.`)
  return redirectTo(c, '/admin/roles')
})

/** Why a new name cannot be a role's (null: it can). Names are unique regardless of case; `viewer` is taken by the alias. */
function roleNameError(c: Context<AppEnv>, name: string, except?: Role): string | undefined {
  if (!/^[A-Za-z0-9][A-Za-z0-9 _-]{1,39}$/.test(name)) return '2 to 40 letters, digits, spaces, “_” or “-”, starting with a letter or digit.'
  const taken = c.get('deps').db.select().from(roles).where(sql`${roles.name} = ${name} collate nocase`).get()
  if (name.toLowerCase() === 'viewer' || (taken && taken.id !== except?.id)) return 'A role with this name exists already.'
  return undefined
}

function loadRole(c: Context<AppEnv>): Role | null {
  const id = idParam(c.req.param('id'))
  return id === null ? null : getRoleById(c.get('deps').db, id)
}

function renderRole(c: Context<AppEnv>, role: Role, extra: { form?: { values: RoleFormValues; errors: FieldErrors }; error?: string; renameError?: string; renameValue?: string } = {}, status: 200 | 409 | 422 = 200) {
  const { db } = c.get('deps')
  const usage = listRolesWithUsage(db).find((r) => r.id === role.id)!
  return c.html(<RolePage chrome={chrome(c)} role={usage} holders={listRoleHolders(db, role)} groups={listGroups(db)} form={extra.form} error={extra.error} renameError={extra.renameError} renameValue={extra.renameValue} />, status)
}

adminRoles.get('/admin/roles/:id', ...guard, (c) => {
  const role = loadRole(c)
  return role ? renderRole(c, role) : notFoundPage(c)
})

adminRoles.post('/admin/roles/:id', ...guard, async (c) => {
  const role = loadRole(c)
  if (!role) return notFoundPage(c)
  if (role.isSystem) return renderRole(c, role, { error: `“${role.name}” is a system role: it cannot be edited.` }, 409)
  const denied = denyRoleChange(c.get('actor'), role, role.permissions, actorHoldsRole(c.get('deps').db, c.get('actor'), role))
  if (denied) return forbiddenPage(c, denied)
  const { values, errors } = readRoleForm(c, await readForm(c), role.scope)
  if (hasErrors(errors)) return renderRole(c, role, { form: { values: { ...values, name: role.name }, errors } }, 422)
  const denial = denyRoleChange(c.get('actor'), role, normalizePermissions(role.scope, values.permissions), false)
  if (denial) return forbiddenPage(c, denial)
  updateRole(c.get('deps').db, role, values, auditBase(c))
  setFlash(c, 'success', `Role “${role.name}” saved; it applies to everyone who holds it from their next request.`)
  return redirectTo(c, `/admin/roles/${role.id}`)
})

adminRoles.post('/admin/roles/:id/rename', ...guard, async (c) => {
  // The form is read before the role is loaded: from there to the rename nothing awaits, so a parallel rename cannot leave the old name stale.
  const name = (await readForm(c)).get('name').trim()
  const role = loadRole(c)
  if (!role) return notFoundPage(c)
  if (role.isSystem) return renderRole(c, role, { error: `“${role.name}” is a system role: it cannot be renamed.` }, 409)
  const denied = denyRoleChange(c.get('actor'), role, role.permissions, actorHoldsRole(c.get('deps').db, c.get('actor'), role))
  if (denied) return forbiddenPage(c, denied)
  if (name === role.name) return redirectTo(c, `/admin/roles/${role.id}`)
  const error = roleNameError(c, name, role)
  if (error) return renderRole(c, role, { renameError: error, renameValue: name }, 422)
  renameRole(c.get('deps').db, role, name, auditBase(c))
  setFlash(c, 'success', `Role “${role.name}” renamed to “${name}”.`)
  return redirectTo(c, `/admin/roles/${role.id}`)
})

adminRoles.post('/admin/roles/:id/delete', ...guard, async (c) => {
  const role = loadRole(c)
  if (!role) return notFoundPage(c)
  if (role.isSystem) return renderRole(c, role, { error: `“${role.name}” is a system role: it cannot be deleted.` }, 409)
  const held = countRoleHolders(c.get('deps').db, role)
  if (held === 0 && (await readForm(c)).get('confirm') !== 'yes') {
    return c.html(<ConfirmPage chrome={chrome(c)} title={`Delete role “${role.name}”?`} question="The role is removed for good; this cannot be undone." button="Delete role" action={`/admin/roles/${role.id}/delete`} cancel={`/admin/roles/${role.id}`} />)
  }
  const holders = deleteRole(c.get('deps').db, role, auditBase(c))
  if (holders > 0) return renderRole(c, role, { error: `“${role.name}” cannot be deleted: ${holders} ${holders === 1 ? role.scope === 'site' ? 'user holds' : 'membership uses' : role.scope === 'site' ? 'users hold' : 'memberships use'} it.` }, 409)
  setFlash(c, 'success', `Role “${role.name}” deleted.`)
  return redirectTo(c, '/admin/roles')
})
