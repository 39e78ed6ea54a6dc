// The new-role form in real Chromium: choosing the scope swaps the permission boxes through htmx
// (no page load, what was typed kept), and without JavaScript the "Show this scope's permissions"
// step does the same with a plain GET. Either way the role is created with that scope's permissions.
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { completeFirstSignIn, launchChromium, REPO_ROOT, sentTo, startGatehouse, startSmtpSink, temporaryPasswordFrom, type GatehouseServer, type SmtpSink } from './support.ts'

const ADMIN_EMAIL = 'roles.admin@example.org'
const ADMIN_PASSWORD = 'amber kestrel folds seven paper lanterns'

describe('the new-role form shows the chosen scope’s permissions', () => {
  let sink: SmtpSink
  let server: GatehouseServer
  let browser: Browser
  let context: BrowserContext
  let admin: Page
  const pageErrors: string[] = []
  const url = (path: string) => `${server.baseUrl}${path}`
  const box = (page: Page, permission: string) => page.locator(`#scope-permissions input[name="permissions"][value="${permission}"]`)

  beforeAll(async () => {
    sink = await startSmtpSink()
    server = await startGatehouse({ smtpPort: sink.port, adminEmail: ADMIN_EMAIL, logFile: join(REPO_ROOT, 'test-results/roles-scope.server.log') })
    browser = await launchChromium()
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
    admin = await context.newPage()
    admin.on('pageerror', (error) => pageErrors.push(error.message))
    const temporaryPassword = temporaryPasswordFrom(await sink.waitForEmail(sentTo(ADMIN_EMAIL)))
    await completeFirstSignIn(admin, server.baseUrl, { email: ADMIN_EMAIL, temporaryPassword, newPassword: ADMIN_PASSWORD })
  })

  afterAll(async () => {
    await context?.close()
    await browser?.close()
    await server?.stop()
    await sink?.stop()
  })

  it('with JavaScript: the scope radio swaps the boxes in place (htmx), keeping the name typed; the role is created', async () => {
    await admin.goto(url('/admin/roles'))
    expect(await box(admin, 'models.create').count()).toBe(1)
    expect(await box(admin, 'users.manage').count()).toBe(0)
    await admin.getByLabel('Name', { exact: true }).fill('Log readers')
    let loads = 0
    admin.on('load', () => loads++)
    await admin.getByLabel('Site role (one per user)').check()
    await expect.poll(() => box(admin, 'users.manage').count()).toBe(1)
    expect(await box(admin, 'models.create').count()).toBe(0)
    expect(loads).toBe(0) // swapped by htmx, not a page load
    expect(await admin.getByLabel('Name', { exact: true }).inputValue()).toBe('Log readers')
    await box(admin, 'audit.view').check()
    await box(admin, 'admin.access').check()
    await Promise.all([admin.waitForURL(url('/admin/roles')), admin.getByRole('button', { name: 'Create role' }).click()])
    expect(await admin.locator('body').textContent()).toContain('Role “Log readers” created.')
    const row = admin.locator('tr', { has: admin.getByRole('link', { name: 'Log readers', exact: true }) })
    expect(await row.locator('td').nth(1).textContent()).toBe('site')
    expect((await row.locator('code.perm').allTextContents()).sort()).toEqual(['admin.access', 'audit.view'])
    expect(pageErrors).toEqual([])
  })

  it('without JavaScript: choose the scope, "Show this scope\'s permissions", then the form with that scope’s boxes and the name kept', async () => {
    const noScript = await browser.newContext({ javaScriptEnabled: false, storageState: await context.storageState() })
    try {
      const page = await noScript.newPage()
      await page.goto(url('/admin/roles'))
      await page.getByLabel('Name', { exact: true }).fill('Gatekeepers')
      await page.getByLabel('Site role (one per user)').check()
      expect(await box(page, 'users.manage').count()).toBe(0) // nothing swaps without JavaScript
      await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: "Show this scope's permissions" }).click()])
      expect(new URL(page.url()).searchParams.get('scope')).toBe('site')
      expect(await box(page, 'users.manage').count()).toBe(1)
      expect(await box(page, 'models.create').count()).toBe(0)
      expect(await page.getByLabel('Name', { exact: true }).inputValue()).toBe('Gatekeepers')
      await box(page, 'audit.view').check()
      await Promise.all([page.waitForURL(url('/admin/roles')), page.getByRole('button', { name: 'Create role' }).click()])
      expect(await page.locator('body').textContent()).toContain('Role “Gatekeepers” created.')
    } finally {
      await noScript.close()
    }
  })
})
