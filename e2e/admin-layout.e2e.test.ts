// Every admin page and the main project pages, as an admin, in real Chromium at 1280×800 and
// 390×844 (a phone), in the light and the dark colour scheme: the page never scrolls sideways
// (wide tables scroll inside their own container) and axe-core (from npm, injected into the
// page) finds no serious or critical violation; no word breaks inside a table cell (a cell cut off
// keeps its full text as a title); every admin page has the one admin navigation with its area
// marked aria-current. Long names, emails and a site with a task make the tables as wide as they
// get in real use. A last step spot-checks confirmations, button kinds and flashes through the UI.
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
/** Just enough of the DOM for the table-cell check (the tsconfig has no DOM types). */
type CellElement = { textContent: string | null; scrollWidth: number; clientWidth: number; closest(s: string): unknown; querySelector(s: string): unknown; getAttribute(n: string): string | null }
type CellDom = {
  document: { querySelectorAll(s: string): Iterable<CellElement>; createTreeWalker(root: CellElement, what: number): { nextNode(): { data: string; parentElement: CellElement } | null }; createRange(): { setStart(n: unknown, i: number): void; setEnd(n: unknown, i: number): void; getClientRects(): ArrayLike<{ top: number }> } }
  getComputedStyle(e: CellElement): { wordBreak: string; overflowWrap: string; textOverflow: string }
}

/**
 * Table cells whose words break: a line break between two letters or digits of one word (a break
 * after ".", "@", "-" or "/" in an email or a long name is a sensible point), a computed
 * `word-break: break-all` or `overflow-wrap: anywhere`, or a cell cut off with an ellipsis whose
 * full text is not available as a title. Runs in the page.
 */
function brokenCells(): string[] {
  const w = globalThis as unknown as CellDom
  const found: string[] = []
  const wordChar = /[\p{L}\p{N}]/u
  for (const td of w.document.querySelectorAll('td')) {
    const style = w.getComputedStyle(td)
    const label = (td.textContent ?? '').trim().slice(0, 60)
    if (style.wordBreak === 'break-all' || style.overflowWrap === 'anywhere') found.push(`"${label}": word-break ${style.wordBreak}, overflow-wrap ${style.overflowWrap}`)
    if (style.textOverflow === 'ellipsis' && td.scrollWidth > td.clientWidth && td.getAttribute('title') === null && td.querySelector('[title]') === null) found.push(`"${label}": cut off without its full text`)
    const walker = w.document.createTreeWalker(td, 4)
    const range = w.document.createRange()
    for (let node = walker.nextNode(); node !== null; node = walker.nextNode()) {
      if (node.parentElement.closest('.visually-hidden')) continue
      let previousTop: number | null = null
      let previous = ''
      for (let i = 0; i < node.data.length; i++) {
        const ch = node.data[i]!
        if (/\s/.test(ch)) { previousTop = null; previous = ''; continue }
        range.setStart(node, i)
        range.setEnd(node, i + 1)
        const rect = range.getClientRects()[0]
        if (rect === undefined) continue
        if (previousTop !== null && Math.abs(rect.top - previousTop) > 2 && wordChar.test(previous) && wordChar.test(ch)) {
          const start = node.data.lastIndexOf(' ', i) + 1
          const end = node.data.indexOf(' ', i)
          found.push(`"${node.data.slice(start, end === -1 ? undefined : end)}" broken before "${node.data.slice(i, i + 8)}"`)
        }
        previousTop = rect.top
        previous = ch
      }
    }
  }
  return found
}

/** Single-line form controls stretched taller than 4rem (a flex size applied in a column). Runs in the page. */
function oversizedControls(): string[] {
  const d = (globalThis as unknown as { document: { querySelectorAll(s: string): Iterable<{ id: string; getAttribute(n: string): string | null; getBoundingClientRect(): { height: number } }> } }).document
  return [...d.querySelectorAll('input:not([type="hidden"]), select:not([multiple])')].filter((e) => e.getBoundingClientRect().height > 64).map((e) => `#${e.id || e.getAttribute('name') || '?'} is ${Math.round(e.getBoundingClientRect().height)} px tall`)
}

/** The admin navigation's links and which of them carry aria-current. Runs in the page. */
function adminNavigation(): { count: number; links: number; current: string[] } {
  const d = (globalThis as unknown as { document: { querySelectorAll(s: string): ArrayLike<{ getAttribute(n: string): string | null }> & Iterable<{ getAttribute(n: string): string | null }> } }).document
  const links = [...d.querySelectorAll('nav.admin-nav[aria-label="Admin"] a[href]')]
  return { count: d.querySelectorAll('nav.admin-nav').length, links: links.length, current: links.filter((a) => a.getAttribute('aria-current') === 'page').map((a) => a.getAttribute('href') ?? '') }
}

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
      '/approvals',
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
      '/admin/identity-providers',
      '/admin/identity-providers/new',
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
            for (const cell of await page.evaluate(brokenCells)) problems.push(`${where}: table cell ${cell}`)
            for (const control of await page.evaluate(oversizedControls)) problems.push(`${where}: form control ${control}`)
            if (path.startsWith('/admin')) {
              // One admin navigation; its current entry is the area this page belongs to (the longest matching prefix).
              const nav = await page.evaluate(adminNavigation)
              if (nav.count !== 1 || nav.links < 10) problems.push(`${where}: ${nav.count} admin navigations with ${nav.links} links`)
              if (nav.current.length !== 1 || !(path === nav.current[0] || path.startsWith(`${nav.current[0]}/`))) problems.push(`${where}: admin navigation marks ${JSON.stringify(nav.current)} as current`)
            }
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

  it('asks before a disruptive or destructive action, with buttons that say which is which, and confirms each action with a flash', async () => {
    const userPath = await firstLink(`/admin/users?q=${encodeURIComponent('alexandra.montgomery')}`, /^\/admin\/users\/\d+$/)
    await admin.goto(url(userPath))
    // Disabling (reversible) is a caution button, the confirmation's button is the filled danger one.
    expect(await admin.getByRole('button', { name: 'Disable' }).getAttribute('class')).toBe('caution')
    await Promise.all([admin.waitForLoadState('load'), admin.getByRole('button', { name: 'Disable' }).click()])
    expect(await headingOf(admin)).toContain('Disable account')
    expect(await admin.getByRole('button', { name: 'Disable account' }).getAttribute('class')).toBe('danger')
    await Promise.all([admin.waitForURL(url(userPath)), admin.getByRole('button', { name: 'Disable account' }).click()])
    expect(await admin.locator('main p.flash').textContent()).toBe('Account disabled; all its sessions have ended.')
    await Promise.all([admin.waitForLoadState('load'), admin.getByRole('button', { name: 'Enable' }).click()])
    await Promise.all([admin.waitForURL(url(userPath)), admin.getByRole('button', { name: 'Enable account' }).click()])
    expect(await admin.locator('main p.flash').textContent()).toBe('Account enabled.')

    // Deleting an invitation asks first; Cancel leaves it in place.
    const invitationPath = await firstLink('/admin/invitations', /^\/admin\/invitations\/\d+$/)
    await admin.goto(url(invitationPath))
    expect(await admin.getByRole('button', { name: 'Resend the same link' }).getAttribute('class')).toBe('secondary')
    await Promise.all([admin.waitForLoadState('load'), admin.getByRole('button', { name: 'Delete invitation…' }).click()])
    expect(await headingOf(admin)).toContain('Delete the invitation to')
    await Promise.all([admin.waitForURL(url(invitationPath)), admin.getByRole('link', { name: 'Cancel' }).click()])
    expect(await admin.getByRole('button', { name: 'Delete invitation…' }).count()).toBe(1)

    // Disabling a site is reversible (caution); rotating its key destroys the old one (danger); both ask first.
    const sitePath = await firstLink('/admin/sites', /^\/admin\/sites\/\d+$/)
    await admin.goto(url(sitePath))
    expect(await admin.getByRole('button', { name: 'Disable site…' }).getAttribute('class')).toBe('caution')
    expect(await admin.getByRole('button', { name: 'Rotate key…' }).getAttribute('class')).toBe('danger')
    await Promise.all([admin.waitForLoadState('load'), admin.getByRole('button', { name: 'Rotate key…' }).click()])
    expect(new URL(admin.url()).pathname).not.toBe(sitePath)
    expect(await admin.locator('form input[name="confirm"][value="yes"]').count()).toBe(1)
  })
})
