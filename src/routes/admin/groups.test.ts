import { describe, expect, it } from 'vitest'
import { and, eq } from 'drizzle-orm'
import { createTestEnv, createTestUser, signIn, type TestEnv } from '../../test/helpers.ts'
import { auditEvents, groupMembers, groups, type Group } from '../../db/schema.ts'
import { createGroup } from '../../models/groups.ts'
import { createProject, deleteProject } from '../../models/projects.ts'

async function adminSession() {
  const t = createTestEnv()
  const admin = await createTestUser(t, { email: 'admin@example.org', role: 'admin' })
  const browser = await signIn(t, admin)
  return { t, admin, browser }
}

type Browser = Awaited<ReturnType<typeof adminSession>>['browser']

function allGroups(t: TestEnv): Group[] {
  return t.db.select().from(groups).orderBy(groups.id).all()
}

function groupNamed(t: TestEnv, name: string): Group | undefined {
  return t.db.select().from(groups).where(eq(groups.name, name)).get()
}

function members(t: TestEnv, groupId: number) {
  return t.db
    .select({ userId: groupMembers.userId, role: groupMembers.role })
    .from(groupMembers)
    .where(eq(groupMembers.groupId, groupId))
    .orderBy(groupMembers.userId)
    .all()
}

function events(t: TestEnv, event: string) {
  return t.db
    .select()
    .from(auditEvents)
    .where(eq(auditEvents.event, event))
    .orderBy(auditEvents.id)
    .all()
    .map((e) => ({ ...e, details: JSON.parse(e.details) as Record<string, unknown> }))
}

function groupEvents(t: TestEnv) {
  return t.db
    .select()
    .from(auditEvents)
    .all()
    .filter((e) => e.event.startsWith('group.'))
}

async function createGroupViaHttp(browser: Browser, t: TestEnv, name: string, description = ''): Promise<Group> {
  const res = await browser.post('/admin/groups', { name, description })
  if (res.status !== 303) throw new Error(`creating group ${name} answered ${res.status}`)
  return groupNamed(t, name)!
}

describe('POST /admin/groups (create)', () => {
  it('creates a group, redirects to its page, lists it, audited as group.created', async () => {
    const { t, admin, browser } = await adminSession()
    const res = await browser.post('/admin/groups', { name: '  Leeds Centre ', description: 'Teaching hospitals' })
    expect(res.status).toBe(303)
    const group = groupNamed(t, 'Leeds Centre')!
    expect(group).toMatchObject({ name: 'Leeds Centre', description: 'Teaching hospitals' })
    expect(res.headers.get('Location')).toBe(`/admin/groups/${group.id}`)

    const [created, ...more] = events(t, 'group.created')
    expect(more).toHaveLength(0)
    expect(created).toMatchObject({ actorId: admin.user.id, targetType: 'group', targetId: String(group.id) })
    expect(created!.details).toEqual({ name: 'Leeds Centre' })

    const page = await browser.get(`/admin/groups/${group.id}`)
    expect(page.status).toBe(200)
    const html = await page.text()
    expect(html).toContain('Group “Leeds Centre” created.')
    expect(html).toContain('No members yet.')

    const list = await (await browser.get('/admin/groups')).text()
    expect(list).toContain(`<a href="/admin/groups/${group.id}">Leeds Centre</a>`)
  })

  it('shows a group name with markup as text, never as markup', async () => {
    const { t, browser } = await adminSession()
    const group = await createGroupViaHttp(browser, t, '<script>alert(1)</script>', '<img src=x onerror=alert(2)>')
    for (const path of ['/admin/groups', `/admin/groups/${group.id}`]) {
      const html = await (await browser.get(path)).text()
      expect(html, path).toContain('&lt;script&gt;alert(1)&lt;/script&gt;')
      expect(html, path).not.toContain('<script>alert(1)')
      expect(html, path).not.toContain('<img src=x')
    }
  })

  const invalid: { what: string; name: string; description?: string; field: string; message: string }[] = [
    { what: 'a duplicate name in other case', name: 'LEEDS centre', field: 'name', message: 'A group with this name exists already.' },
    { what: 'a one-character name', name: 'L', field: 'name', message: 'Between 2 and 80 characters.' },
    { what: 'a blank name', name: '    ', field: 'name', message: 'Between 2 and 80 characters.' },
    { what: 'an 81-character name', name: 'n'.repeat(81), field: 'name', message: 'Between 2 and 80 characters.' },
    { what: 'a description over 500 characters', name: 'York', description: 'd'.repeat(501), field: 'description', message: 'At most 500 characters.' },
  ]
  for (const c of invalid) {
    it(`refuses ${c.what} with 422 on ${c.field}, keeps the typed values, creates nothing`, async () => {
      const { t, browser } = await adminSession()
      await createGroupViaHttp(browser, t, 'Leeds Centre')
      const before = allGroups(t)
      const res = await browser.post('/admin/groups', { name: c.name, description: c.description ?? 'typed description' })
      expect(res.status).toBe(422)
      const html = await res.text()
      expect(html).toMatch(new RegExp(`id="f-${c.field}-error" class="error">${c.message.replace('.', '\\.')}`))
      expect(html).toContain(`value="${c.name.trim()}"`)
      if (!c.description) expect(html).toContain('value="typed description"')
      expect(allGroups(t)).toEqual(before)
      expect(events(t, 'group.created')).toHaveLength(1)
    })
  }
})

describe('POST /admin/groups/:id (rename)', () => {
  it('renames and re-describes a group, audited as group.updated with before and after', async () => {
    const { t, admin, browser } = await adminSession()
    const group = await createGroupViaHttp(browser, t, 'Leeds', 'old text')
    const res = await browser.post(`/admin/groups/${group.id}`, { name: 'Leeds Teaching', description: 'new text' })
    expect(res.status).toBe(303)
    expect(res.headers.get('Location')).toBe(`/admin/groups/${group.id}`)
    expect(allGroups(t)).toEqual([{ ...group, name: 'Leeds Teaching', description: 'new text' }])
    const [updated, ...more] = events(t, 'group.updated')
    expect(more).toHaveLength(0)
    expect(updated).toMatchObject({ actorId: admin.user.id, targetType: 'group', targetId: String(group.id) })
    expect(updated!.details).toEqual({ before: { name: 'Leeds', description: 'old text' }, after: { name: 'Leeds Teaching', description: 'new text' } })
    expect(await (await browser.get(`/admin/groups/${group.id}`)).text()).toContain('<h1>Leeds Teaching</h1>')
  })

  it('lets a group keep its own name in other case', async () => {
    const { t, browser } = await adminSession()
    const group = await createGroupViaHttp(browser, t, 'Leeds')
    const res = await browser.post(`/admin/groups/${group.id}`, { name: 'LEEDS', description: '' })
    expect(res.status).toBe(303)
    expect(allGroups(t).map((g) => g.name)).toEqual(['LEEDS'])
  })

  it('refuses another group’s name (any case) or a too-short name with 422 and changes nothing', async () => {
    const { t, browser } = await adminSession()
    const leeds = await createGroupViaHttp(browser, t, 'Leeds')
    await createGroupViaHttp(browser, t, 'York')
    const before = allGroups(t)

    const taken = await browser.post(`/admin/groups/${leeds.id}`, { name: 'yORK', description: 'x' })
    expect(taken.status).toBe(422)
    const takenHtml = await taken.text()
    expect(takenHtml).toMatch(/id="f-name-error" class="error">A group with this name exists already\./)
    expect(takenHtml).toContain('value="yORK"')

    const short = await browser.post(`/admin/groups/${leeds.id}`, { name: 'Y', description: 'x' })
    expect(short.status).toBe(422)
    expect(await short.text()).toMatch(/id="f-name-error" class="error">Between 2 and 80 characters\./)

    expect(allGroups(t)).toEqual(before)
    expect(events(t, 'group.updated')).toHaveLength(0)
  })
})

describe('group members', () => {
  it('adds members by email as member or group admin, changes a role, and lists them; each audited as group.member_set', async () => {
    const { t, admin, browser } = await adminSession()
    const group = await createGroupViaHttp(browser, t, 'Leeds')
    const ana = await createTestUser(t, { email: 'ana@example.org' })
    const bob = await createTestUser(t, { email: 'bob@example.org', role: 'observer' })

    let res = await browser.post(`/admin/groups/${group.id}/members`, { email: '  Ana@Example.ORG ', role: 'member' })
    expect(res.status).toBe(303)
    expect(res.headers.get('Location')).toBe(`/admin/groups/${group.id}`)
    expect(members(t, group.id)).toEqual([{ userId: ana.user.id, role: 'member' }])
    expect(await (await browser.get(`/admin/groups/${group.id}`)).text()).toContain('ana@example.org is now a member of Leeds.')

    res = await browser.post(`/admin/groups/${group.id}/members`, { email: 'bob@example.org', role: 'group_admin' })
    expect(res.status).toBe(303)
    expect(members(t, group.id)).toEqual([
      { userId: ana.user.id, role: 'member' },
      { userId: bob.user.id, role: 'group_admin' },
    ])

    // the same form changes an existing member's role: still one row each
    res = await browser.post(`/admin/groups/${group.id}/members`, { email: 'ana@example.org', role: 'group_admin' })
    expect(res.status).toBe(303)
    expect(members(t, group.id)).toEqual([
      { userId: ana.user.id, role: 'group_admin' },
      { userId: bob.user.id, role: 'group_admin' },
    ])
    res = await browser.post(`/admin/groups/${group.id}/members`, { email: 'bob@example.org', role: 'member' })
    expect(members(t, group.id)).toEqual([
      { userId: ana.user.id, role: 'group_admin' },
      { userId: bob.user.id, role: 'member' },
    ])

    const set = events(t, 'group.member_set')
    expect(set.map((e) => e.details)).toEqual([
      { user_id: ana.user.id, email: 'ana@example.org', role: 'member' },
      { user_id: bob.user.id, email: 'bob@example.org', role: 'group_admin' },
      { user_id: ana.user.id, email: 'ana@example.org', role: 'group_admin' },
      { user_id: bob.user.id, email: 'bob@example.org', role: 'member' },
    ])
    for (const e of set) expect(e).toMatchObject({ actorId: admin.user.id, targetType: 'group', targetId: String(group.id) })

    const page = await (await browser.get(`/admin/groups/${group.id}`)).text()
    expect(page).toMatch(/ana@example\.org<\/a><\/td><td>[^<]*<\/td><td>group admin<\/td>/)
    expect(page).toMatch(/bob@example\.org<\/a><\/td><td>[^<]*<\/td><td>member<\/td>/)
    const list = await (await browser.get('/admin/groups')).text()
    expect(list).toMatch(new RegExp(`>Leeds</a>.*?</td><td>2</td>`))
  })

  const invalid: { what: string; email: string; role: string; field: string; message: string }[] = [
    { what: 'an email no user has', email: 'nobody@example.org', role: 'member', field: 'email', message: 'No user has this email address.' },
    { what: 'a malformed email', email: 'not an email', role: 'member', field: 'email', message: 'No user has this email address.' },
    { what: 'an empty email', email: '', role: 'member', field: 'email', message: 'No user has this email address.' },
    { what: 'an unknown group role', email: 'ana@example.org', role: 'owner', field: 'role', message: 'Choose group admin or member.' },
    { what: 'a missing group role', email: 'ana@example.org', role: '', field: 'role', message: 'Choose group admin or member.' },
  ]
  for (const c of invalid) {
    it(`refuses ${c.what} with 422 on ${c.field} and changes nothing`, async () => {
      const { t, browser } = await adminSession()
      const group = await createGroupViaHttp(browser, t, 'Leeds')
      const ana = await createTestUser(t, { email: 'ana@example.org' })
      await browser.post(`/admin/groups/${group.id}/members`, { email: 'ana@example.org', role: 'member' })
      const res = await browser.post(`/admin/groups/${group.id}/members`, { email: c.email, role: c.role })
      expect(res.status).toBe(422)
      const html = await res.text()
      if (c.field === 'email') {
        expect(html).toMatch(new RegExp(`id="f-email-error" class="error">${c.message.replace('.', '\\.')}`))
        expect(html).toContain(`value="${c.email}"`)
      } else {
        expect(html).toContain(`<p class="error">${c.message}</p>`)
        expect(html).not.toContain('id="f-email-error"')
      }
      expect(members(t, group.id)).toEqual([{ userId: ana.user.id, role: 'member' }])
      expect(events(t, 'group.member_set')).toHaveLength(1)
    })
  }

  it('removes a member only after confirmation, audited as group.member_removed; removing a non-member is 404', async () => {
    const { t, admin, browser } = await adminSession()
    const group = await createGroupViaHttp(browser, t, 'Leeds')
    const ana = await createTestUser(t, { email: 'ana@example.org' })
    const bob = await createTestUser(t, { email: 'bob@example.org' })
    await browser.post(`/admin/groups/${group.id}/members`, { email: 'ana@example.org', role: 'group_admin' })
    await browser.post(`/admin/groups/${group.id}/members`, { email: 'bob@example.org', role: 'member' })
    const path = `/admin/groups/${group.id}/members/${ana.user.id}/remove`

    for (const fields of [{}, { confirm: 'no' }] as Record<string, string>[]) {
      const ask = await browser.post(path, fields)
      expect(ask.status).toBe(200)
      const html = await ask.text()
      expect(html).toContain('Remove from Leeds?')
      expect(html).toContain(`action="${path}"`)
      expect(html).toContain('name="confirm" value="yes"')
    }
    expect(members(t, group.id)).toHaveLength(2)
    expect(events(t, 'group.member_removed')).toHaveLength(0)

    const res = await browser.post(path, { confirm: 'yes' })
    expect(res.status).toBe(303)
    expect(res.headers.get('Location')).toBe(`/admin/groups/${group.id}`)
    expect(members(t, group.id)).toEqual([{ userId: bob.user.id, role: 'member' }])
    const [removed, ...more] = events(t, 'group.member_removed')
    expect(more).toHaveLength(0)
    expect(removed).toMatchObject({ actorId: admin.user.id, targetType: 'group', targetId: String(group.id) })
    expect(removed!.details).toEqual({ user_id: ana.user.id })
    expect(await (await browser.get(`/admin/groups/${group.id}`)).text()).not.toContain('ana@example.org')

    expect((await browser.post(path, { confirm: 'yes' })).status).toBe(404)
    expect(events(t, 'group.member_removed')).toHaveLength(1)
  })

  it('removing a member from one group leaves their membership of another', async () => {
    const { t, browser } = await adminSession()
    const leeds = await createGroupViaHttp(browser, t, 'Leeds')
    const york = await createGroupViaHttp(browser, t, 'York')
    const ana = await createTestUser(t, { email: 'ana@example.org' })
    await browser.post(`/admin/groups/${leeds.id}/members`, { email: 'ana@example.org', role: 'member' })
    await browser.post(`/admin/groups/${york.id}/members`, { email: 'ana@example.org', role: 'group_admin' })
    expect((await browser.post(`/admin/groups/${leeds.id}/members/${ana.user.id}/remove`, { confirm: 'yes' })).status).toBe(303)
    expect(members(t, leeds.id)).toEqual([])
    expect(t.db.select().from(groupMembers).where(and(eq(groupMembers.groupId, york.id), eq(groupMembers.userId, ana.user.id))).get()?.role).toBe('group_admin')
  })
})

describe('unknown groups', () => {
  it('answers 404 on every group route for an id that does not exist, and changes nothing', async () => {
    const { t, browser } = await adminSession()
    const group = await createGroupViaHttp(browser, t, 'Leeds')
    const ana = await createTestUser(t, { email: 'ana@example.org' })
    await browser.post(`/admin/groups/${group.id}/members`, { email: 'ana@example.org', role: 'member' })
    const before = { groups: allGroups(t), members: t.db.select().from(groupMembers).all(), events: groupEvents(t).length }

    const attempts: [string, () => Promise<Response>][] = [
      ['GET 9999', () => browser.get('/admin/groups/9999')],
      ['GET abc', () => browser.get('/admin/groups/abc')],
      ['POST rename', () => browser.post('/admin/groups/9999', { name: 'Renamed', description: '' })],
      ['POST member', () => browser.post('/admin/groups/9999/members', { email: 'ana@example.org', role: 'group_admin' })],
      ['POST remove', () => browser.post(`/admin/groups/9999/members/${ana.user.id}/remove`, { confirm: 'yes' })],
      ['POST remove unconfirmed', () => browser.post(`/admin/groups/9999/members/${ana.user.id}/remove`)],
      ['POST delete', () => browser.post('/admin/groups/9999/delete', { confirm: 'yes' })],
      ['POST delete unconfirmed', () => browser.post('/admin/groups/9999/delete')],
      ['POST delete abc', () => browser.post('/admin/groups/abc/delete', { confirm: 'yes' })],
    ]
    for (const [what, attempt] of attempts) {
      const res = await attempt()
      expect(res.status, what).toBe(404)
      expect(await res.text(), what).toContain('Not found')
    }
    expect(allGroups(t)).toEqual(before.groups)
    expect(t.db.select().from(groupMembers).all()).toEqual(before.members)
    expect(groupEvents(t)).toHaveLength(before.events)
  })
})

describe('non-admins', () => {
  for (const siteRole of ['researcher', 'observer'] as const) {
    it(`a signed-in ${siteRole} gets 403 naming groups.manage on every group route, and nothing changes`, async () => {
      const { t, browser } = await adminSession()
      const group = await createGroupViaHttp(browser, t, 'Leeds', 'desc')
      const ana = await createTestUser(t, { email: 'ana@example.org' })
      await browser.post(`/admin/groups/${group.id}/members`, { email: 'ana@example.org', role: 'member' })
      const empty = await createGroupViaHttp(browser, t, 'Empty')
      const user = await createTestUser(t, { role: siteRole })
      const other = await signIn(t, user)
      const before = { groups: allGroups(t), members: t.db.select().from(groupMembers).all(), events: groupEvents(t).length }

      const attempts: [string, () => Promise<Response>][] = [
        ['GET /admin/groups', () => other.get('/admin/groups')],
        ['POST /admin/groups', () => other.post('/admin/groups', { name: 'Sneaky', description: '' })],
        ['GET /admin/groups/:id', () => other.get(`/admin/groups/${group.id}`)],
        ['POST /admin/groups/:id', () => other.post(`/admin/groups/${group.id}`, { name: 'Renamed', description: '' })],
        ['POST members (self)', () => other.post(`/admin/groups/${group.id}/members`, { email: user.user.email, role: 'group_admin' })],
        ['POST members (change)', () => other.post(`/admin/groups/${group.id}/members`, { email: 'ana@example.org', role: 'group_admin' })],
        ['POST remove', () => other.post(`/admin/groups/${group.id}/members/${ana.user.id}/remove`, { confirm: 'yes' })],
        ['POST remove unconfirmed', () => other.post(`/admin/groups/${group.id}/members/${ana.user.id}/remove`)],
        ['GET unknown id', () => other.get('/admin/groups/9999')],
        ['POST delete', () => other.post(`/admin/groups/${empty.id}/delete`, { confirm: 'yes' })],
        ['POST delete unconfirmed', () => other.post(`/admin/groups/${empty.id}/delete`)],
      ]
      for (const [what, attempt] of attempts) {
        const res = await attempt()
        expect(res.status, what).toBe(403)
        expect(await res.text(), what).toContain('groups.manage')
      }
      expect(allGroups(t)).toEqual(before.groups)
      expect(t.db.select().from(groupMembers).all()).toEqual(before.members)
      expect(groupEvents(t)).toHaveLength(before.events)
    })
  }
})

describe('deleting a group', () => {
  it('deletes an empty group after a confirmation, audited; refuses (409, saying why) one with a project, even a deleted one, or a member, and changes nothing', async () => {
    const { t, admin, browser } = await adminSession()
    const ctx = { actor: { id: admin.user.id, email: admin.user.email }, now: t.clock.now(), ip: '127.0.0.1' }
    const empty = createGroup(t.db, { name: 'Empty', description: '' }, { at: ctx.now, actor: ctx.actor, ip: ctx.ip })
    const withProject = createGroup(t.db, { name: 'Busy', description: '' }, { at: ctx.now, actor: ctx.actor, ip: ctx.ip })
    const withMember = createGroup(t.db, { name: 'Peopled', description: '' }, { at: ctx.now, actor: ctx.actor, ip: ctx.ip })
    const project = createProject(t.db, { name: 'P', description: '', groupId: withProject.id }, ctx)
    deleteProject(t.db, project, ctx)
    t.db.insert(groupMembers).values({ groupId: withMember.id, userId: admin.user.id, role: 'member', createdAt: ctx.now }).run()

    const ask = await browser.post(`/admin/groups/${empty.id}/delete`)
    expect(ask.status).toBe(200)
    expect(await ask.text()).toContain('name="confirm" value="yes"')
    expect(groupNamed(t, 'Empty')).toBeDefined()
    expect((await browser.post(`/admin/groups/${empty.id}/delete`, { confirm: 'yes' })).status).toBe(303)
    expect(groupNamed(t, 'Empty')).toBeUndefined()
    expect(events(t, 'group.deleted')).toEqual([expect.objectContaining({ targetId: String(empty.id), details: { name: 'Empty' } })])

    const busy = await browser.post(`/admin/groups/${withProject.id}/delete`, { confirm: 'yes' })
    expect(busy.status).toBe(409)
    expect(await busy.text()).toContain('1 project (deleted projects count')
    const peopled = await browser.post(`/admin/groups/${withMember.id}/delete`, { confirm: 'yes' })
    expect(peopled.status).toBe(409)
    expect(await peopled.text()).toContain('1 member')
    expect(groupNamed(t, 'Busy')).toBeDefined()
    expect(groupNamed(t, 'Peopled')).toBeDefined()
    expect(await (await browser.get(`/admin/groups/${withMember.id}`)).text()).not.toContain(`/admin/groups/${withMember.id}/delete`)
    expect((await browser.post('/admin/groups/999999/delete', { confirm: 'yes' })).status).toBe(404)
  })
})

/** Each row of the groups table as name → [members, projects]. */
function listedCounts(html: string): Record<string, [number, number]> {
  const rows = html.split('<tbody>')[1]!.split('</tbody>')[0]!.split('<tr>').slice(1)
  return Object.fromEntries(
    rows.map((r) => {
      const name = /<a href="\/admin\/groups\/\d+">([^<]+)<\/a>/.exec(r)![1]!
      const cells = [...r.matchAll(/<td>(\d+)<\/td>/g)].map((m) => Number(m[1]))
      return [name, [cells[0]!, cells[1]!] as [number, number]]
    }),
  )
}

describe('GET /admin/groups counts', () => {
  it('shows each group its own members and live projects (the count once bound to the project’s own id)', async () => {
    const { t, admin, browser } = await adminSession()
    const ctx = { actor: { id: admin.user.id, email: admin.user.email }, now: t.clock.now(), ip: '127.0.0.1' }
    const audit = { at: ctx.now, actor: ctx.actor, ip: ctx.ip }
    createGroup(t.db, { name: 'Quiet', description: '' }, audit)
    const busy = createGroup(t.db, { name: 'Busy', description: '' }, audit)
    // Projects get ids 1, 2, 3 …: with the bare "id" the group whose id is 1 or 2 would count one each.
    for (const name of ['b1', 'b2']) createProject(t.db, { name, description: '', groupId: busy.id }, ctx)
    createProject(t.db, { name: 'stray', description: '', groupId: null }, ctx)
    const ana = await createTestUser(t, { email: 'ana@example.org' })
    t.db.insert(groupMembers).values({ groupId: busy.id, userId: ana.user.id, role: 'member', createdAt: ctx.now }).run()

    const res = await browser.get('/admin/groups')
    expect(res.status).toBe(200)
    expect(listedCounts(await res.text())).toEqual({ Busy: [1, 2], Quiet: [0, 0] })
  })
})

describe('deleting a group leaves everything as it was when refused', () => {
  it('409 on a group with a live project, with or without confirmation, and no row or audit event changes', async () => {
    const { t, admin, browser } = await adminSession()
    const ctx = { actor: { id: admin.user.id, email: admin.user.email }, now: t.clock.now(), ip: '127.0.0.1' }
    const group = createGroup(t.db, { name: 'Live', description: '' }, { at: ctx.now, actor: ctx.actor, ip: ctx.ip })
    createProject(t.db, { name: 'P', description: '', groupId: group.id }, ctx)
    const before = { groups: allGroups(t), events: t.db.select().from(auditEvents).all().length }
    for (const fields of [{}, { confirm: 'yes' }] as Record<string, string>[]) {
      const res = await browser.post(`/admin/groups/${group.id}/delete`, fields)
      expect(res.status).toBe(409)
      const html = await res.text()
      expect(html).toContain('“Live” cannot be deleted: it still has 1 project')
      expect(html).not.toContain('name="confirm" value="yes"')
    }
    expect(allGroups(t)).toEqual(before.groups)
    expect(t.db.select().from(auditEvents).all()).toHaveLength(before.events)
    expect(events(t, 'group.deleted')).toEqual([])
  })

  it('after deleting, the list no longer shows the group and a flash says so', async () => {
    const { t, browser } = await adminSession()
    const group = await createGroupViaHttp(browser, t, 'Short-lived')
    const res = await browser.post(`/admin/groups/${group.id}/delete`, { confirm: 'yes' })
    expect(res.status).toBe(303)
    expect(res.headers.get('Location')).toBe('/admin/groups')
    const list = await (await browser.get('/admin/groups')).text()
    expect(list).toContain('Group “Short-lived” deleted.')
    expect(list).not.toContain(`href="/admin/groups/${group.id}"`)
    expect((await browser.get(`/admin/groups/${group.id}`)).status).toBe(404)
  })
})

describe('deleting a group twice at once', () => {
  it('two confirmed deletes in parallel: one deletes (303), the other finds nothing (404); one group.deleted event', async () => {
    const { t, browser } = await adminSession()
    const group = await createGroupViaHttp(browser, t, 'Twice')
    const answers = await Promise.all([1, 2, 3].map(() => browser.post(`/admin/groups/${group.id}/delete`, { confirm: 'yes' })))
    expect(answers.map((r) => r.status).sort()).toEqual([303, 404, 404])
    expect(groupNamed(t, 'Twice')).toBeUndefined()
    expect(events(t, 'group.deleted')).toHaveLength(1)
  })
})
