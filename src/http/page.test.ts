import { describe, expect, it } from 'vitest'
import { createTestEnv, createTestUser, signIn } from '../test/helpers.ts'
import { createRole } from '../models/roles.ts'
import { users } from '../db/schema.ts'
import { eq } from 'drizzle-orm'

const AREAS = ['/admin', '/admin/users', '/admin/invitations', '/admin/roles', '/admin/groups', '/admin/consortium', '/admin/import', '/admin/sites', '/admin/tasks', '/admin/identity-providers', '/admin/settings', '/admin/audit', '/admin/outbox']

/** The hrefs of the admin navigation, and which one is marked current. */
function adminNav(html: string): { links: string[]; current: string[] } {
  const nav = /<nav class="admin-nav" aria-label="Admin">([\s\S]*?)<\/nav>/.exec(html)
  if (!nav) return { links: [], current: [] }
  const links = [...nav[1]!.matchAll(/<a href="([^"]+)"/g)].map((m) => m[1]!)
  const current = [...nav[1]!.matchAll(/<a href="([^"]+)" aria-current="page"/g)].map((m) => m[1]!)
  return { links, current }
}

describe('the admin navigation in the layout', () => {
  it('is on every admin page with all admin areas, the current one (and only it) marked aria-current', async () => {
    const t = createTestEnv()
    const admin = await createTestUser(t, { role: 'admin' })
    const browser = await signIn(t, admin)
    for (const path of AREAS) {
      const res = await browser.get(path)
      expect(res.status, path).toBe(200)
      const nav = adminNav(await res.text())
      expect(nav.links, path).toEqual(AREAS)
      expect(nav.current, path).toEqual([path])
    }
    const detail = adminNav(await (await browser.get(`/admin/users/${admin.user.id}`)).text())
    expect(detail.current).toEqual(['/admin/users']) // a page inside an area marks its area
  })

  it('lists only the areas the viewer may open, and is absent outside the admin area and for non-admins', async () => {
    const t = createTestEnv()
    const at = t.clock.now()
    createRole(t.db, { name: 'auditor', description: '', scope: 'site', permissions: ['admin.access', 'audit.view'], groupIds: [] }, { at, actor: null, ip: '' })
    const auditor = await createTestUser(t, { role: 'researcher' })
    t.db.update(users).set({ role: 'auditor' }).where(eq(users.id, auditor.user.id)).run()
    const browser = await signIn(t, auditor)
    const nav = adminNav(await (await browser.get('/admin/audit')).text())
    expect(nav.links).toEqual(['/admin', '/admin/settings', '/admin/audit'])
    expect(nav.current).toEqual(['/admin/audit'])
    expect(adminNav(await (await browser.get('/projects')).text()).links).toEqual([])

    const researcher = await signIn(t, await createTestUser(t, { role: 'researcher' }))
    const refused = await researcher.get('/admin/users')
    expect(refused.status).toBe(403)
    expect(adminNav(await refused.text()).links).toEqual([])
  })
})
