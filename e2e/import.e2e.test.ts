// The consortium import in real Chromium, against the real server and a real SMTP sink. The admin
// uploads a structure file at Admin → Consortium and applies its plan; then, at Admin → Import,
// uploads a user directory and an authorization map, waits for the background plan (htmx polls),
// reads its counts, actions and warnings, downloads the JSON report and applies the import after
// the confirmation page. The invited person's real claim email goes to their auth_email; its link,
// opened in a browser context of their own, shows the acceptance form prefilled with the name from
// the directory; they accept, and the admin finds the granted project roles on their account.
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
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
  recipientsOf,
  sentTo,
  startGatehouse,
  startSmtpSink,
  temporaryPasswordFrom,
  type GatehouseServer,
  type SmtpSink,
} from './support.ts'

const ADMIN_EMAIL = 'admin@example.org'
const ADMIN_PASSWORD = 'saffron ledger drifts past nine quiet piers'
const FIXTURES = join(REPO_ROOT, 'e2e/fixtures/import')

/** Entry [0] of users.yaml: invited at auth_email; email becomes the account's second address. */
const ANN = { authEmail: 'ann@alpha.example.org', email: 'ann.smith@alpha.example.org', firstName: 'Ann', lastName: 'Smith', username: 'ann_smith', password: 'tawny lantern crosses seven salt marshes' }
/** Entry [2]: centre 42 is unknown, so invited without roles (a warning). */
const OMAR = { authEmail: 'omar@omega.example.org' }
/** The roles Ann's authorizations give (auth.yaml; on `accepted`, contributor outranks read-only). */
const ANN_GRANTS: [project: string, role: string][] = [
  ['Alpha ADRC/metadata', 'read-only'],
  ['Alpha ADRC/accepted', 'contributor'],
  ['Alpha ADRC/accepted', 'read-only'], // view-reports and approve-data both map here: the membership holds both (SPEC §2.3)
  ['Alpha ADRC/ingest-form', 'contributor'],
  ['NACC/metadata', 'read-only'],
]

const INVITATION_SUBJECT = 'You are invited to Gatehouse'
const CODE_SUBJECT = 'Your Gatehouse security code'



describe('an admin sets up the consortium structure, imports a user directory in the browser, and the invitee accepts', () => {
  let sink: SmtpSink
  let server: GatehouseServer
  let browser: Browser
  /** The admin's browser context and page. */
  let adminContext: BrowserContext
  let admin: Page
  /** The invitee's: its own cookies. */
  let inviteeContext: BrowserContext | undefined
  /** Path of the import run's page, e.g. /admin/import/1. */
  let runPath = ''
  /** Uncaught script errors in any page (htmx blocked by the CSP would show here). */
  const pageErrors: string[] = []

  const url = (path: string) => `${server.baseUrl}${path}`
  const pathOf = (page: Page) => new URL(page.url()).pathname
  const heading = headingOf
  const flash = (page: Page) => page.locator('p.flash')
  const main = async (page: Page) => await page.locator('main').innerText()
  const screenshot = (page: Page, name: string) => page.screenshot({ path: join(REPO_ROOT, 'test-results', name), fullPage: true })
  const watch = (page: Page, who: string) => page.on('pageerror', (error) => pageErrors.push(`${who}: ${error.message}`))
  /** The texts of the cells of every row of the report table (the one after the filter form). */
  const reportRows = async (page: Page) => {
    const rows = page.locator('#report table tbody tr')
    const out: string[][] = []
    for (const row of await rows.all()) out.push((await row.getByRole('cell').allInnerTexts()).map((t) => t.trim()))
    return out
  }

  beforeAll(async () => {
    mkdirSync(join(REPO_ROOT, 'test-results'), { recursive: true })
    sink = await startSmtpSink()
    server = await startGatehouse({ smtpPort: sink.port, adminEmail: ADMIN_EMAIL, logFile: join(REPO_ROOT, 'test-results/import.server.log') })
    browser = await launchChromium()
    adminContext = await browser.newContext()
    admin = await adminContext.newPage()
    watch(admin, 'admin')
  })

  afterAll(async () => {
    await inviteeContext?.close()
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

  it('Admin → Consortium: uploads structure.yaml, sees the plan, applies it and sees the flash and the centre', async () => {
    await admin.goto(url('/admin'))
    await admin.getByRole('navigation', { name: 'Admin' }).getByRole('link', { name: 'Consortium', exact: true }).click()
    await admin.waitForURL(url('/admin/consortium'))
    expect(await heading(admin)).toBe('Consortium structure')
    expect(await main(admin)).toContain('No structure yet')

    await admin.getByLabel('Structure file (YAML)').setInputFiles(join(FIXTURES, 'structure.yaml'))
    const [planResponse] = await Promise.all([
      admin.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/admin/consortium'),
      admin.getByRole('button', { name: 'Show what it would change' }).click(),
    ])
    expect(planResponse.status()).toBe(200)
    await admin.getByRole('heading', { level: 1, name: 'What this structure would change' }).waitFor()
    expect(await main(admin)).toContain('Read from the file “structure.yaml”. Nothing has been changed yet.')
    const summary = await admin.locator('#plan-summary').innerText()
    expect(summary).toMatch(/Studies to create\s+1/)
    expect(summary).toMatch(/Data types to create\s+1/)
    expect(summary).toMatch(/Groups to create\s+2/)
    expect(summary).toMatch(/Projects to create\s+5/)
    expect(summary).toMatch(/Admin group\s+NACC/)
    expect((await admin.locator('#plan-projects li').allInnerTexts()).map((t) => t.trim()).sort()).toEqual(
      ['Alpha ADRC/accepted', 'Alpha ADRC/ingest-form', 'Alpha ADRC/metadata', 'Alpha ADRC/sandbox-form', 'NACC/metadata'].sort(),
    )
    await screenshot(admin, 'import-consortium-plan.png')

    await admin.getByRole('button', { name: 'Apply the structure' }).click()
    await admin.waitForURL(url('/admin/consortium'))
    expect(await flash(admin).innerText()).toMatch(/^Consortium structure applied: created 1 study, 1 data type, 2 groups, 1 centre–study link and 5 projects/)
    const centre = admin.locator('#centres').getByRole('row', { name: /Alpha ADRC/ })
    expect((await centre.getByRole('cell').allInnerTexts()).map((t) => t.trim())).toEqual(['1', 'Alpha ADRC', 'adrc', '4 of 4'])
    expect(await main(admin)).toContain('NACC — metadata project present')
  })

  it('the import form: every file input has a label, and the keyboard walks the form in order', async () => {
    await admin.goto(url('/admin'))
    await admin.getByRole('navigation', { name: 'Admin' }).getByRole('link', { name: 'Import', exact: true }).click()
    await admin.waitForURL(url('/admin/import'))
    expect(await heading(admin)).toBe('Consortium import')
    // The structure is in place, so no "set up the structure first" notice.
    expect(await main(admin)).not.toContain('No consortium structure is set up yet')
    expect(await main(admin)).toContain('No imports yet.')

    // (The project's tsconfig has no DOM types, as in the other journeys: the shapes used are spelled out.)
    type LabelledInput = { name: string; labels: ArrayLike<{ textContent: string | null }> | null }
    const inputs = await admin.locator('input[type=file]').evaluateAll((elements) =>
      (elements as unknown as LabelledInput[]).map((input) => ({ name: input.name, labels: Array.from(input.labels ?? []).map((l) => l.textContent?.trim() ?? '') })),
    )
    expect(inputs).toEqual([
      { name: 'users', labels: ['User directory (YAML)'] },
      { name: 'authorizations', labels: ['Authorization map (YAML)'] },
      { name: 'domains', labels: ['Domain config (YAML, optional)'] },
    ])
    // Each radio button is labelled by the text around it, in a fieldset with a legend.
    expect(await admin.getByRole('group', { name: 'Follow-ups for unclaimed invitations' }).getByRole('radio').count()).toBe(3)
    expect(await admin.getByLabel('None: no follow-ups').isChecked()).toBe(true)

    // Tab order: the three files, the checked radio button, the submit button.
    type FocusedElement = { tagName: string; textContent: string | null; getAttribute(name: string): string | null }
    const focused = () =>
      admin.evaluate(() => {
        const el = (globalThis as unknown as { document: { activeElement: FocusedElement | null } }).document.activeElement
        return el === null ? null : `${el.tagName.toLowerCase()}:${el.getAttribute('name') ?? el.textContent?.trim()}`
      })
    await admin.getByLabel('User directory (YAML)').focus()
    const order = [await focused()]
    for (let i = 0; i < 4; i++) {
      await admin.keyboard.press('Tab')
      order.push(await focused())
    }
    expect(order).toEqual(['input:users', 'input:authorizations', 'input:domains', 'input:notify', 'button:Upload and plan'])
  })

  it('Admin → Import: uploads users.yaml and auth.yaml with notify “None”, is sent to the run page and sees the plan', async () => {
    await admin.getByLabel('User directory (YAML)').setInputFiles(join(FIXTURES, 'users.yaml'))
    await admin.getByLabel('Authorization map (YAML)').setInputFiles(join(FIXTURES, 'auth.yaml'))
    await admin.getByLabel('None: no follow-ups').check()
    const progressPolls: { hxRequest: string | undefined; status: number; hxRedirect: string | undefined }[] = []
    admin.on('response', (r) => {
      if (/^\/admin\/import\/\d+\/progress$/.test(new URL(r.url()).pathname)) progressPolls.push({ hxRequest: r.request().headers()['hx-request'], status: r.status(), hxRedirect: r.headers()['hx-redirect'] })
    })
    // The first load of the run page, read at once (htmx navigates away from it when the plan is done).
    const firstRunPage = admin
      .waitForResponse((r) => r.request().method() === 'GET' && r.request().resourceType() === 'document' && /^\/admin\/import\/\d+$/.test(new URL(r.url()).pathname))
      .then((r) => r.text())
      .catch(() => null)
    const [response] = await Promise.all([
      admin.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/admin/import'),
      admin.getByRole('button', { name: 'Upload and plan' }).click(),
    ])
    expect(response.status()).toBe(303)
    expect(response.headers()['location']).toMatch(/^\/admin\/import\/\d+$/)
    await admin.waitForURL(/\/admin\/import\/\d+$/)
    runPath = pathOf(admin)
    expect(response.headers()['location']).toBe(runPath)

    // Planning runs in the background; the page polls its progress (htmx, every second) and is
    // sent to the plan when it is done. A plan of 3 entries may already be done on the first load.
    await admin.getByRole('heading', { level: 2, name: 'Plan' }).waitFor({ timeout: 30_000 })
    expect(pathOf(admin)).toBe(runPath)
    expect(await admin.locator('#import-progress').count()).toBe(0)
    // Usually the first load still shows the progress (a labelled <progress>); htmx then polls it
    // until the server answers with HX-Redirect to the same page. On a fast machine the plan may be
    // done before the first load, and then there is nothing to poll.
    const firstHtml = await firstRunPage
    if (firstHtml?.includes('id="import-progress"')) {
      expect(firstHtml).toMatch(/<label for="import-progress-bar">[^<]+<\/label><progress id="import-progress-bar"/)
      expect(progressPolls.length).toBeGreaterThan(0)
    }
    expect(progressPolls.every((p) => p.hxRequest === 'true' && p.status === 200)).toBe(true)
    if (progressPolls.length > 0) expect(progressPolls.at(-1)!.hxRedirect).toBe(runPath)
    expect(await heading(admin)).toMatch(/^Import #\d+ Planned, not applied$/)
    const facts = await admin.locator('dl.facts').innerText()
    expect(facts).toMatch(/Files\s+users\.yaml, auth\.yaml \(no domain config: no domain checks\)/)
    expect(facts).toMatch(/Follow-ups\s+None: no follow-ups/)
    expect(facts).toContain(`by ${ADMIN_EMAIL}`)

    const counts = (await admin.locator('ul.counts li').allInnerTexts()).map((t) => t.replace(/\s+/g, ' ').trim())
    expect(counts).toEqual([
      `2 invitations (${ANN_GRANTS.length} project roles granted on acceptance)`,
      '0 project roles granted to existing accounts',
      '0 accounts enabled, 0 disabled',
      '0 follow-ups, 0 skipped',
      '0 errors, 1 warning, 0 flags',
    ])
    await screenshot(admin, 'import-plan.png')

    // The actions (the default section): Ann's invitation to her auth_email, her grants on acceptance, Omar's invitation.
    expect(await admin.getByRole('navigation', { name: 'Report sections' }).getByRole('link', { name: `Actions (${1 + ANN_GRANTS.length + 1})` }).getAttribute('aria-current')).toBe('page')
    const rows = await reportRows(admin)
    // Columns: Entry, Email, Action, Account, Project, Role, Note.
    expect(rows.length).toBe(1 + ANN_GRANTS.length + 1)
    expect(rows[0]).toEqual(['0', ANN.email, 'invite', ANN.authEmail, '', '', ''])
    expect(rows.filter((r) => r[2] === 'grant').map((r) => [r[0], r[1], r[3], r[4], r[5], r[6]]).sort()).toEqual(
      ANN_GRANTS.map(([project, role]) => ['0', ANN.email, ANN.authEmail, project, role, 'on acceptance']).sort(),
    )
    expect(rows.at(-1)).toEqual(['2', OMAR.authEmail, 'invite', OMAR.authEmail, '', '', ''])
    // Nothing for the inactive entry [1], whose address no account has.
    expect(rows.some((r) => r[0] === '1')).toBe(false)

    // The warnings section lists the unknown centre.
    await admin.getByRole('navigation', { name: 'Report sections' }).getByRole('link', { name: 'Warnings (1)' }).click()
    await admin.waitForURL((u) => u.pathname === runPath && u.searchParams.get('section') === 'warnings')
    const warnings = await reportRows(admin)
    expect(warnings.length).toBe(1)
    // Columns: Entry, Email, Code, Warning.
    expect(warnings[0]!.slice(0, 3)).toEqual(['2', OMAR.authEmail, 'unknown_center'])
    expect(warnings[0]![3]).toBe('Centre 42 is not in the consortium structure: the user is invited but gets no roles')
    // No errors, no flags.
    expect(await admin.getByRole('link', { name: 'Errors (0)' }).count()).toBe(1)
    expect(await admin.getByRole('link', { name: 'Flags (0)' }).count()).toBe(1)
    // Nothing was sent yet: only the admin's own account email so far.
    expect(sink.messages.filter((m) => !sentTo(ADMIN_EMAIL)(m))).toEqual([])
  })

  it('the report download answers JSON with the top-level keys of SPEC §6.6', async () => {
    const link = admin.getByRole('link', { name: 'Download the report (JSON)' })
    expect(await link.getAttribute('download')).not.toBeNull()
    const href = await link.getAttribute('href')
    expect(href).toBe(`${runPath}/report.json`)

    const response = await adminContext.request.get(url(href!), { maxRedirects: 0 })
    expect(response.status()).toBe(200)
    expect(response.headers()['content-type']).toMatch(/^application\/json/)
    expect(response.headers()['content-disposition']).toMatch(/^attachment; filename="gatehouse-import-\d+\.json"$/)
    const report = (await response.json()) as Record<string, unknown>
    expect(Object.keys(report).sort()).toEqual(['actions', 'applied', 'errors', 'flags', 'ok', 'warnings'])
    expect(report.ok).toBe(true)
    expect(report.applied).toBe(false)
    expect(report.errors).toEqual([])
    expect(report.flags).toEqual([])
    const actions = report.actions as Record<string, unknown>[]
    expect(actions.filter((a) => a.action === 'invite').map((a) => a.account)).toEqual([ANN.authEmail, OMAR.authEmail])
    expect(actions.filter((a) => a.action === 'grant').every((a) => a.on_accept === true && a.entry === 0 && a.email === ANN.email)).toBe(true)
    expect((report.warnings as Record<string, unknown>[]).map((w) => [w.entry, w.code])).toEqual([[2, 'unknown_center']])

    // The same URL without the admin's cookies is not served.
    const anonymous = await fetch(url(href!), { redirect: 'manual' })
    expect(anonymous.status).toBe(303)
    expect(anonymous.headers.get('Location')).toMatch(/^\/login/)
  })

  it('“Apply this import…” asks for confirmation; “Apply the import” applies it and the page shows “Applied” with the result', async () => {
    await admin.goto(url(runPath))
    await admin.getByRole('button', { name: 'Apply this import…' }).click()
    await admin.waitForURL(url(`${runPath}/apply`))
    expect(await heading(admin)).toMatch(/^Apply import #\d+\?$/)
    expect(await main(admin)).toContain('This invites 2 people (sending their claim emails), grants 0 project roles, enables 0 and disables 0 accounts')
    expect(await admin.getByRole('link', { name: 'Cancel' }).getAttribute('href')).toBe(runPath)
    await screenshot(admin, 'import-confirm.png')

    await admin.getByRole('button', { name: 'Apply the import' }).click()
    await admin.waitForURL(url(runPath))
    // Applying runs in the background too; the page is sent to the result when it is done.
    await admin.getByRole('heading', { level: 2, name: 'Result' }).waitFor({ timeout: 30_000 })
    expect(await heading(admin)).toMatch(/^Import #\d+ Applied$/)
    expect(await admin.locator('#import-progress').count()).toBe(0)
    expect(await admin.locator('dl.facts').innerText()).toMatch(new RegExp(`Applied\\s+.+by ${escapeRegExp(ADMIN_EMAIL)}`))
    expect((await main(admin)).replace(/\s+/g, ' ')).toContain('Changed: 2 invited, 0 granted, 0 enabled, 0 disabled (0 sessions ended), 0 follow-ups sent.')
    expect(await admin.getByRole('button', { name: 'Apply this import…' }).count()).toBe(0)
    await screenshot(admin, 'import-applied.png')

    // The run is listed on the import page.
    await admin.goto(url('/admin/import'))
    const row = admin.getByRole('row', { name: /users\.yaml/ })
    expect(await row.getByRole('link').getAttribute('href')).toBe(runPath)
    expect(await row.locator('.badge').innerText()).toBe('Applied')
  })

  it('the claim email goes to Ann’s auth_email; its link, in her own browser context, shows the form prefilled from the directory', async () => {
    const mail = await sink.waitForEmail((m) => sentTo(ANN.authEmail)(m) && m.subject === INVITATION_SUBJECT, 30_000)
    expect(recipientsOf(mail)).toEqual([ANN.authEmail])
    expect(mail.text).toContain('has invited you to Gatehouse (Alpha ADRC).')
    // Nothing went to her second address, and Omar was invited too.
    expect(sink.messages.some(sentTo(ANN.email))).toBe(false)
    await sink.waitForEmail((m) => sentTo(OMAR.authEmail)(m) && m.subject === INVITATION_SUBJECT, 30_000)

    const link = linkFrom(mail, `${server.baseUrl}/invite/`)
    expect(link).toMatch(new RegExp(`^${escapeRegExp(server.baseUrl)}/invite/[a-z0-9]+$`))
    inviteeContext = await browser.newContext()
    const invitee = await inviteeContext.newPage()
    watch(invitee, 'invitee')
    const response = await invitee.goto(link)
    expect(response?.status()).toBe(200)
    expect(await heading(invitee)).toBe('Welcome to Gatehouse')
    expect(await main(invitee)).toContain(`You are creating the account for ${ANN.authEmail}.`)
    expect(await invitee.locator('input[name=first_name]').inputValue()).toBe(ANN.firstName)
    expect(await invitee.locator('input[name=last_name]').inputValue()).toBe(ANN.lastName)
    expect(await invitee.getByLabel('First name').inputValue()).toBe(ANN.firstName)
    expect(await invitee.getByLabel('Last name').inputValue()).toBe(ANN.lastName)
    await screenshot(invitee, 'import-invite-form.png')

    // She keeps the prefilled name, chooses a username and password, types the emailed code and enrols TOTP.
    await invitee.getByLabel('Username').fill(ANN.username)
    await invitee.getByLabel('Password', { exact: true }).fill(ANN.password)
    await invitee.getByLabel('Repeat the password').fill(ANN.password)
    await invitee.getByRole('button', { name: 'Continue', exact: true }).click()
    await invitee.getByRole('heading', { level: 1, name: 'Check your email' }).waitFor()
    const code = securityCodeFrom(await sink.waitForEmail((m) => sentTo(ANN.authEmail)(m) && m.subject === CODE_SUBJECT, 30_000))
    await invitee.getByLabel('Security code').fill(code)
    await invitee.getByRole('button', { name: 'Create my account', exact: true }).click()
    await invitee.waitForURL(url('/mfa/setup'))
    await enrolTotp(invitee, server.baseUrl)
    expect(await heading(invitee)).toBe(`Welcome, ${ANN.firstName}`)

    // The granted projects are hers.
    await invitee.goto(url('/projects'))
    for (const [project] of ANN_GRANTS) expect(await invitee.getByRole('link', { name: project, exact: true }).count()).toBe(1)
  })

  it('the admin finds Ann’s account with both addresses and the imported project roles', async () => {
    await admin.goto(url(`/admin/users?q=${encodeURIComponent(ANN.authEmail)}`))
    const row = admin.getByRole('row', { name: new RegExp(escapeRegExp(ANN.authEmail)) })
    // cells[0] is the row's select box (bulk actions)
    const cells = (await row.getByRole('cell').allInnerTexts()).map((t) => t.trim())
    expect(cells.slice(1, 7)).toEqual([ANN.firstName, ANN.lastName, ANN.username, ANN.authEmail, 'Alpha ADRC', 'researcher'])
    await row.getByRole('link', { name: ANN.authEmail }).click()
    await admin.waitForURL(/\/admin\/users\/\d+$/)
    expect(await admin.locator('dl.facts').first().innerText()).toMatch(new RegExp(`Second email\\s+${escapeRegExp(ANN.email)}`))
    const text = await main(admin)
    // a membership lists its roles: "Alpha ADRC/accepted — contributor, read-only ("
    for (const [project, role] of ANN_GRANTS) expect(text).toMatch(new RegExp(`${escapeRegExp(project)} — (?:[\\w-]+, )*${escapeRegExp(role)}(?:, [\\w-]+)* \\(`))
  })

  it('raised no script error in any browser page', () => {
    expect(pageErrors).toEqual([])
  })
})
