import { describe, expect, it } from 'vitest'
import { eq } from 'drizzle-orm'
import { approvalWorld } from '../test/approval-world.ts'
import { auditEvents, users } from '../db/schema.ts'
import { BASE_URL } from '../test/helpers.ts'

// Workflow emails of the site-approval flow (SPEC §12, issue 12 item 9) and the user's setting
// POST /account/notifications, over HTTP on the real migrations.

type W = Awaited<ReturnType<typeof approvalWorld>>
const recipients = (w: W, subject: string) => w.mails(subject).map((m) => m.recipient).sort()
const setting = (w: W, id: number) => w.t.db.select({ w: users.workflowEmails }).from(users).where(eq(users.id, id)).get()!.w
const decide = async (w: W, who: W['alice'], projectId: number, siteId: number, fields: Record<string, string>) => (await w.as(who)).post(`/projects/${projectId}/sites/${siteId}/decision`, { confirm: 'yes', ...fields })

describe('workflow emails', () => {
  it('staging emails each site’s deciders: its approvers, or the admins for a site without any; with a link to the decision page', async () => {
    const w = await approvalWorld()
    const id = w.project()
    expect(recipients(w, 'awaits Leeds Teaching Hospitals')).toEqual(['alice@leeds.example.org', 'ann@leeds.example.org'])
    expect(recipients(w, 'awaits York and Scarborough')).toEqual(['admin2@example.org', 'admin@example.org'])
    expect(w.mails().map((m) => m.recipient)).not.toContain('owner@example.org')
    const [leedsMail] = w.mails('awaits Leeds')
    expect(leedsMail!.textBody).toContain(`${BASE_URL}/projects/${id}/sites/${w.leeds.site.id}/decision`)
    expect(leedsMail!.htmlBody).toContain(`href="${BASE_URL}/projects/${id}/sites/${w.leeds.site.id}/decision"`)
    // the footer says where to turn them off: the account page, not the home page
    expect(leedsMail!.textBody).toContain(`turn them off on your account page: ${BASE_URL}/account`)
    expect(leedsMail!.textBody).not.toContain('home page')
  })

  it('a decision, and a withdrawal, email the project owner (only the owner)', async () => {
    const w = await approvalWorld()
    const id = w.project()
    w.clearMail()
    expect((await decide(w, w.alice, id, w.leeds.site.id, { decision: 'approve', expires_on: '2027-03-31' })).status).toBe(303)
    expect(recipients(w, 'approved Lung nodules')).toEqual(['owner@example.org'])
    expect(w.mails('approved')[0]!.textBody).toContain('2027-03-31')
    expect((await decide(w, w.admin, id, w.york.site.id, { decision: 'decline', reason: 'No capacity.' })).status).toBe(303)
    expect(recipients(w, 'declined Lung nodules')).toEqual(['owner@example.org'])
    expect(w.mails('declined')[0]!.textBody).toContain('No capacity.')
    const withdraw = await (await w.as(w.ann)).post(`/projects/${id}/sites/${w.leeds.site.id}/withdraw`, { reason: 'DUA terminated.', confirm: 'yes' })
    expect(withdraw.status).toBe(303)
    expect(recipients(w, 'withdrew its approval')).toEqual(['owner@example.org'])
    expect(w.mails('withdrew')[0]!.textBody).toContain(`${BASE_URL}/projects/${id}`)
    expect(w.mails()).toHaveLength(3)
  })

  it('the admin form (sites without approvers) sends the owner one email naming the sites', async () => {
    const w = await approvalWorld()
    const id = w.project([w.york])
    w.clearMail()
    expect((await (await w.as(w.admin)).post(`/projects/${id}/approvals`, { approved_site_ids: [String(w.york.site.id)] })).status).toBe(303)
    expect(w.mails().map((m) => m.recipient)).toEqual(['owner@example.org'])
    expect(w.mails()[0]!.textBody).toContain('Approved: York and Scarborough.')
  })

  it('a refused decision sends nothing', async () => {
    const w = await approvalWorld()
    const id = w.project()
    w.clearMail()
    expect((await decide(w, w.admin, id, w.leeds.site.id, { decision: 'approve' })).status).toBe(403)
    expect((await decide(w, w.alice, id, w.leeds.site.id, { decision: 'decline', reason: '' })).status).toBe(422)
    expect(w.mails()).toEqual([])
  })

  it('workflow_emails off: no staged email to that decider, no decision email to that owner', async () => {
    const w = await approvalWorld()
    for (const u of [w.ann, w.owner, w.admin2]) w.t.db.update(users).set({ workflowEmails: false }).where(eq(users.id, u.user.id)).run()
    const id = w.project()
    expect(recipients(w, 'awaits Leeds')).toEqual(['alice@leeds.example.org'])
    expect(recipients(w, 'awaits York')).toEqual(['admin@example.org'])
    w.clearMail()
    expect((await decide(w, w.alice, id, w.leeds.site.id, { decision: 'approve' })).status).toBe(303)
    expect(w.mails()).toEqual([])
  })
})

describe('POST /account/notifications', () => {
  it('turns the signed-in user’s workflow emails off and on, audited, with a flash, back to /account', async () => {
    const w = await approvalWorld()
    const owner = await w.as(w.owner)
    const off = await owner.post('/account/notifications', {}, { Referer: `${BASE_URL}/projects?page=2` })
    expect(off.status).toBe(303)
    expect(off.headers.get('Location')).toBe('/account')
    expect(setting(w, w.owner.user.id)).toBe(false)
    expect(setting(w, w.alice.user.id)).toBe(true)
    const home = await (await owner.get('/account')).text()
    expect(home).toContain('Workflow emails are off')
    expect(home).toMatch(/name="workflow_emails"(?![^>]*checked)/)
    const on = await owner.post('/account/notifications', { workflow_emails: 'on' })
    expect(on.headers.get('Location')).toBe('/account')
    expect(setting(w, w.owner.user.id)).toBe(true)
    const events = w.t.db.select().from(auditEvents).where(eq(auditEvents.event, 'user.workflow_emails_changed')).all()
    expect(events.map((e) => [e.actorId, e.targetId, JSON.parse(e.details).workflow_emails])).toEqual([
      [w.owner.user.id, String(w.owner.user.id), false],
      [w.owner.user.id, String(w.owner.user.id), true],
    ])
    // saving the same value changes and audits nothing
    await owner.post('/account/notifications', { workflow_emails: 'on' })
    expect(w.t.db.select().from(auditEvents).where(eq(auditEvents.event, 'user.workflow_emails_changed')).all()).toHaveLength(2)
  })

  it('never redirects off-site: whatever the Referer, it goes to /account', async () => {
    const w = await approvalWorld()
    const owner = await w.as(w.owner)
    for (const referer of ['https://evil.example/phish', `${BASE_URL}//evil.example/x`, 'not a url']) {
      const res = await owner.post('/account/notifications', { workflow_emails: 'on' }, { Referer: referer })
      expect(res.status).toBe(303)
      expect(res.headers.get('Location')).toBe('/account')
    }
  })

  it('refuses a foreign Origin and changes nothing', async () => {
    const w = await approvalWorld()
    const res = await (await w.as(w.owner)).post('/account/notifications', {}, { Origin: 'https://evil.example' })
    expect(res.status).toBe(403)
    expect(setting(w, w.owner.user.id)).toBe(true)
    expect(w.t.db.select().from(auditEvents).where(eq(auditEvents.event, 'user.workflow_emails_changed')).all()).toHaveLength(0)
  })

  it('sends an anonymous request to sign in, changing nothing', async () => {
    const w = await approvalWorld()
    const res = await w.t.client().post('/account/notifications', {})
    expect(res.status).toBe(303)
    expect(res.headers.get('Location')).toBe('/login')
    expect(w.t.db.select().from(users).where(eq(users.workflowEmails, false)).all()).toEqual([])
  })
})
