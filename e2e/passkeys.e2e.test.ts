// Passkeys in real Chromium through the DevTools protocol's virtual authenticator (CTAP2, internal,
// resident keys, user verification): register one in the passkeys section of /account, use it as the second
// factor after the password, sign in with it alone (Chromium's assertion replayed is refused),
// replace the authenticator with it as the fresh factor, remove it (confirmed) and see it refused.
// The security email arrives by real SMTP. BASE_URL is http://localhost:<port>: an RP id cannot
// be an IP address.
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, BrowserContext, CDPSession, Page } from 'playwright-core'
import { completeFirstSignIn, currentTotp, launchChromium, secretFromOtpauthUri, REPO_ROOT, sentTo, startGatehouse, startSmtpSink, temporaryPasswordFrom, type GatehouseServer, type SmtpSink } from './support.ts'

const EMAIL = 'passkey.admin@example.org'
const PASSWORD = 'amber lighthouses hum over quiet fjords'

describe('passkeys: register, second factor, passwordless sign-in, removal', () => {
  let sink: SmtpSink
  let server: GatehouseServer
  let browser: Browser
  let context: BrowserContext
  let page: Page
  let cdp: CDPSession
  let authenticatorId = ''
  const pageErrors: string[] = []
  const url = (path: string) => `${server.baseUrl}${path}`

  beforeAll(async () => {
    sink = await startSmtpSink()
    server = await startGatehouse({ smtpPort: sink.port, adminEmail: EMAIL, publicHost: 'localhost', logFile: join(REPO_ROOT, 'test-results/passkeys.server.log') })
    browser = await launchChromium()
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
    page = await context.newPage()
    page.on('pageerror', (error) => pageErrors.push(error.message))
    cdp = await context.newCDPSession(page)
    await cdp.send('WebAuthn.enable')
    ;({ authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
    }))
  })

  afterAll(async () => {
    await context?.close()
    await browser?.close()
    await server?.stop()
    await sink?.stop()
  })

  async function signOut() {
    await page.goto(url('/'))
    await page.getByRole('button', { name: 'Sign out' }).click()
    await page.waitForURL(url('/login'))
  }

  it('registers a passkey with a name from the passkeys section of the account page', async () => {
    const temporaryPassword = temporaryPasswordFrom(await sink.waitForEmail(sentTo(EMAIL)))
    await completeFirstSignIn(page, server.baseUrl, { email: EMAIL, temporaryPassword, newPassword: PASSWORD })
    await page.getByRole('link', { name: 'Your account', exact: true }).click()
    await page.waitForURL(url('/account'))
    expect(await page.locator('#passkeys-none').isVisible()).toBe(true)
    expect(await page.getByText('Passkeys need JavaScript').isVisible()).toBe(false)
    await page.getByLabel('Name of the new passkey').fill('Virtual laptop key')
    await page.getByRole('button', { name: 'Add a passkey' }).click()
    await page.waitForURL(url('/account#passkeys'))
    await page.locator('#passkeys-table').waitFor()
    expect(await page.locator('.flash').innerText()).toContain('Passkey “Virtual laptop key” added.')
    expect(await page.locator('#passkeys-table').innerText()).toContain('Virtual laptop key')
    const notice = await sink.waitForEmail((m) => sentTo(EMAIL)(m) && (m.subject ?? '').includes('A passkey was added'))
    expect(notice.text).toContain('Virtual laptop key')
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId })
    expect(credentials).toHaveLength(1)
    expect(credentials[0]!.isResidentCredential).toBe(true)
  })

  it('uses the passkey as the second factor after the password', async () => {
    await signOut()
    await page.getByLabel('Email', { exact: true }).fill(EMAIL)
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD)
    await page.getByRole('button', { name: 'Continue' }).click()
    await page.waitForURL(url('/login/mfa'))
    await page.getByRole('button', { name: 'Use a passkey' }).click()
    await page.waitForURL(url('/'))
    expect(await page.getByRole('heading', { level: 1 }).innerText()).toContain('Welcome')
  })

  it('signs in with the passkey alone; the same assertion replayed is refused', async () => {
    await signOut()
    const sent = page.waitForRequest((r) => r.url() === url('/login/passkey') && r.method() === 'POST')
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click()
    await page.waitForURL(url('/'))
    expect(await page.getByRole('heading', { level: 1 }).innerText()).toContain('Welcome')
    const assertion = (await sent).postData()!
    await page.goto(url('/account'))
    expect(await page.locator('#passkeys-table').innerText()).not.toContain('Never')

    await signOut()
    // a fresh challenge for this browser, then Chromium's earlier assertion sent again
    expect((await page.request.post(url('/login/passkey/options'), { headers: { Origin: server.baseUrl, 'Content-Type': 'application/json' }, data: '{}' })).status()).toBe(200)
    const replay = await page.request.post(url('/login/passkey'), { headers: { Origin: server.baseUrl, 'Content-Type': 'application/json' }, data: assertion })
    expect(replay.status()).toBe(422)
    expect((await page.request.get(url('/'), { maxRedirects: 0 })).headers()['location']).toBe('/login')
  })

  it('replaces the authenticator with the passkey as the fresh second factor', async () => {
    await page.goto(url('/login'))
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click()
    await page.waitForURL(url('/'))
    await page.goto(url('/account'))
    await page.getByRole('link', { name: 'Replace authenticator' }).click()
    await page.waitForURL(url('/account/totp'))
    await page.getByRole('button', { name: 'Confirm with a passkey and continue' }).click()
    await page.getByRole('heading', { level: 1, name: 'Set up the new authenticator' }).waitFor()
    const href = await page.locator('#totp-uri').getAttribute('href')
    await page.getByLabel('Code from your new app').fill(currentTotp(secretFromOtpauthUri(href!)).code)
    await page.getByRole('button', { name: 'Replace my authenticator' }).click()
    await page.waitForURL(url('/account'))
    expect(await page.locator('.flash').innerText()).toContain('Your authenticator has been replaced.')
    await sink.waitForEmail((m) => sentTo(EMAIL)(m) && (m.subject ?? '').includes('Your second factor was replaced'))
    await signOut()
  })

  it('removes the passkey after a confirmation; the browser’s credential is refused at once', async () => {
    await page.goto(url('/login'))
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click()
    await page.waitForURL(url('/'))
    await page.goto(url('/account/passkeys')) // the old address leads to the section
    expect(page.url()).toBe(url('/account#passkeys'))
    await page.getByRole('button', { name: 'Remove passkey Virtual laptop key' }).click()
    expect(await page.getByRole('heading', { level: 1 }).innerText()).toBe('Remove this passkey?')
    await page.getByRole('button', { name: 'Remove passkey' }).click()
    await page.waitForURL(url('/account#passkeys'))
    expect(await page.locator('#passkeys-none').isVisible()).toBe(true)
    await signOut()
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click()
    await expect.poll(() => page.locator('#passkey-sign-in-status').innerText()).toContain('not registered here')
    expect(page.url()).toBe(url('/login'))
    expect(pageErrors).toEqual([])
  })
})
