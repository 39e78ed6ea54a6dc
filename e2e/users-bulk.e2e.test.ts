// Bulk actions on the users list in real Chromium: "Select every row on this page" ticks the row
// boxes (public/select-all.js), unticking one leaves it out, the confirmation lists exactly who is
// affected, and applying it disables them and returns to the filtered list with a flash. The live
// filter keeps its one aria-live node (the result count) across the htmx swap.
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { completeFirstSignIn, headingOf, launchChromium, REPO_ROOT, sentTo, startGatehouse, startSmtpSink, temporaryPasswordFrom, type GatehouseServer, type SmtpSink } from './support.ts'

const ADMIN_EMAIL = 'admin@example.org'
const ADMIN_PASSWORD = 'saffron ledger drifts past nine quiet piers'
const PEOPLE = ['bulk.one@example.org', 'bulk.two@example.org', 'bulk.three@example.org']
const AXE_PATH = join(REPO_ROOT, 'node_modules/axe-core/axe.min.js')
type Violation = { id: string; impact: string | null; help: string }
type PageGlobals = { document: { documentElement: { scrollWidth: number } }; innerWidth: number; axe: { run(): Promise<{ violations: Violation[] }> } }

/** Sideways scroll and serious or critical axe-core violations of the page as it is now. */
async function problemsOf(page: Page, where: string): Promise<string[]> {
  const problems: string[] = []
  const { scrollWidth, innerWidth } = await page.evaluate(() => {
    const w = globalThis as unknown as PageGlobals
    return { scrollWidth: w.document.documentElement.scrollWidth, innerWidth: w.innerWidth }
  })
  if (scrollWidth > innerWidth) problems.push(`${where}: ${scrollWidth} px wide in a ${innerWidth} px window`)
  await page.addScriptTag({ path: AXE_PATH })
  const violations = await page.evaluate(async () => (await (globalThis as unknown as PageGlobals).axe.run()).violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help })))
  for (const v of violations) if (v.impact === 'serious' || v.impact === 'critical') problems.push(`${where}: ${v.id} (${v.impact}) ${v.help}`)
  return problems
}

describe('bulk disable from the users list', () => {
  let sink: SmtpSink
  let server: GatehouseServer
  let browser: Browser
  let context: BrowserContext
  let admin: Page
  const pageErrors: string[] = []
  const url = (path: string) => `${server.baseUrl}${path}`

  beforeAll(async () => {
    mkdirSync(join(REPO_ROOT, 'test-results'), { recursive: true })
    sink = await startSmtpSink()
    server = await startGatehouse({ smtpPort: sink.port, adminEmail: ADMIN_EMAIL, logFile: join(REPO_ROOT, 'test-results/users-bulk.server.log') })
    browser = await launchChromium()
    context = await browser.newContext()
    admin = await context.newPage()
    admin.on('pageerror', (error) => pageErrors.push(error.message))
  })

  afterAll(async () => {
    await context?.close()
    await browser?.close()
    await server?.stop()
    await sink?.stop()
  })

  it('signs in and registers three people', async () => {
    const temporaryPassword = temporaryPasswordFrom(await sink.waitForEmail(sentTo(ADMIN_EMAIL)))
    await completeFirstSignIn(admin, server.baseUrl, { email: ADMIN_EMAIL, temporaryPassword, newPassword: ADMIN_PASSWORD })
    for (const email of PEOPLE) {
      await admin.goto(url('/admin/users'))
      const form = admin.locator('form', { has: admin.getByRole('button', { name: 'Register' }) })
      await form.getByLabel('Email', { exact: true }).fill(email)
      await form.getByRole('button', { name: 'Register' }).click()
      await admin.waitForURL(/\/admin\/users\/\d+$/)
    }
  })

  it('the live filter swaps the table but keeps the count node, the only live region', async () => {
    await admin.goto(url('/admin/users'))
    // a property, not an attribute: the morph keeps the node but syncs its attributes
    await admin.locator('#user-count').evaluate((el) => ((el as unknown as { seen: string }).seen = 'yes'))
    await admin.getByLabel('Filter by name, username, email or organisation').fill('bulk.')
    await admin.waitForFunction(() => (globalThis as unknown as { document: { querySelector(s: string): { textContent: string } | null } }).document.querySelector('#user-count')?.textContent?.startsWith('3 users'))
    expect(await admin.locator('#user-count').evaluate((el) => (el as unknown as { seen?: string }).seen)).toBe('yes')
    expect(await admin.locator('[aria-live]').count()).toBe(1)
    expect(await admin.locator('tbody tr').count()).toBe(3)
  })

  it('select-all ticks every row; one unticked is left out of the confirmation; applying disables the others', async () => {
    await admin.goto(url('/admin/users?q=bulk.&sort=email&dir=asc'))
    await admin.getByLabel('Select every row on this page').check()
    for (const email of PEOPLE) expect(await admin.getByLabel(`Select ${email}`, { exact: true }).isChecked(), email).toBe(true)
    await admin.getByLabel('Select bulk.two@example.org', { exact: true }).uncheck()
    expect(await admin.getByLabel('Select every row on this page').isChecked()).toBe(false)
    await admin.getByLabel('Action').selectOption('disable')
    await admin.getByRole('button', { name: 'Review…' }).click()
    await admin.waitForLoadState('load')
    await admin.waitForURL(url('/admin/users/bulk'))
    expect(await headingOf(admin)).toBe('Disable accounts?')
    const affected = await admin.locator('section[aria-labelledby="bulk-affected"]').innerText()
    expect(affected).toContain('Affected (2)')
    expect(affected).toContain('bulk.one@example.org')
    expect(affected).toContain('bulk.three@example.org')
    expect(affected).not.toContain('bulk.two@example.org')
    await admin.getByRole('button', { name: 'Disable accounts (2)' }).click()
    await admin.waitForURL(url('/admin/users?q=bulk.&sort=email&dir=asc'))
    expect(await admin.locator('p.flash').innerText()).toContain('2 accounts disabled, 0 skipped.')
    const rows = await admin.locator('tbody tr').allInnerTexts()
    expect(rows.find((r) => r.includes('bulk.one@example.org'))).toContain('Account disabled')
    expect(rows.find((r) => r.includes('bulk.two@example.org'))).not.toContain('Account disabled')
    expect(pageErrors).toEqual([])
  })

  it('the list and the confirmation on a phone, light and dark: no sideways scroll, no serious axe violation', async () => {
    const problems: string[] = []
    for (const colorScheme of ['light', 'dark'] as const) {
      // bypassCSP lets the test inject axe-core; the pages load no inline script.
      const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, bypassCSP: true, colorScheme, storageState: await context.storageState() })
      const page = await phone.newPage()
      await page.goto(url('/admin/users?q=bulk.'))
      problems.push(...(await problemsOf(page, `${colorScheme} /admin/users`)))
      await page.getByLabel('Select bulk.two@example.org', { exact: true }).check()
      await page.getByLabel('Select bulk.one@example.org', { exact: true }).check()
      await page.getByLabel('Action').selectOption('enable')
      await page.getByRole('button', { name: 'Review…' }).click()
      await page.waitForURL(url('/admin/users/bulk'))
      expect(await page.locator('section[aria-labelledby="bulk-skipped"]').innerText()).toContain('bulk.two@example.org — already enabled')
      problems.push(...(await problemsOf(page, `${colorScheme} confirmation`)))
      await phone.close()
    }
    expect(problems).toEqual([])
  })
})
