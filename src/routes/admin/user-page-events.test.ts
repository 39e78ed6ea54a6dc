import { describe, expect, it } from 'vitest'
import { sql } from 'drizzle-orm'
import { createTestEnv, createTestUser, signIn } from '../../test/helpers.ts'
import { createProject } from '../../models/projects.ts'
import { recordAuditEvent } from '../../models/audit.ts'
import { listRecentUserEvents } from '../../models/user-events.ts'

// The admin user page (issue 15 §3): recent events include the user's memberships (they target
// the project and name the member in details.user_id), read through indexes.

function eventsCard(html: string): string {
  return html.slice(html.indexOf('<h2>Recent audit events</h2>'))
}

describe('the admin user page', () => {
  it('lists a project membership grant and its removal among the user’s recent events, with the project named', async () => {
    const t = createTestEnv()
    const admin = await createTestUser(t, { role: 'admin', email: 'root@example.org' })
    const client = await signIn(t, admin)
    const member = await createTestUser(t, { email: 'member@example.org' })
    const other = await createTestUser(t, { email: 'other@example.org' })
    const project = createProject(t.db, { name: 'Liver cohort', description: '', groupId: null }, { actor: { id: admin.user.id, email: admin.user.email }, now: t.clock.now(), ip: '' })
    expect((await client.post(`/projects/${project.id}/members`, { email: member.user.email, role: 'contributor' })).status).toBe(303)
    expect((await client.post(`/projects/${project.id}/members`, { email: other.user.email, role: 'contributor' })).status).toBe(303)
    const page = eventsCard(await (await client.get(`/admin/users/${member.user.id}`)).text())
    expect(page).toContain('<code>project.member_added</code>')
    expect(page).toContain('Liver cohort')
    expect(page).not.toContain('other@example.org') // another member's grant is not this user's event
    expect((await client.post(`/projects/${project.id}/members/${member.user.id}/remove`, { confirm: 'yes' })).status).toBe(303)
    // a removal too: the user is no longer a member, the event is still found
    const after = eventsCard(await (await client.get(`/admin/users/${member.user.id}`)).text())
    expect(after).toContain('<code>project.member_removed</code>')
    expect(eventsCard(await (await client.get(`/admin/users/${other.user.id}`)).text())).not.toContain('project.member_removed')
  })

  it('shows the username and the second email', async () => {
    const t = createTestEnv()
    const admin = await createTestUser(t, { role: 'admin', email: 'root@example.org' })
    const client = await signIn(t, admin)
    const u = await createTestUser(t, { email: 'auth@example.org' })
    t.db.run(sql`update users set username = 'jdoe', contact_email = 'jane.doe@hospital.example' where id = ${u.user.id}`)
    const html = await (await client.get(`/admin/users/${u.user.id}`)).text()
    expect(html).toContain('<dt>Username</dt><dd>jdoe</dd>')
    expect(html).toContain('<dt>Second email</dt><dd>jane.doe@hospital.example</dd>')
  })

  it('reads the events newest first through indexes, never scanning the audit log', () => {
    const t = createTestEnv()
    for (let i = 0; i < 30; i++) recordAuditEvent(t.db, { event: 'project.member_added', at: t.clock.now() + i, actor: { id: 1, email: 'a@example.org' }, targetType: 'project', targetId: 1, ip: '', details: { user_id: i % 2 === 0 ? 7 : 8 } })
    const events = listRecentUserEvents(t.db, 7, 5)
    expect(events).toHaveLength(5)
    expect(events.map((e) => JSON.parse(e.details).user_id)).toEqual([7, 7, 7, 7, 7])
    expect(events.map((e) => e.id)).toEqual([...events.map((e) => e.id)].sort((a, b) => b - a))
    const plan = t.db.$client
      .prepare(`explain query plan select id from audit_events where json_extract(details, '$.user_id') = 7 order by id desc limit 20`)
      .all()
      .map((r) => (r as { detail: string }).detail)
    expect(plan.join(' | ')).toContain('audit_events_user_id_idx')
    expect(plan.join(' | ')).not.toMatch(/SCAN audit_events(?! USING)/)
  })
})
