import { describe, expect, it } from 'vitest'
import { createTestEnv, createTestUser, signIn } from '../../test/helpers.ts'
import { recordAuditEvent } from '../../models/audit.ts'
import { enqueueEmail } from '../../mail/outbox.ts'
import { outbox, projects, projectSites, sites } from '../../db/schema.ts'
import { getAdminSummary } from '../../models/dashboard.ts'

const DAY = 86_400_000

describe('admin dashboard', () => {
  it('counts users by status, staged projects and failed emails, and charts sign-ins per day for 30 days', async () => {
    const t = createTestEnv()
    const admin = await createTestUser(t, { role: 'admin' })
    await createTestUser(t, { enrolled: false, mustChangePassword: true })
    const [staged, , decided] = t.db.insert(projects).values([
      { name: 'Staged', ownerId: admin.user.id, status: 'staged', createdAt: 0, updatedAt: 0 },
      { name: 'Draft', ownerId: admin.user.id, status: 'unstaged', createdAt: 0, updatedAt: 0 },
      { name: 'Decided', ownerId: admin.user.id, status: 'approved', createdAt: 0, updatedAt: 0 },
    ]).returning().all()
    const site = t.db.insert(sites).values({ name: 'Leeds', code: 'LDS', apiKeyHash: 'h', apiKeyPrefix: 'p', createdAt: 0, keyRotatedAt: 0 }).returning().get()
    // awaiting: a staged site without a decision; an approved project whose sites all decided is not
    t.db.insert(projectSites).values([
      { projectId: staged!.id, siteId: site.id, stagedAt: 0 },
      { projectId: decided!.id, siteId: site.id, stagedAt: 0, decision: 'approved', decidedAt: 0 },
    ]).run()
    enqueueEmail(t.db, { to: 'x@example.org', subject: 's', text: 't', html: 'h' }, 0)
    t.db.update(outbox).set({ status: 'failed' }).run()
    const now = t.clock.now()
    for (const [daysAgo, n] of [[0, 2], [3, 1], [29, 4], [30, 7]] as const) {
      for (let i = 0; i < n; i++) recordAuditEvent(t.db, { event: 'signin.succeeded', at: now - daysAgo * DAY })
    }
    const summary = getAdminSummary(t.db, now)
    expect(summary.users).toMatchObject({ total: 2, admins: 1, withoutMfa: 1, mustChangePassword: 1 })
    expect(summary.projectsAwaitingDecision).toBe(1)
    expect(summary.outbox.failed).toBe(1)
    expect(summary.signInsPerDay).toHaveLength(30)
    expect(summary.signInsPerDay.at(-1)).toEqual({ day: new Date(now).toISOString().slice(0, 10), count: 2 })
    expect(summary.signInsPerDay.at(-4)!.count).toBe(1)
    expect(summary.signInsPerDay[0]!.count).toBe(4) // 29 days ago is in, 30 days ago is not
    expect(summary.signInsPerDay.reduce((s, d) => s + d.count, 0)).toBe(7)

    const client = await signIn(t, admin)
    const html = await (await client.get('/admin')).text()
    expect(html).toContain('<svg')
    expect(html).toContain('Successful sign-ins per day, last 30 days: 8 in total') // 7 + this sign-in
    expect(html).toMatch(/Projects awaiting site decisions<\/dt><dd><a href="\/projects\?awaiting=1">1</)
  })

  it('links every count to the list it counts (filtered where the list has the filter) and gives the chart a y-axis with ticks', async () => {
    const t = createTestEnv()
    const admin = await createTestUser(t, { role: 'admin' })
    for (let i = 0; i < 7; i++) recordAuditEvent(t.db, { event: 'signin.succeeded', at: t.clock.now() - DAY })
    enqueueEmail(t.db, { to: 'x@example.org', subject: 's', text: 't', html: 'h' }, 0)
    t.db.update(outbox).set({ status: 'failed' }).run()
    const client = await signIn(t, admin)
    const html = await (await client.get('/admin')).text()
    /** The href of the link in the <dd> after the <dt> named `label`, or null when the count is not a link. */
    const linkOf = (label: string) => {
      const dd = new RegExp(`<dt>${label}</dt><dd[^>]*>([\\s\\S]*?)</dd>`).exec(html)
      expect(dd, label).not.toBeNull()
      return /<a href="([^"]+)"/.exec(dd![1]!)?.[1]?.replaceAll('&amp;', '&') ?? null
    }
    expect(linkOf('Accounts')).toBe('/admin/users')
    // each account count opens the users list's facet of the same name (its count is the same number)
    expect(linkOf('Admins')).toBe('/admin/users?status=admins')
    expect(linkOf('Disabled')).toBe('/admin/users?status=disabled')
    expect(linkOf('Authenticator not enrolled')).toBe('/admin/users?status=mfa_not_enrolled')
    expect(linkOf('Must change password')).toBe('/admin/users?status=must_change_password')
    expect(linkOf('Locked out now')).toBe('/admin/users?status=locked')
    expect(linkOf('Invitations outstanding')).toBe('/admin/invitations?state=outstanding')
    expect(linkOf('Invitations expired')).toBe('/admin/invitations?state=expired')
    expect(linkOf('Projects awaiting site decisions')).toBe('/projects?awaiting=1')
    expect(linkOf('Waiting to send')).toBe('/admin/outbox?status=queued')
    expect(linkOf('Sent')).toBe('/admin/outbox?status=sent')
    expect(linkOf('Failed after retries')).toBe('/admin/outbox?status=failed')
    expect(linkOf('Printed to the console \\(no SMTP\\)')).toBe('/admin/outbox?status=logged')
    // The failed count's link carries its number and, for screen readers, what it counts.
    expect(html).toMatch(/<a href="\/admin\/outbox\?status=failed">1<span class="visually-hidden"> failed after retries<\/span><\/a>/)
    const from = new Date(t.clock.now() - 29 * DAY).toISOString().slice(0, 10)
    const to = new Date(t.clock.now()).toISOString().slice(0, 10)
    expect(html).toContain(`href="/admin/audit?event=signin.succeeded&amp;from=${from}&amp;to=${to}"`)

    // y-axis: a tick at 0 and at the top of the scale (7 + this sign-in on two days: max 7), with grid lines.
    const svg = /<svg[\s\S]*?<\/svg>/.exec(html)![0]
    const ticks = [...svg.matchAll(/<text[^>]*class="tick y"[^>]*>(\d+)<\/text>/g)].map((m) => Number(m[1]))
    expect(ticks[0]).toBe(0)
    expect(ticks.at(-1)).toBeGreaterThanOrEqual(7)
    expect(ticks.length).toBeGreaterThanOrEqual(3)
    expect([...ticks].sort((a, b) => a - b)).toEqual(ticks)
    expect(svg.match(/class="grid"/g)?.length).toBe(ticks.length)
  })
})
