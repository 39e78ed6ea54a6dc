import { afterEach, describe, expect, it, vi } from 'vitest'
import { eq } from 'drizzle-orm'
import { BASE_URL, createTestEnv, createTestUser, emailsTo, signIn, type TestClient, type TestEnv } from '../../test/helpers.ts'
import { auditEvents, importRunFiles, importRuns, invitations, outbox, projectMembers, roles, users } from '../../db/schema.ts'
import { applyConsortiumStructure } from '../../models/consortium.ts'
import { applyPlannedRun, getImportRun, markInterruptedRuns, settleImportJobs } from '../../import/runs.ts'
import type { ImportReport } from '../../import/plan.ts'
import { AUTH, STRUCTURE } from '../../test/small-consortium.ts'
import { AUTHORIZATIONS_EXAMPLE, DIRECTORY_EXAMPLE, DOMAINS_EXAMPLE } from '../../../views/admin/import-examples.ts'

// The admin consortium import (SPEC §6, §7 `GET,POST /admin/import`): upload → plan in the
// background → the plan → apply after confirmation → the result, on a real in-memory database.


type Person = { auth: string; email?: string; first?: string; last?: string; approve?: boolean; submit?: string; study?: string; active?: string }

/** One active directory entry at centre 1 (Alpha ADRC). */
function person(p: Person): string {
  return `- active: ${p.active ?? 'true'}
  adcid: 1
  auth_email: ${p.auth}
  authorizations: { approve_data: ${p.approve ?? true}, audit_data: false, view_reports: true, study_id: ${p.study ?? 'adrc'}, submit: [${p.submit ?? 'form'}] }
  email: ${p.email ?? p.auth}
  name: { first_name: ${p.first ?? 'Ann'}, last_name: ${p.last ?? 'Smith'} }
  org_name: Alpha ADRC
`
}

/** Ann is new (an invitation with 4 roles on acceptance); Bob has an account (3 grants: view-reports only, no submit). */
const ANN = person({ auth: 'ann@alpha.edu', email: 'ann.smith@alpha.edu' })
const BOB = person({ auth: 'bob@alpha.edu', first: 'Bob', last: 'Jones', approve: false, submit: '' })

const DAY_MS = 86_400_000

afterEach(async () => {
  if (vi.isFakeTimers()) {
    await vi.runAllTimersAsync() // a held job must finish, or every later settleImportJobs() waits for it
    vi.useRealTimers()
  }
  await settleImportJobs()
})

/** Lets a held job take exactly one step: its pending setImmediate runs, then it runs up to the next one. */
async function stepHeldJob() {
  vi.runOnlyPendingTimers()
  await new Promise((resolve) => setTimeout(resolve, 0))
}

function escapeHtml(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;').replaceAll("'", '&#39;')
}

async function adminSession() {
  const t = createTestEnv()
  const admin = await createTestUser(t, { email: 'admin@example.org', role: 'admin' })
  const structure = applyConsortiumStructure(t.db, STRUCTURE, { actor: { id: admin.user.id, email: admin.user.email }, now: t.clock.now(), ip: '' })
  expect(structure.ok).toBe(true)
  const browser = await signIn(t, admin)
  return { t, admin, browser }
}

type Upload = { users?: string | Uint8Array | null; authorizations?: string | Uint8Array | null; domains?: string | Uint8Array | null; notify?: string }

/** Sends the upload form as a browser does: multipart, an empty unnamed part for a file not chosen. */
function upload(browser: TestClient, u: Upload, headers: Record<string, string> = {}) {
  const form = new FormData()
  for (const [field, name] of [
    ['users', 'users.yaml'],
    ['authorizations', 'auth.yaml'],
    ['domains', 'domains.yaml'],
  ] as const) {
    const v = u[field]
    form.append(field, v === undefined || v === null ? new File([], '', { type: 'application/octet-stream' }) : new File([v], name, { type: 'application/yaml' }))
  }
  if (u.notify !== undefined) form.append('notify', u.notify)
  return browser.request('/admin/import', { method: 'POST', body: form, headers: { Origin: BASE_URL, ...headers } })
}

/** Uploads, waits for the plan; returns the run id. */
async function planned(browser: TestClient, u: Upload): Promise<number> {
  const res = await upload(browser, { authorizations: AUTH, notify: 'none', ...u })
  expect(res.status).toBe(303)
  const id = Number(/^\/admin\/import\/(\d+)$/.exec(res.headers.get('Location')!)![1])
  await settleImportJobs()
  return id
}

async function applied(browser: TestClient, id: number) {
  const res = await browser.post(`/admin/import/${id}/apply`, { confirm: 'yes' })
  expect(res.status).toBe(303)
  expect(res.headers.get('Location')).toBe(`/admin/import/${id}`)
  await settleImportJobs()
}

async function reportJson(browser: TestClient, id: number): Promise<ImportReport> {
  const res = await browser.get(`/admin/import/${id}/report.json`)
  expect(res.status).toBe(200)
  return (await res.json()) as ImportReport
}

async function page(browser: TestClient, path: string): Promise<string> {
  const res = await browser.get(path)
  expect(res.status).toBe(200)
  return res.text()
}

/** The rows of the report table (or of the only table on the page). */
function tableRows(html: string): string[] {
  const body = html.split('<tbody>')[1]
  return body === undefined ? [] : body.split('</tbody>')[0]!.split('<tr>').slice(1)
}

function runCount(t: TestEnv) {
  return t.db.select().from(importRuns).all().length
}

function importEvents(t: TestEnv) {
  return t.db.select().from(auditEvents).where(eq(auditEvents.event, 'import.applied')).all()
}

function nameUser(t: TestEnv, id: number, first: string, last: string) {
  t.db.update(users).set({ firstName: first, lastName: last }).where(eq(users.id, id)).run()
}

describe('the import page', () => {
  it('shows an inline example of each file (escaped), the directory and authorization map open', async () => {
    const { browser } = await adminSession()
    const html = await (await browser.get('/admin/import')).text()
    expect(html).toContain('<h2 id="formats-h">What the files look like</h2>')
    for (const example of [DIRECTORY_EXAMPLE, AUTHORIZATIONS_EXAMPLE, DOMAINS_EXAMPLE]) expect(html).toContain(`<code>${escapeHtml(example)}</code>`)
    expect(html).toMatch(/<details open=""><summary>User directory<\/summary>/)
    expect(html).toMatch(/<details open=""><summary>Authorization map<\/summary>/)
  })
})

describe('who may import', () => {
  it('sends anonymous visitors to sign-in on every import URL, and creates nothing', async () => {
    const { t, browser } = await adminSession()
    const id = await planned(browser, { users: ANN })
    const anonymous = t.client('198.51.100.9')
    for (const res of [
      await anonymous.get('/admin/import'),
      await anonymous.get(`/admin/import/${id}`),
      await anonymous.get(`/admin/import/${id}/progress`),
      await anonymous.get(`/admin/import/${id}/report.json`),
      await upload(anonymous, { users: ANN, authorizations: AUTH, notify: 'none' }),
      await anonymous.post(`/admin/import/${id}/apply`, { confirm: 'yes' }),
    ]) {
      expect(res.status).toBe(303)
      expect(res.headers.get('Location')).toBe('/login')
    }
    await settleImportJobs()
    expect(runCount(t)).toBe(1)
    expect(getImportRun(t.db, id)!.status).toBe('planned')
    expect(t.db.select().from(invitations).all()).toEqual([])
  })

  it('refuses a researcher with a 403 naming users.manage on every import URL, and applies nothing', async () => {
    const { t, browser } = await adminSession()
    const id = await planned(browser, { users: ANN })
    const researcher = await signIn(t, await createTestUser(t, { role: 'researcher' }))
    for (const res of [
      await researcher.get('/admin/import'),
      await researcher.get(`/admin/import/${id}`),
      await researcher.get(`/admin/import/${id}/progress`),
      await researcher.get(`/admin/import/${id}/report.json`),
      await upload(researcher, { users: ANN, authorizations: AUTH, notify: 'none' }),
      await researcher.post(`/admin/import/${id}/apply`, { confirm: 'yes' }),
    ]) {
      expect(res.status).toBe(403)
      const html = await res.text()
      expect(html).toContain('You need the permission “users.manage”')
      expect(html).not.toContain('ann@alpha.edu')
    }
    await settleImportJobs()
    expect(runCount(t)).toBe(1)
    expect(getImportRun(t.db, id)!.status).toBe('planned')
    expect(t.db.select().from(invitations).all()).toEqual([])
    expect(emailsTo(t.db, 'ann@alpha.edu')).toEqual([])
  })

  it('answers 404 for an unknown or non-numeric run id, on the page, the progress, the report and apply', async () => {
    const { t, browser } = await adminSession()
    const id = await planned(browser, { users: ANN })
    for (const bad of ['999', '0', '-1', 'abc', '1.5', `${id}abc`, `0${id}`, `0x${id}`, `${id}e0`, `+${id}`, `%20${id}`]) {
      for (const res of [
        await browser.get(`/admin/import/${bad}`),
        await browser.get(`/admin/import/${bad}/progress`),
        await browser.get(`/admin/import/${bad}/report.json`),
        await browser.post(`/admin/import/${bad}/apply`, { confirm: 'yes' }),
      ]) {
        expect(res.status, bad).toBe(404)
        expect(await res.text()).toContain('There is nothing here, or you do not have access to it.')
      }
    }
    await settleImportJobs()
    expect(getImportRun(t.db, id)!.status).toBe('planned')
    expect(t.db.select().from(invitations).all()).toEqual([])
  })

  it('refuses an upload or an apply from a foreign Origin with 403, creating and applying nothing', async () => {
    const { t, browser } = await adminSession()
    const foreign = await upload(browser, { users: ANN, authorizations: AUTH, notify: 'none' }, { Origin: 'https://evil.example' })
    expect(foreign.status).toBe(403)
    expect(await foreign.text()).toContain('This form was not sent from this Gatehouse site, so it was refused.')
    expect(runCount(t)).toBe(0)

    const id = await planned(browser, { users: ANN })
    const apply = await browser.post(`/admin/import/${id}/apply`, { confirm: 'yes' }, { Origin: 'https://evil.example' })
    expect(apply.status).toBe(403)
    await settleImportJobs()
    expect(getImportRun(t.db, id)!.status).toBe('planned')
    expect(t.db.select().from(invitations).all()).toEqual([])
    expect(importEvents(t)).toEqual([])
  })
})

describe('POST /admin/import: the upload form', () => {
  it('answers 422 with a message at each field that is missing or invalid, keeping the mode chosen; no run is created', async () => {
    const { t, browser } = await adminSession()

    const noUsers = await upload(browser, { authorizations: AUTH, notify: 'date' })
    expect(noUsers.status).toBe(422)
    const noUsersHtml = await noUsers.text()
    expect(noUsersHtml).toContain('<p id="f-users-error" class="error">Choose the user directory file.</p>')
    expect(noUsersHtml).not.toContain('f-authorizations-error')
    expect(noUsersHtml).toContain('<input type="radio" name="notify" value="date" checked=""/>')

    const noAuth = await upload(browser, { users: ANN, notify: 'none' })
    expect(noAuth.status).toBe(422)
    const noAuthHtml = await noAuth.text()
    expect(noAuthHtml).toContain('<p id="f-authorizations-error" class="error">Choose the authorization map file.</p>')
    expect(noAuthHtml).not.toContain('f-users-error')

    for (const notify of ['sometimes', undefined]) {
      const badNotify = await upload(browser, { users: ANN, authorizations: AUTH, notify })
      expect(badNotify.status).toBe(422)
      const html = await badNotify.text()
      expect(html).toContain('<p id="notify-error" class="error">Choose none, by date or force.</p>')
      expect(html).not.toContain('f-users-error')
      expect(html).not.toContain('checked=""')
    }

    const latin1 = new Uint8Array([...Buffer.from('- active: true\n  email: m'), 0xfc, ...Buffer.from('ller@alpha.edu\n')])
    for (const field of ['users', 'authorizations', 'domains'] as const) {
      const res = await upload(browser, { users: ANN, authorizations: AUTH, notify: 'none', [field]: latin1 })
      expect(res.status, field).toBe(422)
      expect(await res.text()).toContain(`<p id="f-${field}-error" class="error">The file is not UTF-8 text. Save it as UTF-8 and upload it again.</p>`)
    }

    const garbled = await browser.request('/admin/import', { method: 'POST', body: 'not multipart at all', headers: { Origin: BASE_URL, 'Content-Type': 'multipart/form-data; boundary=xyz' } })
    expect(garbled.status).toBe(422)
    expect(await garbled.text()).toContain('The upload could not be read.')

    expect(runCount(t)).toBe(0)
    expect(t.db.select().from(invitations).all()).toEqual([])
  })

  it('refuses an upload over 5 MB (SPEC §3.4) with 413; no run is created', async () => {
    const { t, browser } = await adminSession()
    const big = new Uint8Array(5 * 1024 * 1024).fill(0x23) // '#': a YAML comment; with the rest, just over 5 MB
    const tooLarge = await upload(browser, { users: ANN, authorizations: big, notify: 'none' })
    expect(tooLarge.status).toBe(413)
    expect(await tooLarge.text()).toContain('The request was larger than the 5 MB for the files together allowed here.')
    expect(runCount(t)).toBe(0)
    // Just under the cap goes through.
    const fits = await upload(browser, { users: ANN, authorizations: new Uint8Array(5 * 1024 * 1024 - 8 * 1024).fill(0x23), notify: 'none' })
    expect(fits.status).toBe(303)
    await settleImportJobs()
    expect(runCount(t)).toBe(1)
  })

  it('accepts files above the global 64 KB form limit', async () => {
    const { t, browser } = await adminSession()
    const padded = `${ANN}# ${'x'.repeat(100 * 1024)}\n`
    const id = await planned(browser, { users: padded })
    expect(getImportRun(t.db, id)).toMatchObject({ status: 'planned', usersYaml: padded, entries: 1 })
  })
})

describe('planning, the plan and applying it', () => {
  it('plans in the background with a progress bar, shows the plan, applies it once after confirmation, and keeps the result', async () => {
    const { t, admin, browser } = await adminSession()
    const bob = await createTestUser(t, { email: 'bob@alpha.edu' })

    vi.useFakeTimers({ toFake: ['setImmediate'] }) // the job waits on setImmediate between steps: hold it
    const res = await upload(browser, { users: ANN + BOB, authorizations: AUTH, notify: 'none' })
    expect(res.status).toBe(303)
    expect(res.headers.get('Location')).toBe('/admin/import/1')
    expect(getImportRun(t.db, 1)).toMatchObject({ status: 'planning', notify: 'none', createdBy: admin.user.id, usersFilename: 'users.yaml', authFilename: 'auth.yaml', domainsFilename: null, report: null })

    const planning = await page(browser, '/admin/import/1')
    expect(planning).toContain('Import #1 <span class="badge run-planning">Planning…</span>')
    expect(planning).toContain('<p class="flash flash-info" role="status">Import #1 uploaded and being planned; nothing changes until you apply it.</p>')
    expect(planning).toContain('<div id="import-progress" hx-get="/admin/import/1/progress" hx-trigger="every 1s" hx-swap="outerHTML">')
    expect(planning).toContain('<label for="import-progress-bar">Reading the files…</label><progress id="import-progress-bar"></progress>')
    expect(planning).not.toContain('/admin/import/1/apply')
    expect((await browser.get('/admin/import/1/report.json')).status).toBe(404)

    await stepHeldJob()
    const fragment = await browser.get('/admin/import/1/progress')
    expect(fragment.status).toBe(200)
    const fragmentHtml = await fragment.text()
    expect(fragmentHtml).not.toContain('<html')
    expect(fragmentHtml).toMatch(/^<div id="import-progress" hx-get="\/admin\/import\/1\/progress"/)
    expect(fragmentHtml).toContain('<label for="import-progress-bar">Planning: 0 of 2 entries</label><progress id="import-progress-bar" max="2" value="0"></progress>')
    expect(fragmentHtml).toContain('0 %')

    await vi.runAllTimersAsync()
    vi.useRealTimers()
    await settleImportJobs()
    expect(getImportRun(t.db, 1)).toMatchObject({ status: 'planned', entries: 2, appliedAt: null })

    const plan = await page(browser, '/admin/import/1')
    expect(plan).toContain('Import #1 <span class="badge run-planned">Planned, not applied</span>')
    expect(plan).not.toContain('<progress')
    expect(plan).toContain('<h2 id="summary-h">Plan</h2>')
    expect(plan).toContain('<li><strong>1</strong> invitation (5 project roles granted on acceptance)</li>')
    expect(plan).toContain('<li><strong>3</strong> project roles granted to existing accounts</li>')
    expect(plan).toContain('<li><strong>0</strong> accounts enabled, <strong>0</strong> disabled</li>')
    expect(plan).toContain('<li><strong>0</strong> errors, <strong>0</strong> warnings, <strong>0</strong> flags</li>')
    // Ann's approve-data and view-reports give both contributor and read-only on alpha/accepted: the union (SPEC §6.3).
    expect(plan).toContain('<a href="/admin/import/1?section=actions#report" aria-current="page">Actions (9)</a>')
    const rows = tableRows(plan)
    expect(rows).toHaveLength(9)
    expect(rows[0]).toBe('<td>0</td><td>ann.smith@alpha.edu</td><td>invite</td><td>ann@alpha.edu</td><td></td><td></td><td></td></tr>')
    expect(rows[1]).toBe('<td>0</td><td>ann.smith@alpha.edu</td><td>grant</td><td>ann@alpha.edu</td><td>alpha/metadata</td><td>read-only</td><td>on acceptance</td></tr>')
    expect(rows[6]).toBe('<td>1</td><td>bob@alpha.edu</td><td>grant</td><td>bob@alpha.edu</td><td>alpha/metadata</td><td>read-only</td><td></td></tr>')
    expect(plan).toContain('<form method="post" action="/admin/import/1/apply"><button type="submit">Apply this import…</button></form>')
    expect(plan).toContain('<a href="/admin/import/1/report.json" download="">Download the report (JSON)</a>')

    // The job is done: the progress URL sends the browser to the result.
    const done = await browser.get('/admin/import/1/progress')
    expect(done.status).toBe(303)
    expect(done.headers.get('Location')).toBe('/admin/import/1')
    const htmxDone = await browser.get('/admin/import/1/progress', { 'HX-Request': 'true' })
    expect(htmxDone.status).toBe(200)
    expect(htmxDone.headers.get('HX-Redirect')).toBe('/admin/import/1')

    // Planning changed nothing.
    expect(t.db.select().from(invitations).all()).toEqual([])
    expect(t.db.select().from(projectMembers).where(eq(projectMembers.userId, bob.user.id)).all()).toEqual([])
    expect(emailsTo(t.db, 'ann@alpha.edu')).toEqual([])
    expect(importEvents(t)).toEqual([])

    const planJson = await browser.get('/admin/import/1/report.json')
    expect(planJson.status).toBe(200)
    expect(planJson.headers.get('Content-Disposition')).toBe('attachment; filename="gatehouse-import-1.json"')
    const planReport = (await planJson.json()) as ImportReport
    expect(Object.keys(planReport).sort()).toEqual(['actions', 'applied', 'errors', 'flags', 'ok', 'warnings'])
    expect(planReport).toMatchObject({ ok: true, applied: false, errors: [], warnings: [], flags: [] })
    expect(planReport.actions).toHaveLength(9)
    expect(planReport.actions[0]).toEqual({ entry: 0, email: 'ann.smith@alpha.edu', action: 'invite', account: 'ann@alpha.edu', organization: 'Alpha ADRC', first_name: 'Ann', last_name: 'Smith' })

    // Apply without confirm: the question, nothing else.
    const ask = await browser.post('/admin/import/1/apply')
    expect(ask.status).toBe(200)
    const askHtml = await ask.text()
    expect(askHtml).toContain('<h1>Apply import #1?</h1>')
    expect(askHtml).toContain(
      'This invites 1 people (sending their claim emails), grants 3 project roles, enables 0 and disables 0 accounts (ending their sessions), and sends 0 follow-ups.',
    )
    expect(askHtml).toContain('<input type="hidden" name="confirm" value="yes"/>')
    expect(askHtml).toContain('<form method="post" action="/admin/import/1/apply"')
    await settleImportJobs()
    expect(getImportRun(t.db, 1)!.status).toBe('planned')
    expect(t.db.select().from(invitations).all()).toEqual([])

    // Confirmed.
    const confirmed = await browser.post('/admin/import/1/apply', { confirm: 'yes' })
    expect(confirmed.status).toBe(303)
    expect(confirmed.headers.get('Location')).toBe('/admin/import/1')
    expect(getImportRun(t.db, 1)!.status).toBe('applying')
    await settleImportJobs()
    expect(getImportRun(t.db, 1)).toMatchObject({ status: 'applied', appliedAt: t.clock.now(), appliedBy: admin.user.id, failure: null })

    const invited = t.db.select().from(invitations).all()
    expect(invited).toHaveLength(1)
    expect(invited[0]).toMatchObject({ email: 'ann@alpha.edu', contactEmail: 'ann.smith@alpha.edu', role: 'researcher', organization: 'Alpha ADRC', status: 'sent', followUpMode: 'none', invitedBy: admin.user.id })
    expect(invited[0]!.projectGrants).toHaveLength(5)
    const claim = emailsTo(t.db, 'ann@alpha.edu')
    expect(claim).toHaveLength(1)
    expect(claim[0]!.subject).toBe('You are invited to Gatehouse')
    expect(emailsTo(t.db, 'ann.smith@alpha.edu')).toEqual([])
    expect(t.db.select().from(projectMembers).where(eq(projectMembers.userId, bob.user.id)).all()).toHaveLength(3)

    const events = importEvents(t)
    expect(events).toHaveLength(1)
    expect(events[0]).toMatchObject({ actorId: admin.user.id, actorEmail: 'admin@example.org', targetType: 'import', targetId: '1' })
    expect(JSON.parse(events[0]!.details)).toMatchObject({ invited: 1, granted: 3, enabled: 0, disabled: 0, notify: 'none' })

    const result = await page(browser, '/admin/import/1')
    expect(result).toContain('Import #1 is being applied.') // the flash, once
    expect(result).toContain('Import #1 <span class="badge run-applied">Applied</span>')
    expect(result).toContain('<h2 id="summary-h">Result</h2>')
    expect(result).toContain('Changed: 1 invited, 3 granted, 0 enabled, 0 disabled (0 sessions ended), 0 follow-ups sent.')
    expect(result).toContain('by admin@example.org')
    expect(result).not.toContain('/admin/import/1/apply')
    expect(await page(browser, '/admin/import/1')).not.toContain('Import #1 is being applied.')

    const resultJson = await browser.get('/admin/import/1/report.json')
    expect(resultJson.headers.get('Content-Disposition')).toBe('attachment; filename="gatehouse-import-1.json"')
    const resultReport = (await resultJson.json()) as ImportReport
    expect(Object.keys(resultReport).sort()).toEqual(['actions', 'applied', 'errors', 'flags', 'ok', 'warnings'])
    expect(resultReport).toMatchObject({ ok: true, applied: true, errors: [], warnings: [], flags: [] })
    expect(resultReport.actions).toEqual(planReport.actions)

    // Again: already applied, nothing new.
    const again = await browser.post('/admin/import/1/apply', { confirm: 'yes' })
    expect(again.status).toBe(303)
    expect(again.headers.get('Location')).toBe('/admin/import/1')
    await settleImportJobs()
    expect(await page(browser, '/admin/import/1')).toContain('This import has already been applied.')
    expect(t.db.select().from(invitations).all()).toHaveLength(1)
    expect(t.db.select().from(outbox).all()).toHaveLength(1)
    expect(importEvents(t)).toHaveLength(1)
    expect(getImportRun(t.db, 1)!.appliedAt).toBe(t.clock.now())
  })

  it('answers an htmx upload and apply with HX-Redirect', async () => {
    const { t, browser } = await adminSession()
    const res = await upload(browser, { users: ANN, authorizations: AUTH, notify: 'none' }, { 'HX-Request': 'true' })
    expect(res.status).toBe(200)
    expect(res.headers.get('HX-Redirect')).toBe('/admin/import/1')
    await settleImportJobs()
    const apply = await browser.post('/admin/import/1/apply', { confirm: 'yes' }, { 'HX-Request': 'true' })
    expect(apply.status).toBe(200)
    expect(apply.headers.get('HX-Redirect')).toBe('/admin/import/1')
    await settleImportJobs()
    expect(getImportRun(t.db, 1)!.status).toBe('applied')
    expect(t.db.select().from(invitations).all()).toHaveLength(1)
  })

  it('re-plans a stale plan on apply: an account created meanwhile gets grants, not an invitation', async () => {
    const { t, browser } = await adminSession()
    const id = await planned(browser, { users: ANN })
    expect(await page(browser, `/admin/import/${id}`)).toContain('<li><strong>1</strong> invitation (5 project roles granted on acceptance)</li>')

    const ann = await createTestUser(t, { email: 'ann@alpha.edu' })
    await applied(browser, id)

    expect(getImportRun(t.db, id)!.status).toBe('applied')
    expect(t.db.select().from(invitations).all()).toEqual([])
    expect(emailsTo(t.db, 'ann@alpha.edu')).toEqual([])
    expect(t.db.select().from(projectMembers).where(eq(projectMembers.userId, ann.user.id)).all()).toHaveLength(5)
    const result = await page(browser, `/admin/import/${id}`)
    expect(result).toContain('<li><strong>0</strong> invitations (0 project roles granted on acceptance)</li>')
    expect(result).toContain('<li><strong>5</strong> project roles granted to existing accounts</li>')
    expect(result).toContain('Changed: 0 invited, 5 granted, 0 enabled, 0 disabled (0 sessions ended), 0 follow-ups sent.')
    const report = await reportJson(browser, id)
    expect(report.actions.map((a) => [a.action, a.on_accept ?? false])).toEqual([
      ['grant', false],
      ['grant', false],
      ['grant', false],
      ['grant', false],
      ['grant', false],
    ])
    expect(JSON.parse(importEvents(t)[0]!.details)).toMatchObject({ invited: 0, granted: 5 })
  })
})

describe('applying twice at once, and a plan that went bad', () => {
  it('shows the progress while applying and ignores a second click meanwhile: one invitation, one email, one audit event', async () => {
    const { t, browser } = await adminSession()
    const id = await planned(browser, { users: ANN })

    vi.useFakeTimers({ toFake: ['setImmediate'] })
    expect((await browser.post(`/admin/import/${id}/apply`, { confirm: 'yes' })).status).toBe(303)
    expect(getImportRun(t.db, id)!.status).toBe('applying')
    await stepHeldJob()
    const applying = await page(browser, `/admin/import/${id}`)
    expect(applying).toContain('Import #1 is being applied.')
    expect(applying).toContain(`Import #${id} <span class="badge run-applying">Applying…</span>`)
    expect(applying).toContain('<label for="import-progress-bar">Checking again before applying: 0 of 1 entries</label>')
    expect(applying).not.toContain('Apply this import')

    const second = await browser.post(`/admin/import/${id}/apply`, { confirm: 'yes' })
    expect(second.status).toBe(303)
    expect(await page(browser, `/admin/import/${id}`)).toContain('This import cannot be applied now.')

    await vi.runAllTimersAsync()
    vi.useRealTimers()
    await settleImportJobs()
    expect(getImportRun(t.db, id)!.status).toBe('applied')
    expect(t.db.select().from(invitations).all()).toHaveLength(1)
    expect(emailsTo(t.db, 'ann@alpha.edu')).toHaveLength(1)
    expect(importEvents(t)).toHaveLength(1)
  })

  it('applies nothing when the files have errors against what is stored now (a role deleted since the plan), and shows them', async () => {
    const { t, browser } = await adminSession()
    t.db.insert(roles).values({ name: 'report-reader', scope: 'project', permissions: ['project.view'], createdAt: 0, updatedAt: 0 }).run()
    const id = await planned(browser, { users: ANN, authorizations: `${AUTH}sandbox-form:\n  view-reports: report-reader\n` })
    expect(await page(browser, `/admin/import/${id}`)).toContain('Apply this import…')

    t.db.delete(roles).where(eq(roles.name, 'report-reader')).run()
    await applied(browser, id)
    const run = getImportRun(t.db, id)!
    expect(run).toMatchObject({ status: 'planned', appliedAt: null })
    expect(t.db.select().from(invitations).all()).toEqual([])
    expect(t.db.select().from(outbox).all()).toEqual([])
    expect(importEvents(t)).toEqual([])
    const html = await page(browser, `/admin/import/${id}`)
    expect(html).toContain('The files have 1 error: nothing can be applied.')
    expect(html).toContain('report-reader')
    expect(html).not.toContain('Apply this import')
    expect((await browser.post(`/admin/import/${id}/apply`, { confirm: 'yes' })).status).toBe(409)
  })
})

describe('files with errors', () => {
  it('shows every error with entry, email, field and line first; offers no apply, and refuses one with 409', async () => {
    const { t, browser } = await adminSession()
    const users = ANN + person({ auth: 'cy@alpha.edu', first: 'Cy', study: 'leads' }) + person({ auth: 'di@alpha.edu', first: 'Di', active: '"true"' })
    const id = await planned(browser, { users })
    expect(getImportRun(t.db, id)!.status).toBe('planned')

    const html = await page(browser, `/admin/import/${id}`)
    expect(html).toContain('The files have 2 errors: nothing can be applied.')
    expect(html).toContain(`<a href="/admin/import/${id}?section=errors#report" aria-current="page">Errors (2)</a>`)
    const rows = tableRows(html)
    expect(rows).toEqual([
      '<td>1</td><td>cy@alpha.edu</td><td>[1].authorizations.study_id</td><td>11</td><td>Unknown study &quot;leads&quot; (known: adrc)</td></tr>',
      '<td>2</td><td>di@alpha.edu</td><td>[2].active</td><td>15</td><td>&quot;active&quot; must be true or false, not the string &quot;true&quot;</td></tr>',
    ])
    expect(html).not.toContain(`action="/admin/import/${id}/apply"`)
    expect(html).not.toContain('Apply this import')

    // The valid entry's plan is still shown.
    const actions = tableRows(await page(browser, `/admin/import/${id}?section=actions`))
    expect(actions).toHaveLength(6)
    expect(actions[0]).toContain('<td>invite</td><td>ann@alpha.edu</td>')

    for (const fields of [{ confirm: 'yes' }, {}] as Record<string, string>[]) {
      const res = await browser.post(`/admin/import/${id}/apply`, fields)
      expect(res.status).toBe(409)
      expect(await res.text()).toContain('The files have errors, so nothing can be applied.')
    }
    await settleImportJobs()
    expect(getImportRun(t.db, id)).toMatchObject({ status: 'planned', appliedAt: null })
    expect(t.db.select().from(invitations).all()).toEqual([])
    expect(t.db.select().from(outbox).all()).toEqual([])
    expect(importEvents(t)).toEqual([])
    const report = await reportJson(browser, id)
    expect(report).toMatchObject({ ok: false, applied: false })
    expect(report.errors).toEqual([
      { entry: 1, email: 'cy@alpha.edu', path: '[1].authorizations.study_id', line: 11, message: 'Unknown study "leads" (known: adrc)' },
      { entry: 2, email: 'di@alpha.edu', path: '[2].active', line: 15, message: '"active" must be true or false, not the string "true"' },
    ])
  })
})

describe('more file problems', () => {
  it('refuses a directory over 100,000 entries and a YAML node nested deeper than 64 with a clear error; nothing is applied', async () => {
    const { t, browser } = await adminSession()
    const id = await planned(browser, { users: ANN + '- {}\n'.repeat(100_000), authorizations: `${AUTH}${'['.repeat(10_000)}${']'.repeat(10_000)}\n` })
    const report = await reportJson(browser, id)
    expect(report).toMatchObject({ ok: false, applied: false })
    expect(report.errors.map((e) => e.message)).toEqual([
      expect.stringMatching(/^authorization map: The YAML is nested deeper than 64 levels \(at line \d+\)/),
      expect.stringMatching(/^user directory: The user directory has 100,001 entries; at most 100,000 are allowed/),
    ])
    expect((await browser.post(`/admin/import/${id}/apply`, { confirm: 'yes' })).status).toBe(409)
    await settleImportJobs()
    expect(t.db.select().from(invitations).all()).toEqual([])
  }, 120_000)

  it('reports a YAML syntax error and an unknown label in the authorization map with entry null, naming the file', async () => {
    const { t, browser } = await adminSession()
    const id = await planned(browser, { users: '- active: true\n  email: [unclosed\n', authorizations: `${AUTH}bogus-label:\n  view-reports: read-only\n` })
    const report = await reportJson(browser, id)
    expect(report.ok).toBe(false)
    expect(report.errors).toEqual([
      { entry: null, email: null, path: 'bogus-label', line: 8, message: expect.stringMatching(/^authorization map: Invalid project label "bogus-label"/) },
      { entry: null, email: null, path: '', line: 3, message: expect.stringMatching(/^user directory: YAML syntax error: /) },
    ])
    const html = await page(browser, `/admin/import/${id}`)
    expect(html).toContain('The files have 2 errors: nothing can be applied.')
    const rows = tableRows(html)
    expect(rows).toHaveLength(2)
    expect(rows[0]).toMatch(/^<td><\/td><td><\/td><td>bogus-label<\/td><td>8<\/td><td>authorization map: Invalid project label &quot;bogus-label&quot;/)
    expect(rows[1]).toMatch(/^<td><\/td><td><\/td><td><\/td><td>3<\/td><td>user directory: YAML syntax error: /)
    expect((await browser.post(`/admin/import/${id}/apply`, { confirm: 'yes' })).status).toBe(409)
    expect(t.db.select().from(invitations).all()).toEqual([])
  })

  it('reports the rules a domain config breaks, and applies nothing', async () => {
    const { t, browser } = await adminSession()
    const id = await planned(browser, { users: ANN, domains: 'domain_relationship:\n  affiliated_groups:\n    - name: Lonely\n      domains: [alpha.edu]\n' })
    const report = await reportJson(browser, id)
    expect(report.ok).toBe(false)
    expect(report.errors).toHaveLength(1)
    expect(report.errors[0]).toMatchObject({ entry: null, email: null, line: 4, message: expect.stringMatching(/^domain config: /) })
    expect(await page(browser, `/admin/import/${id}`)).not.toContain('Apply this import')
    expect((await browser.post(`/admin/import/${id}/apply`, { confirm: 'yes' })).status).toBe(409)
    expect(t.db.select().from(invitations).all()).toEqual([])
  })

  it('escapes what the files say when it shows them', async () => {
    const { browser } = await adminSession()
    const id = await planned(browser, { users: person({ auth: 'ann@alpha.edu', study: "'<img src=x onerror=alert(1)>'" }) })
    const html = await page(browser, `/admin/import/${id}`)
    expect(tableRows(html)).toEqual([
      '<td>0</td><td>ann@alpha.edu</td><td>[0].authorizations.study_id</td><td>4</td><td>Unknown study &quot;&lt;img src=x onerror=alert(1)&gt;&quot; (known: adrc)</td></tr>',
    ])
    expect(html).not.toContain('<img')
  })

  it('an empty directory is a valid no-op: nothing to change, nothing to apply', async () => {
    const { t, browser } = await adminSession()
    const id = await planned(browser, { users: '' })
    expect(getImportRun(t.db, id)).toMatchObject({ status: 'planned', entries: 0 })
    const html = await page(browser, `/admin/import/${id}`)
    expect(html).toContain('<p>Nothing to change: the accounts already match the files.</p>')
    expect(html).not.toContain('Apply this import')
    expect(html).toContain('<p>Nothing here.</p>')
    const report = await reportJson(browser, id)
    expect(report).toEqual({ ok: true, applied: false, errors: [], warnings: [], actions: [], flags: [] })
  })
})

describe('the domain config', () => {
  it('flags possible duplicates (combined and name only) and does not provision them; the others are invited', async () => {
    const { t, browser } = await adminSession()
    nameUser(t, (await createTestUser(t, { email: 'ann@jhmi.edu' })).user.id, 'Ann', 'Smith')
    nameUser(t, (await createTestUser(t, { email: 'dan@elsewhere.com' })).user.id, 'Dan', 'Brown')
    const domains = `domain_relationship:
  parent_child:
    - child: jhmi.edu
      parent: jhu.edu
`
    const users =
      person({ auth: 'ann.smith@jhu.edu', first: 'ANN', last: ' smith' }) + person({ auth: 'carl@jhu.edu', first: 'Carl', last: 'Jones' }) + person({ auth: 'dan@jhu.edu', first: 'Dan', last: 'Brown' })
    const id = await planned(browser, { users, domains })

    const plan = await page(browser, `/admin/import/${id}`)
    expect(plan).toContain('<dd>users.yaml, auth.yaml, domains.yaml</dd>')
    expect(plan).toContain('<li><strong>1</strong> invitation (5 project roles granted on acceptance)</li>')
    expect(plan).toContain('<li><strong>0</strong> follow-ups, <strong>2</strong> skipped</li>')
    expect(plan).toContain('<li><strong>0</strong> errors, <strong>0</strong> warnings, <strong>2</strong> flags</li>')
    expect(plan).toContain(`<a href="/admin/import/${id}?section=flags#report">Flags (2)</a>`)

    const flags = tableRows(await page(browser, `/admin/import/${id}?section=flags`))
    expect(flags).toEqual([
      '<td>0</td><td>ann.smith@jhu.edu</td><td>possible_duplicate</td><td>combined</td><td>ann@jhmi.edu</td><td>ANN smith has the name and a related email domain of ann@jhmi.edu: possibly the same person; not provisioned</td></tr>',
      '<td>2</td><td>dan@jhu.edu</td><td>possible_duplicate</td><td>name_only</td><td>dan@elsewhere.com</td><td>Dan Brown has the name of dan@elsewhere.com (unrelated domains): possibly the same person; not provisioned</td></tr>',
    ])

    await applied(browser, id)
    expect(getImportRun(t.db, id)!.status).toBe('applied')
    expect(t.db.select({ email: invitations.email }).from(invitations).all()).toEqual([{ email: 'carl@jhu.edu' }])
    expect(emailsTo(t.db, 'ann.smith@jhu.edu')).toEqual([])
    expect(emailsTo(t.db, 'dan@jhu.edu')).toEqual([])
    expect(emailsTo(t.db, 'carl@jhu.edu')).toHaveLength(1)
  })

  it('flags an account claimed through the wrong identity provider, and still grants its roles (advisory)', async () => {
    const { t, browser } = await adminSession()
    const gus = await createTestUser(t, { email: 'gus@umich.edu' })
    t.db.update(users).set({ claimedVia: 'ORCID' }).where(eq(users.id, gus.user.id)).run()
    const local = await createTestUser(t, { email: 'hal@umich.edu' }) // claimed with a local password: never flagged
    const domains = `idp_domain:
  institutional_idp:
    - domain: umich.edu
      idp_name: University of Michigan
`
    const directory = person({ auth: 'gus@umich.edu', first: 'Gus', approve: false, submit: '' }) + person({ auth: 'hal@umich.edu', first: 'Hal', approve: false, submit: '' })
    const id = await planned(browser, { users: directory, domains })
    expect(tableRows(await page(browser, `/admin/import/${id}?section=flags`))).toEqual([
      '<td>0</td><td>gus@umich.edu</td><td>wrong_idp</td><td></td><td>gus@umich.edu</td><td>gus@umich.edu was claimed through ORCID, but umich.edu expects University of Michigan</td></tr>',
    ])
    await applied(browser, id)
    expect(t.db.select().from(projectMembers).where(eq(projectMembers.userId, gus.user.id)).all()).toHaveLength(3)
    expect(t.db.select().from(projectMembers).where(eq(projectMembers.userId, local.user.id)).all()).toHaveLength(3)
  })

  it('without the domain config, the same people are invited and nothing is flagged', async () => {
    const { t, browser } = await adminSession()
    nameUser(t, (await createTestUser(t, { email: 'ann@jhmi.edu' })).user.id, 'Ann', 'Smith')
    const id = await planned(browser, { users: person({ auth: 'ann.smith@jhu.edu' }) })
    const plan = await page(browser, `/admin/import/${id}`)
    expect(plan).toContain('(no domain config: no domain checks)')
    expect(plan).toContain('<li><strong>0</strong> errors, <strong>0</strong> warnings, <strong>0</strong> flags</li>')
    await applied(browser, id)
    expect(t.db.select({ email: invitations.email }).from(invitations).all()).toEqual([{ email: 'ann.smith@jhu.edu' }])
  })
})

describe('follow-ups by date', () => {
  it('records the mode on the invitation, counts follow-ups due on the import page after 7 days, and plans the follow-up', async () => {
    const { t, admin, browser } = await adminSession()
    const id = await planned(browser, { users: ANN, notify: 'date' })
    expect(await page(browser, `/admin/import/${id}`)).toContain('<dd>By date: follow-ups on days 7, 14 and 21 after the claim email</dd>')
    await applied(browser, id)
    expect(t.db.select({ followUpMode: invitations.followUpMode, followUpsSent: invitations.followUpsSent }).from(invitations).all()).toEqual([{ followUpMode: 'date', followUpsSent: 0 }])

    const before = await page(browser, '/admin/import')
    expect(before).toContain(' (no check yet). Due now: 0.')
    t.clock.advance(7 * DAY_MS - 60_000)
    const later = await signIn(t, admin) // the first session has expired by now; signing in takes 30 s
    expect(await page(later, '/admin/import')).toContain('Due now: 0.')
    t.clock.advance(30_000) // exactly 7 days after the claim email
    expect(await page(later, '/admin/import')).toContain('Due now: 1.')

    // The same files again, by date: the first follow-up is planned and sent on apply.
    const second = await planned(later, { users: ANN, notify: 'date' })
    const plan = await page(later, `/admin/import/${second}`)
    expect(plan).toContain('<li><strong>1</strong> follow-up, <strong>0</strong> skipped</li>')
    expect(tableRows(plan)).toEqual(['<td>0</td><td>ann.smith@alpha.edu</td><td>follow_up</td><td>ann@alpha.edu</td><td></td><td></td><td>follow-up 1</td></tr>'])
    await applied(later, second)
    expect(emailsTo(t.db, 'ann@alpha.edu').map((m) => m.subject)).toEqual(['Reminder: your Gatehouse invitation', 'You are invited to Gatehouse'])
    expect(t.db.select({ followUpsSent: invitations.followUpsSent }).from(invitations).all()).toEqual([{ followUpsSent: 1 }])
    expect(await page(later, '/admin/import')).toContain('Due now: 0.')
  })

  it('with notify none, the invitation gets no follow-ups', async () => {
    const { t, admin, browser } = await adminSession()
    await applied(browser, await planned(browser, { users: ANN, notify: 'none' }))
    expect(t.db.select({ followUpMode: invitations.followUpMode }).from(invitations).all()).toEqual([{ followUpMode: 'none' }])
    t.clock.advance(8 * DAY_MS)
    expect(await page(await signIn(t, admin), '/admin/import')).toContain('Due now: 0.')
  })
})

describe('the run list', () => {
  it('counts every entry of the directory, also on a re-run that changes nothing', async () => {
    const { t, browser } = await adminSession()
    const gone = `- active: false\n  auth_email: null\n  email: gone@alpha.edu\n  name: { first_name: Old, last_name: Timer }\n`
    const first = await planned(browser, { users: ANN + gone })
    await applied(browser, first)
    const second = await planned(browser, { users: ANN + gone })
    expect(getImportRun(t.db, first)!.entries).toBe(2)
    expect(getImportRun(t.db, second)!.entries).toBe(2)
    expect(tableRows(await page(browser, '/admin/import')).map((r) => /<td>(\d+)<\/td><td>none<\/td>/.exec(r)?.[1])).toEqual(['2', '2'])
  })
})

describe('the report table: sections, filters, sorting and pages', () => {
  /** 30 new people: 30 invitations and 150 grants on acceptance (two roles on alpha/accepted), 180 actions. */
  const MANY = Array.from({ length: 30 }, (_, i) => person({ auth: `person${i}@alpha.edu`, first: `P${i}`, last: 'Many' })).join('')

  it('filters by action and by text, sorts, and pages 100 rows at a time', async () => {
    const { browser } = await adminSession()
    const id = await planned(browser, { users: MANY })

    const first = await page(browser, `/admin/import/${id}`)
    expect(tableRows(first)).toHaveLength(100)
    expect(first).toContain('Page 1 of 2 (180 rows)')
    expect(first).toContain(`<a href="/admin/import/${id}?section=actions&amp;page=2#report">Next →</a>`)
    expect(first).not.toContain('← Previous')

    const second = await page(browser, `/admin/import/${id}?section=actions&page=2`)
    const secondRows = tableRows(second)
    expect(secondRows).toHaveLength(80)
    expect(second).toContain('Page 2 of 2 (180 rows)')
    expect(second).toContain(`<a href="/admin/import/${id}?section=actions#report">← Previous</a>`)
    expect(secondRows[0]).toContain('<td>16</td><td>person16@alpha.edu</td><td>grant</td><td>person16@alpha.edu</td><td>alpha/ingest-form</td>')
    expect(secondRows[79]).toContain('<td>29</td><td>person29@alpha.edu</td><td>grant</td><td>person29@alpha.edu</td><td>nacc/metadata</td>')

    const invites = await page(browser, `/admin/import/${id}?section=actions&action=invite`)
    const inviteRows = tableRows(invites)
    expect(inviteRows).toHaveLength(30)
    expect(inviteRows.every((r) => r.includes('<td>invite</td>'))).toBe(true)
    expect(invites).not.toContain('Page 1 of')
    expect(invites).toContain('<option value="invite" selected="">invite</option>')

    // A page past the end shows the last page.
    const beyond = await page(browser, `/admin/import/${id}?section=actions&page=9`)
    expect(tableRows(beyond)).toHaveLength(80)
    expect(beyond).toContain('Page 2 of 2 (180 rows)')

    const grants = tableRows(await page(browser, `/admin/import/${id}?section=actions&action=grant&page=2`))
    expect(grants).toHaveLength(50)
    expect(grants.every((r) => r.includes('<td>grant</td>'))).toBe(true)

    const one = await page(browser, `/admin/import/${id}?section=actions&q=PERSON7%40`)
    const oneRows = tableRows(one)
    expect(oneRows).toHaveLength(6)
    expect(oneRows.every((r) => r.includes('<td>person7@alpha.edu</td>'))).toBe(true)
    expect(one).toContain('value="PERSON7@"')
    expect(tableRows(await page(browser, `/admin/import/${id}?section=actions&q=person7%40&action=invite`))).toEqual([
      '<td>7</td><td>person7@alpha.edu</td><td>invite</td><td>person7@alpha.edu</td><td></td><td></td><td></td></tr>',
    ])
    expect(tableRows(await page(browser, `/admin/import/${id}?section=actions&q=ingest-form`))).toHaveLength(30)
    expect(await page(browser, `/admin/import/${id}?section=actions&q=nobody`)).toContain('<p>Nothing here.</p>')

    const byEmail = tableRows(await page(browser, `/admin/import/${id}?section=actions&action=invite&sort=email`))
    expect(byEmail.slice(0, 3).map((r) => /<td>(person\d+)@/.exec(r)![1])).toEqual(['person0', 'person1', 'person10'])

    const warnings = await page(browser, `/admin/import/${id}?section=warnings`)
    expect(warnings).toContain(`<a href="/admin/import/${id}?section=warnings#report" aria-current="page">Warnings (0)</a>`)
    expect(warnings).toContain('<p>Nothing here.</p>')
    expect(warnings).not.toContain('id="f-action"')
  })
})

describe('GET /admin/import', () => {
  it('shows the form, no runs at first, then each run with its status, newest first', async () => {
    const { browser } = await adminSession()
    const empty = await page(browser, '/admin/import')
    expect(empty).toContain('<form method="post" action="/admin/import" enctype="multipart/form-data" class="stack">')
    expect(empty).toContain('<label for="f-users">User directory (YAML)</label>')
    expect(empty).toContain('<label for="f-authorizations">Authorization map (YAML)</label>')
    expect(empty).toContain('<label for="f-domains">Domain config (YAML, optional)</label>')
    expect(empty).toContain('<p>No imports yet.</p>')
    expect(empty).not.toContain('No consortium structure is set up yet')

    const first = await planned(browser, { users: ANN + BOB })
    await applied(browser, first)
    const second = await planned(browser, { users: person({ auth: 'eve@alpha.edu', first: 'Eve' }), notify: 'force' })

    const html = await page(browser, '/admin/import')
    expect(html).not.toContain('No imports yet.')
    const rows = tableRows(html)
    expect(rows).toHaveLength(2)
    expect(rows[0]).toContain(`<td><a href="/admin/import/${second}">#${second}</a></td>`)
    expect(rows[0]).toContain('<td>users.yaml</td><td>1</td><td>force</td>')
    expect(rows[0]).toContain('<span class="badge run-planned">Planned, not applied</span>')
    expect(rows[1]).toContain(`<td><a href="/admin/import/${first}">#${first}</a></td>`)
    expect(rows[1]).toContain('<td>users.yaml</td><td>2</td><td>none</td>')
    expect(rows[1]).toContain('<span class="badge run-applied">Applied</span>')
  })

  it('warns when no consortium structure is set up', async () => {
    const t = createTestEnv()
    const browser = await signIn(t, await createTestUser(t, { role: 'admin' }))
    expect(await page(browser, '/admin/import')).toContain('No consortium structure is set up yet: every centre will be unknown.')
  })
})

describe('interrupted runs', () => {
  it('marks runs left planning or applying as failed, shows why, and refuses to apply them', async () => {
    const { t, admin, browser } = await adminSession()
    const insert = (status: 'planning' | 'applying' | 'planned') => {
      const { id } = t.db.insert(importRuns).values({ status, notify: 'none', createdAt: t.clock.now(), createdBy: admin.user.id, usersFilename: 'users.yaml', authFilename: 'auth.yaml' }).returning().get()
      t.db.insert(importRunFiles).values({ runId: id, usersYaml: ANN, authYaml: AUTH }).run()
      return id
    }
    const planning = insert('planning')
    const applying = insert('applying')
    const done = await planned(browser, { users: ANN })
    expect(await page(browser, `/admin/import/${planning}`)).toContain('<progress')

    expect(markInterruptedRuns(t.db)).toBe(2)
    expect(getImportRun(t.db, done)!.status).toBe('planned')
    for (const id of [planning, applying]) {
      expect(getImportRun(t.db, id)!.status).toBe('failed')
      const html = await page(browser, `/admin/import/${id}`)
      expect(html).toContain(`Import #${id} <span class="badge run-failed">Failed</span>`)
      expect(html).toContain('<p class="flash flash-error">Gatehouse stopped while this ran; nothing was applied. Upload the files again.</p>')
      expect(html).not.toContain('<progress')
      expect(html).not.toContain('Apply this import')
      const progress = await browser.get(`/admin/import/${id}/progress`)
      expect(progress.status).toBe(303)
      expect((await browser.get(`/admin/import/${id}/report.json`)).status).toBe(404)

      const apply = await browser.post(`/admin/import/${id}/apply`, { confirm: 'yes' })
      expect(apply.status).toBe(303)
      expect(await page(browser, `/admin/import/${id}`)).toContain('This import cannot be applied now.')
    }
    await settleImportJobs()
    expect(t.db.select().from(invitations).all()).toEqual([])
    expect(markInterruptedRuns(t.db)).toBe(0)
    expect(await page(browser, '/admin/import')).toContain('<span class="badge run-failed">Failed</span>')
  })
})

describe('the privilege ceiling on an import from the admin page (SPEC §2.2)', () => {
  it('refuses a user manager (admin.access + users.manage) with 403 naming what it lacks: the invitations carry researcher and contributor; nothing is applied', async () => {
    const { t } = await adminSession()
    t.db.insert(roles).values({ name: 'user-manager', scope: 'site', permissions: ['admin.access', 'users.manage'], createdAt: 0, updatedAt: 0 }).run()
    const um = await createTestUser(t, { email: 'um@example.org', role: 'user-manager' as 'admin' })
    const browser = await signIn(t, um)
    const id = await planned(browser, { users: ANN })
    const res = await browser.post(`/admin/import/${id}/apply`, { confirm: 'yes' })
    expect(res.status).toBe(403)
    expect(await res.text()).toMatch(/“projects\.(contribute|create)”/)
    await settleImportJobs()
    expect(t.db.select().from(invitations).all()).toHaveLength(0)
    expect(getImportRun(t.db, id)!.status).toBe('planned')
  })
  it('the apply checks the ceiling again on the plan it applies: a run claimed for applying by someone who lacks a permission it hands out fails, nothing applied', async () => {
    const { t } = await adminSession()
    t.db.insert(roles).values({ name: 'user-manager', scope: 'site', permissions: ['admin.access', 'users.manage'], createdAt: 0, updatedAt: 0 }).run()
    const um = await createTestUser(t, { email: 'um@example.org', role: 'user-manager' as 'admin' })
    const id = await planned(await signIn(t, um), { users: ANN })
    // as if the page's check had passed (a race with a role change): the run is claimed and applied
    t.db.update(importRuns).set({ status: 'applying' }).where(eq(importRuns.id, id)).run()
    const errors: unknown[] = []
    await applyPlannedRun(t.db, id, { actor: { id: um.user.id, email: um.user.email }, now: t.clock.now(), ip: '127.0.0.1', baseUrl: BASE_URL, key: t.config.encryptionKey, ttlMs: 48 * 3_600_000, inviter: 'Gatehouse import' }, () => {}, (e) => errors.push(e))
    expect(errors).toEqual([])
    const run = getImportRun(t.db, id)!
    expect(run.status).toBe('failed')
    expect(run.failure).toMatch(/Not applied: .*missing permission projects\.(contribute|create)/)
    expect(t.db.select().from(invitations).all()).toHaveLength(0)
  })
})
