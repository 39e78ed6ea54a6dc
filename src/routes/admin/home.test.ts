import { describe, expect, it } from 'vitest'
import { createTestEnv, createTestUser, signIn } from '../../test/helpers.ts'
import { recordAuditEvent } from '../../models/audit.ts'
import { enqueueEmail } from '../../mail/outbox.ts'
import { outbox, projects } from '../../db/schema.ts'
import { getAdminSummary } from '../../models/dashboard.ts'

const DAY = 86_400_000

describe('admin dashboard', () => {
  it('counts users by status, staged projects and failed emails, and charts sign-ins per day for 30 days', async () => {
    const t = createTestEnv()
    const admin = await createTestUser(t, { role: 'admin' })
    await createTestUser(t, { enrolled: false, mustChangePassword: true })
    t.db.insert(projects).values([
      { name: 'Staged', ownerId: admin.user.id, status: 'staged', createdAt: 0, updatedAt: 0 },
      { name: 'Draft', ownerId: admin.user.id, status: 'unstaged', createdAt: 0, updatedAt: 0 },
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
    expect(html).toMatch(/Projects awaiting site decisions<\/dt><dd>1</)
  })
})
