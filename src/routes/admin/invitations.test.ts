import { describe, expect, it } from 'vitest'
import { desc, eq } from 'drizzle-orm'
import { createTestEnv, createTestUser, signIn, emailsTo, GOOD_PASSWORD, BASE_URL, type TestClient, type TestEnv } from '../../test/helpers.ts'
import { auditEvents, groupMembers, groups, invitations, outbox, projectMembers, projects, roles, users, type Invitation } from '../../db/schema.ts'
import { keyedTokenHash, hashToken } from '../../auth/tokens.ts'

// The admin's side of SPEC §3.1 invitations: invite, the statuses as the admin sees them
// (invitations pages and the user table), resend, edit, delete, and who may do any of it.

const MIN = 60_000
const HOUR = 60 * MIN
const INVITEE = 'ada.lovelace@example.org'
const INVITATION_SUBJECT = 'You are invited to Gatehouse'

type Env = TestEnv & { admin: TestClient; adminId: number }

async function setup(env: Record<string, string> = {}): Promise<Env> {
  // the admin stays signed in across the clock jumps (hours, days) of these tests
  const t = createTestEnv({ SESSION_IDLE_MINUTES: '60000', SESSION_MAX_HOURS: '1000', ...env })
  const admin = await createTestUser(t, { role: 'admin', email: 'root@example.org' })
  t.db.update(users).set({ firstName: 'Grace', lastName: 'Hopper' }).where(eq(users.id, admin.user.id)).run()
  return Object.assign(t, { admin: await signIn(t, admin), adminId: admin.user.id })
}

function roleId(t: TestEnv, name: string): number {
  return t.db.select().from(roles).where(eq(roles.name, name)).get()!.id
}

function invitationRow(t: TestEnv, email = INVITEE): Invitation {
  return t.db.select().from(invitations).where(eq(invitations.email, email)).orderBy(desc(invitations.id)).get()!
}

function getInvitation(t: TestEnv, id: number): Invitation {
  return t.db.select().from(invitations).where(eq(invitations.id, id)).get()!
}

function events(t: TestEnv, event: string) {
  return t.db.select().from(auditEvents).where(eq(auditEvents.event, event)).all()
}

function invitationEmails(t: TestEnv, email = INVITEE) {
  return emailsTo(t.db, email).filter((m) => m.subject === INVITATION_SUBJECT)
}

function linkTokenOf(text: string): string {
  const match = text.match(new RegExp(`${BASE_URL.replace(/[.]/g, '\\.')}/invite/([a-z2-7]{32})\\b`))
  if (!match) throw new Error('no invitation link in the email')
  return match[1]!
}

/** The link token from the newest invitation email to `email` in the outbox. */
function linkToken(t: TestEnv, email = INVITEE): string {
  const [mail] = invitationEmails(t, email)
  if (!mail) throw new Error(`no invitation email to ${email}`)
  return linkTokenOf(mail.textBody)
}

function group(t: TestEnv, name: string) {
  return t.db.insert(groups).values({ name, createdAt: 0 }).returning().get()
}

function project(t: TestEnv, name: string, ownerId: number, extra: { deletedAt?: number } = {}) {
  return t.db.insert(projects).values({ name, ownerId, createdAt: 0, updatedAt: 0, ...extra }).returning().get()
}

async function invite(t: Env, fields: Record<string, string | string[]> = {}): Promise<{ invitation: Invitation; token: string }> {
  const res = await t.admin.post('/admin/invitations', { email: INVITEE, role: 'researcher', organization: 'Leeds Teaching Hospitals', ...fields })
  expect(res.status).toBe(303)
  const email = typeof fields.email === 'string' ? fields.email.trim().toLowerCase() : INVITEE
  return { invitation: invitationRow(t, email), token: linkToken(t, email) }
}

/** The invitee goes through the whole acceptance in a browser of their own. */
async function accept(t: Env, token: string, email = INVITEE, username = 'ada_l') {
  const browser = t.client('198.51.100.50')
  expect((await browser.get(`/invite/${token}`)).status).toBe(200)
  const form = await browser.post(`/invite/${token}`, { first_name: 'Ada', last_name: 'Lovelace', username, password: GOOD_PASSWORD, confirm_password: GOOD_PASSWORD })
  expect(form.status).toBe(200)
  const tab = (await form.text()).match(/name="tab" value="([^"]+)"/)![1]!
  const code = emailsTo(t.db, email)
    .find((m) => m.subject === 'Your Gatehouse security code')!
    .textBody.match(/^ {4}(\S+)$/m)![1]!
  const res = await browser.post(`/invite/${token}/verify`, { security_token: code, tab })
  expect(res.status).toBe(303)
  return t.db.select().from(users).where(eq(users.email, email)).get()!
}

/** The status badge of an invitation on /admin/invitations (null when not listed). */
function statusOnList(html: string, id: number): string | null {
  return html.match(new RegExp(`href="/admin/invitations/${id}">[^<]*</a></td><td>[^<]*</td><td>[^<]*</td><td><span class="badge">([^<]+)</span>`))?.[1] ?? null
}

/** The status comment of an invitation row in the /admin/users table (null when not listed). */
function statusInUserTable(html: string, id: number): string | null {
  const row = html.match(new RegExp(`<tr class="invitation">((?:(?!</tr>)[\\s\\S])*href="/admin/invitations/${id}"(?:(?!</tr>)[\\s\\S])*)</tr>`))?.[1]
  return row?.match(/<span class="badge">([^<]+)<\/span>/)?.[1] ?? null
}

/** The status badge on /admin/invitations/:id. */
function statusOnDetail(html: string): string | null {
  return html.match(/<h2>Status<\/h2><p><span class="badge">([^<]+)<\/span>/)?.[1] ?? null
}

async function statusesSeen(t: Env, id: number) {
  return {
    list: statusOnList(await (await t.admin.get('/admin/invitations')).text(), id),
    all: statusOnList(await (await t.admin.get('/admin/invitations?all=1')).text(), id),
    detail: statusOnDetail(await (await t.admin.get(`/admin/invitations/${id}`)).text()),
    users: statusInUserTable(await (await t.admin.get('/admin/users')).text(), id),
  }
}

describe('inviting', () => {
  it('invites with a role (viewer alias), organisation, group + group role and projects + project role: 303, status sent, an emailed link whose token is stored only as a hash, audited', async () => {
    const t = await setup()
    const owner = await createTestUser(t, { email: 'owner@example.org' })
    const leeds = group(t, 'Leeds')
    const p1 = project(t, 'Cardiac MRI', owner.user.id)
    const p2 = project(t, 'Chest CT', owner.user.id)
    const res = await t.admin.post('/admin/invitations', {
      email: ' Ada.Lovelace@Example.org ',
      role: 'viewer',
      organization: ' Leeds Teaching Hospitals ',
      group_id: String(leeds.id),
      group_role: 'group_admin',
      project_ids: [String(p1.id), String(p2.id)],
      project_role: 'read-only',
    })
    expect(res.status).toBe(303)
    const row = invitationRow(t)
    expect(res.headers.get('Location')).toBe(`/admin/invitations/${row.id}`)
    expect(row).toMatchObject({
      email: INVITEE,
      role: 'observer',
      organization: 'Leeds Teaching Hospitals',
      groupId: leeds.id,
      groupRole: 'group_admin',
      status: 'sent',
      invitedBy: t.adminId,
      createdAt: t.clock.now(),
      sentAt: t.clock.now(),
      sendCount: 1,
      expiresAt: t.clock.now() + 48 * HOUR,
      visitedAt: null,
      acceptedAt: null,
      acceptedUserId: null,
      revokedAt: null,
    })
    expect(row.projectGrants).toEqual([
      { projectId: p1.id, roleId: roleId(t, 'read-only') },
      { projectId: p2.id, roleId: roleId(t, 'read-only') },
    ])

    const mails = invitationEmails(t)
    expect(mails).toHaveLength(1)
    const mail = mails[0]!
    expect(mail.textBody).toContain('Grace Hopper has invited you to Gatehouse (Leeds Teaching Hospitals).')
    expect(mail.textBody).toContain('The link works until 2026-11-04 09:00 UTC')
    const token = linkTokenOf(mail.textBody)
    expect(mail.htmlBody).toContain(`href="${BASE_URL}/invite/${token}"`)
    // the token itself is nowhere in the database but the outbox: only its keyed hash (not its bare SHA-256)
    expect(row.tokenHash).toBe(keyedTokenHash(t.config.encryptionKey, token))
    expect(row.tokenHash).not.toBe(hashToken(token))
    for (const [column, value] of Object.entries(row)) expect(JSON.stringify(value), column).not.toContain(token)
    for (const e of t.db.select().from(auditEvents).all()) expect(e.details, e.event).not.toContain(token)

    const created = events(t, 'invitation.created')
    expect(created).toHaveLength(1)
    expect(created[0]).toMatchObject({ actorId: t.adminId, actorEmail: 'root@example.org', targetType: 'invitation', targetId: String(row.id) })
    expect(JSON.parse(created[0]!.details)).toMatchObject({ email: INVITEE, role: 'observer', organization: 'Leeds Teaching Hospitals', group_id: leeds.id })

    const page = await t.admin.get(res.headers.get('Location')!)
    expect(page.status).toBe(200)
    const html = await page.text()
    expect(html).toContain(`Invitation sent to ${INVITEE}.`)
    expect(statusOnDetail(html)).toBe('Invitation sent')
    expect(html).not.toContain(token)
  })

  it('invites with nothing but an email and a role: no group, no projects', async () => {
    const t = await setup()
    const { invitation } = await invite(t, { organization: '' })
    expect(invitation).toMatchObject({ role: 'researcher', organization: '', groupId: null, groupRole: null, projectGrants: [] })
    expect(invitationEmails(t)[0]!.textBody).toContain('Grace Hopper has invited you to Gatehouse.')
  })

  it('refuses bad fields with a per-field 422 that keeps the values, and creates and sends nothing', async () => {
    const t = await setup()
    const owner = await createTestUser(t, { email: 'owner@example.org' })
    const leeds = group(t, 'Leeds')
    const live = project(t, 'Live', owner.user.id)
    const deleted = project(t, 'Gone', owner.user.id, { deletedAt: 1 })
    const base = { email: INVITEE, role: 'researcher', organization: 'Keep Me Org' }
    const cases: [Record<string, string | string[]>, string, RegExp][] = [
      [{ email: 'ROOT@Example.org' }, 'email', /A user with this email address already exists/],
      [{ email: 'Owner@example.ORG' }, 'email', /A user with this email address already exists/],
      [{ email: 'not-an-email' }, 'email', /Enter a valid email address/],
      [{ email: '' }, 'email', /Enter a valid email address/],
      [{ role: 'wizard' }, 'role', /Choose a site role/],
      [{ role: 'contributor' }, 'role', /Choose a site role/], // a project role is not a site role
      [{ group_id: '99999' }, 'group_id', /That group does not exist/],
      [{ group_id: 'abc' }, 'group_id', /That group does not exist/],
      [{ group_id: String(leeds.id), group_role: 'overlord' }, 'group_role', /Choose member or group admin/],
      [{ project_ids: [String(live.id), '99999'] }, 'project_ids', /One of the chosen projects does not exist/],
      [{ project_ids: [String(deleted.id)] }, 'project_ids', /One of the chosen projects does not exist/],
      [{ project_ids: [String(live.id)], project_role: 'admin' }, 'project_role', /Choose a project role/],
      [{ project_ids: [String(live.id)], project_role: 'nonexistent' }, 'project_role', /Choose a project role/],
      [{ organization: 'x'.repeat(201) }, 'organization', /At most 200 characters/],
    ]
    for (const [fields, field, message] of cases) {
      const label = JSON.stringify(fields)
      const res = await t.admin.post('/admin/invitations', { ...base, ...fields })
      expect(res.status, label).toBe(422)
      const html = await res.text()
      expect(html, label).toMatch(new RegExp(`id="f-${field}-error"[^>]*>${message.source}`))
      if (field === 'email') expect(html, label).toContain(`value="${fields.email}"`)
      if (field !== 'organization') expect(html, label).toContain('value="Keep Me Org"')
    }
    expect(t.db.select().from(invitations).all()).toHaveLength(0)
    expect(t.db.select().from(outbox).all()).toHaveLength(0)
    expect(events(t, 'invitation.created')).toHaveLength(0)
  })

  it('allows one outstanding invitation per email (sent or link visited, any case): 422 for a second', async () => {
    const t = await setup()
    const { invitation, token } = await invite(t)
    const second = await t.admin.post('/admin/invitations', { email: 'ADA.Lovelace@example.org', role: 'observer' })
    expect(second.status).toBe(422)
    expect(await second.text()).toMatch(/id="f-email-error"[^>]*>An invitation to this address is already outstanding/)
    expect((await t.client().get(`/invite/${token}`)).status).toBe(200)
    expect(getInvitation(t, invitation.id).status).toBe('link visited')
    const third = await t.admin.post('/admin/invitations', { email: INVITEE, role: 'observer' })
    expect(third.status).toBe(422)
    expect(await third.text()).toContain('already outstanding')
    expect(t.db.select().from(invitations).all()).toHaveLength(1)
    expect(invitationEmails(t)).toHaveLength(1)
  })

  it('refuses to invite again while an expired invitation exists (delete it first); after deleting, inviting again works with a new link', async () => {
    const t = await setup()
    const { invitation, token } = await invite(t)
    t.clock.advance(48 * HOUR)
    const again = await t.admin.post('/admin/invitations', { email: INVITEE, role: 'researcher' })
    expect(again.status).toBe(422)
    expect(await again.text()).toMatch(/id="f-email-error"[^>]*>An expired invitation to this address still exists: delete it first/)
    expect(t.db.select().from(invitations).all()).toHaveLength(1)

    const del = await t.admin.post(`/admin/invitations/${invitation.id}/delete`, { confirm: 'yes' })
    expect(del.status).toBe(303)
    expect(getInvitation(t, invitation.id).status).toBe('revoked')
    const fresh = await invite(t, { role: 'observer' })
    expect(fresh.invitation.id).not.toBe(invitation.id)
    expect(fresh.token).not.toBe(token)
    expect(fresh.invitation).toMatchObject({ status: 'sent', role: 'observer', expiresAt: t.clock.now() + 48 * HOUR })
    expect((await t.client().get(`/invite/${fresh.token}`)).status).toBe(200)
    expect((await t.client().get(`/invite/${token}`)).status).toBe(410)
  })

  it('refuses to invite the address of an accepted invitation: the account exists by then', async () => {
    const t = await setup()
    const { token } = await invite(t)
    await accept(t, token)
    const res = await t.admin.post('/admin/invitations', { email: INVITEE, role: 'researcher' })
    expect(res.status).toBe(422)
    expect(await res.text()).toContain('A user with this email address already exists')
  })

  it('pre-fills group, projects and organisation from another user (copy permissions), adding to what was chosen', async () => {
    const t = await setup()
    const source = await createTestUser(t, { email: 'source@example.org' })
    t.db.update(users).set({ organization: 'Source Org' }).where(eq(users.id, source.user.id)).run()
    const leeds = group(t, 'Leeds')
    const p1 = project(t, 'One', t.adminId)
    const p2 = project(t, 'Two', t.adminId)
    t.db.insert(groupMembers).values({ groupId: leeds.id, userId: source.user.id, role: 'group_admin', createdAt: 0 }).run()
    t.db.insert(projectMembers).values({ projectId: p1.id, userId: source.user.id, roleId: roleId(t, 'read-only'), createdAt: 0 }).run()
    const res = await t.admin.get(`/admin/invitations?copy_from=source@example.org&email=${encodeURIComponent(INVITEE)}&project_ids=${p2.id}`)
    expect(res.status).toBe(200)
    const html = await res.text()
    expect(html).toContain('Pre-filled from source@example.org: 2 projects, group Leeds.')
    expect(html).toContain(`<option value="${p1.id}" selected="">One</option>`)
    expect(html).toContain(`<option value="${p2.id}" selected="">Two</option>`)
    expect(html).toContain(`<option value="${leeds.id}" selected="">Leeds</option>`)
    expect(html).toContain('<option value="group_admin" selected="">group admin</option>')
    expect(html).toContain('<input type="checkbox" name="project_role" value="read-only" checked=""/> read-only')
    expect(html).toContain('value="Source Org"')
    expect(html).toContain(`value="${INVITEE}"`)
    const none = await (await t.admin.get('/admin/invitations?copy_from=nobody@example.org')).text()
    expect(none).toContain('No user has the email nobody@example.org; nothing was copied.')
  })
})

describe('the user table and registration', () => {
  it('lists outstanding and expired invitations as rows (filtered by the search text too), and refuses to register an invited address until the invitation is deleted', async () => {
    const t = await setup()
    const { invitation } = await invite(t)
    const other = await invite(t, { email: 'brian@example.org', organization: 'York' })
    const all = await (await t.admin.get('/admin/users')).text()
    expect(statusInUserTable(all, invitation.id)).toBe('Invitation sent')
    expect(statusInUserTable(all, other.invitation.id)).toBe('Invitation sent')
    const filtered = await (await t.admin.get('/admin/users?q=lovelace')).text()
    expect(statusInUserTable(filtered, invitation.id)).toBe('Invitation sent')
    expect(statusInUserTable(filtered, other.invitation.id)).toBeNull()
    expect(statusInUserTable(await (await t.admin.get('/admin/users?q=york')).text(), other.invitation.id)).toBe('Invitation sent')

    const register = await t.admin.post('/admin/users', { email: 'Ada.Lovelace@example.org', role: 'researcher' })
    expect(register.status).toBe(422)
    expect(await register.text()).toMatch(/id="f-email-error"[^>]*>An invitation to this address is outstanding/)
    t.clock.advance(48 * HOUR)
    expect((await t.admin.post('/admin/users', { email: INVITEE, role: 'researcher' })).status).toBe(422)
    expect(t.db.select().from(users).where(eq(users.email, INVITEE)).get()).toBeUndefined()
    expect((await t.admin.post(`/admin/invitations/${invitation.id}/delete`, { confirm: 'yes' })).status).toBe(303)
    expect(statusInUserTable(await (await t.admin.get('/admin/users')).text(), invitation.id)).toBeNull()
    expect((await t.admin.post('/admin/users', { email: INVITEE, role: 'researcher' })).status).toBe(303)
  })
})

describe('statuses as the admin sees them', () => {
  it('sent → link visited (recorded once, however often opened) → expired after 48 hours, on the invitations pages and in the user table', async () => {
    const t = await setup()
    const { invitation, token } = await invite(t)
    expect(await statusesSeen(t, invitation.id)).toEqual({ list: 'Invitation sent', all: 'Invitation sent', detail: 'Invitation sent', users: 'Invitation sent' })

    t.clock.advance(HOUR)
    const visitedAt = t.clock.now()
    expect((await t.client().get(`/invite/${token}`)).status).toBe(200)
    expect(getInvitation(t, invitation.id)).toMatchObject({ status: 'link visited', visitedAt })
    t.clock.advance(HOUR)
    expect((await t.client('198.51.100.2').get(`/invite/${token}`)).status).toBe(200)
    expect(getInvitation(t, invitation.id)).toMatchObject({ status: 'link visited', visitedAt })
    const visited = events(t, 'invitation.link_visited')
    expect(visited).toHaveLength(1)
    expect(visited[0]).toMatchObject({ at: visitedAt, targetId: String(invitation.id) })
    expect(await statusesSeen(t, invitation.id)).toEqual({ list: 'Invitation link visited', all: 'Invitation link visited', detail: 'Invitation link visited', users: 'Invitation link visited' })

    // a millisecond before the 48 hours are up it is still open; at 48 hours it has expired
    t.clock.ms = invitation.createdAt + 48 * HOUR - 1
    expect((await statusesSeen(t, invitation.id)).list).toBe('Invitation link visited')
    t.clock.ms = invitation.createdAt + 48 * HOUR
    expect(await statusesSeen(t, invitation.id)).toEqual({ list: 'Invitation expired', all: 'Invitation expired', detail: 'Invitation expired', users: 'Invitation expired' })
    expect((await t.client().get(`/invite/${token}`)).status).toBe(410)
    // "expired" is computed, not stored; opening the dead link records nothing
    expect(getInvitation(t, invitation.id).status).toBe('link visited')
    expect(events(t, 'invitation.link_visited')).toHaveLength(1)
  })

  it('an invitation never opened expires from "sent" too', async () => {
    const t = await setup()
    const { invitation } = await invite(t)
    t.clock.advance(48 * HOUR)
    expect(await statusesSeen(t, invitation.id)).toEqual({ list: 'Invitation expired', all: 'Invitation expired', detail: 'Invitation expired', users: 'Invitation expired' })
    expect(getInvitation(t, invitation.id)).toMatchObject({ status: 'sent', visitedAt: null })
  })

  it('accepted: gone from the outstanding list and the user table (the account is a user row now), "Accepted" with a link to the account', async () => {
    const t = await setup()
    const { invitation, token } = await invite(t)
    const user = await accept(t, token)
    expect(getInvitation(t, invitation.id)).toMatchObject({ status: 'accepted', acceptedUserId: user.id })
    expect(await statusesSeen(t, invitation.id)).toEqual({ list: null, all: 'Accepted', detail: 'Accepted', users: null })
    const detail = await (await t.admin.get(`/admin/invitations/${invitation.id}`)).text()
    expect(detail).toContain(`href="/admin/users/${user.id}"`)
    expect(detail).not.toContain(`action="/admin/invitations/${invitation.id}/resend"`)
    expect(detail).not.toContain(`action="/admin/invitations/${invitation.id}/delete"`)
    expect(await (await t.admin.get('/admin/users')).text()).toContain(`<a href="/admin/users/${user.id}">${INVITEE.replaceAll(/(?<=[@.])/g, '<wbr/>')}</a>`)
    // still accepted, never "expired", after the 48 hours
    t.clock.advance(72 * HOUR)
    expect((await statusesSeen(t, invitation.id)).all).toBe('Accepted')
  })

  it('revoked: delete asks for confirmation, then the link stops working at once; "Deleted" in the full list, audited once', async () => {
    const t = await setup()
    const { invitation, token } = await invite(t)
    const ask = await t.admin.post(`/admin/invitations/${invitation.id}/delete`)
    expect(ask.status).toBe(200)
    const confirmPage = await ask.text()
    expect(confirmPage).toContain(`Delete the invitation to ${INVITEE}?`)
    expect(confirmPage).toContain('name="confirm" value="yes"')
    expect(getInvitation(t, invitation.id).status).toBe('sent')
    expect((await t.client().get(`/invite/${token}`)).status).toBe(200)

    t.clock.advance(MIN)
    const del = await t.admin.post(`/admin/invitations/${invitation.id}/delete`, { confirm: 'yes' })
    expect(del.status).toBe(303)
    expect(del.headers.get('Location')).toBe('/admin/invitations')
    expect(getInvitation(t, invitation.id)).toMatchObject({ status: 'revoked', revokedAt: t.clock.now() })
    const link = await t.client().get(`/invite/${token}`)
    expect(link.status).toBe(410)
    expect(await link.text()).toContain('This invitation was withdrawn')
    expect(await statusesSeen(t, invitation.id)).toEqual({ list: null, all: 'Deleted', detail: 'Deleted', users: null })
    expect(events(t, 'invitation.deleted')).toHaveLength(1)

    const twice = await t.admin.post(`/admin/invitations/${invitation.id}/delete`, { confirm: 'yes' })
    expect(twice.status).toBe(409)
    expect(await twice.text()).toContain('This invitation is revoked: there is nothing to delete.')
    expect(events(t, 'invitation.deleted')).toHaveLength(1)
  })

  it('refuses to delete an accepted invitation (409)', async () => {
    const t = await setup()
    const { invitation, token } = await invite(t)
    await accept(t, token)
    const res = await t.admin.post(`/admin/invitations/${invitation.id}/delete`, { confirm: 'yes' })
    expect(res.status).toBe(409)
    expect(getInvitation(t, invitation.id).status).toBe('accepted')
  })

  it('takes the link lifetime from INVITATION_TTL_HOURS', async () => {
    const t = await setup({ INVITATION_TTL_HOURS: '1' })
    const { invitation, token } = await invite(t)
    expect(invitation.expiresAt).toBe(t.clock.now() + HOUR)
    expect(invitationEmails(t)[0]!.textBody).toContain(`The link works until ${new Date(t.clock.now() + HOUR).toISOString().slice(0, 16).replace('T', ' ')} UTC`)
    t.clock.advance(HOUR - 1)
    expect((await t.client().get(`/invite/${token}`)).status).toBe(200)
    t.clock.advance(1)
    expect((await t.client().get(`/invite/${token}`)).status).toBe(410)
    expect((await statusesSeen(t, invitation.id)).users).toBe('Invitation expired')
  })
})

describe('resending', () => {
  it('sends the very same link with the very same text, counts the sends, keeps the expiry, and is audited', async () => {
    const t = await setup()
    const { invitation, token } = await invite(t)
    t.clock.advance(3 * HOUR)
    const res = await t.admin.post(`/admin/invitations/${invitation.id}/resend`)
    expect(res.status).toBe(303)
    expect(res.headers.get('Location')).toBe(`/admin/invitations/${invitation.id}`)
    const [second, first] = invitationEmails(t)
    expect(second!.id).not.toBe(first!.id)
    expect(linkTokenOf(second!.textBody)).toBe(token)
    expect(second!.textBody).toBe(first!.textBody)
    expect(second!.htmlBody).toBe(first!.htmlBody)
    expect(second!.subject).toBe(first!.subject)
    expect(getInvitation(t, invitation.id)).toMatchObject({ sendCount: 2, sentAt: t.clock.now(), expiresAt: invitation.expiresAt, status: 'sent' })
    expect(events(t, 'invitation.resent')).toHaveLength(1)
    expect(await (await t.admin.get(`/admin/invitations/${invitation.id}`)).text()).toContain('(2 times)')

    // after the link was visited, resending keeps that status and still sends the same link
    expect((await t.client().get(`/invite/${token}`)).status).toBe(200)
    expect((await t.admin.post(`/admin/invitations/${invitation.id}/resend`)).status).toBe(303)
    expect(invitationEmails(t)).toHaveLength(3)
    expect(linkTokenOf(invitationEmails(t)[0]!.textBody)).toBe(token)
    expect(getInvitation(t, invitation.id)).toMatchObject({ sendCount: 3, status: 'link visited' })
    // and the link the invitee got twice works
    expect((await t.client().get(`/invite/${token}`)).status).toBe(200)
  })

  it('refuses with 409 (and sends nothing) once expired, accepted or revoked', async () => {
    const t = await setup()
    const expired = await invite(t, { email: 'expired@example.org' })
    const accepted = await invite(t, { email: 'accepted@example.org' })
    const revoked = await invite(t, { email: 'revoked@example.org' })
    await accept(t, accepted.token, 'accepted@example.org')
    expect((await t.admin.post(`/admin/invitations/${revoked.invitation.id}/delete`, { confirm: 'yes' })).status).toBe(303)
    t.clock.advance(48 * HOUR)
    const mailsBefore = t.db.select().from(outbox).all().length

    const res = await t.admin.post(`/admin/invitations/${expired.invitation.id}/resend`)
    expect(res.status).toBe(409)
    expect(await res.text()).toContain('This invitation has expired: delete it, then invite the person again.')
    const acc = await t.admin.post(`/admin/invitations/${accepted.invitation.id}/resend`)
    expect(acc.status).toBe(409)
    expect(await acc.text()).toContain('This invitation is accepted: there is nothing to resend.')
    const rev = await t.admin.post(`/admin/invitations/${revoked.invitation.id}/resend`)
    expect(rev.status).toBe(409)
    expect(await rev.text()).toContain('This invitation is revoked: there is nothing to resend.')

    expect(t.db.select().from(outbox).all()).toHaveLength(mailsBefore)
    expect(getInvitation(t, expired.invitation.id).sendCount).toBe(1)
    expect(events(t, 'invitation.resent')).toHaveLength(0)
  })
})

describe('editing', () => {
  it('changes everything but the email without resending: no email queued, audited, and the acceptance grants the edited memberships', async () => {
    const t = await setup()
    const owner = await createTestUser(t, { email: 'owner@example.org' })
    const leeds = group(t, 'Leeds')
    const york = group(t, 'York')
    const p1 = project(t, 'One', owner.user.id)
    const p2 = project(t, 'Two', owner.user.id)
    const { invitation, token } = await invite(t, { group_id: String(leeds.id), project_ids: [String(p1.id)], project_role: 'contributor' })
    const mailsBefore = t.db.select().from(outbox).all().length

    const res = await t.admin.post(`/admin/invitations/${invitation.id}`, {
      email: 'someone.else@example.org', // ignored: the email cannot be changed
      role: 'viewer',
      organization: 'York Trust',
      group_id: String(york.id),
      group_role: 'group_admin',
      project_ids: [String(p2.id)],
      project_role: 'read-only',
    })
    expect(res.status).toBe(303)
    expect(res.headers.get('Location')).toBe(`/admin/invitations/${invitation.id}`)
    expect(getInvitation(t, invitation.id)).toMatchObject({
      email: INVITEE,
      role: 'observer',
      organization: 'York Trust',
      groupId: york.id,
      groupRole: 'group_admin',
      projectGrants: [{ projectId: p2.id, roleId: roleId(t, 'read-only') }],
      sendCount: 1,
      tokenHash: invitation.tokenHash,
      expiresAt: invitation.expiresAt,
      status: 'sent',
    })
    expect(t.db.select().from(outbox).all()).toHaveLength(mailsBefore)
    expect(events(t, 'invitation.updated')).toHaveLength(1)
    expect(events(t, 'invitation.resent')).toHaveLength(0)
    const page = await (await t.admin.get(`/admin/invitations/${invitation.id}`)).text()
    expect(page).toContain('Invitation saved.')
    expect(page).toContain(`<option value="${york.id}" selected="">York</option>`)

    // the old link still works and grants what the invitation says now
    const user = await accept(t, token)
    expect(user).toMatchObject({ role: 'observer', organization: 'York Trust' })
    expect(t.db.select().from(groupMembers).where(eq(groupMembers.userId, user.id)).all()).toEqual([expect.objectContaining({ groupId: york.id, role: 'group_admin' })])
    expect(t.db.select().from(projectMembers).where(eq(projectMembers.userId, user.id)).all()).toEqual([expect.objectContaining({ projectId: p2.id, roleId: roleId(t, 'read-only') })])
  })

  it('carries a set of project roles: the invitation holds each role on each project, and the acceptance grants their union', async () => {
    const t = await setup()
    const owner = await createTestUser(t, { email: 'owner@example.org' })
    const p1 = project(t, 'One', owner.user.id)
    const steward = t.db.insert(roles).values({ name: 'steward', scope: 'project', permissions: ['project.view', 'members.manage'], createdAt: 0, updatedAt: 0 }).returning().get()
    const { invitation, token } = await invite(t, { project_ids: [String(p1.id)], project_role: ['contributor', 'steward'] })
    expect(invitation.projectGrants).toEqual([
      { projectId: p1.id, roleId: roleId(t, 'contributor') },
      { projectId: p1.id, roleId: steward.id },
    ])
    const page = await (await t.admin.get(`/admin/invitations/${invitation.id}`)).text()
    expect(page).toContain('value="contributor" checked=""')
    expect(page).toContain('value="steward" checked=""')
    const user = await accept(t, token)
    const held = t.db.select().from(projectMembers).where(eq(projectMembers.userId, user.id)).all().map((m) => m.roleId).sort()
    expect(held).toEqual([roleId(t, 'contributor'), steward.id].sort())
  })

  it('can remove the group and the projects', async () => {
    const t = await setup()
    const leeds = group(t, 'Leeds')
    const p1 = project(t, 'One', t.adminId)
    const { invitation } = await invite(t, { group_id: String(leeds.id), project_ids: [String(p1.id)] })
    const res = await t.admin.post(`/admin/invitations/${invitation.id}`, { role: 'researcher', organization: '', group_id: '', project_role: 'contributor' })
    expect(res.status).toBe(303)
    expect(getInvitation(t, invitation.id)).toMatchObject({ groupId: null, groupRole: null, projectGrants: [], organization: '' })
  })

  it('with "resend" ticked, saves and emails the same link again', async () => {
    const t = await setup()
    const { invitation, token } = await invite(t)
    t.clock.advance(HOUR)
    const res = await t.admin.post(`/admin/invitations/${invitation.id}`, { role: 'observer', organization: 'Leeds Teaching Hospitals', resend: 'on' })
    expect(res.status).toBe(303)
    const mails = invitationEmails(t)
    expect(mails).toHaveLength(2)
    expect(linkTokenOf(mails[0]!.textBody)).toBe(token)
    expect(mails[0]!.textBody).toBe(mails[1]!.textBody)
    expect(getInvitation(t, invitation.id)).toMatchObject({ role: 'observer', sendCount: 2, sentAt: t.clock.now(), expiresAt: invitation.expiresAt })
    expect(events(t, 'invitation.updated')).toHaveLength(1)
    expect(events(t, 'invitation.resent')).toHaveLength(1)
    expect(await (await t.admin.get(`/admin/invitations/${invitation.id}`)).text()).toContain('Invitation saved and sent again.')
  })

  it('edit + resend after changing the organisation: the email sent names the edited organisation, not the one from before the edit', async () => {
    const t = await setup()
    const { invitation } = await invite(t)
    const res = await t.admin.post(`/admin/invitations/${invitation.id}`, { role: 'researcher', organization: 'York Trust', resend: 'on' })
    expect(res.status).toBe(303)
    const [resent] = invitationEmails(t)
    expect(getInvitation(t, invitation.id).organization).toBe('York Trust')
    expect(resent!.textBody).toContain('has invited you to Gatehouse (York Trust).')
  })

  it('refuses invalid changes with a per-field 422 and changes nothing', async () => {
    const t = await setup()
    const { invitation } = await invite(t)
    const res = await t.admin.post(`/admin/invitations/${invitation.id}`, { role: 'wizard', organization: 'Changed', group_id: '4242', resend: 'on' })
    expect(res.status).toBe(422)
    const html = await res.text()
    expect(html).toMatch(/id="f-role-error"[^>]*>Choose a site role/)
    expect(html).toMatch(/id="f-group_id-error"[^>]*>That group does not exist/)
    expect(html).toContain('value="Changed"')
    expect(getInvitation(t, invitation.id)).toMatchObject({ role: 'researcher', organization: 'Leeds Teaching Hospitals', groupId: null, sendCount: 1 })
    expect(invitationEmails(t)).toHaveLength(1)
    expect(events(t, 'invitation.updated')).toHaveLength(0)
  })

  it('refuses with 409 once accepted, revoked or expired, and changes nothing', async () => {
    const t = await setup()
    const accepted = await invite(t, { email: 'accepted@example.org' })
    const revoked = await invite(t, { email: 'revoked@example.org' })
    const expired = await invite(t, { email: 'expired@example.org' })
    await accept(t, accepted.token, 'accepted@example.org')
    expect((await t.admin.post(`/admin/invitations/${revoked.invitation.id}/delete`, { confirm: 'yes' })).status).toBe(303)
    t.clock.advance(48 * HOUR)
    const mailsBefore = t.db.select().from(outbox).all().length
    for (const [{ invitation }, status] of [
      [accepted, 'accepted'],
      [revoked, 'revoked'],
      [expired, 'expired'],
    ] as const) {
      const res = await t.admin.post(`/admin/invitations/${invitation.id}`, { role: 'observer', organization: 'Changed', resend: 'on' })
      expect(res.status, status).toBe(409)
      expect(await res.text(), status).toContain(`This invitation is ${status}: it can no longer be edited.`)
      expect(getInvitation(t, invitation.id), status).toMatchObject({ role: 'researcher', organization: 'Leeds Teaching Hospitals' })
    }
    expect(t.db.select().from(outbox).all()).toHaveLength(mailsBefore)
    expect(events(t, 'invitation.updated')).toHaveLength(0)
    // the pages offer no edit form for them either
    const page = await (await t.admin.get(`/admin/invitations/${accepted.invitation.id}`)).text()
    expect(page).not.toContain(`<form method="post" action="/admin/invitations/${accepted.invitation.id}"`)
  })
})

describe('who may manage invitations', () => {
  it('refuses a researcher (403) on every invitation route, and nothing changes', async () => {
    const t = await setup()
    const { invitation } = await invite(t)
    const researcher = await createTestUser(t, { role: 'researcher', email: 'res@example.org' })
    const browser = await signIn(t, researcher)
    const mailsBefore = t.db.select().from(outbox).all().length
    const attempts: [string, () => Promise<Response>][] = [
      ['list', () => browser.get('/admin/invitations')],
      ['invite', () => browser.post('/admin/invitations', { email: 'new@example.org', role: 'admin' })],
      ['detail', () => browser.get(`/admin/invitations/${invitation.id}`)],
      ['edit', () => browser.post(`/admin/invitations/${invitation.id}`, { role: 'admin', organization: 'Mine', resend: 'on' })],
      ['resend', () => browser.post(`/admin/invitations/${invitation.id}/resend`)],
      ['delete', () => browser.post(`/admin/invitations/${invitation.id}/delete`, { confirm: 'yes' })],
    ]
    for (const [what, attempt] of attempts) {
      const res = await attempt()
      expect(res.status, what).toBe(403)
      expect(await res.text(), what).toContain('users.manage')
    }
    expect(t.db.select().from(invitations).all()).toHaveLength(1)
    expect(getInvitation(t, invitation.id)).toMatchObject({ status: 'sent', role: 'researcher', organization: 'Leeds Teaching Hospitals', sendCount: 1 })
    expect(t.db.select().from(outbox).all()).toHaveLength(mailsBefore)
  })

  it('sends a signed-out visitor to sign in', async () => {
    const t = await setup()
    const res = await t.client().get('/admin/invitations')
    expect(res.status).toBe(303)
    expect(res.headers.get('Location')).toMatch(/^\/login/)
  })

  it('answers 404 for unknown invitation ids', async () => {
    const t = await setup()
    const { invitation } = await invite(t)
    const unknown = invitation.id + 1000
    for (const [what, res] of [
      ['detail', await t.admin.get(`/admin/invitations/${unknown}`)],
      ['edit', await t.admin.post(`/admin/invitations/${unknown}`, { role: 'observer' })],
      ['resend', await t.admin.post(`/admin/invitations/${unknown}/resend`)],
      ['delete', await t.admin.post(`/admin/invitations/${unknown}/delete`, { confirm: 'yes' })],
      ['non-numeric', await t.admin.get('/admin/invitations/abc')],
    ] as const) {
      expect(res.status, what).toBe(404)
    }
    expect(invitationEmails(t)).toHaveLength(1)
  })
})

describe('imported invitations show the directory’s names', () => {
  it('in the invitations list and as invitation rows of the user table', async () => {
    const t = await setup()
    const { invitation } = await invite(t)
    t.db.update(invitations).set({ firstName: 'Grace', lastName: 'Hopper' }).where(eq(invitations.id, invitation.id)).run()
    const list = await (await t.admin.get('/admin/invitations')).text()
    expect(list).toMatch(new RegExp(`<a href="/admin/invitations/${invitation.id}">[^<]+</a></td><td>Grace Hopper</td>`))
    const users = await (await t.admin.get('/admin/users')).text()
    expect(users).toMatch(/<tr class="invitation"><td class="select">(?:(?!<\/td>)[\s\S])*<\/td><td>Grace<\/td><td>Hopper<\/td>/)
  })
})

describe('GET /admin/invitations?state= (the dashboard counts link here)', () => {
  it('outstanding: open and not yet expired; expired: open and past expiry; accepted and deleted in neither; the counts match the dashboard; an unknown state lists every open one', async () => {
    const t = await setup()
    const now = t.clock.now()
    const row = (email: string, status: Invitation['status'], expiresAt: number) =>
      t.db.insert(invitations).values({ email, role: 'researcher', tokenSalt: email, tokenHash: email, status, createdAt: now, sentAt: now, expiresAt }).run()
    row('fresh@example.org', 'sent', now + HOUR)
    row('visited@example.org', 'link visited', now + HOUR)
    row('stale@example.org', 'sent', now - MIN)
    row('stale-visited@example.org', 'link visited', now)
    row('taken@example.org', 'accepted', now + HOUR)
    row('gone@example.org', 'revoked', now - HOUR)
    const listed = async (query: string) => {
      const html = await (await t.admin.get(`/admin/invitations${query}`)).text()
      return [...html.matchAll(/<a href="\/admin\/invitations\/\d+">([^<]+)<\/a>/g)].map((m) => m[1]!).sort()
    }
    expect(await listed('?state=outstanding')).toEqual(['fresh@example.org', 'visited@example.org'])
    expect(await listed('?state=expired')).toEqual(['stale-visited@example.org', 'stale@example.org'])
    expect(await listed('?state=bogus')).toEqual(['fresh@example.org', 'stale-visited@example.org', 'stale@example.org', 'visited@example.org'])
    expect(await listed('?all=1')).toHaveLength(6)
    const html = await (await t.admin.get('/admin/invitations?state=expired')).text()
    expect(html).toContain('<a href="/admin/invitations?state=expired" aria-current="page">')
    const dashboard = await (await t.admin.get('/admin')).text()
    expect(dashboard).toMatch(/<a href="\/admin\/invitations\?state=outstanding">2</)
    expect(dashboard).toMatch(/<a href="\/admin\/invitations\?state=expired">2</)
  })
})
