// Every admin page and the main project pages, as an admin, in real Chromium at 1280×800 and
// 390×844 (a phone), in the light and the dark colour scheme: the page never scrolls sideways
// (wide tables scroll inside their own container) and axe-core (from npm, injected into the
// page) finds no serious or critical violation. Long names, emails and a site with a task make
// the tables as wide as they get in real use.
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { completeFirstSignIn, headingOf, launchChromium, REPO_ROOT, sentTo, startGatehouse, startSmtpSink, temporaryPasswordFrom, type GatehouseServer, type SmtpSink } from './support.ts'

const ADMIN_EMAIL = 'administrator.of.the.consortium@imaging-research.example.ac.uk'
const ADMIN_PASSWORD = 'saffron ledger drifts past nine quiet piers'
const LONG_EMAIL = 'alexandra.montgomery-fitzwilliam@department-of-radiology.example-university.ac.uk'
const GROUP = 'Northern Consortium for Imaging Research and Translational Radiology'
const SITE = { name: 'Leeds Teaching Hospitals NHS Trust, St James’s University Hospital', code: 'LTHT' }
const PROJECT = 'Incidental pulmonary nodules in routine chest computed tomography of adults'
const AXE_PATH = join(REPO_ROOT, 'node_modules/axe-core/axe.min.js')
const SIZES = [
  { name: 'desktop', viewport: { width: 1280, height: 800 }, isMobile: false },
  { name: 'phone', viewport: { width: 390, height: 844 }, isMobile: true },
] as const
/** Pages whose screenshots are kept under test-results/ (the main pages, both sizes, both schemes). */
const SCREENSHOT_PAGES = new Set(['/admin', '/admin/users', '/admin/audit', '/admin/outbox', '/admin/tasks', '/projects'])

type Violation = { id: string; impact: string | null; help: string; nodes: { target: string[] }[] }
/** The page's globals this journey reads (the tsconfig has no DOM types). */
type PageGlobals = { document: { documentElement: { scrollWidth: number } }; innerWidth: number; axe: { run(): Promise<{ violations: Violation[] }> } }

describe('admin console layout: no sideways scroll and no serious axe violation, every page, both sizes, both schemes', () => {
  let sink: SmtpSink
  let server: GatehouseServer
  let browser: Browser
  let desktop: BrowserContext
  let admin: Page
  /** Every path visited, filled in by the seeding step. */
  const paths: string[] = []
  const pageErrors: string[] = []
  const url = (path: string) => `${server.baseUrl}${path}`

  beforeAll(async () => {
    mkdirSync(join(REPO_ROOT, 'test-results'), { recursive: true })
    sink = await startSmtpSink()
    server = await startGatehouse({ smtpPort: sink.port, adminEmail: ADMIN_EMAIL, logFile: join(REPO_ROOT, 'test-results/admin-layout.server.log') })
    browser = await launchChromium()
    desktop = await browser.newContext({ viewport: SIZES[0].viewport })
    admin = await desktop.newPage()
    admin.on('pageerror', (error) => pageErrors.push(error.message))
  })

  afterAll(async () => {
    await desktop?.close()
    await browser?.close()
    await server?.stop()
    await sink?.stop()
  })

  /** The href of the first link in `main` whose path matches `pattern`, on the page at `listPath`. */
  async function firstLink(listPath: string, pattern: RegExp): Promise<string> {
    await admin.goto(url(listPath))
    const hrefs = await admin.locator('main a[href]').evaluateAll((links) => links.map((a) => a.getAttribute('href') ?? ''))
    const href = hrefs.find((h) => pattern.test(h))
    if (!href) throw new Error(`no link matching ${pattern} on ${listPath}`)
    return href
  }

  async function submit(form: ReturnType<Page['locator']>, button: string): Promise<void> {
    await Promise.all([admin.waitForLoadState('load'), form.getByRole('button', { name: button }).click()])
    await admin.waitForLoadState('load')
  }

  it('signs in as the bootstrapped admin and fills the console with long names, a site, a project with tasks, an invitation and emails', async () => {
    const temporaryPassword = temporaryPasswordFrom(await sink.waitForEmail(sentTo(ADMIN_EMAIL)))
    await completeFirstSignIn(admin, server.baseUrl, { email: ADMIN_EMAIL, temporaryPassword, newPassword: ADMIN_PASSWORD })

    await admin.goto(url('/admin/sites'))
    const site = admin.locator('form', { has: admin.getByRole('button', { name: 'Create site' }) })
    await site.getByLabel('Name').fill(SITE.name)
    await site.getByLabel('Short code').fill(SITE.code)
    await submit(site, 'Create site')
    expect(await headingOf(admin)).toContain('created')

    await admin.goto(url('/admin/groups'))
    const group = admin.locator('form', { has: admin.getByRole('button', { name: 'Create group' }) })
    await group.getByLabel('Name').fill(GROUP)
    await submit(group, 'Create group')

    await admin.goto(url('/admin/users'))
    const register = admin.locator('form', { has: admin.getByRole('button', { name: 'Register' }) })
    await register.getByLabel('Email', { exact: true }).fill(LONG_EMAIL)
    await submit(register, 'Register')
    await sink.waitForEmail(sentTo(LONG_EMAIL))

    await admin.goto(url('/admin/invitations'))
    const invite = admin.locator('form', { has: admin.getByRole('button', { name: 'Send invitation' }) })
    await invite.getByLabel('Email', { exact: true }).fill(`invited.${LONG_EMAIL}`)
    await submit(invite, 'Send invitation')

    await admin.goto(url('/projects/new'))
    await admin.getByLabel('Name').fill(PROJECT)
    await admin.getByLabel('Description').fill('CT follow-up of incidental lung nodules in adults')
    await admin.getByRole('button', { name: 'Create project' }).click()
    await admin.waitForURL(/\/projects\/\d+$/)
    const projectPath = new URL(admin.url()).pathname
    const cohort = admin.locator('section', { has: admin.getByLabel('Cohort query') })
    await cohort.getByLabel('Cohort query').fill('SELECT count(*) FROM patients WHERE nodule_diameter_mm BETWEEN 6 AND 30')
    await submit(cohort, 'Save and send to sites')

    paths.push(
      '/',
      '/account',
      '/account/totp',
      '/account/recovery-codes',
      '/projects',
      '/projects/new',
      projectPath,
      '/admin',
      '/admin/users',
      await firstLink('/admin/users', /^\/admin\/users\/\d+$/),
      '/admin/invitations',
      await firstLink('/admin/invitations', /^\/admin\/invitations\/\d+$/),
      '/admin/roles',
      await firstLink('/admin/roles', /^\/admin\/roles\/\d+$/),
      '/admin/groups',
      await firstLink('/admin/groups', /^\/admin\/groups\/\d+$/),
      '/admin/consortium',
      '/admin/import',
      '/admin/sites',
      await firstLink('/admin/sites', /^\/admin\/sites\/\d+$/),
      '/admin/tasks',
      await firstLink('/admin/tasks', /^\/admin\/tasks\/\d+$/),
      '/admin/settings',
      '/admin/audit',
      '/admin/outbox',
      await firstLink('/admin/outbox', /^\/admin\/outbox\/\d+$/),
    )
  })

  for (const size of SIZES) {
    it(`${size.name} (${size.viewport.width}×${size.viewport.height}): every page fits the width and passes axe, light and dark`, async () => {
      expect(paths.length).toBeGreaterThan(10)
      // One signed-in context per size: the desktop context's cookies, this size's viewport.
      // bypassCSP lets the test inject axe-core; the pages themselves load no inline script.
      const context = await browser.newContext({ viewport: size.viewport, isMobile: size.isMobile, hasTouch: size.isMobile, bypassCSP: true, storageState: await desktop.storageState() })
      const page = await context.newPage()
      page.on('pageerror', (error) => pageErrors.push(error.message))
      const problems: string[] = []
      try {
        for (const scheme of ['light', 'dark'] as const) {
          await page.emulateMedia({ colorScheme: scheme })
          for (const path of paths) {
            const response = await page.goto(url(path))
            const where = `${path} (${size.name}, ${scheme})`
            if (response?.status() !== 200) problems.push(`${where}: HTTP ${response?.status()}`)
            if (new URL(page.url()).pathname !== path) problems.push(`${where}: ended on ${page.url()}`)
            const { scrollWidth, innerWidth } = await page.evaluate(() => {
              const w = (globalThis as unknown as PageGlobals)
              return { scrollWidth: w.document.documentElement.scrollWidth, innerWidth: w.innerWidth }
            })
            // A phone zooms out to show a too-wide page whole, which widens innerWidth: it must stay the device's width.
            if (scrollWidth > innerWidth || innerWidth !== size.viewport.width) problems.push(`${where}: page is ${scrollWidth} px wide in a ${innerWidth} px window (${size.viewport.width} px device)`)
            await page.addScriptTag({ path: AXE_PATH })
            const violations = await page.evaluate(async () => {
              const axe = (globalThis as unknown as PageGlobals).axe
              return (await axe.run()).violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target })) }))
            })
            for (const v of violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')) {
              problems.push(`${where}: axe ${v.impact} ${v.id} (${v.help}) at ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`)
            }
            if (SCREENSHOT_PAGES.has(path)) await page.screenshot({ path: join(REPO_ROOT, 'test-results', `layout-${size.name}-${scheme}${path.replaceAll('/', '-') || '-home'}.png`), fullPage: true })
          }
        }
      } finally {
        await context.close()
      }
      expect(problems).toEqual([])
      expect(pageErrors).toEqual([])
    })
  }
})
