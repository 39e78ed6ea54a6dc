import { describe, expect, it } from 'vitest'
import { eq } from 'drizzle-orm'
import { createTestEnv, createTestUser, emailsTo, signIn, type TestEnv } from '../../test/helpers.ts'
import { auditEvents, outbox, siteApprovers, sites, users, type Site } from '../../db/schema.ts'
import { appointSiteApprover, listApproversForSite, listSitesApprovedBy, removeSiteApprover } from '../../models/site-approvers.ts'

async function adminSession() {
  const t = createTestEnv()
  const admin = await createTestUser(t, { email: 'admin@example.org', role: 'admin' })
  const browser = await signIn(t, admin)
  return { t, admin, browser }
}

async function createSite(browser: Awaited<ReturnType<typeof adminSession>>['browser'], t: TestEnv, code: string, contactEmail = ''): Promise<Site> {
  const res = await browser.post('/admin/sites', { name: `Site ${code}`, code, contact_email: contactEmail })
  if (res.status !== 200) throw new Error(`site creation answered ${res.status}`)
  return t.db.select().from(sites).where(eq(sites.code, code)).get()!
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

const approverRows = (t: TestEnv) => t.db.select().from(siteApprovers).all()

describe('POST /admin/sites/:id/approvers (appoint)', () => {
  it('appoints by email (any case, spaces), audits it, emails the contact, lists the approver and flashes', async () => {
    const { t, admin, browser } = await adminSession()
    const site = await createSite(browser, t, 'LTH', 'ig@leeds.example')
    const alice = await createTestUser(t, { email: 'alice@example.org', role: 'observer' })
    t.db.update(users).set({ firstName: 'Alice', lastName: 'Smith' }).where(eq(users.id, alice.user.id)).run()

    const res = await browser.post(`/admin/sites/${site.id}/approvers`, { email: ' Alice@Example.ORG ' })
    expect(res.status).toBe(303)
    expect(res.headers.get('Location')).toBe(`/admin/sites/${site.id}`)
    expect(approverRows(t)).toEqual([{ siteId: site.id, userId: alice.user.id, appointedBy: admin.user.id, appointedAt: t.clock.now() }])

    const [appointed, ...more] = events(t, 'site.approver_appointed')
    expect(more).toHaveLength(0)
    expect(appointed).toMatchObject({ actorId: admin.user.id, targetType: 'site', targetId: String(site.id), details: { code: 'LTH', user_id: alice.user.id, user_email: 'alice@example.org' } })

    const [mail, ...moreMail] = emailsTo(t.db, 'ig@leeds.example')
    expect(moreMail).toHaveLength(0)
    expect(mail!.subject).toBe('Gatehouse: New approver for Site LTH')
    expect(mail!.textBody).toContain('Alice Smith (alice@example.org) was appointed as an approver of Site LTH (LTH) by admin@example.org')

    const page = await (await browser.get(`/admin/sites/${site.id}`)).text()
    expect(page).toContain('Alice Smith now approves for Site LTH.')
    expect(page).toContain(`<a href="/admin/users/${alice.user.id}">Alice Smith</a>`)
    expect(page).toContain('alice@example.org')
    expect(page).toContain(`<a href="/admin/users/${admin.user.id}">admin@example.org</a>`)
    expect(page).toContain(`action="/admin/sites/${site.id}/approvers/${alice.user.id}/remove"`)
    expect(page).toContain('Remove<span class="visually-hidden"> Alice Smith as approver</span>…')
    expect(page).toMatch(/<label for="f-email">[^<]+<\/label>/)
    expect(page).toMatch(/<input id="f-email" name="email" type="email" value="" autocomplete="off"/)
  })

  it('writes the appointment and its audit event in one transaction: a failing audit write leaves no approver and no email', async () => {
    const { t, browser } = await adminSession()
    const site = await createSite(browser, t, 'LTH', 'ig@leeds.example')
    const alice = await createTestUser(t, { email: 'alice@example.org' })
    t.db.$client.exec(`create trigger fail_approver_audit before insert on audit_events when new.event = 'site.approver_appointed' begin select raise(abort, 'audit write failed'); end`)
    const res = await browser.post(`/admin/sites/${site.id}/approvers`, { email: alice.user.email })
    expect(res.status).toBe(500)
    expect(await res.text()).not.toContain('audit write failed')
    expect(approverRows(t)).toEqual([])
    expect(emailsTo(t.db, 'ig@leeds.example')).toEqual([])
  })

  it('skips the email when the site has no contact address', async () => {
    const { t, browser } = await adminSession()
    const site = await createSite(browser, t, 'LTH')
    const alice = await createTestUser(t, { email: 'alice@example.org' })
    const before = t.db.select().from(outbox).all().length
    expect((await browser.post(`/admin/sites/${site.id}/approvers`, { email: alice.user.email })).status).toBe(303)
    expect(approverRows(t)).toHaveLength(1)
    expect(t.db.select().from(outbox).all()).toHaveLength(before)
  })

  it('lets one user approve for two sites', async () => {
    const { t, browser } = await adminSession()
    const leeds = await createSite(browser, t, 'LTH')
    const york = await createSite(browser, t, 'YRK')
    const alice = await createTestUser(t, { email: 'alice@example.org', role: 'researcher' })
    expect((await browser.post(`/admin/sites/${leeds.id}/approvers`, { email: alice.user.email })).status).toBe(303)
    expect((await browser.post(`/admin/sites/${york.id}/approvers`, { email: alice.user.email })).status).toBe(303)
    expect(listSitesApprovedBy(t.db, alice.user.id).map((s) => s.code)).toEqual(['LTH', 'YRK'])
    expect(listApproversForSite(t.db, leeds.id).map((a) => a.userId)).toEqual([alice.user.id])
    expect(listApproversForSite(t.db, york.id).map((a) => a.userId)).toEqual([alice.user.id])
    expect(events(t, 'site.approver_appointed').map((e) => e.targetId)).toEqual([String(leeds.id), String(york.id)])
  })

  it('refuses self-appointment with 403 and a clear message, writing nothing', async () => {
    const { t, admin, browser } = await adminSession()
    const site = await createSite(browser, t, 'LTH', 'ig@leeds.example')
    const res = await browser.post(`/admin/sites/${site.id}/approvers`, { email: 'ADMIN@example.org' })
    expect(res.status).toBe(403)
    expect(await res.text()).toContain('You cannot appoint yourself as an approver of a site.')
    expect(approverRows(t)).toEqual([])
    expect(events(t, 'site.approver_appointed')).toEqual([])
    expect(emailsTo(t.db, 'ig@leeds.example')).toEqual([])
    expect(listSitesApprovedBy(t.db, admin.user.id)).toEqual([])
  })

  it('answers 422 for an unknown or malformed email with the field marked and the value kept', async () => {
    const { t, browser } = await adminSession()
    const site = await createSite(browser, t, 'LTH')
    for (const [email, message] of [
      ['nobody@example.org', 'No account has this email address'],
      ['not-an-email', 'Enter a valid email address'],
      ['', 'Enter a valid email address'],
      [`${'a'.repeat(250)}@example.org`, 'Enter a valid email address'],
    ] as const) {
      const res = await browser.post(`/admin/sites/${site.id}/approvers`, { email })
      expect(res.status, email).toBe(422)
      const html = await res.text()
      expect(html, email).toMatch(new RegExp(`id="f-email-error" class="error">[^<]*${message}`))
      expect(html, email).toContain(`name="email" type="email" value="${email}"`)
      expect(html, email).toContain('aria-invalid="true"')
    }
    expect(approverRows(t)).toEqual([])
  })

  it('refuses a disabled account with 422, writing nothing', async () => {
    const { t, browser } = await adminSession()
    const site = await createSite(browser, t, 'LTH')
    const bob = await createTestUser(t, { email: 'bob@example.org' })
    t.db.update(users).set({ disabledAt: t.clock.now() }).where(eq(users.id, bob.user.id)).run()
    const res = await browser.post(`/admin/sites/${site.id}/approvers`, { email: 'bob@example.org' })
    expect(res.status).toBe(422)
    const html = await res.text()
    expect(html).toMatch(/id="f-email-error" class="error">This account is disabled/)
    expect(html).toContain('value="bob@example.org"')
    expect(approverRows(t)).toEqual([])
    expect(events(t, 'site.approver_appointed')).toEqual([])
  })

  it('refuses a second appointment of the same approver with 422, and parallel duplicates leave one row and one event', async () => {
    const { t, browser } = await adminSession()
    const site = await createSite(browser, t, 'LTH')
    const alice = await createTestUser(t, { email: 'alice@example.org' })
    const statuses = (await Promise.all([1, 2, 3].map(() => browser.post(`/admin/sites/${site.id}/approvers`, { email: alice.user.email })))).map((r) => r.status).sort()
    expect(statuses).toEqual([303, 422, 422])
    const again = await browser.post(`/admin/sites/${site.id}/approvers`, { email: alice.user.email })
    expect(again.status).toBe(422)
    expect(await again.text()).toContain('This account already approves for this site.')
    expect(approverRows(t)).toHaveLength(1)
    expect(events(t, 'site.approver_appointed')).toHaveLength(1)
  })
})

describe('POST /admin/sites/:id/approvers/:userId/remove', () => {
  it('asks first, then removes, audits, emails the contact and flashes; the other site keeps the approver', async () => {
    const { t, admin, browser } = await adminSession()
    const leeds = await createSite(browser, t, 'LTH', 'ig@leeds.example')
    const york = await createSite(browser, t, 'YRK')
    const alice = await createTestUser(t, { email: 'alice@example.org' })
    await browser.post(`/admin/sites/${leeds.id}/approvers`, { email: alice.user.email })
    await browser.post(`/admin/sites/${york.id}/approvers`, { email: alice.user.email })

    const ask = await browser.post(`/admin/sites/${leeds.id}/approvers/${alice.user.id}/remove`)
    expect(ask.status).toBe(200)
    const question = await ask.text()
    expect(question).toContain('Remove alice@example.org as approver of Site LTH?')
    expect(question).toContain('name="confirm" value="yes"')
    expect(approverRows(t)).toHaveLength(2)

    const res = await browser.post(`/admin/sites/${leeds.id}/approvers/${alice.user.id}/remove`, { confirm: 'yes' })
    expect(res.status).toBe(303)
    expect(res.headers.get('Location')).toBe(`/admin/sites/${leeds.id}`)
    expect(listSitesApprovedBy(t.db, alice.user.id).map((s) => s.code)).toEqual(['YRK'])
    expect(events(t, 'site.approver_removed')).toMatchObject([{ actorId: admin.user.id, targetType: 'site', targetId: String(leeds.id), details: { user_id: alice.user.id, user_email: 'alice@example.org' } }])
    expect(emailsTo(t.db, 'ig@leeds.example')[0]!.subject).toBe('Gatehouse: Approver removed from Site LTH')
    const page = await (await browser.get(`/admin/sites/${leeds.id}`)).text()
    expect(page).toContain('alice@example.org no longer approves for Site LTH.')
    expect(page).toContain('No approvers: admins decide for this site.')

    const twice = await browser.post(`/admin/sites/${leeds.id}/approvers/${alice.user.id}/remove`, { confirm: 'yes' })
    expect(twice.status).toBe(404)
    expect(events(t, 'site.approver_removed')).toHaveLength(1)
  })

  it('answers 404 for an unknown site, an unknown user, a malformed id, or a user who does not approve there', async () => {
    const { t, browser } = await adminSession()
    const leeds = await createSite(browser, t, 'LTH')
    const york = await createSite(browser, t, 'YRK')
    const alice = await createTestUser(t, { email: 'alice@example.org' })
    await browser.post(`/admin/sites/${york.id}/approvers`, { email: alice.user.email })
    expect((await browser.post('/admin/sites/999/approvers', { email: alice.user.email })).status).toBe(404)
    expect((await browser.post('/admin/sites/abc/approvers', { email: alice.user.email })).status).toBe(404)
    expect((await browser.post(`/admin/sites/999/approvers/${alice.user.id}/remove`, { confirm: 'yes' })).status).toBe(404)
    expect((await browser.post(`/admin/sites/${leeds.id}/approvers/999/remove`, { confirm: 'yes' })).status).toBe(404)
    expect((await browser.post(`/admin/sites/${leeds.id}/approvers/x/remove`, { confirm: 'yes' })).status).toBe(404)
    expect((await browser.post(`/admin/sites/${leeds.id}/approvers/${alice.user.id}/remove`, { confirm: 'yes' })).status).toBe(404)
    expect(approverRows(t)).toHaveLength(1)
    expect(events(t, 'site.approver_removed')).toEqual([])
  })
})

describe('who may appoint and remove approvers', () => {
  it('refuses non-admins with 403 naming sites.manage, even appointing someone else or themselves, and changes nothing', async () => {
    const { t, browser } = await adminSession()
    const site = await createSite(browser, t, 'LTH', 'ig@leeds.example')
    const alice = await createTestUser(t, { email: 'alice@example.org' })
    await browser.post(`/admin/sites/${site.id}/approvers`, { email: alice.user.email })
    const mailBefore = emailsTo(t.db, 'ig@leeds.example').length
    for (const role of ['researcher', 'observer'] as const) {
      const u = await createTestUser(t, { role })
      const client = await signIn(t, u)
      for (const email of [u.user.email, 'admin@example.org']) {
        const res = await client.post(`/admin/sites/${site.id}/approvers`, { email })
        expect(res.status, role).toBe(403)
        expect(await res.text()).toContain('sites.manage')
      }
      expect((await client.post(`/admin/sites/${site.id}/approvers/${alice.user.id}/remove`, { confirm: 'yes' })).status, role).toBe(403)
    }
    // An approver is not an admin: approving for a site gives no say over its approvers.
    const aliceClient = await signIn(t, alice)
    expect((await aliceClient.post(`/admin/sites/${site.id}/approvers`, { email: 'admin@example.org' })).status).toBe(403)
    expect((await aliceClient.post(`/admin/sites/${site.id}/approvers/${alice.user.id}/remove`, { confirm: 'yes' })).status).toBe(403)
    expect(approverRows(t)).toHaveLength(1)
    expect(events(t, 'site.approver_appointed')).toHaveLength(1)
    expect(events(t, 'site.approver_removed')).toEqual([])
    expect(emailsTo(t.db, 'ig@leeds.example')).toHaveLength(mailBefore)
  })

  it('refuses a form post from a foreign Origin, writing nothing', async () => {
    const { t, browser } = await adminSession()
    const site = await createSite(browser, t, 'LTH')
    const alice = await createTestUser(t, { email: 'alice@example.org' })
    const foreign = await browser.post(`/admin/sites/${site.id}/approvers`, { email: alice.user.email }, { Origin: 'https://evil.example' })
    expect(foreign.status).toBe(403)
    expect(approverRows(t)).toEqual([])
    await browser.post(`/admin/sites/${site.id}/approvers`, { email: alice.user.email })
    const remove = await browser.post(`/admin/sites/${site.id}/approvers/${alice.user.id}/remove`, { confirm: 'yes' }, { Origin: 'https://evil.example' })
    expect(remove.status).toBe(403)
    expect(approverRows(t)).toHaveLength(1)
  })
})

describe('models/site-approvers (the guards the route checks first, held again in the transaction)', () => {
  it('refuses a duplicate, a disabled account and self-appointment inside appointSiteApprover, writing one row and one event', async () => {
    const { t, admin, browser } = await adminSession()
    const site = await createSite(browser, t, 'LTH', 'ig@leeds.example')
    const alice = await createTestUser(t, { email: 'alice@example.org' })
    const bob = await createTestUser(t, { email: 'bob@example.org' })
    const ctx = { actor: { id: admin.user.id, email: admin.user.email }, now: t.clock.now(), ip: '203.0.113.7', baseUrl: t.config.baseUrl }
    expect(appointSiteApprover(t.db, site, alice.user, ctx)).toEqual({ ok: true })
    expect(appointSiteApprover(t.db, site, alice.user, ctx)).toEqual({ ok: false, reason: 'already' })
    // bob was loaded before being disabled: the model re-reads him in the transaction
    t.db.update(users).set({ disabledAt: t.clock.now() }).where(eq(users.id, bob.user.id)).run()
    expect(appointSiteApprover(t.db, site, bob.user, ctx)).toEqual({ ok: false, reason: 'disabled' })
    expect(appointSiteApprover(t.db, site, admin.user, ctx)).toEqual({ ok: false, reason: 'self' })
    expect(approverRows(t).map((r) => r.userId)).toEqual([alice.user.id])
    expect(events(t, 'site.approver_appointed')).toHaveLength(1)
    expect(emailsTo(t.db, 'ig@leeds.example')).toHaveLength(1)
    expect(removeSiteApprover(t.db, site, bob.user, ctx)).toBe(false)
    expect(removeSiteApprover(t.db, site, alice.user, ctx)).toBe(true)
    expect(removeSiteApprover(t.db, site, alice.user, ctx)).toBe(false)
    expect(events(t, 'site.approver_removed')).toHaveLength(1)
    expect(emailsTo(t.db, 'ig@leeds.example')).toHaveLength(2)
  })
})
