import { Hono, type Context } from 'hono'
import type { AppEnv } from '../../http/context.ts'
import { requireUser } from '../../auth/middleware.ts'
import { requirePermission } from '../../authz/middleware.ts'
import { chrome } from '../../http/page.ts'
import { redirectTo } from '../../http/htmx.ts'
import { readForm, idParam, type FormData } from '../../http/forms.ts'
import { setFlash } from '../../http/flash.ts'
import { forbiddenPage } from '../../http/errors.tsx'
import { UsersBulkErrorPage, UsersBulkPage } from '../../../views/admin/users-bulk.tsx'
import { parseUserTableQuery } from '../../models/user-table.ts'
import { applyBulkAction, BULK_ACTIONS, BULK_MAX_IDS, planBulkAction, type BulkAction, type BulkContext, type BulkRequest, type BulkRow } from '../../models/user-bulk.ts'
import { getRoleByName } from '../../models/roles.ts'
import { normalizeRoleName } from '../../authz/permissions.ts'
import { denyGrantSiteRole } from '../../models/access.ts'
import { displayName } from '../../models/users.ts'

// Bulk actions on the users list: POST /admin/users/bulk asks (listing who is affected and who
// is skipped), POST /admin/users/bulk/apply does it. Mounted before routes/admin/users.tsx so
// "bulk" is never read as an account id.

export const adminUsersBulk = new Hono<AppEnv>()

const guard = [requireUser, requirePermission('users.manage')] as const

/** The list URL to return to, rebuilt from the parsed filter (never a caller-chosen location). */
function backUrl(raw: string): string {
  // The list posts its query string; the confirmation posts the URL it showed (path dropped).
  const query = parseUserTableQuery(Object.fromEntries(new URLSearchParams(raw.slice(raw.indexOf('?') + 1))))
  const params = new URLSearchParams()
  if (query.q) params.set('q', query.q)
  if (query.status) params.set('status', query.status)
  params.set('sort', query.sort)
  params.set('dir', query.dir)
  if (query.perPage !== 50) params.set('per_page', String(query.perPage))
  if (query.page > 1) params.set('page', String(query.page))
  return `/admin/users?${params}`
}

function readIds(values: string[]): number[] | null {
  const ids: number[] = []
  for (const v of values) {
    const id = idParam(v)
    if (id === null) return null
    if (!ids.includes(id)) ids.push(id)
  }
  return ids
}

/** The action and the selection from the form; a sentence for the admin when it cannot be read. */
function readBulkRequest(c: Context<AppEnv>, form: FormData): BulkRequest | { error: string } {
  const action = form.get('action')
  if (!(BULK_ACTIONS as readonly string[]).includes(action)) return { error: 'Choose an action: disable, enable, change role or resend invitations.' }
  let role: string | null = null
  if (action === 'role') {
    const found = getRoleByName(c.get('deps').db, normalizeRoleName(form.get('role')))
    if (!found || found.scope !== 'site') return { error: 'Choose the site role to give.' }
    role = found.name
  }
  // "Select all on this page" without JavaScript: the page's rows travel as hidden fields.
  const all = form.get('select_page') === 'on'
  const raw = { users: [...form.getAll('user_ids'), ...(all ? form.getAll('page_user_ids') : [])], invitations: [...form.getAll('invitation_ids'), ...(all ? form.getAll('page_invitation_ids') : [])] }
  if (raw.users.length + raw.invitations.length > BULK_MAX_IDS * 2) return { error: `At most ${BULK_MAX_IDS} rows at a time.` }
  const userIds = readIds(raw.users)
  const invitationIds = readIds(raw.invitations)
  if (userIds === null || invitationIds === null) return { error: 'The selection holds an id that is not a number.' }
  if (userIds.length + invitationIds.length > BULK_MAX_IDS) return { error: `At most ${BULK_MAX_IDS} rows at a time: narrow the filter or select fewer rows.` }
  if (userIds.length + invitationIds.length === 0) return { error: 'Select at least one row.' }
  return { action: action as BulkAction, role, selection: { userIds, invitationIds } }
}

function bulkContext(c: Context<AppEnv>): BulkContext {
  const actor = c.get('actor')
  const { config, clock } = c.get('deps')
  return { actor: { id: actor.id, email: actor.email }, policyActor: actor, now: clock.now(), ip: c.get('clientIp'), baseUrl: config.baseUrl, key: config.encryptionKey, inviter: displayName(actor) }
}

/** Reads, validates and asks the policy; a Response when the request stops here. */
async function prepare(c: Context<AppEnv>): Promise<Response | { request: BulkRequest; back: string }> {
  const form = await readForm(c)
  const back = backUrl(form.get('back'))
  const request = readBulkRequest(c, form)
  if ('error' in request) return c.html(<UsersBulkErrorPage chrome={chrome(c)} error={request.error} back={back} />, 422)
  if (request.role !== null) {
    const denial = denyGrantSiteRole(c.get('deps').db, c.get('actor'), request.role)
    if (denial) return forbiddenPage(c, denial)
  }
  return { request, back }
}

adminUsersBulk.post('/admin/users/bulk', ...guard, async (c) => {
  const prepared = await prepare(c)
  if (prepared instanceof Response) return prepared
  const rows = planBulkAction(c.get('deps').db, prepared.request, bulkContext(c))
  return c.html(<UsersBulkPage chrome={chrome(c)} action={prepared.request.action} role={prepared.request.role} rows={rows} back={prepared.back} />)
})

function summary(request: BulkRequest, rows: BulkRow[]): string {
  const done = rows.filter((r) => r.skip === null).length
  const skipped = rows.length - done
  const n = (count: number, one: string, many: string) => `${count} ${count === 1 ? one : many}`
  const what =
    request.action === 'resend' ? `${n(done, 'invitation', 'invitations')} sent again` : `${n(done, 'account', 'accounts')} ${request.action === 'disable' ? 'disabled' : request.action === 'enable' ? 'enabled' : `changed to ${request.role}`}`
  return `${what}, ${skipped} skipped.`
}

adminUsersBulk.post('/admin/users/bulk/apply', ...guard, async (c) => {
  const prepared = await prepare(c)
  if (prepared instanceof Response) return prepared
  const rows = applyBulkAction(c.get('deps').db, prepared.request, bulkContext(c))
  if (prepared.request.action === 'resend' && rows.some((r) => r.skip === null)) c.get('deps').onEmailQueued?.()
  setFlash(c, rows.some((r) => r.skip === null) ? 'success' : 'info', summary(prepared.request, rows))
  return redirectTo(c, prepared.back)
})
