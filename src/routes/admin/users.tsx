import { Hono, type Context } from 'hono'
import type { AppEnv } from '../../http/context.ts'
import { requireUser } from '../../auth/middleware.ts'
import { requirePermission } from '../../authz/middleware.ts'
import { chrome } from '../../http/page.ts'
import { isHtmx, redirectTo } from '../../http/htmx.ts'
import { readForm, checkTextFields, normalizeEmail, hasErrors, type FieldErrors, idParam } from '../../http/forms.ts'
import { setFlash } from '../../http/flash.ts'
import { forbiddenPage, notFoundPage } from '../../http/errors.tsx'
import { UsersPage, UserTable, UserPage, ExplainPage } from '../../../views/admin/users.tsx'
import { countPasskeys } from '../../models/passkeys.ts'
import { ConfirmPage } from '../../../views/components/confirm.tsx'
import { iterateUsersForExport, listUsersForTable, parseUserTableQuery } from '../../models/user-table.ts'
import { streamCsv } from '../../http/csv.ts'
import { getBlockingInvitation } from '../../models/invitations.ts'
import { getUserByEmail, getUserById, registerUserWithTemporaryPassword } from '../../models/users.ts'
import { getRoleByName, listRoles, resolveActor } from '../../models/roles.ts'
import { normalizeRoleName } from '../../authz/permissions.ts'
import { explainProjectAccess } from '../../authz/policy.ts'
import { denyActOnUser, denyCopyFrom, denyGrantSiteRole, getProjectAccess, listProjectsForPicker } from '../../models/access.ts'
import {
  changeUserRole,
  copyPermissionsFromUser,
  disableUser,
  enableUser,
  getUserMemberships,
  resetUserMfaByAdmin,
  resetUserPassword,
  revokeUserSession,
  unlockUser,
  updateUserProfile,
  type AdminContext,
  type Outcome,
} from '../../models/user-admin.ts'
import { listUserSessions } from '../../auth/session.ts'
import { getUserIdentityForUser, listUserIdentities, ONLY_WAY_IN, unlinkUserIdentity } from '../../models/user-identities.ts'
import { countUnusedRecoveryCodes } from '../../auth/recovery-codes.ts'
import { getLockedUntil } from '../../auth/rate-limit.ts'
import { resolveAuditTargets } from '../../models/audit-log.ts'
import type { User } from '../../db/schema.ts'
import { listRecentUserEvents } from '../../models/user-events.ts'

export const adminUsers = new Hono<AppEnv>()

const guard = [requireUser, requirePermission('users.manage')] as const

function adminContext(c: Context<AppEnv>): AdminContext {
  const actor = c.get('actor')
  return { actor: { id: actor.id, email: actor.email }, now: c.get('deps').clock.now(), ip: c.get('clientIp') }
}

function statusPolicy(c: Context<AppEnv>) {
  const { clock, config } = c.get('deps')
  return { now: clock.now(), inactiveDays: config.inactiveDays, passwordMaxAgeDays: config.passwordMaxAgeDays }
}

function siteRoleNames(c: Context<AppEnv>): string[] {
  return listRoles(c.get('deps').db, 'site').map((r) => r.name)
}

/** The site roles this actor may give (the privilege ceiling): the only ones the forms offer. */
function grantableSiteRoleNames(c: Context<AppEnv>): string[] {
  const { db } = c.get('deps')
  return siteRoleNames(c).filter((name) => denyGrantSiteRole(db, c.get('actor'), name) === null)
}

/** A site role name from a form, `viewer` read as `observer`; null when no such site role exists. */
function parseSiteRoleField(c: Context<AppEnv>, raw: string): string | null {
  const role = getRoleByName(c.get('deps').db, normalizeRoleName(raw))
  return role && role.scope === 'site' ? role.name : null
}

function renderUsersPage(c: Context<AppEnv>, form: { email?: string; role?: string; errors?: FieldErrors } = {}, status: 200 | 422 = 200) {
  const query = parseUserTableQuery(c.req.query())
  const { db, config } = c.get('deps')
  // Outstanding invitations are rows too, sorted in with the accounts by the same key.
  const table = listUsersForTable(db, query, statusPolicy(c))
  c.header('Vary', 'HX-Request')
  if (isHtmx(c) && c.req.method === 'GET') return c.html(<UserTable table={table} inactiveDays={config.inactiveDays} bulkRoles={grantableSiteRoleNames(c)} />)
  return c.html(<UsersPage chrome={chrome(c)} table={table} inactiveDays={config.inactiveDays} roles={grantableSiteRoleNames(c)} form={form} />, status)
}

adminUsers.get('/admin/users', ...guard, (c) => renderUsersPage(c))

/** The user table as CSV: the current filter and sort, every page, streamed in chunks (cells defused for spreadsheets). */
adminUsers.get('/admin/users.csv', ...guard, (c) => {
  const query = parseUserTableQuery(c.req.query())
  const header = ['id', 'first_name', 'last_name', 'username', 'email', 'organization', 'role', 'projects', 'last_sign_in', 'status']
  return streamCsv(c, 'users', header, iterateUsersForExport(c.get('deps').db, query, statusPolicy(c)), (u) => [
    u.id, u.firstName, u.lastName, u.username, u.email, u.organization, u.role, u.projects.join('; '), u.lastSignInAt === null ? null : new Date(u.lastSignInAt).toISOString(), u.statuses.join('; '),
  ])
})

adminUsers.post('/admin/users', ...guard, async (c) => {
  const { db, config } = c.get('deps')
  const form = await readForm(c)
  const rawEmail = form.get('email')
  const email = normalizeEmail(rawEmail)
  const role = parseSiteRoleField(c, form.get('role'))
  const errors: FieldErrors = {
    email: email === null ? 'Enter a valid email address.' : getUserByEmail(db, email) ? 'A user with this email address already exists.' : getBlockingInvitation(db, email) ? 'An invitation to this address is outstanding: see Invitations.' : undefined,
    role: role === null ? `Choose one of: ${siteRoleNames(c).join(', ')}.` : undefined,
  }
  if (hasErrors(errors)) return renderUsersPage(c, { email: rawEmail, role: form.get('role'), errors }, 422)
  const denial = denyGrantSiteRole(db, c.get('actor'), role!)
  if (denial) return forbiddenPage(c, denial)
  const ctx = adminContext(c)
  const user = await registerUserWithTemporaryPassword(db, { email: email!, role: role!, now: ctx.now, actor: ctx.actor, ip: ctx.ip, baseUrl: config.baseUrl })
  c.get('deps').onEmailQueued?.()
  setFlash(c, 'success', `Registered ${user.email} as ${user.role}. A temporary password has been emailed to them.`)
  return redirectTo(c, `/admin/users/${user.id}`)
})

function loadTarget(c: Context<AppEnv>): User | null {
  const id = idParam(c.req.param('id'))
  return id === null ? null : getUserById(c.get('deps').db, id)
}

function renderUserPage(c: Context<AppEnv>, target: User, extra: { error?: string; errors?: FieldErrors; values?: Record<string, string> } = {}, status: 200 | 409 | 422 = 200) {
  const { db, clock } = c.get('deps')
  const events = listRecentUserEvents(db, target.id)
  const self = c.get('actor').id === target.id
  return c.html(
    <UserPage
      chrome={chrome(c)}
      user={target}
      self={self}
      mayAct={denyActOnUser(db, c.get('actor'), target) === null}
      roles={grantableSiteRoleNames(c)}
      lockedUntil={getLockedUntil(db, target.email, clock.now())}
      memberships={getUserMemberships(db, target.id)}
      sessions={listUserSessions(db, target.id)}
      identities={listUserIdentities(db, target.id)}
      factors={{ totpEnrolledAt: target.totpSecret ? target.mfaEnrolledAt : null, recoveryCodesLeft: countUnusedRecoveryCodes(db, target.id), recoveryCodesIssued: target.recoveryCodesIssuedAt !== null, passkeys: countPasskeys(db, target.id) }}
      events={events}
      eventTargets={resolveAuditTargets(db, events)}
      projects={listProjectsForPicker(db)}
      error={extra.error}
      errors={extra.errors ?? {}}
      values={extra.values ?? {}}
      now={clock.now()}
    />,
    status,
  )
}

adminUsers.get('/admin/users/:id', ...guard, (c) => {
  const target = loadTarget(c)
  return target ? renderUserPage(c, target) : notFoundPage(c)
})

/** Edit name and organisation. */
adminUsers.post('/admin/users/:id', ...guard, async (c) => {
  const target = loadTarget(c)
  if (!target) return notFoundPage(c)
  const above = denyActOnUser(c.get('deps').db, c.get('actor'), target)
  if (above) return forbiddenPage(c, above)
  const form = await readForm(c)
  const values = { first_name: form.get('first_name').trim(), last_name: form.get('last_name').trim(), organization: form.get('organization').trim() }
  const errors: FieldErrors = {
    first_name: values.first_name.length > 100 ? 'At most 100 characters.' : undefined,
    last_name: values.last_name.length > 100 ? 'At most 100 characters.' : undefined,
    organization: values.organization.length > 200 ? 'At most 200 characters.' : undefined,
  }
  checkTextFields(errors, values)
  if (hasErrors(errors)) return renderUserPage(c, target, { errors, values }, 422)
  updateUserProfile(c.get('deps').db, target, { firstName: values.first_name, lastName: values.last_name, organization: values.organization }, adminContext(c))
  setFlash(c, 'success', 'Saved.')
  return redirectTo(c, `/admin/users/${target.id}`)
})

function finish(c: Context<AppEnv>, target: User, outcome: Outcome, done: string) {
  if (!outcome.ok) return renderUserPage(c, getUserById(c.get('deps').db, target.id)!, { error: outcome.reason }, 409)
  setFlash(c, 'success', done)
  return redirectTo(c, `/admin/users/${target.id}`)
}

adminUsers.post('/admin/users/:id/role', ...guard, async (c) => {
  const target = loadTarget(c)
  if (!target) return notFoundPage(c)
  const raw = (await readForm(c)).get('role')
  const role = parseSiteRoleField(c, raw)
  if (role === null) return renderUserPage(c, target, { errors: { role: `“${raw}” is not a site role. Choose one of: ${siteRoleNames(c).join(', ')}.` }, values: { role: raw } }, 422)
  const { db } = c.get('deps')
  const denial = denyActOnUser(db, c.get('actor'), target) ?? denyGrantSiteRole(db, c.get('actor'), role)
  if (denial) return forbiddenPage(c, denial)
  return finish(c, target, changeUserRole(c.get('deps').db, target, role, adminContext(c)), `${target.email} is now ${role}.`)
})

/** Destructive actions ask first: a plain form post without confirm=yes shows the question. */
type Action = { title: string; question: string; button: string; run: (c: Context<AppEnv>, target: User) => Outcome | Promise<Outcome>; done: string }

const ACTIONS: Record<string, Action> = {
  disable: {
    title: 'Disable account',
    question: 'They are signed out everywhere at once and cannot sign in until re-enabled. Their records stay.',
    button: 'Disable account',
    run: (c, t) => disableUser(c.get('deps').db, t, adminContext(c)),
    done: 'Account disabled; all its sessions have ended.',
  },
  enable: { title: 'Enable account', question: 'They will be able to sign in again.', button: 'Enable account', run: (c, t) => enableUser(c.get('deps').db, t, adminContext(c)), done: 'Account enabled.' },
  unlock: { title: 'Unlock sign-in', question: 'Clears the failed sign-in counter and any lock now.', button: 'Unlock', run: (c, t) => unlockUser(c.get('deps').db, t, adminContext(c)), done: 'Sign-in unlocked.' },
  'reset-password': {
    title: 'Reset password',
    question: 'A new temporary password is emailed to them, valid 7 days; their current password stops working and all their sessions end.',
    button: 'Reset password',
    run: async (c, t) => {
      if (t.id === c.get('actor').id) return { ok: false, reason: 'You cannot reset your own password here: change it on the change-password page.' }
      const outcome = await resetUserPassword(c.get('deps').db, t, { ...adminContext(c), baseUrl: c.get('deps').config.baseUrl })
      c.get('deps').onEmailQueued?.()
      return outcome
    },
    done: 'Password reset; a temporary password has been emailed and all sessions have ended.',
  },
  'reset-mfa': {
    title: 'Reset authenticator',
    question: 'Their authenticator, passkeys and recovery codes are cleared and all their sessions end; at the next sign-in they enrol a new one and get new codes.',
    button: 'Reset authenticator',
    run: (c, t) => {
      const outcome = resetUserMfaByAdmin(c.get('deps').db, t, { ...adminContext(c), baseUrl: c.get('deps').config.baseUrl })
      c.get('deps').onEmailQueued?.()
      return outcome
    },
    done: 'Authenticator reset; all sessions have ended.',
  },
}

for (const [name, action] of Object.entries(ACTIONS)) {
  adminUsers.post(`/admin/users/:id/${name}`, ...guard, async (c) => {
    const target = loadTarget(c)
    if (!target) return notFoundPage(c)
    const denial = denyActOnUser(c.get('deps').db, c.get('actor'), target)
    if (denial) return forbiddenPage(c, denial)
    const form = await readForm(c)
    if (form.get('confirm') !== 'yes') {
      return c.html(<ConfirmPage chrome={chrome(c)} title={`${action.title}: ${target.email}?`} question={action.question} button={action.button} action={`/admin/users/${target.id}/${name}`} cancel={`/admin/users/${target.id}`} />)
    }
    return finish(c, target, await action.run(c, target), action.done)
  })
}

adminUsers.post('/admin/users/:id/sessions/:sessionId/revoke', ...guard, (c) => {
  const target = loadTarget(c)
  if (!target) return notFoundPage(c)
  const above = denyActOnUser(c.get('deps').db, c.get('actor'), target)
  if (above) return forbiddenPage(c, above)
  return finish(c, target, revokeUserSession(c.get('deps').db, target, c.req.param('sessionId'), adminContext(c)), 'Session ended.')
})

adminUsers.post('/admin/users/:id/copy-permissions', ...guard, async (c) => {
  const target = loadTarget(c)
  if (!target) return notFoundPage(c)
  const above = denyActOnUser(c.get('deps').db, c.get('actor'), target)
  if (above) return forbiddenPage(c, above)
  const { db } = c.get('deps')
  const raw = (await readForm(c)).get('source_email')
  const email = normalizeEmail(raw)
  const source = email ? getUserByEmail(db, email) : null
  if (!source || source.id === target.id) {
    return renderUserPage(c, target, { errors: { source_email: source ? 'Choose another user than this one.' : 'No user has this email address.' }, values: { source_email: raw } }, 422)
  }
  const denial = denyCopyFrom(db, c.get('actor'), source.id)
  if (denial) return forbiddenPage(c, denial)
  const added = copyPermissionsFromUser(db, target, source, adminContext(c))
  setFlash(c, 'success', `Copied from ${source.email}: ${added.groups} group and ${added.projects} project memberships added (existing ones kept).`)
  return redirectTo(c, `/admin/users/${target.id}`)
})

adminUsers.get('/admin/users/:id/explain', ...guard, (c) => {
  const target = loadTarget(c)
  if (!target) return notFoundPage(c)
  const { db } = c.get('deps')
  const projectId = Number(c.req.query('project_id'))
  const access = Number.isInteger(projectId) ? getProjectAccess(db, target.id, projectId) : null
  if (!access) return notFoundPage(c)
  const decisions = explainProjectAccess(resolveActor(db, target), access)
  return c.html(<ExplainPage chrome={chrome(c)} user={target} project={access.project} decisions={decisions} />)
})

/** Unlinks one of the user's provider identities, after a confirmation; 404 for another user's identity. */
adminUsers.post('/admin/users/:id/identities/:identityId/unlink', ...guard, async (c) => {
  const target = loadTarget(c)
  if (!target) return notFoundPage(c)
  const { db, config } = c.get('deps')
  const identityId = idParam(c.req.param('identityId'))
  const identity = identityId === null ? null : getUserIdentityForUser(db, identityId, target.id)
  if (!identity) return notFoundPage(c)
  const denial = denyActOnUser(db, c.get('actor'), target)
  if (denial) return forbiddenPage(c, denial)
  const form = await readForm(c)
  const action = `/admin/users/${target.id}/identities/${identity.id}/unlink`
  if (form.get('confirm') !== 'yes') {
    return c.html(<ConfirmPage chrome={chrome(c)} title={`Unlink ${identity.providerName} from ${target.email}?`} question={`The ${identity.providerName} identity ${identity.sub}${identity.emailAtLink ? ` (${identity.emailAtLink})` : ''} will no longer sign in to this account, and sessions signed in through ${identity.providerName} end. They are told by email. The identity can be linked again later.`} button="Unlink identity" action={action} cancel={`/admin/users/${target.id}`} />)
  }
  const ctx = adminContext(c)
  const self = c.get('actor').id === target.id
  const result = unlinkUserIdentity(db, { identityId: identity.id, userId: target.id }, { ...ctx, baseUrl: config.baseUrl, ...(self ? { keepSessionId: c.get('auth')!.session.id } : {}) })
  if (!result.ok) return result.reason === 'not_found' ? notFoundPage(c) : renderUserPage(c, target, { error: ONLY_WAY_IN }, 409)
  c.get('deps').onEmailQueued?.()
  setFlash(c, 'success', `${identity.providerName} identity unlinked; ${target.email} has been told by email.`)
  return redirectTo(c, `/admin/users/${target.id}`)
})
