import { describe, expect, it } from 'vitest'
import { and, eq, inArray } from 'drizzle-orm'
import { createTestEnv, createTestUser, emailsTo, getUser, signIn, type TestEnv } from '../../test/helpers.ts'
import { auditEvents, invitations, outbox, roles, users } from '../../db/schema.ts'

// Bulk actions on the users list (issue 15 §2): one confirmation listing who is affected and who
// is skipped and why; each row applied with the single action's rules and audit, in one transaction.

const DAY = 86_400_000

async function adminSession(t: TestEnv) {
  const admin = await createTestUser(t, { role: 'admin', email: 'root@example.org' })
  return { admin, client: await signIn(t, admin) }
}

let seq = 0
function addInvitation(t: TestEnv, email: string, extra: Partial<typeof invitations.$inferInsert> = {}) {
  seq++
  return t.db
    .insert(invitations)
    .values({ email, role: 'researcher', tokenSalt: `bulk-salt${seq}`, tokenHash: `bulk-hash${seq}-${email}`, createdAt: t.clock.now(), sentAt: t.clock.now(), expiresAt: t.clock.now() + 7 * DAY, ...extra })
    .returning()
    .get()
}

function auditOf(t: TestEnv, event: string, userIds: number[]) {
  return t.db.select().from(auditEvents).where(and(eq(auditEvents.event, event), eq(auditEvents.targetType, 'user'), inArray(auditEvents.targetId, userIds.map(String)))).all()
}

function section(html: string, heading: 'Affected' | 'Skipped'): string {
  const m = html.match(new RegExp(`<h2 id="bulk-${heading.toLowerCase()}">${heading} \\((\\d+)\\)</h2>([^]*?)</section>`))
  return m ? m[2]! : ''
}

describe('the users list form', () => {
  it('wraps the table in a plain form: a labelled checkbox per row, a select-all, the action and role selects', async () => {
    const t = createTestEnv()
    const { client } = await adminSession(t)
    const u = await createTestUser(t, { email: 'ann@example.org' })
    const inv = addInvitation(t, 'invited@example.org')
    const html = await (await client.get('/admin/users?status=&sort=email&dir=asc')).text()
    expect(html).toContain('<form method="post" action="/admin/users/bulk" class="bulk">')
    expect(html).toContain(`<input type="checkbox" name="user_ids" value="${u.user.id}" aria-label="Select ann@example.org"/>`)
    expect(html).toContain(`<input type="checkbox" name="invitation_ids" value="${inv.id}" aria-label="Select the invitation to invited@example.org"/>`)
    expect(html).toContain('name="select_page" id="f-select-page" aria-label="Select every row on this page"')
    expect(html).toMatch(/<label for="f-bulk-action">Action<\/label><select id="f-bulk-action" name="action">/)
    expect(html).toMatch(/<label for="f-bulk-role">[^<]+<\/label><select id="f-bulk-role" name="role">/)
    expect(html).toContain('<input type="hidden" name="back" value="sort=email&amp;dir=asc"/>')
    // the htmx fragment carries the same form
    const fragment = await (await client.get('/admin/users?q=ann', { 'HX-Request': 'true' })).text()
    expect(fragment).toContain('action="/admin/users/bulk"')
    expect(fragment).toContain('aria-label="Select ann@example.org"')
  })
})

describe('POST /admin/users/bulk (the confirmation)', () => {
  it('lists exactly who is affected and who is skipped and why, and changes nothing', async () => {
    const t = createTestEnv()
    const { admin, client } = await adminSession(t)
    const a = await createTestUser(t, { email: 'a@example.org' })
    const off = await createTestUser(t, { email: 'off@example.org' })
    t.db.update(users).set({ disabledAt: t.clock.now() }).where(eq(users.id, off.user.id)).run()
    const inv = addInvitation(t, 'inv@example.org')
    const res = await client.post('/admin/users/bulk', { action: 'disable', user_ids: [String(a.user.id), String(off.user.id), String(admin.user.id), '9999'], invitation_ids: [String(inv.id)], back: 'q=x&status=active' })
    expect(res.status).toBe(200)
    const html = await res.text()
    const affected = section(html, 'Affected')
    expect(affected).toContain('a@example.org')
    expect(affected).not.toContain('off@example.org')
    const skipped = section(html, 'Skipped')
    expect(skipped).toContain('off@example.org — already disabled')
    expect(skipped).toContain('root@example.org — is you')
    expect(skipped).toContain('account #9999 — no such account')
    expect(skipped).toContain('inv@example.org — an invitation, not an account')
    expect(html).toMatch(/<h2 id="bulk-affected">Affected \(1\)<\/h2>/)
    expect(html).toMatch(/<h2 id="bulk-skipped">Skipped \(4\)<\/h2>/)
    // the confirm form carries only the affected ids, the action and the filter to return to
    const form = html.match(/<form method="post" action="\/admin\/users\/bulk\/apply"[^]*?<\/form>/)![0]
    expect(form).toContain('<input type="hidden" name="action" value="disable"/>')
    expect(form).toContain(`<input type="hidden" name="user_ids" value="${a.user.id}"/>`)
    expect(form.match(/name="user_ids"/g)).toHaveLength(1)
    expect(form).toContain('<input type="hidden" name="back" value="/admin/users?q=x&amp;status=active&amp;sort=last_name&amp;dir=asc"/>')
    expect(getUser(t.db, a.user.id).disabledAt).toBeNull()
    expect(auditOf(t, 'user.disabled', [a.user.id])).toHaveLength(0)
    // confirming the form as shown returns to the same filter
    const back = form.match(/name="back" value="([^"]+)"/)![1]!.replaceAll('&amp;', '&')
    const applied = await client.post('/admin/users/bulk/apply', { action: 'disable', user_ids: String(a.user.id), back })
    expect(applied.headers.get('Location')).toBe('/admin/users?q=x&status=active&sort=last_name&dir=asc')
    expect((await client.post('/admin/users/bulk/apply', { action: 'enable', user_ids: String(a.user.id), back: 'https://evil.example/?q=y' })).headers.get('Location')).toBe('/admin/users?q=y&sort=last_name&dir=asc')
  })

  it('"select every row on this page" without JavaScript selects the rows the page carried', async () => {
    const t = createTestEnv()
    const { client } = await adminSession(t)
    const a = await createTestUser(t, { email: 'a@example.org' })
    const b = await createTestUser(t, { email: 'b@example.org' })
    const html = await (await client.post('/admin/users/bulk', { action: 'disable', select_page: 'on', page_user_ids: [String(a.user.id), String(b.user.id)] })).text()
    expect(section(html, 'Affected')).toContain('a@example.org')
    expect(section(html, 'Affected')).toContain('b@example.org')
    // not ticked: the page's rows are not selected
    const none = await client.post('/admin/users/bulk', { action: 'disable', page_user_ids: [String(a.user.id)] })
    expect(none.status).toBe(422)
    expect(await none.text()).toContain('Select at least one row.')
  })

  it('answers 422 for more than 500 ids, a malformed id, no action or no selection; 403 for a role above the actor', async () => {
    const t = createTestEnv()
    const { client } = await adminSession(t)
    const many = Array.from({ length: 501 }, (_, i) => String(i + 1))
    const tooMany = await client.post('/admin/users/bulk', { action: 'disable', user_ids: many })
    expect(tooMany.status).toBe(422)
    expect(await tooMany.text()).toContain('At most 500 rows at a time')
    expect((await client.post('/admin/users/bulk/apply', { action: 'disable', user_ids: many.slice(0, 300), invitation_ids: many.slice(0, 201) })).status).toBe(422)
    expect((await client.post('/admin/users/bulk', { action: 'disable', user_ids: Array.from({ length: 500 }, (_, i) => String(i + 1)) })).status).toBe(200)
    for (const bad of ['abc', '0', '-1', '1.5', '1e3', '99999999999999999999']) {
      const res = await client.post('/admin/users/bulk', { action: 'disable', user_ids: ['2', bad] })
      expect(res.status, bad).toBe(422)
      expect(await res.text()).toContain('not a number')
    }
    expect((await client.post('/admin/users/bulk/apply', { action: 'disable', user_ids: ['x'] })).status).toBe(422)
    expect((await client.post('/admin/users/bulk', { action: 'delete', user_ids: ['2'] })).status).toBe(422)
    expect((await client.post('/admin/users/bulk', { action: 'role', role: 'no-such-role', user_ids: ['2'] })).status).toBe(422)
    expect((await client.post('/admin/users/bulk', { action: 'disable' })).status).toBe(422)
  })

  it('is refused from a foreign Origin, without users.manage, and signed out', async () => {
    const t = createTestEnv()
    const { client } = await adminSession(t)
    const a = await createTestUser(t, { email: 'a@example.org' })
    const fields = { action: 'disable', user_ids: String(a.user.id) }
    for (const path of ['/admin/users/bulk', '/admin/users/bulk/apply']) {
      expect((await client.post(path, fields, { Origin: 'https://evil.example' })).status, path).toBe(403)
      expect((await client.post(path, fields, { Origin: '' })).status, path).toBe(403)
    }
    const researcher = await signIn(t, await createTestUser(t, { role: 'researcher' }))
    expect((await researcher.post('/admin/users/bulk/apply', fields)).status).toBe(403)
    expect((await t.client().post('/admin/users/bulk/apply', fields)).status).toBe(303)
    expect(getUser(t.db, a.user.id).disabledAt).toBeNull()
  })
})

describe('POST /admin/users/bulk/apply', () => {
  it('disables a mixed selection with one audit event per account (sessions ended), skips the rest, flashes the count and keeps the filter', async () => {
    const t = createTestEnv()
    const { admin, client } = await adminSession(t)
    const a = await createTestUser(t, { email: 'a@example.org' })
    const b = await createTestUser(t, { email: 'b@example.org' })
    const off = await createTestUser(t, { email: 'off@example.org' })
    const offAt = t.clock.now() - DAY
    t.db.update(users).set({ disabledAt: offAt }).where(eq(users.id, off.user.id)).run()
    const bSession = await signIn(t, b)
    const outboxBefore = t.db.select().from(outbox).all().length
    const res = await client.post('/admin/users/bulk/apply', { action: 'disable', user_ids: [String(a.user.id), String(b.user.id), String(off.user.id), String(admin.user.id), '4242'], back: 'q=example&status=active&sort=email&dir=desc&page=2' })
    expect(res.status).toBe(303)
    expect(res.headers.get('Location')).toBe('/admin/users?q=example&status=active&sort=email&dir=desc&page=2')
    expect(getUser(t.db, a.user.id).disabledAt).toBe(t.clock.now())
    expect(getUser(t.db, b.user.id).disabledAt).toBe(t.clock.now())
    expect(getUser(t.db, off.user.id).disabledAt).toBe(offAt)
    expect(getUser(t.db, admin.user.id).disabledAt).toBeNull()
    const events = auditOf(t, 'user.disabled', [a.user.id, b.user.id, off.user.id, admin.user.id])
    expect(events.map((e) => Number(e.targetId)).sort()).toEqual([a.user.id, b.user.id].sort())
    for (const e of events) expect(e.actorId).toBe(admin.user.id)
    expect(JSON.parse(events.find((e) => Number(e.targetId) === b.user.id)!.details)).toMatchObject({ email: 'b@example.org', sessions_ended: 1 })
    expect((await bSession.get('/projects')).status).toBe(303) // signed out
    // disabling sends nobody an email, least of all the admin
    expect(t.db.select().from(outbox).all()).toHaveLength(outboxBefore)
    const list = await (await client.get(res.headers.get('Location')!)).text()
    expect(list).toContain('2 accounts disabled, 3 skipped.')
  })

  it('re-checks the privilege ceiling at apply: a user manager who posts an admin’s id changes nothing for that admin', async () => {
    const t = createTestEnv()
    const admin = await createTestUser(t, { role: 'admin', email: 'root@example.org' })
    const other = await createTestUser(t, { role: 'admin', email: 'other-admin@example.org' })
    t.db.insert(roles).values({ name: 'user-manager', description: 'um', scope: 'site', isSystem: false, permissions: ['admin.access', 'users.manage'], createdAt: 0, updatedAt: 0 }).run()
    const um = await createTestUser(t, { role: 'observer', email: 'um@example.org' })
    t.db.update(users).set({ role: 'user-manager' }).where(eq(users.id, um.user.id)).run()
    const client = await signIn(t, { ...um, user: getUser(t.db, um.user.id) })
    const plain = await createTestUser(t, { role: 'observer', email: 'plain@example.org' })
    // the confirmation already says so
    const preview = await (await client.post('/admin/users/bulk', { action: 'disable', user_ids: [String(admin.user.id), String(plain.user.id)] })).text()
    expect(section(preview, 'Skipped')).toContain('root@example.org — above your permissions')
    // and a forged apply (the admin's id posted as affected) is refused for that row
    const res = await client.post('/admin/users/bulk/apply', { action: 'disable', user_ids: [String(admin.user.id), String(other.user.id)] })
    expect(res.status).toBe(303)
    expect(getUser(t.db, admin.user.id).disabledAt).toBeNull()
    expect(getUser(t.db, other.user.id).disabledAt).toBeNull()
    expect(auditOf(t, 'user.disabled', [admin.user.id, other.user.id])).toHaveLength(0)
    expect(await (await client.get('/admin/users')).text()).toContain('0 accounts disabled, 2 skipped.')
    // a target that became an admin between confirmation and apply is skipped too
    t.db.update(users).set({ role: 'admin' }).where(eq(users.id, plain.user.id)).run()
    await client.post('/admin/users/bulk/apply', { action: 'role', role: 'observer', user_ids: String(plain.user.id) })
    expect(getUser(t.db, plain.user.id).role).toBe('admin')
    // giving a role above the actor is refused as a whole (403 naming the permission)
    const up = await client.post('/admin/users/bulk/apply', { action: 'role', role: 'admin', user_ids: String(um.user.id) })
    expect(up.status).toBe(403)
    expect(getUser(t.db, um.user.id).role).toBe('user-manager')
  })

  it('never disables the actor or the last enabled admin (the single action’s rules)', async () => {
    const t = createTestEnv()
    const { admin, client } = await adminSession(t)
    const second = await createTestUser(t, { role: 'admin', email: 'second@example.org' })
    await client.post('/admin/users/bulk/apply', { action: 'disable', user_ids: [String(admin.user.id), String(second.user.id)] })
    expect(getUser(t.db, admin.user.id).disabledAt).toBeNull()
    expect(getUser(t.db, second.user.id).disabledAt).not.toBeNull()
    expect(await (await client.get('/admin/users')).text()).toContain('1 account disabled, 1 skipped.')
  })

  it('enables and changes roles with the single actions’ audit events; skips what is already so', async () => {
    const t = createTestEnv()
    const { admin, client } = await adminSession(t)
    const a = await createTestUser(t, { email: 'a@example.org' })
    const b = await createTestUser(t, { email: 'b@example.org', role: 'observer' })
    t.db.update(users).set({ disabledAt: t.clock.now() }).where(eq(users.id, a.user.id)).run()
    await client.post('/admin/users/bulk/apply', { action: 'enable', user_ids: [String(a.user.id), String(b.user.id)] })
    expect(getUser(t.db, a.user.id).disabledAt).toBeNull()
    expect(auditOf(t, 'user.enabled', [a.user.id, b.user.id]).map((e) => Number(e.targetId))).toEqual([a.user.id])
    expect(await (await client.get('/admin/users')).text()).toContain('1 account enabled, 1 skipped.')
    const preview = await (await client.post('/admin/users/bulk', { action: 'role', role: 'observer', user_ids: [String(a.user.id), String(b.user.id), String(admin.user.id)] })).text()
    expect(section(preview, 'Skipped')).toContain('b@example.org — already observer')
    expect(section(preview, 'Skipped')).toContain('root@example.org — is you')
    await client.post('/admin/users/bulk/apply', { action: 'role', role: 'viewer', user_ids: [String(a.user.id), String(b.user.id), String(admin.user.id)] })
    expect(getUser(t.db, a.user.id).role).toBe('observer')
    expect(getUser(t.db, admin.user.id).role).toBe('admin')
    const changed = auditOf(t, 'user.role_changed', [a.user.id, b.user.id, admin.user.id])
    expect(changed).toHaveLength(1)
    expect(JSON.parse(changed[0]!.details)).toMatchObject({ from: 'researcher', to: 'observer' })
    expect(await (await client.get('/admin/users')).text()).toContain('1 account changed to observer, 2 skipped.')
  })

  it('resends open invitations to the invitees only (nothing to the admin); skips accounts and closed invitations', async () => {
    const t = createTestEnv()
    const { admin, client } = await adminSession(t)
    const open = addInvitation(t, 'open@example.org')
    const visited = addInvitation(t, 'visited@example.org', { status: 'link visited' })
    const expired = addInvitation(t, 'expired@example.org', { expiresAt: t.clock.now() - 1 })
    const revoked = addInvitation(t, 'revoked@example.org', { status: 'revoked', revokedAt: t.clock.now() })
    const a = await createTestUser(t, { email: 'a@example.org' })
    const preview = await (await client.post('/admin/users/bulk', { action: 'resend', invitation_ids: [open, visited, expired, revoked].map((i) => String(i.id)), user_ids: String(a.user.id) })).text()
    expect(section(preview, 'Skipped')).toContain('expired@example.org — invitation expired')
    expect(section(preview, 'Skipped')).toContain('revoked@example.org — invitation revoked')
    expect(section(preview, 'Skipped')).toContain('a@example.org — not an invitation')
    await client.post('/admin/users/bulk/apply', { action: 'resend', invitation_ids: [open, visited, expired, revoked].map((i) => String(i.id)), user_ids: String(a.user.id) })
    expect(emailsTo(t.db, 'open@example.org')).toHaveLength(1)
    expect(emailsTo(t.db, 'visited@example.org')).toHaveLength(1)
    expect(emailsTo(t.db, 'expired@example.org')).toHaveLength(0)
    expect(emailsTo(t.db, 'revoked@example.org')).toHaveLength(0)
    expect(emailsTo(t.db, admin.user.email)).toHaveLength(0)
    const resent = t.db.select().from(auditEvents).where(eq(auditEvents.event, 'invitation.resent')).all()
    expect(resent.map((e) => Number(e.targetId)).sort()).toEqual([open.id, visited.id].sort())
    expect(await (await client.get('/admin/users')).text()).toContain('2 invitations sent again, 3 skipped.')
  })

  it('parallel applies of the same bulk disable disable each account once, with one audit event per account', async () => {
    const t = createTestEnv()
    const { client } = await adminSession(t)
    const targets = await Promise.all(Array.from({ length: 5 }, (_, i) => createTestUser(t, { email: `p${i}@example.org` })))
    const ids = targets.map((u) => u.user.id)
    const fields = { action: 'disable', user_ids: ids.map(String) }
    const answers = await Promise.all(Array.from({ length: 6 }, () => client.post('/admin/users/bulk/apply', fields)))
    for (const r of answers) expect(r.status).toBe(303)
    const events = auditOf(t, 'user.disabled', ids)
    expect(events).toHaveLength(5)
    expect(new Set(events.map((e) => e.targetId)).size).toBe(5)
    for (const id of ids) expect(getUser(t.db, id).disabledAt).not.toBeNull()
  })
})

describe('bulk requests an attacker shapes (security review)', () => {
  it('one account named many times (in user_ids, again in page_user_ids) is acted on once, one audit event; an invitation id posted as a user id is only ever that account id', async () => {
    const t = createTestEnv()
    const { client } = await adminSession(t)
    const a = await createTestUser(t, { email: 'a@example.org' })
    const invitation = addInvitation(t, 'invitee@example.org')
    const id = String(a.user.id)
    const res = await client.post('/admin/users/bulk/apply', { action: 'role', role: 'observer', user_ids: [id, id, id], page_user_ids: [id], select_page: 'on', back: '' })
    expect(res.status).toBe(303)
    expect(getUser(t.db, a.user.id).role).toBe('observer')
    expect(auditOf(t, 'user.role_changed', [a.user.id])).toHaveLength(1)
    // an invitation's id in user_ids: never the invitation (it is untouched), and a missing account is skipped
    const before = t.db.select().from(invitations).where(eq(invitations.id, invitation.id)).get()
    const plan = await client.post('/admin/users/bulk', { action: 'disable', user_ids: ['987654'], invitation_ids: [String(invitation.id)], back: '' })
    expect(plan.status).toBe(200)
    const html = await plan.text()
    expect(section(html, 'Affected')).not.toContain('invitee@example.org')
    expect(section(html, 'Skipped')).toContain('no such account')
    await client.post('/admin/users/bulk/apply', { action: 'disable', user_ids: ['987654'], invitation_ids: [String(invitation.id)], back: '' })
    expect(t.db.select().from(invitations).where(eq(invitations.id, invitation.id)).get()).toEqual(before)
  })

  it('501 distinct ids are refused with 422 and change nothing, even hidden among duplicates of one id', async () => {
    const t = createTestEnv()
    const { client } = await adminSession(t)
    const a = await createTestUser(t, { email: 'a@example.org' })
    const ids = [String(a.user.id), ...Array.from({ length: 500 }, (_, i) => String(100_000 + i))]
    const res = await client.post('/admin/users/bulk/apply', { action: 'disable', user_ids: ids, back: '' })
    expect(res.status).toBe(422)
    expect(getUser(t.db, a.user.id).disabledAt).toBeNull()
    const padded = await client.post('/admin/users/bulk/apply', { action: 'disable', user_ids: Array.from({ length: 1001 }, () => String(a.user.id)), back: '' })
    expect(padded.status).toBe(422)
    expect(getUser(t.db, a.user.id).disabledAt).toBeNull()
  })
})
