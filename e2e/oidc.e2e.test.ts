// Federated sign-in in real Chromium (SPEC §10): a real OpenID provider (oidc-provider, its own
// dev login and consent pages) on 127.0.0.2, the real Gatehouse server on 127.0.0.1 reaching it
// over loopback http. The admin adds the provider through /admin/identity-providers and invites
// a person; the invitee follows the link in the real email, clicks "Accept with …", is sent on by
// the "Continue to …" page, signs in on the provider's page, enrols TOTP (oathtool), keeps the
// recovery codes and lands signed in; signs out and in again with the provider button and TOTP.
// Another invitee signs in at the provider with a different address: the refusal page, no account.
// axe-core checks the refusal page and the "Continue to …" page, light and dark.
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ParsedMail } from 'mailparser'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import {
  completeFirstSignIn,
  currentTotp,
  escapeRegExp,
  headingOf,
  launchChromium,
  linkFrom,
  REPO_ROOT,
  secretFromOtpauthUri,
  sentTo,
  startGatehouse,
  startSmtpSink,
  temporaryPasswordFrom,
  waitForNextTotpStep,
  type GatehouseServer,
  type SmtpSink,
} from './support.ts'
import { startOidcTestProvider, TEST_CLIENT, type TestOidcProvider } from '../src/test/oidc-test-provider.ts'

const ADMIN_EMAIL = 'admin@example.org'
const ADMIN_PASSWORD = 'granite swallows circle the old harbour'
const PROVIDER_NAME = 'St Olav Hospital'
const INVITEE = { email: 'ines.dahl@stolav.example', login: 'ines', firstName: 'Ines', lastName: 'Dahl', username: 'ines_d' }
/** Invited at the hospital address, but the provider account says another one. */
const MISMATCH = { email: 'olav.berg@stolav.example', login: 'olav', providerEmail: 'olav.private@mail.example' }
const INVITATION_SUBJECT = 'You are invited to Gatehouse'
const AXE_PATH = join(REPO_ROOT, 'node_modules/axe-core/axe.min.js')
type Violation = { id: string; impact: string | null; nodes: { target: string[] }[] }

describe('OIDC in the browser: accept an invitation with a provider, enrol TOTP, sign in again; a mismatching address is refused', () => {
  let sink: SmtpSink
  let server: GatehouseServer
  let idp: TestOidcProvider
  let browser: Browser
  let adminContext: BrowserContext
  let admin: Page
  let inviteeContext: BrowserContext
  let invitee: Page
  let mismatchContext: BrowserContext | undefined
  let totpSecret = ''
  let lastStep = 0
  const pageErrors: string[] = []
  const consumed = new Set<ParsedMail>()

  const url = (path: string) => `${server.baseUrl}${path}`
  const pathOf = (page: Page) => new URL(page.url()).pathname
  const atProvider = (page: Page) => new URL(page.url()).origin === idp.issuer
  const watch = (page: Page, who: string) => page.on('pageerror', (error) => pageErrors.push(`${who}: ${error.message}`))

  async function nextEmail(to: string, subject: string | RegExp): Promise<ParsedMail> {
    const mail = await sink.waitForEmail((m) => !consumed.has(m) && sentTo(to)(m) && (typeof subject === 'string' ? m.subject === subject : subject.test(m.subject ?? '')))
    consumed.add(mail)
    return mail
  }

  /** A context whose pages reach only the two loopback servers (the provider's dev page imports a web font). */
  async function newContext(options: { bypassCSP?: boolean } = {}): Promise<BrowserContext> {
    const context = await browser.newContext(options)
    await context.route(/^https?:\/\/(?!127\.0\.0\.[12][:/])/, (route) => route.abort())
    return context
  }

  /** On the provider's own login page: types the login and a password, then gives consent when asked; ends back at Gatehouse. */
  async function signInAtProvider(page: Page, login: string): Promise<void> {
    await page.waitForURL((u) => u.origin === idp.issuer && u.pathname.startsWith('/interaction/'))
    await page.locator('input[name="login"]').fill(login)
    await page.locator('input[name="password"]').fill('any password will do here')
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Sign-in' }).click()])
    if (atProvider(page)) {
      // the consent page of the dev interactions
      await Promise.all([page.waitForURL((u) => u.origin === new URL(server.baseUrl).origin), page.getByRole('button', { name: 'Continue' }).click()])
    }
    await page.waitForLoadState('load')
  }

  /** Serious and critical axe-core violations of the page as it is, light and dark (the context must bypass CSP). */
  async function axeProblems(page: Page): Promise<string[]> {
    const problems: string[] = []
    await page.addScriptTag({ path: AXE_PATH })
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme })
      const violations = await page.evaluate(async () => (await (globalThis as unknown as { axe: { run(): Promise<{ violations: Violation[] }> } }).axe.run()).violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => ({ target: n.target })) })))
      for (const v of violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')) problems.push(`${scheme}: ${v.id} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)
    }
    return problems
  }

  /** The admin invites `email` as a researcher; returns the link from the real invitation email. */
  async function invite(email: string): Promise<string> {
    await admin.goto(url('/admin/invitations'))
    const form = admin.locator('form', { has: admin.getByRole('button', { name: 'Send invitation' }) })
    await form.getByLabel('Email', { exact: true }).fill(email)
    await form.getByLabel('Site role').selectOption('researcher')
    await Promise.all([admin.waitForURL(/\/admin\/invitations\/\d+$/), form.getByRole('button', { name: 'Send invitation' }).click()])
    expect(await admin.locator('p.flash').innerText()).toBe(`Invitation sent to ${email}.`)
    return linkFrom(await nextEmail(email, INVITATION_SUBJECT), `${server.baseUrl}/invite/`)
  }

  async function fillNames(page: Page, answers: { firstName: string; lastName: string; username: string }) {
    await page.getByLabel('First name').fill(answers.firstName)
    await page.getByLabel('Last name').fill(answers.lastName)
    await page.getByLabel('Username').fill(answers.username)
  }

  beforeAll(async () => {
    sink = await startSmtpSink()
    server = await startGatehouse({ smtpPort: sink.port, adminEmail: ADMIN_EMAIL, logFile: join(REPO_ROOT, 'test-results/oidc.server.log') })
    idp = await startOidcTestProvider(
      { [INVITEE.login]: { email: INVITEE.email, email_verified: true }, [MISMATCH.login]: { email: MISMATCH.providerEmail, email_verified: true } },
      { host: '127.0.0.2', redirectUri: `${server.baseUrl}/login/oidc/callback` },
    )
    browser = await launchChromium()
    adminContext = await newContext()
    admin = await adminContext.newPage()
    inviteeContext = await newContext()
    invitee = await inviteeContext.newPage()
    watch(admin, 'admin')
    watch(invitee, 'invitee')
  })

  afterAll(async () => {
    await mismatchContext?.close()
    await inviteeContext?.close()
    await adminContext?.close()
    await browser?.close()
    await idp?.close()
    await server?.stop()
    await sink?.stop()
  })

  it('the admin signs in and adds the provider through /admin/identity-providers (loopback http issuer)', async () => {
    const temporaryPassword = temporaryPasswordFrom(await nextEmail(ADMIN_EMAIL, 'Your Gatehouse account'))
    await completeFirstSignIn(admin, server.baseUrl, { email: ADMIN_EMAIL, temporaryPassword, newPassword: ADMIN_PASSWORD })

    await admin.goto(url('/admin/identity-providers'))
    expect(await headingOf(admin)).toBe('Identity providers')
    await admin.getByRole('link', { name: 'Add a provider' }).click()
    await admin.waitForURL(url('/admin/identity-providers/new'))
    expect(await admin.locator('main code').first().innerText()).toBe(url('/login/oidc/callback'))
    await admin.getByLabel('Name').fill(PROVIDER_NAME)
    await admin.getByLabel('Issuer URL').fill(idp.issuer)
    await admin.getByLabel('Client ID').fill(TEST_CLIENT.clientId)
    await admin.getByLabel('Client secret').fill(TEST_CLIENT.clientSecret)
    await admin.getByLabel('Scopes').fill('openid email')
    await admin.getByLabel('Enabled').check()
    expect(await admin.getByLabel("Trust the provider's second factor").isChecked()).toBe(false)
    await Promise.all([admin.waitForURL(/\/admin\/identity-providers\/\d+$/), admin.getByRole('button', { name: 'Add provider' }).click()])
    expect(await admin.locator('p.flash').innerText()).toContain(`${PROVIDER_NAME} added.`)
    // the secret is never shown again
    expect(await admin.getByLabel('Client secret').inputValue()).toBe('')
    expect(await admin.content()).not.toContain(TEST_CLIENT.clientSecret)

    // the sign-in page offers it (a plain link: works without JavaScript)
    const anonymous = await newContext()
    const login = await anonymous.newPage()
    await login.goto(url('/login'))
    expect(await login.getByRole('link', { name: `Sign in with ${PROVIDER_NAME}` }).getAttribute('href')).toMatch(/^\/login\/oidc\/\d+$/)
    await anonymous.close()
  })

  it('the invitee clicks “Accept with …” from the emailed link, signs in at the provider, enrols TOTP and lands signed in', async () => {
    const link = await invite(INVITEE.email)
    await invitee.goto(link)
    expect(await headingOf(invitee)).toBe('Welcome to Gatehouse')
    await fillNames(invitee, INVITEE)
    // the form's answer is the "Continue to …" page, which moves on by its Refresh header (CSP form-action 'self')
    const [handoff] = await Promise.all([
      invitee.waitForResponse((r) => r.request().method() === 'POST' && /^\/invite\/[a-z0-9]+\/oidc$/.test(new URL(r.url()).pathname)),
      invitee.getByRole('button', { name: `Accept with ${PROVIDER_NAME}` }).click(),
    ])
    expect(handoff.status()).toBe(200)
    expect(handoff.headers()['refresh']).toMatch(new RegExp(`^0; url=${escapeRegExp(idp.issuer)}/auth\\?`))

    await signInAtProvider(invitee, INVITEE.login)
    await invitee.waitForURL(url('/mfa/setup'))
    expect(await headingOf(invitee)).toBe('Set up your authenticator')
    totpSecret = secretFromOtpauthUri((await invitee.locator('#totp-uri').getAttribute('href')) ?? '')
    const first = currentTotp(totpSecret)
    lastStep = first.step
    await invitee.getByLabel('Code from your app').fill(first.code)
    await Promise.all([invitee.waitForURL(url('/mfa/recovery-codes')), invitee.getByRole('button', { name: 'Confirm and continue' }).click()])
    await invitee.getByRole('button', { name: 'Create my recovery codes' }).click()
    expect(await headingOf(invitee)).toBe('Your recovery codes')
    const codes = (await invitee.locator('#recovery-codes').innerText()).trim().split(/\s+/)
    expect(codes).toHaveLength(10)
    for (const code of codes) expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}$/)
    await Promise.all([invitee.waitForURL(url('/')), invitee.getByRole('link', { name: 'I have saved my codes: continue' }).click()])
    expect(pathOf(invitee)).toBe('/')
    expect(await headingOf(invitee)).toBe(`Welcome, ${INVITEE.firstName}`)

    // no password of its own, claimed through the provider: the admin's user page says so
    await admin.goto(url(`/admin/users?q=${encodeURIComponent(INVITEE.email)}`))
    await admin.getByRole('link', { name: INVITEE.email }).click()
    await admin.waitForURL(/\/admin\/users\/\d+$/)
    expect(await admin.locator('main').innerText()).toContain(PROVIDER_NAME)
    await nextEmail(ADMIN_EMAIL, `${INVITEE.firstName} ${INVITEE.lastName} joined Gatehouse`)
  })

  it('signs out, then in again with the provider button on /login and a fresh TOTP code', async () => {
    await invitee.getByRole('button', { name: 'Sign out' }).click()
    await invitee.waitForURL(url('/login'))
    // the provider still remembers the person: forget that, so its login page is shown again
    await inviteeContext.clearCookies({ domain: '127.0.0.2' })
    await invitee.getByRole('link', { name: `Sign in with ${PROVIDER_NAME}` }).click()
    await signInAtProvider(invitee, INVITEE.login)
    await invitee.waitForURL(url('/login/mfa'))
    expect(await headingOf(invitee)).toBe('Authenticator code')
    await waitForNextTotpStep(lastStep)
    const { code } = currentTotp(totpSecret)
    await invitee.getByLabel('6-digit code').fill(code)
    await Promise.all([invitee.waitForURL(url('/')), invitee.getByRole('button', { name: 'Verify' }).click()])
    expect(await headingOf(invitee)).toBe(`Welcome, ${INVITEE.firstName}`)
  })

  it('another invitee signs in at the provider with a different address: the refusal page, no account (axe on it and on “Continue to …”)', async () => {
    const link = await invite(MISMATCH.email)
    // bypassCSP only so that axe-core can be injected
    mismatchContext = await newContext({ bypassCSP: true })
    const page = await mismatchContext.newPage()
    watch(page, 'mismatching invitee')
    // keep the "Continue to …" page on screen (no Refresh) to check it and follow its link by hand
    await page.route(/\/invite\/[a-z0-9]+\/oidc$/, async (route) => {
      const response = await route.fetch()
      const headers = { ...response.headers() }
      delete headers['refresh']
      await route.fulfill({ response, headers })
    })
    await page.goto(link)
    await fillNames(page, { firstName: 'Olav', lastName: 'Berg', username: 'olav_b' })
    await Promise.all([page.waitForURL(/\/invite\/[a-z0-9]+\/oidc$/), page.getByRole('button', { name: `Accept with ${PROVIDER_NAME}` }).click()])
    expect(await headingOf(page)).toBe(`Continue to ${PROVIDER_NAME}`)
    expect(await axeProblems(page)).toEqual([])
    await page.getByRole('link', { name: `Continue to ${PROVIDER_NAME}` }).click()

    await signInAtProvider(page, MISMATCH.login)
    expect(pathOf(page)).toBe('/login/oidc/callback')
    expect(await headingOf(page)).toBe('This is not the invited address')
    const text = await page.locator('main').innerText()
    expect(text).toContain(`${PROVIDER_NAME} signed you in as ${MISMATCH.providerEmail}, but the invitation is for ${MISMATCH.email}. No account was created.`)
    expect(await page.getByRole('link', { name: 'Open the invitation again' }).getAttribute('href')).toBe(new URL(link).pathname)
    expect(await axeProblems(page)).toEqual([])

    // nothing was created: no account for either address, and the invitation is still open
    await admin.goto(url(`/admin/users?q=${encodeURIComponent('olav')}`))
    const rows = admin.getByRole('row', { name: new RegExp(escapeRegExp(MISMATCH.email)) })
    expect(await rows.count()).toBe(1)
    expect(await rows.locator('a').getAttribute('href')).toMatch(/^\/admin\/invitations\/\d+$/)
    expect(await admin.locator('main').innerText()).not.toContain(MISMATCH.providerEmail)
    // and it can still be accepted: the link opens the form again
    await page.getByRole('link', { name: 'Open the invitation again' }).click()
    expect(await headingOf(page)).toBe('Welcome to Gatehouse')
  })

  it('raised no script error in any page', () => {
    expect(pageErrors).toEqual([])
  })
})
