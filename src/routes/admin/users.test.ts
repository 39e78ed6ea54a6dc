import { describe, expect, it } from 'vitest'
import { and, eq } from 'drizzle-orm'
import { createTestEnv, createTestUser, signIn, emailsTo, getUser, totpAt, type TestEnv } from '../../test/helpers.ts'
import { auditEvents, groupMembers, groups, projectMembers, projects, roleGroups, roles, sessions, users } from '../../db/schema.ts'
import { recordSignInFailure } from '../../auth/rate-limit.ts'
import { verifyPasswordHash } from '../../auth/password.ts'
import { SITE_PERMISSIONS } from '../../authz/permissions.ts'

async function adminSession(t: TestEnv) {
  const admin = await createTestUser(t, { role: 'admin', email: 'root@example.org' })
  return { admin, client: await signIn(t, admin) }
}

function auditCount(t: TestEnv, event: string) {
  return t.db.select().from(auditEvents).where(eq(auditEvents.event, event)).all().length
}

describe('registering a user', () => {
  it('creates the account with exactly one role, emails a temporary password valid 7 days, and audits it', async () => {
    const t = createTestEnv()
    const { client } = await adminSession(t)
    const res = await client.post('/admin/users', { email: ' Marie.Curie@Example.org ', role: 'viewer' })
    expect(res.status).toBe(303)
    const user = t.db.select().from(users).where(eq(users.email, 'marie.curie@example.org')).get()!
    expect(user.role).toBe('observer') // viewer is an alias
    expect(user.mustChangePassword).toBe(true)
    expect(user.temporaryPasswordExpiresAt).toBe(t.clock.now() + 7 * 24 * 3600_000)
    const [mail] = emailsTo(t.db, 'marie.curie@example.org')
    const temporary = mail!.textBody.match(/^ {4}(\S+)$/m)![1]!
    expect(temporary.length).toBeGreaterThanOrEqual(16)
    expect(await verifyPasswordHash(user.passwordHash, temporary)).toBe(true)
    expect(auditCount(t, 'user.registered')).toBe(1)
    // the admin never sees the password
    expect(await (await client.get(res.headers.get('Location')!)).text()).not.toContain(temporary)
  })

  it('refuses a duplicate email (case-insensitively), a malformed email and an unknown role with per-field 422', async () => {
    const t = createTestEnv()
    const { client } = await adminSession(t)
    const dup = await client.post('/admin/users', { email: 'ROOT@example.org', role: 'researcher' })
    expect(dup.status).toBe(422)
    expect(await dup.text()).toMatch(/id="f-email-error"[^>]*>A user with this email address already exists/)
    const bad = await client.post('/admin/users', { email: 'not-an-email', role: 'researcher' })
    expect(bad.status).toBe(422)
    expect(await bad.text()).toContain('value="not-an-email"')
    const role = await client.post('/admin/users', { email: 'x@example.org', role: 'superuser' })
    expect(role.status).toBe(422)
    expect(await role.text()).toMatch(/id="f-role-error"[^>]*>Choose one of: /)
    expect(t.db.select().from(users).all()).toHaveLength(1)
  })
})

describe('user actions and their guards', () => {
  it('an admin is not offered, and is refused, a password reset of their own account (the change-password page is theirs); the page shows the username', async () => {
    const t = createTestEnv()
    const { admin, client } = await adminSession(t)
    t.db.update(users).set({ username: 'root_admin' }).where(eq(users.id, admin.user.id)).run()
    const page = await (await client.get(`/admin/users/${admin.user.id}`)).text()
    expect(page).not.toContain(`/admin/users/${admin.user.id}/reset-password`)
    expect(page).toContain('href="/password/change"')
    expect(page).toMatch(/<dt>Username<\/dt>\s*<dd>root_admin<\/dd>/)
    const res = await client.post(`/admin/users/${admin.user.id}/reset-password`, { confirm: 'yes' })
    expect(res.status).toBe(409)
    expect(getUser(t.db, admin.user.id).passwordHash).toBe(admin.user.passwordHash)
    const other = await createTestUser(t)
    expect(await (await client.get(`/admin/users/${other.user.id}`)).text()).toContain(`/admin/users/${other.user.id}/reset-password`)
  })

  it('changes a role exclusively, and the change applies to the target on their next request', async () => {
    const t = createTestEnv()
    const { client } = await adminSession(t)
    const target = await createTestUser(t, { role: 'researcher' })
    const theirs = await signIn(t, target)
    expect((await theirs.get('/admin')).status).toBe(403)
    expect((await client.post(`/admin/users/${target.user.id}/role`, { role: 'admin' })).status).toBe(303)
    expect(getUser(t.db, target.user.id).role).toBe('admin')
    expect((await theirs.get('/admin')).status).toBe(200)
    expect((await client.post(`/admin/users/${target.user.id}/role`, { role: 'Viewer' })).status).toBe(303)
    expect((await theirs.get('/admin')).status).toBe(403)
    expect(getUser(t.db, target.user.id).role).toBe('observer')
    const unknown = await client.post(`/admin/users/${target.user.id}/role`, { role: 'wizard' })
    expect(unknown.status).toBe(422)
    expect(getUser(t.db, target.user.id).role).toBe('observer')
    expect(auditCount(t, 'user.role_changed')).toBe(2)
  })

  it('refuses to let admins demote or disable themselves', async () => {
    const t = createTestEnv()
    const { admin, client } = await adminSession(t)
    await createTestUser(t, { role: 'admin' }) // not the last admin: the refusal is about "yourself"
    const selfDemote = await client.post(`/admin/users/${admin.user.id}/role`, { role: 'researcher' })
    expect(selfDemote.status).toBe(409)
    expect(await selfDemote.text()).toContain('your own role')
    const selfDisable = await client.post(`/admin/users/${admin.user.id}/disable`, { confirm: 'yes' })
    expect(selfDisable.status).toBe(409)
    expect(getUser(t.db, admin.user.id)).toMatchObject({ role: 'admin', disabledAt: null })
  })

  it('never demotes or disables the last enabled admin, even at the hands of a custom role holding every permission', async () => {
    const t = createTestEnv()
    const root = await createTestUser(t, { role: 'admin' })
    const retired = await createTestUser(t, { role: 'admin' })
    t.db.update(users).set({ disabledAt: t.clock.now() }).where(eq(users.id, retired.user.id)).run()
    // a user manager is below an admin: the privilege ceiling refuses it outright (see ceiling.test.ts)
    t.db.insert(roles).values({ name: 'superuser', scope: 'site', permissions: [...SITE_PERMISSIONS], createdAt: 0, updatedAt: 0 }).run()
    const manager = await createTestUser(t, { role: 'superuser' as 'admin' })
    const client = await signIn(t, manager)
    const demote = await client.post(`/admin/users/${root.user.id}/role`, { role: 'observer' })
    expect(demote.status).toBe(409)
    expect(await demote.text()).toContain('last enabled admin')
    const disable = await client.post(`/admin/users/${root.user.id}/disable`, { confirm: 'yes' })
    expect(disable.status).toBe(409)
    expect(getUser(t.db, root.user.id)).toMatchObject({ role: 'admin', disabledAt: null })
    // with a second enabled admin, the same actions go through
    expect((await client.post(`/admin/users/${retired.user.id}/enable`, { confirm: 'yes' })).status).toBe(303)
    expect((await client.post(`/admin/users/${root.user.id}/role`, { role: 'observer' })).status).toBe(303)
    expect(getUser(t.db, root.user.id).role).toBe('observer')
  })

  it('asks for confirmation before disabling; disabling ends every session and refuses sign-in; enabling lets them back', async () => {
    const t = createTestEnv()
    const { client } = await adminSession(t)
    const target = await createTestUser(t)
    const theirs = await signIn(t, target)
    const ask = await client.post(`/admin/users/${target.user.id}/disable`)
    expect(ask.status).toBe(200)
    expect(await ask.text()).toContain('name="confirm" value="yes"')
    expect(getUser(t.db, target.user.id).disabledAt).toBeNull()
    expect((await client.post(`/admin/users/${target.user.id}/disable`, { confirm: 'yes' })).status).toBe(303)
    expect(t.db.select().from(sessions).where(eq(sessions.userId, target.user.id)).all()).toHaveLength(0)
    expect((await theirs.get('/')).headers.get('Location')).toBe('/login')
    expect((await t.client().post('/login', { email: target.user.email, password: target.password })).status).toBe(403)
    expect((await client.post(`/admin/users/${target.user.id}/enable`, { confirm: 'yes' })).status).toBe(303)
    await signIn(t, target)
    expect(auditCount(t, 'user.disabled')).toBe(1)
    expect(auditCount(t, 'user.enabled')).toBe(1)
  })

  it('resets a password: new temporary password emailed, sessions revoked, change forced at next sign-in', async () => {
    const t = createTestEnv()
    const { client } = await adminSession(t)
    const target = await createTestUser(t)
    const theirs = await signIn(t, target)
    expect((await client.post(`/admin/users/${target.user.id}/reset-password`, { confirm: 'yes' })).status).toBe(303)
    expect((await theirs.get('/')).headers.get('Location')).toBe('/login')
    const temporary = emailsTo(t.db, target.user.email).find((m) => !m.subject.startsWith('Gatehouse security'))!.textBody.match(/^ {4}(\S+)$/m)![1]!
    expect((await t.client().post('/login', { email: target.user.email, password: target.password })).status).toBe(422)
    const browser = t.client()
    await browser.post('/login', { email: target.user.email, password: temporary })
    await browser.post('/login/mfa', { code: totpAt(target.totpSecret!, t.clock.now()) })
    expect((await browser.get('/')).headers.get('Location')).toBe('/password/change')
  })

  it('resets MFA (not on yourself): authenticator cleared, sessions revoked, next sign-in enrols again', async () => {
    const t = createTestEnv()
    const { admin, client } = await adminSession(t)
    const target = await createTestUser(t)
    const theirs = await signIn(t, target)
    const self = await client.post(`/admin/users/${admin.user.id}/reset-mfa`, { confirm: 'yes' })
    expect(self.status).toBe(409)
    expect(await self.text()).toContain('reset-mfa')
    expect((await client.post(`/admin/users/${target.user.id}/reset-mfa`, { confirm: 'yes' })).status).toBe(303)
    expect(getUser(t.db, target.user.id).totpSecret).toBeNull()
    expect((await theirs.get('/')).headers.get('Location')).toBe('/login')
    const browser = t.client()
    expect((await browser.post('/login', { email: target.user.email, password: target.password })).headers.get('Location')).toBe('/mfa/setup')
  })

  it('unlocks a locked account early, audited', async () => {
    const t = createTestEnv()
    const { client } = await adminSession(t)
    const target = await createTestUser(t)
    for (let i = 0; i < 10; i++) recordSignInFailure(t.db, target.user.email, t.clock.now(), { threshold: 10, lockMs: 15 * 60_000 })
    expect((await t.client().post('/login', { email: target.user.email, password: target.password })).status).toBe(429)
    const table = await (await client.get('/admin/users?q=' + encodeURIComponent(target.user.email))).text()
    expect(table).toContain('Account locked out')
    expect((await client.post(`/admin/users/${target.user.id}/unlock`, { confirm: 'yes' })).status).toBe(303)
    await signIn(t, target)
    expect(auditCount(t, 'user.unlocked')).toBe(1)
  })

  it('edits name and organisation, revokes a single session, and answers 404 for an unknown user', async () => {
    const t = createTestEnv()
    const { client } = await adminSession(t)
    const target = await createTestUser(t)
    expect((await client.post(`/admin/users/${target.user.id}`, { first_name: 'Rosalind', last_name: 'Franklin', organization: "King's College" })).status).toBe(303)
    expect(getUser(t.db, target.user.id)).toMatchObject({ firstName: 'Rosalind', lastName: 'Franklin', organization: "King's College" })
    expect((await client.post(`/admin/users/${target.user.id}`, { first_name: 'x'.repeat(101), last_name: '', organization: '' })).status).toBe(422)
    const theirs = await signIn(t, target)
    const [session] = t.db.select().from(sessions).where(eq(sessions.userId, target.user.id)).all()
    expect((await client.post(`/admin/users/${target.user.id}/sessions/${session!.id}/revoke`)).status).toBe(303)
    expect((await theirs.get('/')).headers.get('Location')).toBe('/login')
    expect((await client.get('/admin/users/99999')).status).toBe(404)
    expect((await client.post('/admin/users/99999/disable', { confirm: 'yes' })).status).toBe(404)
  })

  it('shows the second email (from a consortium import) and how the account was claimed', async () => {
    const t = createTestEnv()
    const { client } = await adminSession(t)
    const target = await createTestUser(t)
    const page = async () => (await client.get(`/admin/users/${target.user.id}`)).text()
    expect(await page()).not.toContain('Second email')
    expect(await page()).toContain('<dt>Claimed through</dt><dd>Local password</dd>')
    t.db.update(users).set({ contactEmail: 'ann.smith@alpha.edu', claimedVia: 'ORCID' }).where(eq(users.id, target.user.id)).run()
    expect(await page()).toContain('<dt>Second email</dt><dd>ann.smith@alpha.edu</dd>')
    expect(await page()).toContain('<dt>Claimed through</dt><dd>ORCID</dd>')
  })
})

describe('GET /admin/users.csv', () => {
  it('exports every user the current filter and sort select (all pages), with formula cells defused; users.manage only', async () => {
    const t = createTestEnv()
    const { client } = await adminSession(t)
    for (let i = 0; i < 60; i++) await createTestUser(t, { email: `bulk${String(i).padStart(2, '0')}@example.org` })
    const evil = await createTestUser(t, { email: 'evil@example.org' })
    t.db.update(users).set({ firstName: '=HYPERLINK("http://x")', lastName: '+1', organization: 'Acme, "Ltd"' }).where(eq(users.id, evil.user.id)).run()
    const all = await client.get('/admin/users.csv?sort=email&dir=asc')
    expect(all.status).toBe(200)
    expect(all.headers.get('Content-Type')).toContain('text/csv')
    expect(all.headers.get('Content-Disposition')).toMatch(/attachment; filename="gatehouse-users-\d{4}-\d{2}-\d{2}\.csv"/)
    const lines = (await all.text()).trim().split('\n')
    expect(lines[0]).toBe('id,first_name,last_name,username,email,organization,role,projects,last_sign_in,status')
    expect(lines).toHaveLength(1 + 62) // 60 + evil + the admin: more than one page of the table (50)
    const emails = lines.slice(1).map((l) => l.match(/[\w.+-]+@example\.org/)![0])
    expect(emails).toEqual([...emails].sort())
    const evilLine = lines.find((l) => l.includes('evil@example.org'))!
    expect(evilLine).toContain(`"'=HYPERLINK(""http://x"")"`)
    expect(evilLine).toContain("'+1")
    expect(evilLine).toContain(`"Acme, ""Ltd"""`)
    const filtered = (await (await client.get('/admin/users.csv?q=bulk0')).text()).trim().split('\n')
    expect(filtered).toHaveLength(1 + 10)
    const researcher = await createTestUser(t, { role: 'researcher' })
    expect((await (await signIn(t, researcher)).get('/admin/users.csv')).status).toBe(403)
    expect((await t.client().get('/admin/users.csv')).status).toBe(303)
    // the table links to the export of what it shows, and only its count is announced live
    const page = await (await client.get('/admin/users?q=bulk0&sort=email&dir=desc')).text()
    expect(page).toContain('href="/admin/users.csv?q=bulk0&amp;sort=email&amp;dir=desc"')
    expect(page).not.toContain('<section id="user-table" aria-live')
    expect(page).toMatch(/<span id="user-count" aria-live="polite">/)
  })
})

describe('the user table', () => {
  it('filters across name, username, email and organisation, sorts by any column, paginates by 50, and shows statuses', async () => {
    const t = createTestEnv()
    const { client } = await adminSession(t)
    const rows = Array.from({ length: 120 }, (_, i) => ({
      email: `person${String(i).padStart(3, '0')}@example.org`,
      firstName: `First${i}`,
      lastName: i % 2 ? 'Odd' : 'Even',
      organization: i < 5 ? 'Leeds Teaching Hospitals' : 'Elsewhere',
      role: i % 3 === 0 ? 'observer' : 'researcher',
      passwordHash: 'x',
      passwordChangedAt: t.clock.now(),
      createdAt: t.clock.now(),
      disabledAt: i === 7 ? t.clock.now() : null,
    }))
    t.db.insert(users).values(rows).run()

    const all = await (await client.get('/admin/users?sort=email&dir=asc')).text()
    expect(all).toContain('121 users')
    expect(all).toContain('page 1 of 3')
    expect(all.match(/<tr>/g)!.length).toBe(51) // header + 50
    const page3 = await (await client.get('/admin/users?sort=email&dir=asc&page=3')).text()
    expect(page3.match(/<tr>/g)!.length).toBe(1 + 21)

    const leeds = await (await client.get('/admin/users?q=teaching%20hosp')).text()
    expect(leeds).toContain('5 users')
    const short = await (await client.get('/admin/users?q=07')).text()
    expect(short).toContain('person007@example.org')
    expect(short).toContain('Account disabled')

    const desc = await (await client.get('/admin/users?sort=email&dir=desc')).text()
    expect(desc.indexOf('root@example.org')).toBeLessThan(desc.indexOf('person119@example.org'))
    const byStatus = await (await client.get('/admin/users?sort=status&dir=asc')).text()
    expect(byStatus.indexOf('person007@example.org')).toBeGreaterThan(-1)
    expect(byStatus.indexOf('person007@example.org')).toBeLessThan(byStatus.indexOf('person000@example.org'))
    expect(byStatus).toContain('MFA not enrolled')
    expect(byStatus).toContain('aria-sort="ascending"')

    // htmx live filter gets just the table fragment, with Vary
    const fragment = await client.get('/admin/users?q=Leeds', { 'HX-Request': 'true' })
    expect(fragment.headers.get('Vary')).toContain('HX-Request')
    const html = await fragment.text()
    expect(html.startsWith('<section id="user-table"')).toBe(true)
    expect(html).not.toContain('<html')
  })

  it('shows projects (first three, +N) and the inactive status', async () => {
    const t = createTestEnv({ INACTIVE_DAYS: '30' })
    const member = await createTestUser(t, { email: 'busy@example.org' })
    const readOnly = t.db.select().from(roles).where(eq(roles.name, 'read-only')).get()!
    for (const name of ['Alpha', 'Bravo', 'Charlie', 'Delta', 'Echo']) {
      const p = t.db.insert(projects).values({ name, ownerId: member.user.id, createdAt: 0, updatedAt: 0 }).returning().get()
      t.db.insert(projectMembers).values({ projectId: p.id, userId: member.user.id, roleId: readOnly.id, createdAt: 0 }).run()
    }
    t.clock.advance(31 * 24 * 3600_000)
    const { client } = await adminSession(t)
    const html = await (await client.get('/admin/users?q=busy')).text()
    expect(html).toContain('Alpha, Bravo, Charlie +2')
    expect(html).toContain('30+ days inactive')
    const admins = await (await client.get('/admin/users?q=root')).text()
    expect(admins).not.toContain('days inactive')
  })
})

describe('copy permissions and explain access', () => {
  it('adds the other user’s group and project memberships and never removes any', async () => {
    const t = createTestEnv()
    const { client } = await adminSession(t)
    const source = await createTestUser(t, { email: 'source@example.org' })
    const target = await createTestUser(t, { email: 'target@example.org' })
    const contributor = t.db.select().from(roles).where(eq(roles.name, 'contributor')).get()!
    const readOnly = t.db.select().from(roles).where(eq(roles.name, 'read-only')).get()!
    const g = t.db.insert(groups).values({ name: 'Leeds', createdAt: 0 }).returning().get()
    const p1 = t.db.insert(projects).values({ name: 'One', ownerId: 1, createdAt: 0, updatedAt: 0 }).returning().get()
    const p2 = t.db.insert(projects).values({ name: 'Two', ownerId: 1, createdAt: 0, updatedAt: 0 }).returning().get()
    const p3 = t.db.insert(projects).values({ name: 'Three', ownerId: 1, createdAt: 0, updatedAt: 0 }).returning().get()
    t.db.insert(groupMembers).values({ groupId: g.id, userId: source.user.id, role: 'group_admin', createdAt: 0 }).run()
    t.db.insert(projectMembers).values([
      { projectId: p1.id, userId: source.user.id, roleId: contributor.id, createdAt: 0 },
      { projectId: p2.id, userId: source.user.id, roleId: contributor.id, createdAt: 0 },
      { projectId: p2.id, userId: target.user.id, roleId: readOnly.id, createdAt: 0 },
      { projectId: p3.id, userId: target.user.id, roleId: readOnly.id, createdAt: 0 },
    ]).run()
    expect((await client.post(`/admin/users/${target.user.id}/copy-permissions`, { source_email: 'SOURCE@example.org' })).status).toBe(303)
    const mine = t.db.select().from(projectMembers).where(eq(projectMembers.userId, target.user.id)).all()
    // a membership is a set of roles: on p2 the target keeps read-only and gains the source's contributor
    expect(mine.map((m) => [m.projectId, m.roleId]).sort()).toEqual([[p1.id, contributor.id], [p2.id, contributor.id], [p2.id, readOnly.id], [p3.id, readOnly.id]].sort())
    expect(t.db.select().from(groupMembers).where(eq(groupMembers.userId, target.user.id)).all()).toHaveLength(1)
    expect((await client.post(`/admin/users/${target.user.id}/copy-permissions`, { source_email: 'nobody@example.org' })).status).toBe(422)
    expect(auditCount(t, 'user.permissions_copied')).toBe(1)

    const explain = await (await client.get(`/admin/users/${target.user.id}/explain?project_id=${p2.id}`)).text()
    expect(explain).toContain('project.view')
    expect(explain).toContain('project role “contributor” grants it')
    expect(explain).toContain('project roles “contributor”, “read-only” do not grant it')
    expect((await client.get(`/admin/users/${target.user.id}/explain?project_id=99999`)).status).toBe(404)
  })

  it('copies every role of every membership (sets), adds only the missing ones, and explain names the granting role and a group-limited one', async () => {
    const t = createTestEnv()
    const { client } = await adminSession(t)
    const source = await createTestUser(t, { email: 'source@example.org' })
    const target = await createTestUser(t, { email: 'target@example.org' })
    const readOnly = t.db.select().from(roles).where(eq(roles.name, 'read-only')).get()!
    const contributor = t.db.select().from(roles).where(eq(roles.name, 'contributor')).get()!
    const g = t.db.insert(groups).values({ name: 'Leeds', createdAt: 0 }).returning().get()
    const york = t.db.insert(groups).values({ name: 'York', createdAt: 0 }).returning().get()
    const steward = t.db.insert(roles).values({ name: 'steward', scope: 'project', permissions: ['project.view', 'members.manage'], createdAt: 0, updatedAt: 0 }).returning().get()
    const yorkOnly = t.db.insert(roles).values({ name: 'york-uploader', scope: 'project', permissions: ['project.view', 'models.upload'], createdAt: 0, updatedAt: 0 }).returning().get()
    t.db.insert(roleGroups).values({ roleId: yorkOnly.id, groupId: york.id }).run()
    const p = t.db.insert(projects).values({ name: 'One', ownerId: 1, groupId: g.id, status: 'approved', createdAt: 0, updatedAt: 0 }).returning().get()
    t.db.insert(projectMembers).values([
      { projectId: p.id, userId: source.user.id, roleId: readOnly.id, createdAt: 0 },
      { projectId: p.id, userId: source.user.id, roleId: steward.id, createdAt: 0 },
      { projectId: p.id, userId: source.user.id, roleId: yorkOnly.id, createdAt: 0 },
      { projectId: p.id, userId: target.user.id, roleId: contributor.id, createdAt: 0 },
    ]).run()
    expect((await client.post(`/admin/users/${target.user.id}/copy-permissions`, { source_email: source.user.email })).status).toBe(303)
    const held = () => t.db.select({ name: roles.name }).from(projectMembers).innerJoin(roles, eq(roles.id, projectMembers.roleId)).where(eq(projectMembers.userId, target.user.id)).all().map((r) => r.name).sort()
    expect(held()).toEqual(['contributor', 'read-only', 'steward', 'york-uploader'])
    expect(t.db.select().from(auditEvents).where(eq(auditEvents.event, 'user.permissions_copied')).all().map((e) => JSON.parse(e.details) as unknown)).toEqual([expect.objectContaining({ projects_added: 3 })])
    // copying again adds nothing and removes nothing
    expect((await client.post(`/admin/users/${target.user.id}/copy-permissions`, { source_email: source.user.email })).status).toBe(303)
    expect(held()).toEqual(['contributor', 'read-only', 'steward', 'york-uploader'])

    const explain = await (await client.get(`/admin/users/${target.user.id}/explain?project_id=${p.id}`)).text()
    expect(explain).toContain('project role “steward” grants it')
    expect(explain).toContain('project role “contributor” grants it')
    // models.upload: contributor grants it; project.delete: nobody does, and york-uploader is limited to York
    expect(explain).toContain('project roles “contributor”, “read-only”, “steward” do not grant it; project role “york-uploader” is limited to other groups than this project&#39;s')
    const page = await (await client.get(`/admin/users/${target.user.id}`)).text()
    expect(page).toContain('One — contributor, read-only, steward, york-uploader')
  })
})

describe('ids in paths', () => {
  it('answers 404 for any spelling of an id but the plain one', async () => {
    const t = createTestEnv()
    const { client } = await adminSession(t)
    const target = await createTestUser(t)
    expect(target.user.id).toBe(2)
    expect((await client.get('/admin/users/2')).status).toBe(200)
    for (const path of ['/admin/users/02', '/admin/users/0x2', '/admin/users/2e0', '/admin/users/+2', '/admin/users/%202']) expect((await client.get(path)).status, path).toBe(404)
    expect((await client.post('/admin/users/0x2/disable', { confirm: 'yes' })).status).toBe(404)
    expect(getUser(t.db, 2).disabledAt).toBeNull()
  })
})
