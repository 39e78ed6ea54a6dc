// "Forgot password" end to end over HTTP: the real server process, the reset link read from a
// real email received by a real SMTP server, TOTP codes from oathtool.
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  HttpClient,
  REPO_ROOT,
  currentTotp,
  linkFrom,
  secretFromOtpauthUri,
  sentTo,
  sleep,
  startGatehouse,
  startSmtpSink,
  temporaryPasswordFrom,
  totpWithOathtool,
  waitForNextTotpStep,
  type GatehouseServer,
  type SmtpSink,
} from './support.ts'

const ADMIN_EMAIL = 'admin@example.org'
const UNKNOWN_EMAIL = 'nobody-here@example.org'
const FIRST_PASSWORD = 'granite orchard hums beneath seven lanterns'
const RESET_PASSWORD = 'velvet compass wanders past the tidal mill'

/** The href of the element with the given id in an HTML page. */
function hrefById(html: string, id: string): string {
  const match = new RegExp(`<a[^>]*\\bid="${id}"[^>]*\\bhref="([^"]+)"|<a[^>]*\\bhref="([^"]+)"[^>]*\\bid="${id}"`).exec(html)
  const href = match?.[1] ?? match?.[2]
  if (!href) throw new Error(`no <a id="${id}"> in the page`)
  return href.replace(/&amp;/g, '&')
}

describe('forgot password over real SMTP', () => {
  let sink: SmtpSink
  let server: GatehouseServer
  let client: HttpClient
  let totpSecret = ''
  let enrolledStep = 0

  beforeAll(async () => {
    sink = await startSmtpSink()
    server = await startGatehouse({ smtpPort: sink.port, adminEmail: ADMIN_EMAIL, logFile: join(REPO_ROOT, 'test-results/smtp-password-reset.server.log') })
    client = new HttpClient(server.baseUrl)
  })

  afterAll(async () => {
    await server?.stop()
    await sink?.stop()
  })

  it('completes the first sign-in of the bootstrapped admin', async () => {
    const temporaryPassword = temporaryPasswordFrom(await sink.waitForEmail(sentTo(ADMIN_EMAIL)))

    const signIn = await client.post('/login', { email: ADMIN_EMAIL, password: temporaryPassword })
    expect(signIn).toMatchObject({ status: 303, location: '/password/change' })

    const change = await client.post('/password/change', { current_password: temporaryPassword, new_password: FIRST_PASSWORD, confirm_password: FIRST_PASSWORD })
    expect(change).toMatchObject({ status: 303, location: '/mfa/setup' })

    const setup = await client.get('/mfa/setup')
    expect(setup.status).toBe(200)
    totpSecret = secretFromOtpauthUri(hrefById(setup.body, 'totp-uri'))
    const enrolment = currentTotp(totpSecret)
    enrolledStep = enrolment.step
    const enrol = await client.post('/mfa/setup', { code: enrolment.code })
    expect(enrol).toMatchObject({ status: 303, location: '/' })
    expect((await client.post('/mfa/recovery-codes', {})).status).toBe(200) // the codes, shown once: the chain's last step

    const home = await client.get('/')
    expect(home.status).toBe(200)
    expect(home.body).toContain('Welcome')
  })

  let resetLink = ''

  it('answers the same for an unknown email, and sends an email only for the known one', async () => {
    const unknown = await client.post('/password/forgot', { email: UNKNOWN_EMAIL })
    const known = await client.post('/password/forgot', { email: ADMIN_EMAIL })
    expect(unknown.status).toBe(200)
    expect(known.status).toBe(200)
    expect(unknown.body).toBe(known.body)
    expect(known.body).toContain('If an account exists for that address')

    // The outbox sends in order, so the known email arriving means the unknown one (asked first) would have too.
    const mail = await sink.waitForEmail((m) => sentTo(ADMIN_EMAIL)(m) && m.subject === 'Reset your Gatehouse password')
    resetLink = linkFrom(mail, `${server.baseUrl}/password/reset/`)
    await sleep(2_500) // and one more outbox tick for good measure
    expect(sink.messages.filter(sentTo(UNKNOWN_EMAIL))).toEqual([])
  })

  it('sets a new password through the emailed link, which ends the existing session', async () => {
    const resetPath = new URL(resetLink).pathname

    const form = await client.get(resetPath)
    expect(form.status).toBe(200)
    expect(form.body).toContain('name="new_password"')

    const sessionBefore = client.cookies.get('session')
    expect(sessionBefore).toBeTruthy()
    const reset = await client.post(resetPath, { new_password: RESET_PASSWORD, confirm_password: RESET_PASSWORD })
    expect(reset).toMatchObject({ status: 303, location: '/login' })

    // The session cookie of the first sign-in is still presented, and the server no longer honours it.
    expect(client.cookies.get('session')).toBe(sessionBefore)
    const home = await client.get('/')
    expect(home).toMatchObject({ status: 303, location: '/login' })
  })

  it('shows the dead-link page when the link is used again', async () => {
    const resetPath = new URL(resetLink).pathname
    const again = await client.get(resetPath)
    expect(again.status).toBe(410)
    expect(again.body).toContain('This link no longer works')
    const postAgain = await client.post(resetPath, { new_password: 'another fine passphrase here', confirm_password: 'another fine passphrase here' })
    expect(postAgain.status).toBe(410)
  })

  it('still requires the authenticator code after signing in with the new password', async () => {
    const fresh = new HttpClient(server.baseUrl)
    expect(await fresh.post('/login', { email: ADMIN_EMAIL, password: FIRST_PASSWORD })).toMatchObject({ status: 422 })

    const signIn = await fresh.post('/login', { email: ADMIN_EMAIL, password: RESET_PASSWORD })
    expect(signIn).toMatchObject({ status: 303, location: '/login/mfa' })
    expect(await fresh.get('/')).toMatchObject({ status: 303, location: '/login/mfa' })
    expect(await fresh.get('/admin')).toMatchObject({ status: 303, location: '/login/mfa' })

    await waitForNextTotpStep(enrolledStep)
    const verify = await fresh.post('/login/mfa', { code: totpWithOathtool(totpSecret) })
    expect(verify).toMatchObject({ status: 303, location: '/' })
    expect((await fresh.get('/')).status).toBe(200)
  })
})
