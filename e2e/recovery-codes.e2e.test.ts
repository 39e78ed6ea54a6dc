// Recovery codes in real Chromium: made again at /account/recovery-codes with a fresh oathtool
// code, copied with the button (clipboard read back), downloaded as text without a server
// round trip, then used at /login/mfa in place of the authenticator; the security email arrives
// by real SMTP.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { completeFirstSignIn, currentTotp, launchChromium, REPO_ROOT, sentTo, startGatehouse, startSmtpSink, temporaryPasswordFrom, waitForNextTotpStep, type GatehouseServer, type SmtpSink } from './support.ts'

const EMAIL = 'codes.admin@example.org'
const PASSWORD = 'seven herons wade through a grey estuary'

type PageGlobals = { navigator: { clipboard: { readText(): Promise<string> } } }

describe('recovery codes: regenerate, copy, download, sign in with one', () => {
  let sink: SmtpSink
  let server: GatehouseServer
  let browser: Browser
  let context: BrowserContext
  let page: Page
  let codes: string[] = []
  const pageErrors: string[] = []
  const url = (path: string) => `${server.baseUrl}${path}`

  beforeAll(async () => {
    sink = await startSmtpSink()
    server = await startGatehouse({ smtpPort: sink.port, adminEmail: EMAIL, logFile: join(REPO_ROOT, 'test-results/recovery-codes.server.log') })
    browser = await launchChromium()
    context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true })
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.baseUrl })
    page = await context.newPage()
    page.on('pageerror', (error) => pageErrors.push(error.message))
  })

  afterAll(async () => {
    await context?.close()
    await browser?.close()
    await server?.stop()
    await sink?.stop()
  })

  it('makes new codes with a fresh authenticator code; copy and download give the same codes', async () => {
    const temporaryPassword = temporaryPasswordFrom(await sink.waitForEmail(sentTo(EMAIL)))
    const { totpSecret, step } = await completeFirstSignIn(page, server.baseUrl, { email: EMAIL, temporaryPassword, newPassword: PASSWORD })
    await page.locator('header.site a.who').click()
    await page.waitForURL(url('/account'))
    expect(await page.locator('#account-recovery-codes-left').innerText()).toContain('10 unused recovery codes are left.')
    await page.getByRole('link', { name: 'Make new recovery codes' }).click()
    await page.waitForURL(url('/account/recovery-codes'))
    expect(await page.locator('#recovery-codes-left').innerText()).toContain('10 unused recovery codes are left.')
    await waitForNextTotpStep(step)
    await page.getByLabel('Code from your authenticator app').fill(currentTotp(totpSecret).code)
    await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: 'Make new recovery codes' }).click()])
    codes = ((await page.locator('#recovery-codes').textContent()) ?? '').trim().split('\n').map((s) => s.trim())
    expect(codes).toHaveLength(10)
    for (const code of codes) expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}$/)

    const copy = page.getByRole('button', { name: 'Copy codes' })
    await expect.poll(() => copy.isVisible()).toBe(true)
    await copy.click()
    await expect.poll(() => page.locator('.copy-status').textContent()).toBe('Copied')
    const copied = await page.evaluate(() => (globalThis as unknown as PageGlobals).navigator.clipboard.readText())
    expect(copied.trim().split('\n').map((s) => s.trim())).toEqual(codes)

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Download as text' }).click()])
    expect(download.suggestedFilename()).toBe('gatehouse-recovery-codes.txt')
    const text = readFileSync((await download.path())!, 'utf8')
    for (const code of codes) expect(text).toContain(code)
    expect(pageErrors).toEqual([])
  })

  it('signs in with a recovery code instead of the authenticator, and emails the user', async () => {
    await page.goto(url('/'))
    await page.getByRole('button', { name: 'Sign out' }).click()
    await page.waitForURL(url('/login'))
    await page.getByLabel('Email', { exact: true }).fill(EMAIL)
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD)
    await page.getByRole('button', { name: 'Continue' }).click()
    await page.waitForURL(url('/login/mfa'))
    await page.getByText('Use a recovery code').click()
    await page.getByLabel('Recovery code').fill(codes[4]!.toLowerCase())
    await page.getByRole('button', { name: 'Sign in with recovery code' }).click()
    await page.waitForURL(url('/'))
    const mail = await sink.waitForEmail((m) => sentTo(EMAIL)(m) && (m.subject ?? '').includes('A recovery code was used'))
    expect(mail.text).toContain('9 unused codes are left')
  })
})
