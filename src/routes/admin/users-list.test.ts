import { describe, expect, it } from 'vitest'
import { eq } from 'drizzle-orm'
import { createTestEnv, createTestUser, signIn, type TestEnv } from '../../test/helpers.ts'
import { invitations, users } from '../../db/schema.ts'
import { recordSignInFailure } from '../../auth/rate-limit.ts'

// The users list (issue 15 §2): status facets, page numbers and size, invitations sorted in.

const DAY = 86_400_000
const FACETS = ['active', 'admins', 'disabled', 'locked', 'mfa_not_enrolled', 'must_change_password', 'inactive', 'invitations'] as const

async function adminSession(t: TestEnv) {
  const admin = await createTestUser(t, { role: 'admin', email: 'root@example.org' })
  return { admin, client: await signIn(t, admin) }
}

let invitationSeq = 0
function addInvitation(t: TestEnv, email: string, extra: Partial<typeof invitations.$inferInsert> = {}) {
  invitationSeq++
  return t.db
    .insert(invitations)
    .values({ email, role: 'researcher', tokenSalt: `salt${invitationSeq}`, tokenHash: `hash${invitationSeq}-${email}`, createdAt: t.clock.now(), sentAt: t.clock.now(), expiresAt: t.clock.now() + 7 * DAY, ...extra })
    .returning()
    .get()
}

/** Account and invitation rows in the table body ("No users match." is not a row). */
function rowsListed(html: string): number {
  const trs = html.match(/<tr( class="invitation")?>/g)!.length - 1 // the header row
  return html.includes('No users match.') ? trs - 1 : trs
}

function emailsListed(html: string): string[] {
  // The table offers a line break after "@" and each "." of an address (<wbr>): read the address without them.
  return [...html.matchAll(/<a href="\/admin\/(?:users|invitations)\/\d+">((?:[^<]|<wbr\/?>)+)<\/a>/g)].map((m) => m[1]!.replaceAll(/<wbr\/?>/g, ''))
}

function facetCount(html: string, facet: string): number {
  const m = html.match(new RegExp(`<a href="/admin/users\\?(?:[^"]*&amp;)?status=${facet}&amp;[^"]*"[^>]*>[^<]*<span class="badge">([\\d,]+)</span>`))
  if (!m) throw new Error(`no facet link for ${facet}`)
  return Number(m[1]!.replace(/,/g, ''))
}

async function population(t: TestEnv) {
  const { client } = await adminSession(t)
  const off1 = await createTestUser(t, { email: 'off1@example.org' })
  const off2 = await createTestUser(t, { email: 'off2@example.org', enrolled: false })
  t.db.update(users).set({ disabledAt: t.clock.now() }).where(eq(users.id, off1.user.id)).run()
  t.db.update(users).set({ disabledAt: t.clock.now() }).where(eq(users.id, off2.user.id)).run()
  const locked = await createTestUser(t, { email: 'locked@example.org' })
  for (let i = 0; i < 10; i++) recordSignInFailure(t.db, locked.user.email, t.clock.now(), { threshold: 10, lockMs: 15 * 60_000 })
  await createTestUser(t, { email: 'nomfa@example.org', enrolled: false })
  await createTestUser(t, { email: 'temp@example.org', mustChangePassword: true })
  const old = await createTestUser(t, { email: 'old@example.org' })
  t.db.update(users).set({ createdAt: t.clock.now() - 40 * DAY, lastSignInAt: t.clock.now() - 40 * DAY }).where(eq(users.id, old.user.id)).run()
  await createTestUser(t, { email: 'second.admin@example.org', role: 'admin' })
  await createTestUser(t, { email: 'plain@example.org' })
  addInvitation(t, 'invited1@example.org')
  addInvitation(t, 'invited2@example.org', { status: 'link visited' })
  addInvitation(t, 'revoked@example.org', { status: 'revoked', revokedAt: t.clock.now() })
  return client
}

describe('status facets', () => {
  it('counts every facet in SQL and lists exactly that many rows when a facet is chosen (marked aria-current)', async () => {
    const t = createTestEnv({ INACTIVE_DAYS: '30' })
    const client = await population(t)
    const all = await (await client.get('/admin/users')).text()
    const expected = { active: 7, admins: 2, disabled: 2, locked: 1, mfa_not_enrolled: 2, must_change_password: 1, inactive: 1, invitations: 2 }
    for (const f of FACETS) expect(facetCount(all, f), f).toBe(expected[f])
    expect(all).toMatch(/<a href="\/admin\/users\?sort=last_name&amp;dir=asc" aria-current="page">All <span class="badge">11<\/span>/)
    expect(rowsListed(all)).toBe(11) // 9 accounts + 2 open invitations; the revoked one is not listed
    for (const f of FACETS) {
      const html = await (await client.get(`/admin/users?status=${f}`)).text()
      expect(rowsListed(html), f).toBe(facetCount(html, f))
      expect(html, f).toMatch(new RegExp(`status=${f}&amp;[^"]*" aria-current="page"`))
      expect(html.match(/aria-current="page">(?!\d)/g)!.length, f).toBe(2) // the admin nav's Users and this facet
    }
    const locked = await (await client.get('/admin/users?status=locked')).text()
    expect(emailsListed(locked)).toEqual(['locked@example.org'])
    const invited = await (await client.get('/admin/users?status=invitations')).text()
    expect(emailsListed(invited)).toEqual(['invited1@example.org', 'invited2@example.org'])
    expect(invited).not.toContain('Download as CSV')
    const disabled = await (await client.get('/admin/users?status=disabled&sort=email&dir=asc')).text()
    expect(emailsListed(disabled)).toEqual(['off1@example.org', 'off2@example.org'])
    // an unknown status is no filter at all
    expect(rowsListed(await (await client.get('/admin/users?status=bogus')).text())).toBe(11)
  })

  it('the unfiltered counts (one index per facet) equal the one-pass counts under a filter every row matches, before and after a lock expires', async () => {
    const t = createTestEnv({ INACTIVE_DAYS: '30' })
    const client = await population(t)
    for (const advance of [0, 16 * 60_000]) {
      t.clock.advance(advance)
      const all = await (await client.get('/admin/users')).text()
      const matched = await (await client.get('/admin/users?q=example.org')).text()
      for (const f of FACETS) expect(facetCount(matched, f), `${f} after ${advance} ms`).toBe(facetCount(all, f))
      expect(facetCount(all, 'locked')).toBe(advance === 0 ? 1 : 0)
      expect(rowsListed(await (await client.get('/admin/users?status=locked&sort=last_sign_in&dir=desc')).text())).toBe(advance === 0 ? 1 : 0)
    }
  })

  it('facet links keep the text filter and sort; counts follow the text filter; the filter form keeps the facet', async () => {
    const t = createTestEnv({ INACTIVE_DAYS: '30' })
    const client = await population(t)
    const html = await (await client.get('/admin/users?q=off&sort=email&dir=desc')).text()
    expect(html).toContain('href="/admin/users?q=off&amp;status=disabled&amp;sort=email&amp;dir=desc"')
    expect(facetCount(html, 'disabled')).toBe(2)
    expect(facetCount(html, 'mfa_not_enrolled')).toBe(1)
    expect(facetCount(html, 'admins')).toBe(0)
    expect(facetCount(html, 'invitations')).toBe(0)
    const both = await (await client.get('/admin/users?q=off&status=mfa_not_enrolled&sort=email&dir=desc')).text()
    expect(emailsListed(both)).toEqual(['off2@example.org'])
    expect(both).toContain('<input type="hidden" name="status" value="mfa_not_enrolled"/>')
    // sort headers and page links keep the facet
    expect(both).toContain('href="/admin/users?q=off&amp;status=mfa_not_enrolled&amp;sort=email&amp;dir=asc"')
    // the htmx fragment carries the facets, so their counts follow the live filter
    const fragment = await (await client.get('/admin/users?q=invited', { 'HX-Request': 'true' })).text()
    expect(facetCount(fragment, 'invitations')).toBe(2)
    expect(facetCount(fragment, 'active')).toBe(0)
  })

  it('sort headers are sort controls: aria-sort and an arrow on the current column, the link toggles the direction', async () => {
    const t = createTestEnv()
    const client = await population(t)
    const header = (html: string, sort: string) => html.match(new RegExp(`<th scope="col"[^>]*><a href="/admin/users\\?sort=${sort}&amp;dir=(asc|desc)" class="sort">[^<]+<span class="sort-arrow" aria-hidden="true">([^<]+)</span>`))
    const asc = await (await client.get('/admin/users?sort=email&dir=asc')).text()
    expect(asc).toMatch(/<th scope="col" aria-sort="ascending"><a href="\/admin\/users\?sort=email&amp;dir=desc" class="sort">Email/)
    expect(header(asc, 'email')!.slice(1)).toEqual(['desc', '▲'])
    expect(header(asc, 'last_name')!.slice(1)).toEqual(['asc', '↕'])
    expect(asc.match(/aria-sort=/g)).toHaveLength(1)
    const desc = await (await client.get('/admin/users?sort=email&dir=desc')).text()
    expect(desc).toContain('<th scope="col" aria-sort="descending">')
    expect(header(desc, 'email')!.slice(1)).toEqual(['asc', '▼'])
    // the direction is said in words too, inside the link
    expect(desc).toContain('<span class="visually-hidden">, sorted descending; sort ascending</span>')
  })

  it('the live count keeps its node across htmx swaps (morph swap, stable id)', async () => {
    const t = createTestEnv()
    const client = await population(t)
    const html = await (await client.get('/admin/users')).text()
    expect(html).toContain('hx-target="#user-table" hx-swap="outerMorph"')
    const fragment = await (await client.get('/admin/users?q=off', { 'HX-Request': 'true' })).text()
    expect(fragment.match(/aria-live/g)).toHaveLength(1)
    expect(fragment).toMatch(/<span id="user-count" aria-live="polite">2 users matching “off”<\/span>/)
  })

  it('only the result count is live for screen readers, not the facets or the table', async () => {
    const t = createTestEnv()
    const client = await population(t)
    const html = await (await client.get('/admin/users?status=disabled')).text()
    const live = html.match(/<span id="user-count" aria-live="polite">([^]*?)<\/span>/)!
    expect(live[1]).toBe('2 users · disabled')
    expect(html.match(/aria-live/g)!.length).toBe(1)
  })

  it('the CSV export keeps the facet; users.manage only', async () => {
    const t = createTestEnv()
    const client = await population(t)
    const html = await (await client.get('/admin/users?status=disabled&sort=email&dir=asc')).text()
    expect(html).toContain('href="/admin/users.csv?status=disabled&amp;sort=email&amp;dir=asc"')
    const lines = (await (await client.get('/admin/users.csv?status=disabled&sort=email&dir=asc')).text()).trim().split('\n')
    expect(lines.slice(1).map((l) => l.split(',')[4])).toEqual(['off1@example.org', 'off2@example.org'])
    const researcher = await signIn(t, await createTestUser(t, { role: 'researcher' }))
    expect((await researcher.get('/admin/users?status=locked')).status).toBe(403)
    expect((await researcher.get('/admin/users?status=locked&per_page=100&page=2')).status).toBe(403)
    expect((await researcher.get('/admin/users.csv?status=disabled')).status).toBe(403)
    expect((await t.client().get('/admin/users?status=locked')).headers.get('Location')).toBe('/login')
  })
})

describe('page numbers and page size', () => {
  async function sixty(t: TestEnv) {
    const { client } = await adminSession(t)
    t.db
      .insert(users)
      .values(Array.from({ length: 60 }, (_, i) => ({ email: `p${String(i).padStart(2, '0')}@example.org`, role: 'researcher', passwordHash: 'x', passwordChangedAt: t.clock.now(), createdAt: t.clock.now() })))
      .run()
    return client
  }

  it('per_page 25 shows the second 25 on page 2, with numbered page links and the current one marked', async () => {
    const t = createTestEnv()
    const client = await sixty(t)
    const html = await (await client.get('/admin/users?sort=email&dir=asc&per_page=25&page=2')).text()
    const emails = emailsListed(html)
    expect(emails).toEqual(Array.from({ length: 25 }, (_, i) => `p${i + 25}@example.org`))
    expect(html).toContain('page 2 of 3')
    expect(html).toContain('<a href="/admin/users?sort=email&amp;dir=asc&amp;per_page=25&amp;page=2" aria-current="page" aria-label="Page 2">2</a>')
    expect(html).toContain('<a href="/admin/users?sort=email&amp;dir=asc&amp;per_page=25" aria-label="Page 1">1</a>')
    expect(html).toContain('aria-label="Page 3">3</a>')
    expect(html).toMatch(/<option value="25" selected="">25<\/option>/)
    const page3 = await (await client.get('/admin/users?sort=email&dir=asc&per_page=25&page=3')).text()
    expect(emailsListed(page3)).toEqual([...Array.from({ length: 10 }, (_, i) => `p${i + 50}@example.org`), 'root@example.org'])
    const hundred = await (await client.get('/admin/users?per_page=100')).text()
    expect(rowsListed(hundred)).toBe(61)
    expect(hundred).not.toContain('aria-label="Pages"')
  })

  it('any other per_page falls back to 50', async () => {
    const t = createTestEnv()
    const client = await sixty(t)
    for (const bogus of ['30', '1000', '-25', 'abc', '25.5', '']) {
      const html = await (await client.get(`/admin/users?sort=email&dir=asc&per_page=${bogus}`)).text()
      expect(rowsListed(html), bogus).toBe(50)
      expect(html, bogus).toContain('page 1 of 2')
      expect(html, bogus).toMatch(/<option value="50" selected="">50<\/option>/)
    }
  })

  it('the page-size form keeps the text filter, sort and facet', async () => {
    const t = createTestEnv()
    const client = await sixty(t)
    const html = await (await client.get('/admin/users?q=p1&status=active&sort=email&dir=desc&per_page=100')).text()
    const form = html.match(/<form method="get" action="\/admin\/users" class="row per-page">([^]*?)<\/form>/)![1]!
    expect(form).toContain('<input type="hidden" name="q" value="p1"/>')
    expect(form).toContain('<input type="hidden" name="status" value="active"/>')
    expect(form).toContain('<input type="hidden" name="sort" value="email"/>')
    expect(form).toContain('<input type="hidden" name="dir" value="desc"/>')
    expect(form).not.toContain('name="page"')
  })
})

describe('invitations in the list', () => {
  it('sort in with the accounts by the same key (both directions) and count in the total', async () => {
    const t = createTestEnv()
    const { client } = await adminSession(t)
    await createTestUser(t, { email: 'b@example.org' })
    await createTestUser(t, { email: 'd@example.org' })
    addInvitation(t, 'a@example.org')
    addInvitation(t, 'c@example.org')
    addInvitation(t, 'e@example.org')
    const asc = await (await client.get('/admin/users?sort=email&dir=asc')).text()
    expect(emailsListed(asc)).toEqual(['a@example.org', 'b@example.org', 'c@example.org', 'd@example.org', 'e@example.org', 'root@example.org'])
    expect(asc).toContain('6 rows (3 users, 3 invitations)')
    const desc = await (await client.get('/admin/users?sort=email&dir=desc')).text()
    expect(emailsListed(desc)).toEqual(['root@example.org', 'e@example.org', 'd@example.org', 'c@example.org', 'b@example.org', 'a@example.org'])
    // by last name: the invitation's directory name sorts with the accounts' names
    t.db.update(users).set({ lastName: 'Baker' }).where(eq(users.email, 'b@example.org')).run()
    t.db.update(users).set({ lastName: 'Dunn' }).where(eq(users.email, 'd@example.org')).run()
    t.db.update(users).set({ lastName: 'Zed' }).where(eq(users.email, 'root@example.org')).run()
    t.db.update(invitations).set({ lastName: 'carter' }).where(eq(invitations.email, 'c@example.org')).run()
    t.db.update(invitations).set({ lastName: 'Adams' }).where(eq(invitations.email, 'a@example.org')).run()
    t.db.update(invitations).set({ lastName: 'Evans' }).where(eq(invitations.email, 'e@example.org')).run()
    const byName = await (await client.get('/admin/users?sort=last_name&dir=asc')).text()
    expect(emailsListed(byName)).toEqual(['a@example.org', 'b@example.org', 'c@example.org', 'd@example.org', 'e@example.org', 'root@example.org'])
  })

  it('do not always lead page 1: those that sort late are on the last page, and the pages count them', async () => {
    const t = createTestEnv()
    const { client } = await adminSession(t)
    for (let i = 0; i < 30; i++) await createTestUser(t, { email: `a${String(i).padStart(2, '0')}@example.org` })
    for (let i = 0; i < 5; i++) addInvitation(t, `z${i}@example.org`)
    const page1 = await (await client.get('/admin/users?sort=email&dir=asc&per_page=25')).text()
    expect(page1).not.toContain('class="invitation"')
    expect(page1).toContain('page 1 of 2')
    const page2 = await (await client.get('/admin/users?sort=email&dir=asc&per_page=25&page=2')).text()
    expect(emailsListed(page2)).toEqual([...Array.from({ length: 5 }, (_, i) => `a${25 + i}@example.org`), 'root@example.org', ...Array.from({ length: 5 }, (_, i) => `z${i}@example.org`)])
    expect(page2.match(/<tr class="invitation">/g)!.length).toBe(5)
    // a facet other than invitations lists accounts only
    expect((await (await client.get('/admin/users?status=active&per_page=100')).text()).includes('class="invitation"')).toBe(false)
  })
})
