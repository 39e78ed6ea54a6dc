// The account page in real Chromium: reached from the name in the navigation, the name edited,
// another browser signed out with "Sign out everywhere else" (after the confirmation), and the
// authenticator replaced with oathtool codes (a fresh code from the old secret, then one from the
// new); the security email arrives by real SMTP, and the next sign-in works with the new secret only.
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { completeFirstSignIn, currentTotp, launchChromium, REPO_ROOT, secretFromOtpauthUri, sentTo, startGatehouse, startSmtpSink, temporaryPasswordFrom, waitForNextTotpStep, type GatehouseServer, type SmtpSink } from './support.ts'

const EMAIL = 'account.owner@example.org'
const PASSWORD = 'five otters drift past the old mill'

describe('the account page', () => {
  let sink: SmtpSink
  let server: GatehouseServer
  let browser: Browser
  let context: BrowserContext
  let page: Page
  const pageErrors: string[] = []
  const url = (path: string) => `${server.baseUrl}${path}`

  beforeAll(async () => {
    sink = await startSmtpSink()
    server = await startGatehouse({ smtpPort: sink.port, adminEmail: EMAIL, logFile: join(REPO_ROOT, 'test-results/account.server.log') })
    browser = await launchChromium()
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
    page = await context.newPage()
    page.on('pageerror', (error) => pageErrors.push(error.message))
  })

  afterAll(async () => {
    await context?.close()
    await browser?.close()
    await server?.stop()
    await sink?.stop()
  })

  it('edits the name, signs out another browser, replaces the authenticator', async () => {
    const temporaryPassword = temporaryPasswordFrom(await sink.waitForEmail(sentTo(EMAIL)))
    const { totpSecret, step } = await completeFirstSignIn(page, server.baseUrl, { email: EMAIL, temporaryPassword, newPassword: PASSWORD })

    await page.locator('header.site a.who').click()
    await page.waitForURL(url('/account'))
    await page.getByLabel('First name').fill('Rosalind')
    await page.getByLabel('Last name').fill('Franklin')
    await page.getByRole('button', { name: 'Save name' }).click()
    await page.waitForURL(url('/account'))
    expect(await page.locator('.flash').innerText()).toContain('Your name has been saved.')
    expect(await page.getByLabel('First name').inputValue()).toBe('Rosalind')

    // a second browser signs in with the next code
    const otherStep = await waitForNextTotpStep(step)
    const other = await browser.newContext()
    const otherPage = await other.newPage()
    await otherPage.goto(url('/login'))
    await otherPage.getByLabel('Email', { exact: true }).fill(EMAIL)
    await otherPage.getByLabel('Password', { exact: true }).fill(PASSWORD)
    await otherPage.getByRole('button', { name: 'Continue' }).click()
    await otherPage.waitForURL(url('/login/mfa'))
    await otherPage.getByLabel('6-digit code').fill(currentTotp(totpSecret).code)
    await otherPage.getByRole('button', { name: 'Verify', exact: true }).click()
    await otherPage.waitForURL(url('/'))

    await page.reload()
    expect(await page.locator('#account-sessions tbody tr').count()).toBe(2)
    expect(await page.locator('#account-sessions').innerText()).toContain('(this browser)')
    await page.getByRole('button', { name: 'Sign out everywhere else' }).click()
    await page.waitForURL(url('/account/sessions/revoke-others'))
    expect(await page.locator('h1').innerText()).toBe('Sign out everywhere else?')
    await page.getByRole('button', { name: 'Sign out everywhere else' }).click()
    await page.waitForURL(url('/account'))
    expect(await page.locator('#account-sessions tbody tr').count()).toBe(1)
    await otherPage.goto(url('/'))
    await otherPage.waitForURL(url('/login'))
    await other.close()

    // replace the authenticator: a fresh code from the current one first
    await page.getByRole('link', { name: 'Replace authenticator' }).click()
    await page.waitForURL(url('/account/totp'))
    await waitForNextTotpStep(otherStep)
    await page.getByLabel('Code from your current authenticator app').fill(currentTotp(totpSecret).code)
    await page.getByRole('button', { name: 'Continue' }).click()
    const href = await page.locator('#totp-uri').getAttribute('href')
    const newSecret = secretFromOtpauthUri(href!)
    expect(newSecret).not.toBe(totpSecret)
    const confirm = currentTotp(newSecret)
    await page.getByLabel('Code from your new app').fill(confirm.code)
    await page.getByRole('button', { name: 'Replace my authenticator' }).click()
    await page.waitForURL(url('/account'))
    expect(await page.locator('.flash').innerText()).toContain('Your authenticator has been replaced.')
    const notice = await sink.waitForEmail((m) => sentTo(EMAIL)(m) && m.subject === 'Gatehouse security: Your second factor was replaced')
    expect(notice.text).toContain('/account')
    expect(await page.locator('#account-events').innerText()).toContain('Authenticator app replaced')

    // signed out, the next sign-in takes the new secret's code and refuses the old one
    await page.getByRole('button', { name: 'Sign out' }).first().click()
    await page.waitForURL(url('/login'))
    await waitForNextTotpStep(Math.max(confirm.step, otherStep + 1))
    await page.getByLabel('Email', { exact: true }).fill(EMAIL)
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD)
    await page.getByRole('button', { name: 'Continue' }).click()
    await page.waitForURL(url('/login/mfa'))
    await page.getByLabel('6-digit code').fill(currentTotp(totpSecret).code)
    await page.getByRole('button', { name: 'Verify', exact: true }).click()
    expect(await page.locator('.error, .form-error').first().innerText()).toMatch(/not correct/)
    await page.getByLabel('6-digit code').fill(currentTotp(newSecret).code)
    await page.getByRole('button', { name: 'Verify', exact: true }).click()
    await page.waitForURL(url('/'))
    expect(pageErrors).toEqual([])
  }, 200_000) // three fresh TOTP steps: up to 90 s of waiting
})
