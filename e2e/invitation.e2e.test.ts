// An admin invites a researcher in real Chromium, granting a group and a project on acceptance.
// The invitee opens the link from the real invitation email in a browser context of their own,
// fills in the acceptance form, types the security code from the second real email (a wrong one
// first), enrols TOTP with oathtool and finds the granted project; the inviter is emailed and the
// admin pages show the invitation accepted and the new user. A second invitee shows that the
// security code is bound to the browser tab: reopening the link in another tab starts again.
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ParsedMail } from 'mailparser'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import {
  headingOf,
  escapeRegExp,
  securityCodeFrom,
  REPO_ROOT,
  completeFirstSignIn,
  enrolTotp,
  launchChromium,
  linkFrom,
  sentTo,
  startGatehouse,
  startSmtpSink,
  temporaryPasswordFrom,
  type GatehouseServer,
  type SmtpSink,
} from './support.ts'

const ADMIN_EMAIL = 'admin@example.org'
const ADMIN_PASSWORD = 'saffron ledger drifts past nine quiet piers'
const GROUP_NAME = 'Northern Cohort Centre'
const PROJECT_NAME = 'Sleep and shift work'
const ORGANISATION = 'University of Tromsø'

const INVITEE = { email: 'invitee@example.org', firstName: 'Ingrid', lastName: 'Solberg', username: 'ingrid_s', password: 'copper heron wades through amber reeds' }
const SECOND = { email: 'second@example.org', password: 'violet ferry hums below granite cliffs' }

const INVITATION_SUBJECT = 'You are invited to Gatehouse'
const CODE_SUBJECT = 'Your Gatehouse security code'


/** A well-formed code that is not `code` (Crockford base32, so not read as `code` either). */
function wrongCodeFor(code: string): string {
  return code === 'ZZZZZZ' ? 'YYYYYY' : 'ZZZZZZ'
}


describe('an admin invites a researcher with a group and a project; the invitee accepts in the browser', () => {
  let sink: SmtpSink
  let server: GatehouseServer
  let browser: Browser
  /** The admin's browser context and page. */
  let adminContext: BrowserContext
  let admin: Page
  /** The invitee's: its own cookies. */
  let inviteeContext: BrowserContext
  let invitee: Page
  /** The second invitee's, with two tabs. */
  let secondContext: BrowserContext | undefined
  let groupId = ''
  let projectPath = ''
  /** Path of the admin's page for the first invitation, e.g. /admin/invitations/1. */
  let invitationPath = ''
  /** The link from the invitation email. */
  let inviteLink = ''
  /** Uncaught script errors in any page. */
  const pageErrors: string[] = []
  /** Emails already used by a step, so each step reads the next one. */
  const consumed = new Set<ParsedMail>()

  const url = (path: string) => `${server.baseUrl}${path}`
  const pathOf = (page: Page) => new URL(page.url()).pathname
  const heading = headingOf
  const flash = (page: Page) => page.locator('p.flash')
  const badge = (page: Page) => page.locator('main span.badge').first()
  const screenshot = (page: Page, name: string) => page.screenshot({ path: join(REPO_ROOT, 'test-results', name), fullPage: true })
  const watch = (page: Page, who: string) => page.on('pageerror', (error) => pageErrors.push(`${who}: ${error.message}`))

  /** The next email to `to` with this subject that no earlier step has read. */
  async function nextEmail(to: string, subject: string | RegExp): Promise<ParsedMail> {
    const mail = await sink.waitForEmail((m) => !consumed.has(m) && sentTo(to)(m) && (typeof subject === 'string' ? m.subject === subject : subject.test(m.subject ?? '')))
    consumed.add(mail)
    return mail
  }

  /** Submits a form in `page` and returns the status of the POST's response (before any redirect). */
  async function submit(page: Page, button: string, path: RegExp | string): Promise<number> {
    const matches = (p: string) => (typeof path === 'string' ? p === path : path.test(p))
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST' && matches(new URL(r.url()).pathname)),
      page.waitForNavigation({ waitUntil: 'load' }),
      page.getByRole('button', { name: button, exact: true }).click(),
    ])
    return response.status()
  }

  /** Fills the invitee's acceptance form and submits it; ends on "Check your email". */
  async function fillAcceptanceForm(page: Page, answers: { firstName: string; lastName: string; username: string; password: string }): Promise<void> {
    await page.bringToFront() // as the person switching tabs does; a background tab also gets no animation frames
    await page.getByLabel('First name').fill(answers.firstName)
    await page.getByLabel('Last name').fill(answers.lastName)
    await page.getByLabel('Username').fill(answers.username)
    await page.getByLabel('Password', { exact: true }).fill(answers.password)
    await page.getByLabel('Repeat the password').fill(answers.password)
    expect(await submit(page, 'Continue', /^\/invite\/[a-z0-9]+$/)).toBe(200)
    expect(await heading(page)).toBe('Check your email')
  }

  /** Types a security code into the "Check your email" page and submits it. */
  async function enterCode(page: Page, code: string): Promise<number> {
    await page.bringToFront()
    await page.getByLabel('Security code').fill(code)
    return submit(page, 'Create my account', /^\/invite\/[a-z0-9]+\/verify$/)
  }

  beforeAll(async () => {
    mkdirSync(join(REPO_ROOT, 'test-results'), { recursive: true })
    sink = await startSmtpSink()
    server = await startGatehouse({ smtpPort: sink.port, adminEmail: ADMIN_EMAIL, logFile: join(REPO_ROOT, 'test-results/invitation.server.log') })
    browser = await launchChromium()
    adminContext = await browser.newContext()
    admin = await adminContext.newPage()
    inviteeContext = await browser.newContext()
    invitee = await inviteeContext.newPage()
    watch(admin, 'admin')
    watch(invitee, 'invitee')
  })

  afterAll(async () => {
    await secondContext?.close()
    await inviteeContext?.close()
    await adminContext?.close()
    await browser?.close()
    await server?.stop()
    await sink?.stop()
  })

  it('the bootstrapped admin completes the first sign-in, creates a group and a project', async () => {
    const temporaryPassword = temporaryPasswordFrom(await nextEmail(ADMIN_EMAIL, 'Your Gatehouse account'))
    await completeFirstSignIn(admin, server.baseUrl, { email: ADMIN_EMAIL, temporaryPassword, newPassword: ADMIN_PASSWORD })
    expect(await heading(admin)).toContain('Welcome')

    await admin.goto(url('/admin/groups'))
    const groupForm = admin.locator('form', { has: admin.getByRole('button', { name: 'Create group' }) })
    await groupForm.getByLabel('Name').fill(GROUP_NAME)
    await groupForm.getByLabel('Description').fill('Sleep research centre')
    await groupForm.getByRole('button', { name: 'Create group' }).click()
    await admin.waitForURL(/\/admin\/groups\/\d+$/)
    groupId = pathOf(admin).split('/').pop()!
    expect(await heading(admin)).toBe(GROUP_NAME)
    expect(await flash(admin).innerText()).toBe(`Group “${GROUP_NAME}” created.`)

    await admin.goto(url('/projects'))
    await admin.getByRole('link', { name: 'New project' }).click()
    await admin.waitForURL(url('/projects/new'))
    await admin.getByLabel('Name').fill(PROJECT_NAME)
    await admin.getByLabel('Description').fill('Shift patterns and sleep quality in hospital staff')
    await admin.getByLabel('Group (optional)').selectOption({ label: GROUP_NAME })
    await admin.getByRole('button', { name: 'Create project' }).click()
    await admin.waitForURL(/\/projects\/\d+$/)
    projectPath = pathOf(admin)
    expect(await heading(admin)).toContain(PROJECT_NAME)
  })

  it('invites invitee@example.org as a researcher with organisation, group and project; the page says “Invitation sent”', async () => {
    await admin.goto(url('/admin/invitations'))
    expect(await heading(admin)).toBe('Invitations')
    expect(await admin.locator('main').innerText()).toContain('No invitations.')

    const form = admin.locator('form', { has: admin.getByRole('button', { name: 'Send invitation' }) })
    await form.getByLabel('Email', { exact: true }).fill(INVITEE.email)
    await form.getByLabel('Site role').selectOption('researcher')
    await form.getByLabel('Organisation').fill(ORGANISATION)
    await form.getByLabel('Group (optional)').selectOption({ label: GROUP_NAME })
    await form.getByLabel('Group role').selectOption('member')
    await form.getByLabel(/^Projects to join/).selectOption({ label: PROJECT_NAME })
    await form.getByRole('checkbox', { name: 'contributor', exact: true }).check()
    expect(await form.getByLabel('Group (optional)').inputValue()).toBe(groupId)
    await screenshot(admin, 'admin-invitation-form.png')

    expect(await submit(admin, 'Send invitation', '/admin/invitations')).toBe(303)
    await admin.waitForURL(/\/admin\/invitations\/\d+$/)
    invitationPath = pathOf(admin)
    expect(await heading(admin)).toBe(`Invitation to ${INVITEE.email}`)
    expect(await flash(admin).innerText()).toBe(`Invitation sent to ${INVITEE.email}.`)
    expect(await badge(admin).innerText()).toBe('Invitation sent')
    expect(await admin.locator('dl.facts').innerText()).toMatch(/Last sent\s+\S.*\(1 time\)/)
    // The edit form shows what will be granted.
    expect(await admin.getByLabel('Site role').inputValue()).toBe('researcher')
    expect(await admin.getByLabel('Organisation').inputValue()).toBe(ORGANISATION)
    expect(await admin.getByLabel('Group (optional)').inputValue()).toBe(groupId)
    expect((await admin.getByLabel(/^Projects to join/).locator('option:checked').allInnerTexts()).map((t) => t.trim())).toEqual([PROJECT_NAME])
    expect(await admin.getByRole('checkbox', { name: 'contributor', exact: true }).isChecked()).toBe(true)
  })

  it('the invitee opens the link from the real email in their own browser context; the admin sees “Invitation link visited”', async () => {
    const mail = await nextEmail(INVITEE.email, INVITATION_SUBJECT)
    expect(mail.text).toContain(`has invited you to Gatehouse (${ORGANISATION})`)
    inviteLink = linkFrom(mail, `${server.baseUrl}/invite/`)
    expect(inviteLink).toMatch(new RegExp(`^${escapeRegExp(server.baseUrl)}/invite/[a-z0-9]{32}$`))
    // The HTML part links to the same place.
    expect(mail.html || '').toContain(`href="${inviteLink}"`)

    // Before the visit, the admin's page still says "sent".
    await admin.reload()
    expect(await badge(admin).innerText()).toBe('Invitation sent')

    const response = await invitee.goto(inviteLink)
    expect(response?.status()).toBe(200)
    expect(await heading(invitee)).toBe('Welcome to Gatehouse')
    expect(await invitee.locator('main').innerText()).toContain(`You are creating the account for ${INVITEE.email}.`)
    await screenshot(invitee, 'invite-form.png')

    await admin.reload()
    expect(await badge(admin).innerText()).toBe('Invitation link visited')
    expect(await admin.locator('dl.facts').innerText()).not.toMatch(/Link visited\s+—/)
  })

  it('the invitee fills the form, types a wrong security code (“tries left”), then the emailed one, and lands on TOTP setup', async () => {
    await fillAcceptanceForm(invitee, INVITEE)
    expect(await invitee.locator('main').innerText()).toContain(`We have sent a 6-character security code to ${INVITEE.email}.`)
    await screenshot(invitee, 'invite-verify.png')

    const code = securityCodeFrom(await nextEmail(INVITEE.email, CODE_SUBJECT))
    expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]{6}$/)

    expect(await enterCode(invitee, wrongCodeFor(code))).toBe(422)
    expect(await heading(invitee)).toBe('Check your email')
    expect(await invitee.locator('#f-security_token-error').innerText()).toBe('That code is not right. 4 tries left.')
    expect(await invitee.getByLabel('Security code').getAttribute('aria-invalid')).toBe('true')

    // Typed in lower case, as a person might: still accepted.
    expect(await enterCode(invitee, code.toLowerCase())).toBe(303)
    await invitee.waitForURL(url('/mfa/setup'))
    expect(await heading(invitee)).toBe('Set up your authenticator')
  })

  it('the invitee enrols TOTP (oathtool), is welcomed by first name and finds the granted project', async () => {
    await enrolTotp(invitee, server.baseUrl)
    expect(pathOf(invitee)).toBe('/')
    expect(await heading(invitee)).toBe(`Welcome, ${INVITEE.firstName}`)

    await invitee.goto(url('/projects'))
    expect(await heading(invitee)).toBe('Projects')
    const link = invitee.getByRole('link', { name: PROJECT_NAME, exact: true })
    expect(await link.getAttribute('href')).toBe(projectPath)
    expect(await invitee.locator('main').innerText()).toContain('1 project')

    const [response] = await Promise.all([invitee.waitForNavigation(), link.click()])
    expect(response?.status()).toBe(200)
    expect(pathOf(invitee)).toBe(projectPath)
    expect(await heading(invitee)).toContain(PROJECT_NAME)

    // The invitation link is used up.
    const again = await invitee.goto(inviteLink)
    expect(again?.status()).toBe(410)
    expect(await heading(invitee)).toBe('This invitation has already been used')
  })

  it('the admin is emailed that the invitee joined; the invitation shows “Accepted” and the user table lists the new user', async () => {
    const mail = await nextEmail(ADMIN_EMAIL, /joined Gatehouse$/)
    expect(mail.subject).toBe(`${INVITEE.firstName} ${INVITEE.lastName} joined Gatehouse`)
    expect(mail.text).toContain(`created the account "${INVITEE.username}"`)

    await admin.goto(url('/admin/invitations'))
    expect(await admin.getByRole('row', { name: new RegExp(escapeRegExp(INVITEE.email)) }).count()).toBe(0)
    await admin.goto(url('/admin/invitations?all=1'))
    const row = admin.getByRole('row', { name: new RegExp(escapeRegExp(INVITEE.email)) })
    expect(await row.locator('.badge').innerText()).toBe('Accepted')
    await screenshot(admin, 'admin-invitations.png')

    await admin.goto(url(invitationPath))
    expect(await badge(admin).innerText()).toBe('Accepted')
    // Nothing left to resend, delete or edit.
    expect(await admin.getByRole('button', { name: 'Resend the same link' }).count()).toBe(0)
    expect(await admin.getByRole('button', { name: 'Delete invitation' }).count()).toBe(0)
    await admin.getByRole('link', { name: 'the account' }).click()
    await admin.waitForURL(/\/admin\/users\/\d+$/)
    expect(await heading(admin)).toContain(INVITEE.email)

    await admin.goto(url('/admin/users'))
    const userRow = admin.getByRole('row', { name: new RegExp(escapeRegExp(INVITEE.email)) })
    // cells[0] is the row's select box (bulk actions)
    const cells = (await userRow.getByRole('cell').allInnerTexts()).map((t) => t.trim())
    expect(cells.slice(1, 7)).toEqual([INVITEE.firstName, INVITEE.lastName, INVITEE.username, INVITEE.email, ORGANISATION, 'researcher'])
    expect(cells[7]).toContain(PROJECT_NAME)

    // The group was granted too.
    await admin.goto(url(`/admin/groups/${groupId}`))
    const member = admin.getByRole('row', { name: new RegExp(escapeRegExp(INVITEE.email)) })
    expect(await member.innerText()).toContain('member')
  })

  it('binds the security code to the tab: reopening the link in a second tab starts the form again, and tab 1 cannot use the codes', async () => {
    // The admin invites a second person (no grants).
    await admin.goto(url('/admin/invitations'))
    const form = admin.locator('form', { has: admin.getByRole('button', { name: 'Send invitation' }) })
    await form.getByLabel('Email', { exact: true }).fill(SECOND.email)
    expect(await submit(admin, 'Send invitation', '/admin/invitations')).toBe(303)
    await admin.waitForURL(/\/admin\/invitations\/\d+$/)
    const link = linkFrom(await nextEmail(SECOND.email, INVITATION_SUBJECT), `${server.baseUrl}/invite/`)

    secondContext = await browser.newContext()
    const tab1 = await secondContext.newPage()
    const tab2 = await secondContext.newPage()
    watch(tab1, 'second invitee, tab 1')
    watch(tab2, 'second invitee, tab 2')

    // Tab 1 fills the form: code A is emailed.
    await tab1.goto(link)
    await fillAcceptanceForm(tab1, { firstName: 'Tove', lastName: 'Berg', username: 'tab_one', password: SECOND.password })
    const codeA = securityCodeFrom(await nextEmail(SECOND.email, CODE_SUBJECT))

    // Tab 2 merely opens the same link: the form starts again, and code A no longer works in tab 1.
    await tab2.bringToFront()
    await tab2.goto(link)
    expect(await heading(tab2)).toBe('Welcome to Gatehouse')
    expect(await tab2.getByLabel('Username').inputValue()).toBe('')
    expect(await enterCode(tab1, codeA)).toBe(303)
    expect(pathOf(tab1)).toBe(new URL(link).pathname)
    expect(await heading(tab1)).toBe('Welcome to Gatehouse')

    // Tab 1 fills the form again (code B), then tab 2 fills it (code C, which replaces B).
    await fillAcceptanceForm(tab1, { firstName: 'Tove', lastName: 'Berg', username: 'tab_one', password: SECOND.password })
    const codeB = securityCodeFrom(await nextEmail(SECOND.email, CODE_SUBJECT))
    await tab2.goto(link)
    await fillAcceptanceForm(tab2, { firstName: 'Tove', lastName: 'Berg', username: 'tab_two', password: SECOND.password })
    const codeC = securityCodeFrom(await nextEmail(SECOND.email, CODE_SUBJECT))
    expect(new Set([codeA, codeB, codeC]).size).toBe(3)

    // The current code, typed in tab 1, is refused: it belongs to tab 2.
    expect(await enterCode(tab1, codeC)).toBe(403)
    expect(await heading(tab1)).toBe('Use the tab where you filled in the form')
    expect(await tab1.getByRole('link', { name: 'Open the invitation again' }).getAttribute('href')).toBe(new URL(link).pathname)

    // Tab 1's replaced code B, typed in tab 2, is a wrong code (and did not lock anything).
    expect(await enterCode(tab2, codeB)).toBe(422)
    expect(await tab2.locator('#f-security_token-error').innerText()).toBe('That code is not right. 4 tries left.')

    // Code C in tab 2 creates the account with tab 2's answers.
    expect(await enterCode(tab2, codeC)).toBe(303)
    await tab2.waitForURL(url('/mfa/setup'))

    await admin.goto(url(`/admin/users?q=${encodeURIComponent(SECOND.email)}`))
    const cells = (await admin.getByRole('row', { name: new RegExp(escapeRegExp(SECOND.email)) }).getByRole('cell').allInnerTexts()).map((t) => t.trim())
    expect(cells[3]).toBe('tab_two')
    await nextEmail(ADMIN_EMAIL, 'Tove Berg joined Gatehouse')
  })

  it('raised no script error in any browser page', () => {
    expect(pageErrors).toEqual([])
  })
})
