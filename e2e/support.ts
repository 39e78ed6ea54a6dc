// End-to-end support: a real SMTP sink, the real Gatehouse server as a child process, Debian's
// Chromium driven by playwright-core, and TOTP codes computed by oathtool (not by our own code).
import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { SMTPServer } from 'smtp-server'
import { simpleParser, type ParsedMail } from 'mailparser'
import { chromium, type Browser, type Page } from 'playwright-core'

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium'
export const TOTP_STEP_MS = 30_000

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

// ─── SMTP sink ────────────────────────────────────────────────────────────────────────────────

export type SmtpSink = {
  port: number
  /** Every message received so far, parsed, in arrival order. */
  messages: ParsedMail[]
  /** Resolves with the first message (already received or still to come) matching `predicate`. */
  waitForEmail(predicate: (mail: ParsedMail) => boolean, timeoutMs?: number): Promise<ParsedMail>
  stop(): Promise<void>
}

/** The addresses a message was sent to, lower-cased. */
export function recipientsOf(mail: ParsedMail): string[] {
  const to = mail.to === undefined ? [] : Array.isArray(mail.to) ? mail.to : [mail.to]
  return to.flatMap((group) => group.value.map((a) => (a.address ?? '').toLowerCase()))
}

export function sentTo(address: string): (mail: ParsedMail) => boolean {
  return (mail) => recipientsOf(mail).includes(address.toLowerCase())
}

/** A plain SMTP server on 127.0.0.1 (no TLS, no auth) that keeps what it receives. */
export async function startSmtpSink(): Promise<SmtpSink> {
  const messages: ParsedMail[] = []
  const waiters = new Set<() => void>()
  const server = new SMTPServer({
    secure: false,
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, _session, callback) {
      simpleParser(stream)
        .then((mail) => {
          messages.push(mail)
          for (const wake of waiters) wake()
          callback()
        })
        .catch((error: Error) => callback(error))
    },
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const port = (server.server.address() as AddressInfo).port

  function waitForEmail(predicate: (mail: ParsedMail) => boolean, timeoutMs = 15_000): Promise<ParsedMail> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = messages.find(predicate)
        if (!found) return false
        clearTimeout(timer)
        waiters.delete(wake)
        resolve(found)
        return true
      }
      const wake = () => void check()
      const timer = setTimeout(() => {
        waiters.delete(wake)
        const seen = messages.map((m) => `${recipientsOf(m).join(',')}: ${m.subject ?? ''}`).join('; ') || 'none'
        reject(new Error(`no matching email within ${timeoutMs} ms (received so far: ${seen})`))
      }, timeoutMs)
      waiters.add(wake)
      check()
    })
  }

  return {
    port,
    messages,
    waitForEmail,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

// ─── The Gatehouse server ─────────────────────────────────────────────────────────────────────

export type GatehouseServer = {
  baseUrl: string
  port: number
  dataDir: string
  /** Everything the process wrote to stdout and stderr, for failure messages. */
  output(): string
  stop(): Promise<void>
}

/** A TCP port that was free a moment ago (the server binds it right after). */
export async function findFreePort(): Promise<number> {
  const probe = createServer()
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', () => resolve())
  })
  const { port } = probe.address() as AddressInfo
  await new Promise<void>((resolve) => probe.close(() => resolve()))
  return port
}

/**
 * Starts `tsx src/server.ts` with a fresh DATA_DIR, waits until GET /healthz answers ok, and
 * returns a handle whose stop() sends SIGTERM, waits for the process to exit and, when
 * `logFile` is given, writes the server's output there (under test-results/, for failures).
 */
/** `publicHost: 'localhost'` for WebAuthn, whose RP id cannot be an IP address. */
export async function startGatehouse(options: { smtpPort: number; adminEmail: string; env?: Record<string, string>; logFile?: string; publicHost?: 'localhost' }): Promise<GatehouseServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-e2e-'))
  const port = await findFreePort()
  const baseUrl = `http://${options.publicHost ?? '127.0.0.1'}:${port}`
  let log = ''
  const child: ChildProcess = spawn(join(REPO_ROOT, 'node_modules/.bin/tsx'), ['src/server.ts'], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      DATA_DIR: dataDir,
      HOST: '127.0.0.1',
      PORT: String(port),
      BASE_URL: baseUrl,
      SMTP_URL: `smtp://127.0.0.1:${options.smtpPort}`,
      ADMIN_EMAIL: options.adminEmail,
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  child.stdout!.on('data', (chunk: Buffer) => (log += chunk.toString()))
  child.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))))
  let hasExited = false
  void exited.then(() => (hasExited = true))
  const killOnExit = () => child.kill('SIGKILL')
  process.once('exit', killOnExit)

  const stop = async () => {
    process.removeListener('exit', killOnExit)
    if (!hasExited) {
      child.kill('SIGTERM')
      const timeout = sleep(15_000).then(() => 'timeout' as const)
      if ((await Promise.race([exited, timeout])) === 'timeout') {
        child.kill('SIGKILL')
        await exited
      }
    }
    rmSync(dataDir, { recursive: true, force: true })
    if (options.logFile) {
      mkdirSync(dirname(options.logFile), { recursive: true })
      writeFileSync(options.logFile, log)
    }
  }

  const deadline = Date.now() + 30_000
  for (;;) {
    if (hasExited) {
      await stop()
      throw new Error(`Gatehouse exited before it answered /healthz:\n${log}`)
    }
    try {
      const response = await fetch(`http://127.0.0.1:${port}/healthz`)
      if (response.ok && ((await response.json()) as { status?: string }).status === 'ok') break
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop()
      throw new Error(`Gatehouse did not answer /healthz within 30 s:\n${log}`)
    }
    await sleep(100)
  }
  return { baseUrl, port, dataDir, output: () => log, stop }
}

/** The one-time password in a "Your Gatehouse account" email (an indented line of its text). */
export function temporaryPasswordFrom(mail: ParsedMail): string {
  const match = /^ {4}(\S{16,})\s*$/m.exec(mail.text ?? '')
  if (!match) throw new Error(`no temporary password in the email text:\n${mail.text}`)
  return match[1]!
}

/** The 6-character code in a security-code email (an indented line of its text). */
export function securityCodeFrom(mail: ParsedMail): string {
  const match = /^ {4}([0-9A-Z]{6})\s*$/m.exec(mail.text ?? '')
  if (!match) throw new Error(`no 6-character security code in the email text:\n${mail.text}`)
  return match[1]!
}

/** `s` matched literally inside a RegExp. */
export const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/** The text of the page's h1. */
export async function headingOf(page: Page): Promise<string> {
  return (await page.getByRole('heading', { level: 1 }).innerText()).trim()
}

/** The first link in the text of an email that starts with `prefix`. */
export function linkFrom(mail: ParsedMail, prefix: string): string {
  const match = new RegExp(`${escapeRegExp(prefix)}\\S+`).exec(mail.text ?? '')
  if (!match) throw new Error(`no link starting with ${prefix} in the email text:\n${mail.text}`)
  return match[0]
}

// ─── Browser ──────────────────────────────────────────────────────────────────────────────────

/** Debian's Chromium, headless, with nothing that phones home. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-quic', '--no-first-run', '--disable-sync'],
  })
}

/**
 * A first sign-in in the browser, as the user does it: email + temporary password, the forced
 * password change, then TOTP enrolment with a code oathtool computes from the #totp-uri link.
 * Ends on the home page; returns the TOTP secret and the step of the code that was accepted.
 */
export async function completeFirstSignIn(
  page: Page,
  baseUrl: string,
  user: { email: string; temporaryPassword: string; newPassword: string },
): Promise<{ totpSecret: string; step: number }> {
  await page.goto(`${baseUrl}/login`)
  await page.getByLabel('Email', { exact: true }).fill(user.email)
  await page.getByLabel('Password', { exact: true }).fill(user.temporaryPassword)
  await page.getByRole('button', { name: 'Continue' }).click()
  await page.waitForURL(`${baseUrl}/password/change`)

  await page.getByLabel('Current password').fill(user.temporaryPassword)
  await page.getByLabel('New password', { exact: true }).fill(user.newPassword)
  await page.getByLabel('Repeat the new password').fill(user.newPassword)
  await page.getByRole('button', { name: 'Change password' }).click()
  await page.waitForURL(`${baseUrl}/mfa/setup`)
  return enrolTotp(page, baseUrl)
}

/**
 * On /mfa/setup: reads the secret from the #totp-uri link, enters the code oathtool computes and
 * confirms, then creates the recovery codes the chain offers. Ends on the home page; returns the TOTP secret and the step of the accepted code.
 */
export async function enrolTotp(page: Page, baseUrl: string): Promise<{ totpSecret: string; step: number }> {
  const href = await page.locator('#totp-uri').getAttribute('href')
  if (!href?.startsWith('otpauth://totp/')) throw new Error(`#totp-uri is not an otpauth://totp/ link: ${href}`)
  const totpSecret = secretFromOtpauthUri(href)
  const { code, step } = currentTotp(totpSecret)
  await page.getByLabel('Code from your app').fill(code)
  await page.getByRole('button', { name: 'Confirm and continue' }).click()
  // the sign-in chain's last step: recovery codes, shown once
  await page.waitForURL(`${baseUrl}/mfa/recovery-codes`)
  await page.getByRole('button', { name: 'Create my recovery codes' }).click()
  await page.getByRole('link', { name: 'I have saved my codes: continue' }).click()
  await page.waitForURL(`${baseUrl}/`)
  return { totpSecret, step }
}

// ─── TOTP ─────────────────────────────────────────────────────────────────────────────────────

/** The current 6-digit code for a base32 secret, as an independent implementation computes it. */
export function totpWithOathtool(base32Secret: string): string {
  return execFileSync('oathtool', ['--totp', '-b', base32Secret], { encoding: 'utf8' }).trim()
}

export function currentTotpStep(nowMs = Date.now()): number {
  return Math.floor(nowMs / TOTP_STEP_MS)
}

/** The current code and the step it belongs to (computed again if a step boundary fell in between). */
export function currentTotp(base32Secret: string): { code: string; step: number } {
  for (;;) {
    const step = currentTotpStep()
    const code = totpWithOathtool(base32Secret)
    if (currentTotpStep() === step) return { code, step }
  }
}

/**
 * Waits until the 30-second TOTP step is later than `step` (by default, the current one), so
 * the next code computed is a fresh one: the server refuses a code whose step was already used.
 */
export async function waitForNextTotpStep(step = currentTotpStep()): Promise<number> {
  while (currentTotpStep() <= step) {
    await sleep((step + 1) * TOTP_STEP_MS - Date.now() + 50)
  }
  return currentTotpStep()
}

/** The base32 secret of an otpauth:// URI. */
export function secretFromOtpauthUri(uri: string): string {
  const secret = new URL(uri).searchParams.get('secret')
  if (!secret) throw new Error(`no secret in ${uri}`)
  return secret
}

// ─── HTTP client with a cookie jar ────────────────────────────────────────────────────────────

export type HttpResponse = { status: number; location: string | null; body: string }

/** fetch with cookies kept between requests, no redirects followed, Origin sent on POST. */
export class HttpClient {
  readonly cookies = new Map<string, string>()

  constructor(readonly baseUrl: string) {}

  get(path: string): Promise<HttpResponse> {
    return this.request('GET', path)
  }

  post(path: string, fields: Record<string, string> = {}): Promise<HttpResponse> {
    return this.request('POST', path, new URLSearchParams(fields).toString())
  }

  private async request(method: string, path: string, body?: string): Promise<HttpResponse> {
    const url = new URL(path, this.baseUrl)
    const headers: Record<string, string> = {}
    if (this.cookies.size > 0) headers.Cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ')
    if (method !== 'GET') {
      headers.Origin = new URL(this.baseUrl).origin
      headers['Content-Type'] = 'application/x-www-form-urlencoded'
    }
    const response = await fetch(url, { method, headers, body, redirect: 'manual' })
    for (const line of response.headers.getSetCookie()) this.storeCookie(line)
    return { status: response.status, location: response.headers.get('Location'), body: await response.text() }
  }

  private storeCookie(line: string): void {
    const [pair = '', ...attributes] = line.split(';').map((part) => part.trim())
    const at = pair.indexOf('=')
    if (at < 1) return
    const name = pair.slice(0, at)
    const value = pair.slice(at + 1)
    const expired = attributes.some((a) => {
      const [key = '', v = ''] = a.split('=')
      if (key.toLowerCase() === 'max-age') return Number(v) <= 0
      if (key.toLowerCase() === 'expires') return Date.parse(a.slice(a.indexOf('=') + 1)) <= Date.now()
      return false
    })
    if (expired || value === '') this.cookies.delete(name)
    else this.cookies.set(name, value)
  }
}
