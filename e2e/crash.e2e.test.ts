// Crash safety end to end, three rounds: the real server process (started as `npm start` does: node --import
// tsx src/server.ts) is killed with SIGKILL in the middle of a burst of acknowledged writes, then
// started again on the same DATA_DIR. Every write the server acknowledged must have survived,
// none may be half-done (a group without its audit event or the reverse), and the database
// must pass PRAGMA integrity_check.
import { spawn, type ChildProcess } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  HttpClient,
  REPO_ROOT,
  currentTotp,
  findFreePort,
  secretFromOtpauthUri,
  sentTo,
  sleep,
  startSmtpSink,
  temporaryPasswordFrom,
  totpWithOathtool,
  waitForNextTotpStep,
  type SmtpSink,
} from './support.ts'

const ADMIN_EMAIL = 'admin@example.org'
const NEW_PASSWORD = 'harbour kestrel ferries amber quartz'
const LOG_FILE = join(REPO_ROOT, 'test-results/crash.server.log')
/** Acknowledged writes (per round) after which the server is killed; requests keep flying until then. */
const KILL_AFTER_ACKNOWLEDGED = 60
const CONCURRENCY = 8

/** One run of the real server on a given DATA_DIR and port; kill() sends SIGKILL to exactly this process. */
type ServerRun = { baseUrl: string; pid: number; kill(signal: NodeJS.Signals): Promise<number | string | null> }

let log = ''

async function startServer(dataDir: string, port: number, smtpPort: number): Promise<ServerRun> {
  const baseUrl = `http://127.0.0.1:${port}`
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: REPO_ROOT,
    env: { ...process.env, DATA_DIR: dataDir, HOST: '127.0.0.1', PORT: String(port), BASE_URL: baseUrl, SMTP_URL: `smtp://127.0.0.1:${smtpPort}`, ADMIN_EMAIL },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  log += `\n──── start pid ${child.pid} ────\n`
  child.stdout!.on('data', (chunk: Buffer) => (log += chunk.toString()))
  child.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()))
  const exited = new Promise<number | string | null>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)))
  let hasExited = false
  void exited.then(() => (hasExited = true))
  const killOnExit = () => child.kill('SIGKILL')
  process.once('exit', killOnExit)
  const kill = async (signal: NodeJS.Signals) => {
    process.removeListener('exit', killOnExit)
    if (!hasExited) child.kill(signal)
    return exited
  }
  const deadline = Date.now() + 30_000
  for (;;) {
    if (hasExited) throw new Error(`Gatehouse exited before it answered /healthz:\n${log}`)
    try {
      const res = await fetch(`${baseUrl}/healthz`)
      if (res.ok) break
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await kill('SIGKILL')
      throw new Error(`Gatehouse did not answer /healthz within 30 s:\n${log}`)
    }
    await sleep(100)
  }
  return { baseUrl, pid: child.pid!, kill }
}

function hrefById(html: string, id: string): string {
  const match = new RegExp(`<a[^>]*\\bid="${id}"[^>]*\\bhref="([^"]+)"|<a[^>]*\\bhref="([^"]+)"[^>]*\\bid="${id}"`).exec(html)
  const href = match?.[1] ?? match?.[2]
  if (!href) throw new Error(`no <a id="${id}"> in the page`)
  return href.replace(/&amp;/g, '&')
}

type DbState = { integrity: string; groups: Map<number, string>; createdEvents: Map<number, string> }

function readState(file: string, options: { readonly: boolean }): DbState {
  const db = new Database(file, { readonly: options.readonly, fileMustExist: true })
  try {
    const groups = new Map((db.prepare("select id, name from groups where name like 'crash-%'").all() as { id: number; name: string }[]).map((g) => [g.id, g.name]))
    const createdEvents = new Map(
      (db.prepare("select target_id, details from audit_events where event = 'group.created' and target_type = 'group'").all() as { target_id: string; details: string }[])
        .map((e) => [Number(e.target_id), (JSON.parse(e.details) as { name: string }).name] as const)
        .filter(([, name]) => name.startsWith('crash-')),
    )
    return { integrity: db.pragma('integrity_check', { simple: true }) as string, groups, createdEvents }
  } finally {
    db.close()
  }
}

describe('SIGKILL in the middle of a burst of writes', () => {
  let sink: SmtpSink
  let dataDir = ''
  let port = 0
  let server: ServerRun | null = null
  let client: HttpClient
  let totpSecret = ''
  let enrolledStep = 0

  beforeAll(async () => {
    sink = await startSmtpSink()
    dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-crash-'))
    port = await findFreePort()
    server = await startServer(dataDir, port, sink.port)
    client = new HttpClient(server.baseUrl)
  })

  afterAll(async () => {
    await server?.kill('SIGTERM')
    await sink?.stop()
    mkdirSync(dirname(LOG_FILE), { recursive: true })
    writeFileSync(LOG_FILE, log)
    if (dataDir) rmSync(dataDir, { recursive: true, force: true })
  })

  it('signs in as the bootstrapped admin (temporary password by SMTP, own password, TOTP from oathtool)', async () => {
    const temporaryPassword = temporaryPasswordFrom(await sink.waitForEmail(sentTo(ADMIN_EMAIL)))
    expect(await client.post('/login', { email: ADMIN_EMAIL, password: temporaryPassword })).toMatchObject({ status: 303, location: '/password/change' })
    expect(await client.post('/password/change', { current_password: temporaryPassword, new_password: NEW_PASSWORD, confirm_password: NEW_PASSWORD })).toMatchObject({ status: 303, location: '/mfa/setup' })
    const setup = await client.get('/mfa/setup')
    totpSecret = secretFromOtpauthUri(hrefById(setup.body, 'totp-uri'))
    const enrolment = currentTotp(totpSecret)
    enrolledStep = enrolment.step
    expect(await client.post('/mfa/setup', { code: enrolment.code })).toMatchObject({ status: 303, location: '/' })
    expect((await client.post('/mfa/recovery-codes', {})).status).toBe(200) // the codes, shown once: the chain's last step
    expect((await client.get('/admin/groups')).status).toBe(200)
  })

  const acknowledged = new Map<string, number>() // name → id from the 303's Location
  const unanswered = new Set<string>() // sent, but the connection died before an answer
  const refused: string[] = []
  let sent = 0

  /** One burst of group creations on CONCURRENCY connections; SIGKILL lands `delayMs` after the threshold of acknowledged writes. */
  async function burstAndKill(round: number, delayMs: number) {
    let next = 0
    let killed = false
    let killing: Promise<unknown> | null = null
    const inFlight = new Set<string>()
    const inFlightAtKill = new Set<string>()
    const ackedBefore = acknowledged.size
    const unansweredBefore = unanswered.size
    const sentBefore = sent
    const kill = () => {
      if (killed) return
      killed = true
      for (const n of inFlight) inFlightAtKill.add(n)
      killing = server!.kill('SIGKILL')
    }
    const lane = async () => {
      while (!killed) {
        const name = `crash-${round}-${next++}`
        sent++
        inFlight.add(name)
        try {
          const res = await client.post('/admin/groups', { name, description: `written before the crash (${name})` })
          if (res.status === 303 && res.location?.startsWith('/admin/groups/')) acknowledged.set(name, Number(res.location.slice('/admin/groups/'.length)))
          else refused.push(`${name}: ${res.status}`)
        } catch {
          unanswered.add(name)
        } finally {
          inFlight.delete(name)
        }
        if (acknowledged.size - ackedBefore === KILL_AFTER_ACKNOWLEDGED) setTimeout(kill, delayMs)
      }
    }
    await Promise.all(Array.from({ length: CONCURRENCY }, lane))
    expect(await killing).toBe('SIGKILL')
    server = null
    expect(refused).toEqual([])
    // the kill landed mid-burst: requests were still open when it came, and only those went unanswered
    expect(inFlightAtKill.size).toBeGreaterThan(0)
    expect([...unanswered].filter((n) => n.startsWith(`crash-${round}-`) && !inFlightAtKill.has(n))).toEqual([])
    console.log(`[crash] round ${round} (kill ${delayMs} ms after the ${KILL_AFTER_ACKNOWLEDGED}th ack): sent ${sent - sentBefore}, acknowledged ${acknowledged.size - ackedBefore}, in flight at SIGKILL ${inFlightAtKill.size}, unanswered ${unanswered.size - unansweredBefore}`)
  }

  /** The crashed files, recovered on a copy (the originals stay as the crash left them). */
  function checkCrashedCopy() {
    const copyDir = mkdtempSync(join(tmpdir(), 'gatehouse-crash-copy-'))
    try {
      for (const suffix of ['', '-wal', '-shm']) {
        const from = join(dataDir, `gatehouse.sqlite${suffix}`)
        if (existsSync(from)) copyFileSync(from, join(copyDir, `gatehouse.sqlite${suffix}`))
      }
      const state = readState(join(copyDir, 'gatehouse.sqlite'), { readonly: false })
      expect(state.integrity).toBe('ok')
      expect([...acknowledged].filter(([name, id]) => state.groups.get(id) !== name)).toEqual([])
      expect([...state.groups].filter(([id, name]) => state.createdEvents.get(id) !== name)).toEqual([])
      expect([...state.createdEvents].filter(([id, name]) => state.groups.get(id) !== name)).toEqual([])
    } finally {
      rmSync(copyDir, { recursive: true, force: true })
    }
  }

  it('kills the server with SIGKILL while group creations are in flight, three times, restarting it on the same DATA_DIR each time', async () => {
    for (const [round, delayMs] of [0, 1, 4].entries()) {
      await burstAndKill(round, delayMs)
      checkCrashedCopy()
      server = await startServer(dataDir, port, sink.port)
      // the session survived the crash (it lives in the database)
      expect((await client.get('/admin/groups')).status).toBe(200)
    }
  })

  it('after the restarts, every acknowledged group exists, each with its audit event, and nothing is half-done', async () => {
    const restarted = server!
    const groupsPage = await client.get('/admin/groups')
    expect(groupsPage.status).toBe(200)
    for (const [name, id] of acknowledged) expect(groupsPage.body, name).toContain(`<a href="/admin/groups/${id}">${name}</a>`)

    // the audit log, read through the restarted server: one group.created per acknowledged group
    const csv = await client.get('/admin/audit.csv?event=group.created')
    expect(csv.status).toBe(200)
    const auditedIds = new Set(
      csv.body
        .trim()
        .split('\n')
        .slice(1)
        .map((line) => Number(line.split(',')[6])),
    )
    for (const [name, id] of acknowledged) expect(auditedIds.has(id), `${name} (group ${id}) has its group.created event`).toBe(true)

    // a fresh sign-in works too, and the server still takes writes
    const fresh = new HttpClient(restarted.baseUrl)
    expect(await fresh.post('/login', { email: ADMIN_EMAIL, password: NEW_PASSWORD })).toMatchObject({ status: 303, location: '/login/mfa' })
    await waitForNextTotpStep(enrolledStep)
    expect(await fresh.post('/login/mfa', { code: totpWithOathtool(totpSecret) })).toMatchObject({ status: 303, location: '/' })
    expect(await fresh.post('/admin/groups', { name: 'after-restart', description: '' })).toMatchObject({ status: 303 })
    expect((await fresh.get('/readyz')).status).toBe(200)

    // stop it cleanly, then read the file directly
    expect(await restarted.kill('SIGTERM')).toBe(0)
    server = null
    const state = readState(join(dataDir, 'gatehouse.sqlite'), { readonly: true })
    expect(state.integrity).toBe('ok')
    const missing = [...acknowledged].filter(([name, id]) => state.groups.get(id) !== name)
    expect(missing).toEqual([])
    // no half-done write: every group has its audit event, every audit event its group
    const groupsWithoutEvent = [...state.groups].filter(([id, name]) => state.createdEvents.get(id) !== name)
    const eventsWithoutGroup = [...state.createdEvents].filter(([id, name]) => state.groups.get(id) !== name)
    expect(groupsWithoutEvent).toEqual([])
    expect(eventsWithoutGroup).toEqual([])
    // anything found beyond the acknowledged writes was in flight when the kill came
    const extra = [...state.groups.values()].filter((name) => !acknowledged.has(name))
    expect(extra.every((name) => unanswered.has(name))).toBe(true)
    console.log(`[crash] acknowledged ${acknowledged.size}, found after restart ${state.groups.size} (acknowledged and found ${[...acknowledged.keys()].filter((n) => [...state.groups.values()].includes(n)).length}, committed but unacknowledged ${extra.length}, lost unacknowledged ${unanswered.size - extra.length}); integrity_check ${state.integrity}`)
  })
})
