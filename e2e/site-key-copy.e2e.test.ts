// The one-time site key in real Chromium: the "Copy key" button copies the key to the clipboard and
// says "Copied" in its aria-live region; without JavaScript the button stays hidden and the key is
// plain text. Then the site is disabled through its page (confirmation, flash, badge) and its key
// is refused by the site API with code site_disabled until it is enabled again.
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { completeFirstSignIn, launchChromium, REPO_ROOT, sentTo, startGatehouse, startSmtpSink, temporaryPasswordFrom, type GatehouseServer, type SmtpSink } from './support.ts'

const ADMIN_EMAIL = 'sites.admin@example.org'
const ADMIN_PASSWORD = 'amber kestrel folds seven paper lanterns'

/** The page's globals this journey reads (the tsconfig has no DOM types). */
type PageGlobals = { navigator: { clipboard: { readText(): Promise<string> } } }

describe('the one-time site key: copy button, and disabling the site', () => {
  let sink: SmtpSink
  let server: GatehouseServer
  let browser: Browser
  let context: BrowserContext
  let admin: Page
  let apiKey = ''
  let siteUrl = ''
  const pageErrors: string[] = []
  const url = (path: string) => `${server.baseUrl}${path}`

  beforeAll(async () => {
    sink = await startSmtpSink()
    server = await startGatehouse({ smtpPort: sink.port, adminEmail: ADMIN_EMAIL, logFile: join(REPO_ROOT, 'test-results/site-key-copy.server.log') })
    browser = await launchChromium()
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.baseUrl })
    admin = await context.newPage()
    admin.on('pageerror', (error) => pageErrors.push(error.message))
  })

  afterAll(async () => {
    await context?.close()
    await browser?.close()
    await server?.stop()
    await sink?.stop()
  })

  async function siteApi(key: string): Promise<{ status: number; body: unknown }> {
    const res = await fetch(url('/api/sites/v1/tasks'), { headers: { Authorization: `Bearer ${key}` } })
    return { status: res.status, body: await res.json() }
  }

  it('copies the new key with the button and announces "Copied"', async () => {
    const temporaryPassword = temporaryPasswordFrom(await sink.waitForEmail(sentTo(ADMIN_EMAIL)))
    await completeFirstSignIn(admin, server.baseUrl, { email: ADMIN_EMAIL, temporaryPassword, newPassword: ADMIN_PASSWORD })
    await admin.goto(url('/admin/sites'))
    const form = admin.locator('form', { has: admin.getByRole('button', { name: 'Create site' }) })
    await form.getByLabel('Name').fill('Leeds Teaching Hospitals')
    await form.getByLabel('Short code').fill('LTH')
    await Promise.all([admin.waitForLoadState('load'), form.getByRole('button', { name: 'Create site' }).click()])

    apiKey = (await admin.locator('#site-api-key').textContent()) ?? ''
    expect(apiKey).toMatch(/^gh_site_[a-z2-7]{52}$/)
    const copy = admin.getByRole('button', { name: 'Copy key' })
    await expect.poll(() => copy.isVisible()).toBe(true)
    await copy.click()
    await expect.poll(() => admin.locator('.copy-status').textContent()).toBe('Copied')
    expect(await admin.locator('.copy-status').getAttribute('aria-live')).toBe('polite')
    expect(await admin.evaluate(() => (globalThis as unknown as PageGlobals).navigator.clipboard.readText())).toBe(apiKey)
    expect(pageErrors).toEqual([])
    siteUrl = (await admin.getByRole('link', { name: 'Continue to the site' }).getAttribute('href')) ?? ''
    expect(siteUrl).toMatch(/^\/admin\/sites\/\d+$/)
  })

  it('without JavaScript, hides the button and leaves the key as selectable text', async () => {
    const noScript = await browser.newContext({ javaScriptEnabled: false, storageState: await context.storageState() })
    try {
      const page = await noScript.newPage()
      await page.goto(url(`${siteUrl}`))
      await page.getByRole('button', { name: 'Rotate key…' }).click()
      await page.getByRole('button', { name: 'Rotate key' }).click()
      await page.waitForLoadState('load')
      const key = (await page.locator('#site-api-key').textContent()) ?? ''
      expect(key).toMatch(/^gh_site_[a-z2-7]{52}$/)
      expect(await page.getByRole('button', { name: 'Copy key' }).isVisible()).toBe(false)
      apiKey = key
    } finally {
      await noScript.close()
    }
  })

  it('disables the site after a confirmation: its key is refused with site_disabled; enabling restores the same key', async () => {
    expect((await siteApi(apiKey)).status).toBe(200)
    await admin.goto(url(siteUrl))
    await admin.getByRole('button', { name: 'Disable site…' }).click()
    await admin.waitForLoadState('load')
    expect(await admin.locator('main').textContent()).toContain('Nothing is deleted')
    await Promise.all([admin.waitForURL(url(siteUrl)), admin.getByRole('button', { name: 'Disable site' }).click()])
    expect(await admin.locator('.flash').textContent()).toContain('Leeds Teaching Hospitals disabled')
    expect(await admin.locator('h1 .badge').textContent()).toBe('disabled')
    expect(await siteApi(apiKey)).toEqual({ status: 401, body: { error: expect.any(String), code: 'site_disabled' } })

    await Promise.all([admin.waitForURL(url(siteUrl)), admin.getByRole('button', { name: 'Enable site' }).click()])
    expect(await admin.locator('.flash').textContent()).toContain('enabled')
    expect(await admin.locator('h1 .badge').count()).toBe(0)
    expect((await siteApi(apiKey)).status).toBe(200)
    expect(pageErrors).toEqual([])
  })
})
