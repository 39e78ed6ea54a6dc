// An admin registers a researcher in real Chromium; the researcher signs in with the temporary
// password from the real email, changes it and enrols TOTP (oathtool) in a browser context of
// their own; the admin changes their role and the researcher's next request reflects it; the
// admin disables them and their open session ends.
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import {
  headingOf,
  REPO_ROOT,
  completeFirstSignIn,
  launchChromium,
  sentTo,
  startGatehouse,
  startSmtpSink,
  temporaryPasswordFrom,
  type GatehouseServer,
  type SmtpSink,
} from './support.ts'

const ADMIN_EMAIL = 'admin@example.org'
const ADMIN_PASSWORD = 'saffron ledger drifts past nine quiet piers'
const RESEARCHER_EMAIL = 'researcher@example.org'
const RESEARCHER_PASSWORD = 'amber kestrel folds maps beside the weir'

describe('admin registers a researcher, changes their role, disables them', () => {
  let sink: SmtpSink
  let server: GatehouseServer
  let browser: Browser
  /** The admin's browser context and page. */
  let adminContext: BrowserContext
  let admin: Page
  /** The researcher's: its own cookies. */
  let researcherContext: BrowserContext
  let researcher: Page
  /** Path of the researcher's user page, e.g. /admin/users/2. */
  let researcherUserPath = ''
  /** Uncaught script errors in either page (htmx blocked by the CSP would show here). */
  const pageErrors: string[] = []

  const url = (path: string) => `${server.baseUrl}${path}`
  const pathOf = (page: Page) => new URL(page.url()).pathname
  const heading = headingOf
  const flash = (page: Page) => page.locator('p.flash')
  const screenshot = (page: Page, name: string) => page.screenshot({ path: join(REPO_ROOT, 'test-results', name), fullPage: true })

  beforeAll(async () => {
    mkdirSync(join(REPO_ROOT, 'test-results'), { recursive: true })
    sink = await startSmtpSink()
    server = await startGatehouse({ smtpPort: sink.port, adminEmail: ADMIN_EMAIL, logFile: join(REPO_ROOT, 'test-results/admin-users.server.log') })
    browser = await launchChromium()
    adminContext = await browser.newContext()
    admin = await adminContext.newPage()
    researcherContext = await browser.newContext()
    researcher = await researcherContext.newPage()
    admin.on('pageerror', (error) => pageErrors.push(`admin: ${error.message}`))
    researcher.on('pageerror', (error) => pageErrors.push(`researcher: ${error.message}`))
  })

  afterAll(async () => {
    await researcherContext?.close()
    await adminContext?.close()
    await browser?.close()
    await server?.stop()
    await sink?.stop()
  })

  it('the bootstrapped admin completes the first sign-in (emailed password → own password → TOTP)', async () => {
    const temporaryPassword = temporaryPasswordFrom(await sink.waitForEmail(sentTo(ADMIN_EMAIL)))
    await completeFirstSignIn(admin, server.baseUrl, { email: ADMIN_EMAIL, temporaryPassword, newPassword: ADMIN_PASSWORD })
    expect(await heading(admin)).toContain('Welcome')
  })

  it('registers researcher@example.org as a researcher from the user table page', async () => {
    await admin.goto(url('/admin/users'))
    expect(await heading(admin)).toBe('Users')

    const form = admin.locator('form', { has: admin.getByRole('button', { name: 'Register' }) })
    await form.getByLabel('Email', { exact: true }).fill(RESEARCHER_EMAIL)
    await form.getByLabel('Role', { exact: true }).selectOption('researcher')
    await form.getByRole('button', { name: 'Register' }).click()

    await admin.waitForURL(/\/admin\/users\/\d+$/)
    researcherUserPath = pathOf(admin)
    expect(await heading(admin)).toBe(RESEARCHER_EMAIL)
    expect(await flash(admin).innerText()).toMatch(new RegExp(`Registered ${RESEARCHER_EMAIL.replace('.', '\\.')} as researcher`))
    // The temporary password is emailed only, never shown to the admin.
    expect(await admin.locator('main').innerText()).toContain('Temporary: must change at next sign-in')
    expect(await admin.getByLabel('Site role').inputValue()).toBe('researcher')
  })

  it('the researcher signs in with the emailed password, changes it and enrols TOTP in their own browser context', async () => {
    const mail = await sink.waitForEmail(sentTo(RESEARCHER_EMAIL))
    expect(mail.subject).toBe('Your Gatehouse account')
    const temporaryPassword = temporaryPasswordFrom(mail)
    expect(temporaryPassword.length).toBeGreaterThanOrEqual(16)

    // Forced to /password/change, then /mfa/setup, then home: completeFirstSignIn waits for each.
    await completeFirstSignIn(researcher, server.baseUrl, { email: RESEARCHER_EMAIL, temporaryPassword, newPassword: RESEARCHER_PASSWORD })
    expect(pathOf(researcher)).toBe('/')
    expect(await heading(researcher)).toContain('Welcome')
    expect(await researcher.getByRole('link', { name: 'Admin', exact: true }).count()).toBe(0)

    const response = await researcher.goto(url('/admin'))
    expect(response?.status()).toBe(403)
    expect(await heading(researcher)).toBe('Not allowed')
    expect(await researcher.locator('main').innerText()).toContain('admin.access')
  })

  it('the admin makes them an admin; the researcher’s next request, in the same session, reaches the admin area', async () => {
    await admin.goto(url(researcherUserPath))
    await admin.getByLabel('Site role').selectOption('admin')
    await admin.getByRole('button', { name: 'Change role' }).click()
    await admin.waitForURL(url(researcherUserPath))
    expect(await flash(admin).innerText()).toBe(`${RESEARCHER_EMAIL} is now admin.`)
    expect(await admin.getByLabel('Site role').inputValue()).toBe('admin')

    // The researcher is still on the 403 page of /admin: reloading it is their next request.
    expect(pathOf(researcher)).toBe('/admin')
    const response = await researcher.reload()
    expect(response?.status()).toBe(200)
    expect(pathOf(researcher)).toBe('/admin')
    expect(await heading(researcher)).toBe('Admin')
    expect(await researcher.getByRole('link', { name: 'Admin', exact: true }).count()).toBe(1)
  })

  it('the user table filter finds the researcher live (htmx), with role admin; the row links to the user page', async () => {
    await admin.goto(url('/admin/users'))
    await admin.getByRole('row', { name: new RegExp(ADMIN_EMAIL.replace('.', '\\.')) }).waitFor()
    // Marks this document: after the filter the mark must still be there (a swap, not a page load).
    await admin.evaluate(() => ((globalThis as unknown as { e2eMark: string }).e2eMark = 'same document'))

    const tableRequest = admin.waitForRequest((r) => new URL(r.url()).pathname === '/admin/users' && new URL(r.url()).searchParams.get('q') === 'researcher@')
    await admin.getByLabel(/^Filter by/).pressSequentially('researcher@', { delay: 20 })
    const request = await tableRequest
    expect(request.headers()['hx-request']).toBe('true')

    const row = admin.getByRole('row', { name: new RegExp(RESEARCHER_EMAIL.replace('.', '\\.')) })
    await row.waitFor()
    await admin.getByText('1 user matching “researcher@”').waitFor()
    expect(await admin.getByRole('row', { name: new RegExp(ADMIN_EMAIL.replace('.', '\\.')) }).count()).toBe(0)
    expect(await admin.evaluate(() => (globalThis as unknown as { e2eMark?: string }).e2eMark)).toBe('same document')

    // cells[0] is the row's select box (bulk actions)
    const cells = (await row.getByRole('cell').allInnerTexts()).map((t) => t.trim())
    expect(cells[4]).toBe(RESEARCHER_EMAIL)
    expect(cells[6]).toBe('admin')
    await screenshot(admin, 'admin-users.png')

    await row.getByRole('link', { name: RESEARCHER_EMAIL }).click()
    await admin.waitForURL(url(researcherUserPath))
    expect(await heading(admin)).toBe(RESEARCHER_EMAIL)
    // The researcher's open session is listed.
    expect(await admin.getByRole('button', { name: 'Revoke' }).count()).toBe(1)
    await screenshot(admin, 'admin-user.png')
  })

  it('the admin disables the account after a confirmation page; the researcher’s open session ends and sign-in is refused', async () => {
    await admin.getByRole('button', { name: 'Disable', exact: true }).click()
    await admin.waitForURL(url(`${researcherUserPath}/disable`))
    expect(await heading(admin)).toBe(`Disable account: ${RESEARCHER_EMAIL}?`)
    expect(await admin.getByRole('link', { name: 'Cancel' }).getAttribute('href')).toBe(researcherUserPath)

    await admin.getByRole('button', { name: 'Disable account' }).click()
    await admin.waitForURL(url(researcherUserPath))
    expect(await flash(admin).innerText()).toBe('Account disabled; all its sessions have ended.')
    expect(await admin.locator('dl.facts').innerText()).toMatch(/Account\s+Disabled/)
    expect(await admin.getByRole('button', { name: 'Enable', exact: true }).count()).toBe(1)
    expect(await admin.locator('main').innerText()).toContain('Not signed in anywhere.')

    await researcher.reload()
    expect(pathOf(researcher)).toBe('/login')
    await researcher.goto(url('/'))
    expect(pathOf(researcher)).toBe('/login')

    await researcher.getByLabel('Email', { exact: true }).fill(RESEARCHER_EMAIL)
    await researcher.getByLabel('Password', { exact: true }).fill(RESEARCHER_PASSWORD)
    const [response] = await Promise.all([
      researcher.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/login'),
      researcher.getByRole('button', { name: 'Continue' }).click(),
    ])
    expect(response.status()).toBe(403)
    await researcher.getByText(/disabled/).waitFor()
    expect(pathOf(researcher)).toBe('/login')
    expect(await researcher.locator('main').innerText()).toContain('This account is disabled.')
  })

  it('raised no script error in either browser context', () => {
    expect(pageErrors).toEqual([])
  })
})
