import { Hono, type Context } from 'hono'
import { inArray, isNull, and } from 'drizzle-orm'
import type { AppEnv } from '../../http/context.ts'
import { requireUser } from '../../auth/middleware.ts'
import { requirePermission } from '../../authz/middleware.ts'
import { chrome } from '../../http/page.ts'
import { redirectTo } from '../../http/htmx.ts'
import { readForm, checkTextFields, normalizeEmail, hasErrors, type FieldErrors, type FormData, idParam } from '../../http/forms.ts'
import { setFlash } from '../../http/flash.ts'
import { forbiddenPage, notFoundPage } from '../../http/errors.tsx'
import { InvitationsPage, InvitationPage, type InvitationFormValues } from '../../../views/admin/invitations.tsx'
import { ConfirmPage } from '../../../views/components/confirm.tsx'
import { INVITATION_RESEND_EVENTS, invitationSendsInLastHour, SENDS_PER_HOUR } from '../../auth/send-limits.ts'
import { createInvitation, getBlockingInvitation, getInvitationById, invitationStatus, listInvitations, OPEN_INVITATION_STATES, resendInvitation, revokeInvitation, updateInvitation, type InvitationGrants } from '../../models/invitations.ts'
import { getUserByEmail, displayName } from '../../models/users.ts'
import { getRoleById, getRoleByName, listRoles } from '../../models/roles.ts'
import { getGroupById, listGroups } from '../../models/groups.ts'
import { getUserMemberships } from '../../models/user-admin.ts'
import { denyGrantSiteRole, denyGroupGrant, denyProjectGrants, listProjectsForPicker } from '../../models/access.ts'
import type { Denial } from '../../authz/policy.ts'
import { normalizeRoleName } from '../../authz/permissions.ts'
import { projects, GROUP_ROLES, type GroupRole, type Invitation } from '../../db/schema.ts'

export const adminInvitations = new Hono<AppEnv>()

const guard = [requireUser, requirePermission('users.manage')] as const

function ctxOf(c: Context<AppEnv>) {
  const actor = c.get('actor')
  const { config, clock } = c.get('deps')
  return { actor: { id: actor.id, email: actor.email }, now: clock.now(), ip: c.get('clientIp'), baseUrl: config.baseUrl, key: config.encryptionKey, inviter: displayName(actor) }
}

function pickers(c: Context<AppEnv>) {
  const { db } = c.get('deps')
  // Only the site roles this actor may invite with (the privilege ceiling).
  return { siteRoles: listRoles(db, 'site').map((r) => r.name).filter((name) => denyGrantSiteRole(db, c.get('actor'), name) === null), projectRoles: listRoles(db, 'project'), groups: listGroups(db), projects: listProjectsForPicker(db) }
}

const EMPTY: InvitationFormValues = { email: '', role: 'researcher', organization: '', groupId: '', groupRole: 'member', projectIds: [], projectRoles: ['contributor'] }

/** The privilege ceiling on everything an invitation carries: its site role, group role and project roles. */
function denyInvitationGrants(c: Context<AppEnv>, role: string, grants: InvitationGrants): Denial | null {
  const { db } = c.get('deps')
  const actor = c.get('actor')
  return (
    denyGrantSiteRole(db, actor, role) ??
    (grants.groupId !== null && grants.groupRole !== null ? denyGroupGrant(db, actor, grants.groupId, grants.groupRole) : null) ??
    denyProjectGrants(db, actor, grants.projectGrants)
  )
}

/** Reads and checks the fields shared by invite and edit; returns the grants when valid. */
function readInvitationForm(c: Context<AppEnv>, form: FormData): { values: InvitationFormValues; errors: FieldErrors; role: string | null; grants: InvitationGrants } {
  const { db } = c.get('deps')
  const values: InvitationFormValues = {
    email: form.get('email'),
    role: form.get('role'),
    organization: form.get('organization').trim(),
    groupId: form.get('group_id'),
    groupRole: form.get('group_role') || 'member',
    projectIds: form.getAll('project_ids'),
    projectRoles: form.getAll('project_role').length > 0 ? [...new Set(form.getAll('project_role'))] : ['contributor'],
  }
  const role = getRoleByName(db, normalizeRoleName(values.role))
  const group = values.groupId ? getGroupById(db, Number(values.groupId)) : null
  const projectRoles = values.projectRoles.map((name) => getRoleByName(db, name))
  const projectIds = [...new Set(values.projectIds.map(Number))]
  const known = projectIds.length === 0 ? [] : db.select({ id: projects.id }).from(projects).where(and(inArray(projects.id, projectIds), isNull(projects.deletedAt))).all()
  const errors: FieldErrors = {
    role: role?.scope === 'site' ? undefined : 'Choose a site role.',
    organization: values.organization.length > 200 ? 'At most 200 characters.' : undefined,
    group_id: values.groupId && !group ? 'That group does not exist.' : undefined,
    group_role: (GROUP_ROLES as readonly string[]).includes(values.groupRole) ? undefined : 'Choose member or group admin.',
    project_ids: known.length !== projectIds.length ? 'One of the chosen projects does not exist.' : undefined,
    project_role: projectIds.length > 0 && projectRoles.some((r) => r?.scope !== 'project') ? 'Choose a project role (one or more).' : undefined,
  }
  checkTextFields(errors, { organization: values.organization })
  return {
    values,
    errors,
    role: role?.scope === 'site' ? role.name : null,
    grants: {
      groupId: group?.id ?? null,
      groupRole: group ? (values.groupRole as GroupRole) : null,
      projectGrants: projectRoles.every((r) => r?.scope === 'project') ? projectIds.flatMap((projectId) => projectRoles.map((r) => ({ projectId, roleId: r!.id }))) : [],
    },
  }
}

function renderList(c: Context<AppEnv>, form: { values: InvitationFormValues; errors: FieldErrors; note?: string }, status: 200 | 422 = 200) {
  const { db, clock } = c.get('deps')
  const all = c.req.query('all') === '1'
  const state = OPEN_INVITATION_STATES.find((s) => s === c.req.query('state')) ?? null
  return c.html(<InvitationsPage chrome={chrome(c)} invitations={listInvitations(db, { includeClosed: all, state, now: clock.now() })} showAll={all} state={state} now={clock.now()} form={form} {...pickers(c)} />, status)
}

adminInvitations.get('/admin/invitations', ...guard, (c) => {
  const { db } = c.get('deps')
  const values = { ...EMPTY, email: c.req.query('email') ?? '', projectIds: c.req.queries('project_ids') ?? [] }
  const copyFrom = c.req.query('copy_from')
  let note: string | undefined
  if (copyFrom) {
    const source = getUserByEmail(db, copyFrom)
    if (source) {
      // Additive: the source's memberships join whatever was already chosen.
      const m = getUserMemberships(db, source.id)
      values.projectIds = [...new Set([...values.projectIds, ...m.projects.filter((p) => !p.owner).map((p) => String(p.id))])]
      const roles = [...new Set(m.projects.filter((p) => !p.owner).flatMap((p) => p.roles))]
      if (roles.length > 0) values.projectRoles = roles.sort()
      if (m.groups[0]) Object.assign(values, { groupId: String(m.groups[0].id), groupRole: m.groups[0].role })
      values.organization = source.organization
      note = `Pre-filled from ${source.email}: ${values.projectIds.length} projects${m.groups[0] ? `, group ${m.groups[0].name}` : ''}.`
    } else note = `No user has the email ${copyFrom}; nothing was copied.`
  }
  return renderList(c, { values, errors: {}, note })
})

adminInvitations.post('/admin/invitations', ...guard, async (c) => {
  const { db, config } = c.get('deps')
  const { values, errors, role, grants } = readInvitationForm(c, await readForm(c))
  const email = normalizeEmail(values.email)
  if (email === null) errors.email = 'Enter a valid email address.'
  else if (getUserByEmail(db, email)) errors.email = 'A user with this email address already exists.'
  else {
    const blocking = getBlockingInvitation(db, email)
    if (blocking && invitationStatus(blocking, c.get('deps').clock.now()) === 'expired') errors.email = 'An expired invitation to this address still exists: delete it first, then invite again.'
    else if (blocking) errors.email = 'An invitation to this address is already outstanding: resend or edit it instead.'
  }
  if (hasErrors(errors)) return renderList(c, { values, errors }, 422)
  const denial = denyInvitationGrants(c, role!, grants)
  if (denial) return forbiddenPage(c, denial)
  const invitation = createInvitation(db, { email: email!, role: role!, organization: values.organization, ...grants }, { ...ctxOf(c), ttlMs: config.invitationTtlHours * 3_600_000 })
  c.get('deps').onEmailQueued?.()
  setFlash(c, 'success', `Invitation sent to ${invitation.email}.`)
  return redirectTo(c, `/admin/invitations/${invitation.id}`)
})

function loadInvitation(c: Context<AppEnv>): Invitation | null {
  const id = idParam(c.req.param('id'))
  return id === null ? null : getInvitationById(c.get('deps').db, id)
}

function renderOne(c: Context<AppEnv>, invitation: Invitation, extra: { values?: InvitationFormValues; errors?: FieldErrors; error?: string } = {}, status: 200 | 409 | 422 | 429 = 200) {
  const { db, clock } = c.get('deps')
  const grantedRoles = [...new Set(invitation.projectGrants.map((g) => g.roleId))].map((id) => getRoleById(db, id)?.name).filter((n): n is string => n !== undefined)
  const values = extra.values ?? {
    email: invitation.email,
    role: invitation.role,
    organization: invitation.organization,
    groupId: invitation.groupId === null ? '' : String(invitation.groupId),
    groupRole: invitation.groupRole ?? 'member',
    projectIds: [...new Set(invitation.projectGrants.map((g) => String(g.projectId)))],
    projectRoles: grantedRoles.length > 0 ? grantedRoles.sort() : ['contributor'],
  }
  return c.html(<InvitationPage chrome={chrome(c)} invitation={invitation} status={invitationStatus(invitation, clock.now())} values={values} errors={extra.errors ?? {}} error={extra.error} {...pickers(c)} />, status)
}

adminInvitations.get('/admin/invitations/:id', ...guard, (c) => {
  const invitation = loadInvitation(c)
  return invitation ? renderOne(c, invitation) : notFoundPage(c)
})

const resendLimitMessage = `This invitation was sent ${SENDS_PER_HOUR} times in the last hour already; nothing was sent. Try again later.`

/** Edit everything but the email; with `resend` ticked, the same link is emailed again. */
adminInvitations.post('/admin/invitations/:id', ...guard, async (c) => {
  const invitation = loadInvitation(c)
  if (!invitation) return notFoundPage(c)
  const status = invitationStatus(invitation, c.get('deps').clock.now())
  if (status !== 'sent' && status !== 'link visited') return renderOne(c, invitation, { error: `This invitation is ${status}: it can no longer be edited.` }, 409)
  const form = await readForm(c)
  const { values, errors, role, grants } = readInvitationForm(c, form)
  if (hasErrors(errors)) return renderOne(c, invitation, { values: { ...values, email: invitation.email }, errors }, 422)
  // What the invitation carries now and what it would carry: a lesser actor neither adds nor strips grants above them.
  const denial = denyInvitationGrants(c, invitation.role, { groupId: invitation.groupId, groupRole: invitation.groupRole, projectGrants: invitation.projectGrants }) ?? denyInvitationGrants(c, role!, grants)
  if (denial) return forbiddenPage(c, denial)
  const { db, clock } = c.get('deps')
  if (form.get('resend') === 'on' && invitationSendsInLastHour(db, invitation.id, INVITATION_RESEND_EVENTS, clock.now()) >= SENDS_PER_HOUR) {
    return renderOne(c, invitation, { values: { ...values, email: invitation.email }, error: resendLimitMessage }, 429)
  }
  updateInvitation(db, invitation, { role: role!, organization: values.organization, ...grants }, ctxOf(c))
  if (form.get('resend') === 'on') {
    if (!resendInvitation(db, getInvitationById(db, invitation.id)!, ctxOf(c))) return renderOne(c, invitation, { error: `Invitation saved, but not sent again: ${resendLimitMessage}` }, 429)
    c.get('deps').onEmailQueued?.()
  }
  setFlash(c, 'success', form.get('resend') === 'on' ? 'Invitation saved and sent again.' : 'Invitation saved.')
  return redirectTo(c, `/admin/invitations/${invitation.id}`)
})

adminInvitations.post('/admin/invitations/:id/resend', ...guard, (c) => {
  const invitation = loadInvitation(c)
  if (!invitation) return notFoundPage(c)
  const status = invitationStatus(invitation, c.get('deps').clock.now())
  if (status === 'expired') return renderOne(c, invitation, { error: 'This invitation has expired: delete it, then invite the person again.' }, 409)
  if (status !== 'sent' && status !== 'link visited') return renderOne(c, invitation, { error: `This invitation is ${status}: there is nothing to resend.` }, 409)
  if (!resendInvitation(c.get('deps').db, invitation, ctxOf(c))) return renderOne(c, invitation, { error: resendLimitMessage }, 429)
  c.get('deps').onEmailQueued?.()
  setFlash(c, 'success', `The same invitation link was sent again to ${invitation.email}.`)
  return redirectTo(c, `/admin/invitations/${invitation.id}`)
})

adminInvitations.post('/admin/invitations/:id/delete', ...guard, async (c) => {
  const invitation = loadInvitation(c)
  if (!invitation) return notFoundPage(c)
  if (invitation.status === 'accepted' || invitation.status === 'revoked') return renderOne(c, invitation, { error: `This invitation is ${invitation.status}: there is nothing to delete.` }, 409)
  if ((await readForm(c)).get('confirm') !== 'yes') {
    return c.html(<ConfirmPage chrome={chrome(c)} title={`Delete the invitation to ${invitation.email}?`} question="Its link stops working at once. You can invite the address again afterwards." button="Delete invitation" action={c.req.path} cancel={`/admin/invitations/${invitation.id}`} />)
  }
  revokeInvitation(c.get('deps').db, invitation, ctxOf(c))
  setFlash(c, 'success', `Invitation to ${invitation.email} deleted; its link no longer works.`)
  return redirectTo(c, '/admin/invitations')
})
