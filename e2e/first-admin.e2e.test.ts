// The first admin's journey in real Chromium: the one-time password arrives by real SMTP, the
// TOTP codes come from oathtool, and the server is the real process started as in production.
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import {
  REPO_ROOT,
  currentTotp,
  currentTotpStep,
  launchChromium,
  secretFromOtpauthUri,
  sentTo,
  startGatehouse,
  startSmtpSink,
  temporaryPasswordFrom,
  waitForNextTotpStep,
  type GatehouseServer,
  type SmtpSink,
} from './support.ts'

const ADMIN_EMAIL = 'admin@example.org'
const NEW_PASSWORD = 'copper lantern drifts over a quiet marsh'

describe('first admin: temporary password → own password → authenticator → admin area', () => {
  let sink: SmtpSink
  let server: GatehouseServer
  let browser: Browser
  let context: BrowserContext
  let page: Page
  let totpSecret = ''
  /** The last code accepted by the server, and its 30-second step. */
  let lastUsed = { code: '', step: 0 }

  const url = (path: string) => `${server.baseUrl}${path}`
  const pathOf = (page: Page) => new URL(page.url()).pathname
  const heading = async () => (await page.getByRole('heading', { level: 1 }).innerText()).trim()

  async function signInWithPassword(password: string) {
    await page.goto(url('/login'))
    await page.getByLabel('Email', { exact: true }).fill(ADMIN_EMAIL)
    await page.getByLabel('Password', { exact: true }).fill(password)
    await page.getByRole('button', { name: 'Continue' }).click()
  }

  /** Submits a code on /login/mfa and returns the status of the POST (a redirect is not followed here). */
  async function submitSignInCode(code: string): Promise<number> {
    await page.getByLabel('6-digit code').fill(code)
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/login/mfa'),
      page.getByRole('button', { name: 'Verify' }).click(),
    ])
    return response.status()
  }

  async function signOut() {
    await page.getByRole('button', { name: 'Sign out' }).click()
    await page.waitForURL(url('/login'))
  }

  beforeAll(async () => {
    sink = await startSmtpSink()
    server = await startGatehouse({ smtpPort: sink.port, adminEmail: ADMIN_EMAIL, logFile: join(REPO_ROOT, 'test-results/first-admin.server.log') })
    browser = await launchChromium()
    context = await browser.newContext()
    page = await context.newPage()
  })

  afterAll(async () => {
    await context?.close()
    await browser?.close()
    await server?.stop()
    await sink?.stop()
  })

  it('signs in with the emailed one-time password and is made to choose a new password first', async () => {
    const mail = await sink.waitForEmail(sentTo(ADMIN_EMAIL))
    expect(mail.subject).toBe('Your Gatehouse account')
    const temporaryPassword = temporaryPasswordFrom(mail)
    expect(temporaryPassword.length).toBeGreaterThanOrEqual(16)

    await signInWithPassword(temporaryPassword)
    await page.waitForURL(url('/password/change'))
    expect(await heading()).toBe('Change your password')

    // Nothing else is reachable before the chain is done: every page leads back into it.
    for (const path of ['/admin', '/', '/mfa/setup']) {
      await page.goto(url(path))
      expect(pathOf(page), `GET ${path} after the password step`).toBe('/password/change')
    }

    await page.getByLabel('Current password').fill(temporaryPassword)
    await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD)
    await page.getByLabel('Repeat the new password').fill(NEW_PASSWORD)
    await page.getByRole('button', { name: 'Change password' }).click()
    await page.waitForURL(url('/mfa/setup'))
  })

  it('cannot reach the admin area before enrolling an authenticator', async () => {
    await page.goto(url('/admin'))
    expect(pathOf(page)).toBe('/mfa/setup')
    await page.goto(url('/password/change'))
    expect(pathOf(page)).toBe('/mfa/setup')
  })

  it('enrols TOTP with a code computed by oathtool from the otpauth URI on the page', async () => {
    expect(await heading()).toBe('Set up your authenticator')
    mkdirSync(join(REPO_ROOT, 'test-results'), { recursive: true })
    await page.screenshot({ path: join(REPO_ROOT, 'test-results/mfa-setup.png'), fullPage: true })

    const link = page.locator('#totp-uri')
    const href = await link.getAttribute('href')
    expect(href).toMatch(/^otpauth:\/\/totp\//)
    expect((await link.textContent())?.trim()).toBe(href)
    totpSecret = secretFromOtpauthUri(href!)
    const shownKey = (await page.locator('#totp-secret').textContent())?.replace(/\s+/g, '')
    expect(shownKey).toBe(totpSecret)

    lastUsed = currentTotp(totpSecret)
    await page.getByLabel('Code from your app').fill(lastUsed.code)
    await page.getByRole('button', { name: 'Confirm and continue' }).click()
    // the chain's last step: recovery codes, shown once
    await page.waitForURL(url('/mfa/recovery-codes'))
    await page.getByRole('button', { name: 'Create my recovery codes' }).click()
    expect(await heading()).toBe('Your recovery codes')
    await page.getByRole('link', { name: 'I have saved my codes: continue' }).click()
    await page.waitForURL(url('/'))
    expect(await heading()).toContain('Welcome')
  })

  it('opens the admin area from the home page and signs out', async () => {
    const adminLink = page.getByRole('link', { name: 'Admin', exact: true })
    expect(await adminLink.isVisible()).toBe(true)
    await adminLink.click()
    await page.waitForURL(url('/admin'))
    expect(await heading()).toBe('Admin')

    await signOut()
    await page.goto(url('/admin'))
    expect(pathOf(page)).toBe('/login')
  })

  it('signs in again with the new password and a fresh code', async () => {
    await signInWithPassword(NEW_PASSWORD)
    await page.waitForURL(url('/login/mfa'))

    await waitForNextTotpStep(lastUsed.step)
    lastUsed = currentTotp(totpSecret)
    expect(await submitSignInCode(lastUsed.code)).toBe(303)
    await page.waitForURL(url('/'))
    expect(await heading()).toContain('Welcome')
  })

  it('refuses the same code a second time, as a replay', async () => {
    await signOut()
    await signInWithPassword(NEW_PASSWORD)
    await page.waitForURL(url('/login/mfa'))
    // Still inside the code's validity window, so only the replay rule can refuse it.
    expect(currentTotpStep() - lastUsed.step).toBeLessThanOrEqual(1)

    expect(await submitSignInCode(lastUsed.code)).toBe(422)
    await page.getByText(/already been used/).waitFor({ state: 'visible' })
    expect(pathOf(page)).toBe('/login/mfa')

    await page.goto(url('/'))
    expect(pathOf(page)).toBe('/login/mfa')
  })
})
