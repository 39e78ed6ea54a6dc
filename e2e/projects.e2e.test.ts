// A project's whole life in real Chromium, with two sites played by this test through the site
// API (plain fetch with each site's bearer key, as a site's software does it). The admin registers
// both sites (reading each key from the page that shows it once) and two users whose temporary
// passwords arrive by real email; the researcher creates a project and a cohort query, the sites
// report counts, the researcher stages it at both sites, the admin approves one; only that site
// gets the image retrieval task. The researcher creates a model, uploads a file and starts
// training at the approved site (a forged request for the other site is refused, naming it); the
// site downloads the model file (SHA-256 checked), reports metrics and uploads a result; an
// observer member signs in, sees the metrics and downloads the result in the browser.
import { createHash, randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ParsedMail } from 'mailparser'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import {
  headingOf,
  escapeRegExp,
  REPO_ROOT,
  completeFirstSignIn,
  launchChromium,
  sentTo,
  startGatehouse,
  startSmtpSink,
  temporaryPasswordFrom,
  type GatehouseServer,
  type SmtpSink,
} from './support.ts'

const ADMIN_EMAIL = 'admin@example.org'
const ADMIN_PASSWORD = 'saffron ledger drifts past nine quiet piers'
const RESEARCHER = { email: 'researcher@example.org', password: 'amber kestrel folds maps beside the weir' }
const OBSERVER = { email: 'observer@example.org', password: 'slate otter counts pebbles under moonlight' }

const PROJECT_NAME = 'Lung nodule follow-up'
const COHORT_QUERY = "SELECT patient_id FROM scans WHERE modality = 'CT' AND age >= 40"
const MODEL_NAME = 'ResNet-50 baseline'

const LEEDS = { name: 'Leeds Teaching Hospitals', code: 'LTH', count: 120 }
const YORK = { name: 'York and Scarborough', code: 'YSTH', count: 37 }

/** The model file the researcher uploads, and the result file the approved site uploads. */
const MODEL_FILE = { name: 'resnet50-init.pt', bytes: randomBytes(96 * 1024 + 17) }
const RESULT_FILE = {
  name: 'predictions.csv',
  bytes: Buffer.from(['patient_id,probability', ...Array.from({ length: 400 }, (_, i) => `P${String(i).padStart(5, '0')},${((i * 37) % 100) / 100}`)].join('\n') + '\n'),
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex')

type SiteTaskJson = {
  id: number
  kind: 'cohort_query' | 'image_retrieval' | 'training'
  project: { id: number; name: string }
  cohort_query?: { version: number; sql: string }
  training?: { run_id: number; model: { id: number; name: string; files: { id: number; filename: string; size: number; sha256: string }[] } }
}

/** A site's software: the bearer key on every request, JSON in and out, no cookies, no Origin. */
class SiteClient {
  constructor(
    readonly baseUrl: string,
    readonly apiKey: string,
  ) {}

  request(method: string, path: string, body?: RequestInit['body'], headers: Record<string, string> = {}): Promise<Response> {
    return fetch(`${this.baseUrl}/api/sites/v1${path}`, { method, body, headers: { Authorization: `Bearer ${this.apiKey}`, ...headers }, redirect: 'manual' })
  }

  async tasks(): Promise<SiteTaskJson[]> {
    const res = await this.request('GET', '/tasks')
    expect(res.status).toBe(200)
    expect(res.headers.get('Set-Cookie')).toBeNull()
    return ((await res.json()) as { tasks: SiteTaskJson[] }).tasks
  }

  async claim(taskId: number): Promise<SiteTaskJson & { claim_expires_at: string }> {
    const res = await this.request('POST', `/tasks/${taskId}/claim`)
    expect(res.status).toBe(200)
    return (await res.json()) as SiteTaskJson & { claim_expires_at: string }
  }

  async result(taskId: number, body: unknown): Promise<{ status: string }> {
    const res = await this.request('POST', `/tasks/${taskId}/result`, JSON.stringify(body), { 'Content-Type': 'application/json' })
    const json = (await res.json()) as { status: string }
    expect(res.status, JSON.stringify(json)).toBe(200)
    return json
  }
}

describe('a project from cohort query to training results, with two sites on the site API', () => {
  let sink: SmtpSink
  let server: GatehouseServer
  let browser: Browser
  const contexts: BrowserContext[] = []
  let admin: Page
  let researcher: Page
  let observer: Page
  let leeds: SiteClient & { id: number }
  let york: SiteClient & { id: number }
  let projectPath = ''
  let trainingTaskId = 0
  /** The observer's temporary password, from the email read when the admin registers them. */
  let observerPassword = ''
  /** Uncaught script errors in any page. */
  const pageErrors: string[] = []
  /** Emails already used by a step. */
  const consumed = new Set<ParsedMail>()

  const url = (path: string) => `${server.baseUrl}${path}`
  const pathOf = (page: Page) => new URL(page.url()).pathname
  const heading = headingOf
  const flash = (page: Page) => page.locator('p.flash-success')
  const screenshot = (page: Page, name: string) => page.screenshot({ path: join(REPO_ROOT, 'test-results', name), fullPage: true })
  const section = (page: Page, id: string) => page.locator(`section#${id}`)
  const modelCard = (page: Page) => page.locator('article.card', { has: page.getByRole('heading', { level: 3, name: new RegExp(`^${escapeRegExp(MODEL_NAME)}`) }) })

  async function newPage(who: string): Promise<Page> {
    const context = await browser.newContext()
    contexts.push(context)
    const page = await context.newPage()
    page.on('pageerror', (error) => pageErrors.push(`${who}: ${error.message}`))
    return page
  }

  async function nextEmail(to: string, subject: string): Promise<ParsedMail> {
    const mail = await sink.waitForEmail((m) => !consumed.has(m) && sentTo(to)(m) && m.subject === subject)
    consumed.add(mail)
    return mail
  }

  /** Clicks a submit button and returns the status of the form's POST (before any redirect); waits for the page that follows. */
  async function submit(page: Page, button: ReturnType<Page['getByRole']>, path: RegExp | string): Promise<number> {
    const matches = (p: string) => (typeof path === 'string' ? p === path : path.test(p))
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST' && matches(new URL(r.url()).pathname)),
      page.waitForNavigation({ waitUntil: 'load' }),
      button.click(),
    ])
    return response.status()
  }

  /** The admin registers a site on /admin/sites; its key is read from the page that shows it once. */
  async function registerSite(site: { name: string; code: string }): Promise<SiteClient & { id: number }> {
    await admin.goto(url('/admin/sites'))
    const form = admin.locator('form', { has: admin.getByRole('button', { name: 'Create site' }) })
    await form.getByLabel('Name').fill(site.name)
    await form.getByLabel('Short code').fill(site.code)
    expect(await submit(admin, form.getByRole('button', { name: 'Create site' }), '/admin/sites')).toBe(200)
    expect(await heading(admin)).toBe(`Site “${site.name}” created`)
    const apiKey = (await admin.locator('#site-api-key').innerText()).trim()
    expect(apiKey).toMatch(/^gh_site_\S{20,}$/)
    const href = await admin.getByRole('link', { name: 'Continue to the site' }).getAttribute('href')
    const id = Number(/^\/admin\/sites\/(\d+)$/.exec(href ?? '')?.[1])
    expect(id).toBeGreaterThan(0)
    // Shown once: the site's own page shows only the prefix.
    await admin.goto(url(href!))
    expect(await admin.locator('main').innerText()).not.toContain(apiKey)
    return Object.assign(new SiteClient(server.baseUrl, apiKey), { id })
  }

  /** The admin registers a user on /admin/users; the temporary password comes by real email. */
  async function registerUser(email: string, role: 'researcher' | 'observer'): Promise<string> {
    await admin.goto(url('/admin/users'))
    const form = admin.locator('form', { has: admin.getByRole('button', { name: 'Register' }) })
    await form.getByLabel('Email', { exact: true }).fill(email)
    await form.getByLabel('Role', { exact: true }).selectOption(role)
    await form.getByRole('button', { name: 'Register' }).click()
    await admin.waitForURL(/\/admin\/users\/\d+$/)
    expect(await heading(admin)).toBe(email)
    return temporaryPasswordFrom(await nextEmail(email, 'Your Gatehouse account'))
  }

  beforeAll(async () => {
    mkdirSync(join(REPO_ROOT, 'test-results'), { recursive: true })
    sink = await startSmtpSink()
    server = await startGatehouse({ smtpPort: sink.port, adminEmail: ADMIN_EMAIL, logFile: join(REPO_ROOT, 'test-results/projects.server.log') })
    browser = await launchChromium()
    admin = await newPage('admin')
    researcher = await newPage('researcher')
    observer = await newPage('observer')
  })

  afterAll(async () => {
    for (const context of contexts) await context.close()
    await browser?.close()
    await server?.stop()
    await sink?.stop()
  })

  it('admin: first sign-in, registers two sites (each key read once) and a researcher, who completes the first sign-in', async () => {
    const temporaryPassword = temporaryPasswordFrom(await nextEmail(ADMIN_EMAIL, 'Your Gatehouse account'))
    await completeFirstSignIn(admin, server.baseUrl, { email: ADMIN_EMAIL, temporaryPassword, newPassword: ADMIN_PASSWORD })

    leeds = await registerSite(LEEDS)
    york = await registerSite(YORK)
    expect(leeds.apiKey).not.toBe(york.apiKey)
    await admin.goto(url('/admin/sites'))
    for (const site of [LEEDS, YORK]) expect(await admin.getByRole('row', { name: new RegExp(escapeRegExp(site.name)) }).count()).toBe(1)
    // Neither site has work yet.
    expect(await leeds.tasks()).toEqual([])
    expect(await york.tasks()).toEqual([])

    const researcherPassword = await registerUser(RESEARCHER.email, 'researcher')
    await completeFirstSignIn(researcher, server.baseUrl, { email: RESEARCHER.email, temporaryPassword: researcherPassword, newPassword: RESEARCHER.password })
    expect(await heading(researcher)).toContain('Welcome')
  })

  it('researcher: creates the project and writes the cohort query, which both sites receive', async () => {
    await researcher.goto(url('/projects/new'))
    await researcher.getByLabel('Name').fill(PROJECT_NAME)
    await researcher.getByLabel('Description').fill('CT follow-up of incidental lung nodules in adults')
    await researcher.getByRole('button', { name: 'Create project' }).click()
    await researcher.waitForURL(/\/projects\/\d+$/)
    projectPath = pathOf(researcher)
    expect(await heading(researcher)).toBe(`${PROJECT_NAME} unstaged`)

    const cohort = section(researcher, 'cohort')
    await cohort.getByLabel('Cohort query').fill(COHORT_QUERY)
    expect(await submit(researcher, cohort.getByRole('button', { name: 'Save and send to sites' }), `${projectPath}/cohort-query`)).toBe(303)
    expect(await flash(researcher).innerText()).toContain('Cohort query version 1 saved and sent to the sites')
    expect(await cohort.locator('pre.sql').innerText()).toBe(COHORT_QUERY)
    for (const site of [LEEDS, YORK]) expect(await cohort.getByRole('row', { name: new RegExp(escapeRegExp(site.name)) }).innerText()).toContain('waiting for the site')
  })

  it('sites: each lists, claims and answers its cohort count (120 and 37)', async () => {
    const projectId = Number(projectPath.split('/').pop())
    for (const [site, count] of [
      [leeds, LEEDS.count],
      [york, YORK.count],
    ] as const) {
      const tasks = await site.tasks()
      expect(tasks).toHaveLength(1)
      expect(tasks[0]).toMatchObject({ kind: 'cohort_query', project: { id: projectId, name: PROJECT_NAME }, cohort_query: { version: 1, sql: COHORT_QUERY } })
      const claimed = await site.claim(tasks[0]!.id)
      expect(Date.parse(claimed.claim_expires_at)).toBeGreaterThan(Date.now())
      expect(await site.result(tasks[0]!.id, { count })).toMatchObject({ status: 'done' })
      expect(await site.tasks()).toEqual([])
    }
  })

  it('researcher: reloads, sees both counts and stages the project at both sites', async () => {
    await researcher.reload()
    const cohort = section(researcher, 'cohort')
    expect(await cohort.getByRole('row', { name: new RegExp(escapeRegExp(LEEDS.name)) }).getByRole('cell').allInnerTexts()).toEqual([`${LEEDS.name} ${LEEDS.code}`, '120'])
    expect(await cohort.getByRole('row', { name: new RegExp(escapeRegExp(YORK.name)) }).getByRole('cell').allInnerTexts()).toEqual([`${YORK.name} ${YORK.code}`, '37'])

    const sites = section(researcher, 'sites')
    await sites.getByLabel(`${LEEDS.name} — 120`).check()
    await sites.getByLabel(`${YORK.name} — 37`).check()
    expect(await submit(researcher, sites.getByRole('button', { name: 'Stage for approval' }), `${projectPath}/stage`)).toBe(303)
    expect(await flash(researcher).innerText()).toBe('Project staged for approval; it is locked for editing now.')
    expect(await heading(researcher)).toBe(`${PROJECT_NAME} staged`)
    for (const site of [LEEDS, YORK]) expect(await sites.getByRole('row', { name: new RegExp(escapeRegExp(site.name)) }).innerText()).toContain('Awaiting decision')
    // Locked: no cohort query form, no approval form for the owner.
    expect(await researcher.getByRole('button', { name: 'Save and send to sites' }).count()).toBe(0)
    expect(await researcher.getByRole('button', { name: 'Save site approvals' }).count()).toBe(0)
  })

  it('admin: approves the project at Leeds only; Leeds gets the image retrieval task, York does not', async () => {
    await admin.goto(url(projectPath))
    expect(await heading(admin)).toBe(`${PROJECT_NAME} staged`)
    await screenshot(admin, 'project-staged.png')

    const approvals = admin.locator('form', { has: admin.getByRole('button', { name: 'Save site approvals' }) })
    expect(await approvals.getByRole('checkbox').count()).toBe(2)
    await approvals.getByLabel(`Approve at ${LEEDS.name}`).check()
    expect(await approvals.getByLabel(`Approve at ${YORK.name}`).isChecked()).toBe(false)
    expect(await submit(admin, approvals.getByRole('button', { name: 'Save site approvals' }), `${projectPath}/approvals`)).toBe(303)
    expect(await flash(admin).innerText()).toContain('Site approvals saved')
    expect(await heading(admin)).toBe(`${PROJECT_NAME} approved`)
    const decisions = section(admin, 'sites')
    expect(await decisions.getByRole('row', { name: new RegExp(escapeRegExp(LEEDS.name)) }).innerText()).toMatch(new RegExp(`Approved\\s+${escapeRegExp(ADMIN_EMAIL)}`))
    expect(await decisions.getByRole('row', { name: new RegExp(escapeRegExp(YORK.name)) }).innerText()).toMatch(new RegExp(`Not approved\\s+${escapeRegExp(ADMIN_EMAIL)}`))

    const leedsTasks = await leeds.tasks()
    expect(leedsTasks).toHaveLength(1)
    expect(leedsTasks[0]).toMatchObject({ kind: 'image_retrieval', project: { name: PROJECT_NAME }, cohort_query: { version: 1, sql: COHORT_QUERY } })
    expect(await york.tasks()).toEqual([])
    await leeds.claim(leedsTasks[0]!.id)
    expect(await leeds.result(leedsTasks[0]!.id, { status: 'done' })).toMatchObject({ status: 'done' })

    await researcher.reload()
    expect(await heading(researcher)).toBe(`${PROJECT_NAME} approved`)
    await screenshot(researcher, 'project-approved.png')
  })

  it('researcher: creates a model, uploads a file; training at York is refused naming York, at Leeds it starts', async () => {
    const create = researcher.locator('form#new-model')
    await create.getByLabel('Model name').fill(MODEL_NAME)
    await create.getByLabel('Model description').fill('ImageNet weights, fine-tuned per site')
    expect(await submit(researcher, create.getByRole('button', { name: 'Create model' }), `${projectPath}/models`)).toBe(303)
    expect(await flash(researcher).innerText()).toBe(`Model “${MODEL_NAME}” created.`)
    const card = modelCard(researcher)
    expect(await card.locator('dl.facts').first().innerText()).toMatch(new RegExp(`Allowed sites\\s+${escapeRegExp(LEEDS.name)}\\s`))

    await card.getByLabel(`Upload a file to ${MODEL_NAME}`).setInputFiles({ name: MODEL_FILE.name, mimeType: 'application/octet-stream', buffer: MODEL_FILE.bytes })
    expect(await submit(researcher, card.getByRole('button', { name: 'Upload file' }), /\/models\/\d+\/files$/)).toBe(303)
    expect(await flash(researcher).innerText()).toBe(`“${MODEL_FILE.name}” uploaded to “${MODEL_NAME}” (SHA-256 ${sha256(MODEL_FILE.bytes)}).`)
    expect(await modelCard(researcher).getByRole('row', { name: new RegExp(escapeRegExp(MODEL_FILE.name)) }).innerText()).toContain(sha256(MODEL_FILE.bytes))

    // The form offers Leeds only. A tampered form also asks for York: refused, York named, nothing started.
    const train = modelCard(researcher).locator('form', { has: researcher.getByRole('button', { name: 'Start training' }) })
    expect((await train.getByRole('checkbox').all()).length).toBe(1)
    await train.getByLabel(LEEDS.name).check()
    await train.evaluate((form, siteId) => form.querySelector('fieldset')!.insertAdjacentHTML('beforeend', `<input type="checkbox" name="site_ids" value="${siteId}" checked>`), york.id)
    expect(await submit(researcher, train.getByRole('button', { name: 'Start training' }), /\/models\/\d+\/train$/)).toBe(422)
    const refusal = await modelCard(researcher).locator('fieldset p.error').innerText()
    expect(refusal).toContain(`Not among this model's allowed sites`)
    expect(refusal).toContain(YORK.name)
    expect(refusal).not.toContain(LEEDS.name)
    expect(refusal).toContain('Nothing was started.')
    expect(await modelCard(researcher).innerText()).toContain('Not trained yet.')
    expect(await york.tasks()).toEqual([])
    expect(await leeds.tasks()).toEqual([])

    const again = modelCard(researcher).locator('form', { has: researcher.getByRole('button', { name: 'Start training' }) })
    await again.getByLabel(LEEDS.name).check()
    expect(await again.getByRole('checkbox').count()).toBe(1)
    expect(await submit(researcher, again.getByRole('button', { name: 'Start training' }), /\/models\/\d+\/train$/)).toBe(303)
    expect(await flash(researcher).innerText()).toContain(`Training of “${MODEL_NAME}” started at 1 site`)
    const run = modelCard(researcher).getByRole('row', { name: new RegExp(`^${escapeRegExp(LEEDS.name)}`) })
    expect(await run.locator('.badge').innerText()).toBe('initiated')
  })

  it('site Leeds: fetches the training task, downloads the model file (SHA-256 checked), reports metrics, uploads a result', async () => {
    expect(await york.tasks()).toEqual([])
    const tasks = await leeds.tasks()
    expect(tasks).toHaveLength(1)
    const task = tasks[0]!
    expect(task).toMatchObject({ kind: 'training', project: { name: PROJECT_NAME }, training: { model: { name: MODEL_NAME } } })
    expect(task.training!.model.files).toEqual([{ id: expect.any(Number), filename: MODEL_FILE.name, size: MODEL_FILE.bytes.length, sha256: sha256(MODEL_FILE.bytes) }])
    const file = task.training!.model.files[0]!
    trainingTaskId = task.id

    // Before claiming, the file is not handed out; York cannot see the task at all.
    expect((await leeds.request('GET', `/tasks/${task.id}/files/${file.id}`)).status).toBe(409)
    expect((await york.request('GET', `/tasks/${task.id}/files/${file.id}`)).status).toBe(404)

    const claimed = await leeds.claim(task.id)
    expect(claimed.training).toEqual(task.training)
    const download = await leeds.request('GET', `/tasks/${task.id}/files/${file.id}`)
    expect(download.status).toBe(200)
    expect(download.headers.get('Content-Type')).toBe('application/octet-stream')
    expect(download.headers.get('Content-Disposition')).toContain(`attachment; filename="${MODEL_FILE.name}"`)
    expect(download.headers.get('X-Content-SHA256')).toBe(file.sha256)
    const received = Buffer.from(await download.arrayBuffer())
    expect(received.length).toBe(file.size)
    expect(sha256(received)).toBe(file.sha256)
    expect(received.equals(MODEL_FILE.bytes)).toBe(true)

    expect(await leeds.result(task.id, { status: 'running', metrics: { epoch: 3, auc: 0.874, phase: 'fine-tune' } })).toMatchObject({ status: 'claimed' })
    await researcher.reload()
    expect(await modelCard(researcher).getByRole('row', { name: new RegExp(`^${escapeRegExp(LEEDS.name)}`) }).locator('.badge').innerText()).toBe('running')

    const form = new FormData()
    form.append('file', new Blob([new Uint8Array(RESULT_FILE.bytes)], { type: 'text/csv' }), RESULT_FILE.name)
    const upload = await leeds.request('POST', `/tasks/${task.id}/files`, form)
    expect(upload.status).toBe(201)
    expect(((await upload.json()) as { file: unknown }).file).toMatchObject({ filename: RESULT_FILE.name, size: RESULT_FILE.bytes.length, sha256: sha256(RESULT_FILE.bytes) })

    expect(await leeds.result(task.id, { status: 'results uploaded', metrics: { epoch: 10, auc: 0.912 } })).toMatchObject({ status: 'done' })
    expect(await leeds.tasks()).toEqual([])
    // The claim has ended: the model file is no longer handed out.
    expect((await leeds.request('GET', `/tasks/${task.id}/files/${file.id}`)).status).toBe(409)
  })

  it('admin: sees the training task and its history; registers an observer', async () => {
    await admin.goto(url(`/admin/tasks?site_id=${leeds.id}`))
    // The list links each task to its page, where the history is a timeline.
    await admin.getByRole('link', { name: `#${trainingTaskId}`, exact: true }).click()
    await admin.waitForURL(url(`/admin/tasks/${trainingTaskId}`))
    const text = await admin.locator('main').innerText()
    for (const event of ['claimed', 'file_downloaded', 'file_uploaded', 'result']) expect(text).toContain(event)

    observerPassword = await registerUser(OBSERVER.email, 'observer')
  })

  it('researcher: adds the observer on the project page; they get the default read-only role', async () => {
    await researcher.reload()
    const members = section(researcher, 'members')
    await members.getByLabel('Add a member by email').fill(OBSERVER.email)
    expect(await submit(researcher, members.getByRole('button', { name: 'Add member' }), `${projectPath}/members`)).toBe(303)
    expect(await flash(researcher).innerText()).toBe(`${OBSERVER.email} added as read-only.`)
    expect(await section(researcher, 'members').getByRole('row', { name: new RegExp(escapeRegExp(OBSERVER.email)) }).innerText()).toContain('read-only')
  })

  it('observer: signs in, opens the project, sees the metrics and downloads the result file', async () => {
    await completeFirstSignIn(observer, server.baseUrl, { email: OBSERVER.email, temporaryPassword: observerPassword, newPassword: OBSERVER.password })
    await observer.goto(url('/projects'))
    await observer.getByRole('link', { name: PROJECT_NAME, exact: true }).click()
    await observer.waitForURL(url(projectPath))
    expect(await heading(observer)).toBe(`${PROJECT_NAME} approved`)

    const card = modelCard(observer)
    expect(await card.getByRole('heading', { level: 3 }).innerText()).toBe(`${MODEL_NAME} results uploaded`)
    const run = card.getByRole('row', { name: new RegExp(`^${escapeRegExp(LEEDS.name)}`) })
    expect(await run.locator('.badge').innerText()).toBe('results uploaded')
    const metrics = await run.locator('dl.facts').innerText()
    expect(metrics).toMatch(/epoch\s+10/)
    expect(metrics).toMatch(/auc\s+0\.912/)
    expect(metrics).toMatch(/phase\s+fine-tune/)
    // Read-only: nothing to create, upload, train, stage or manage.
    for (const button of ['Create model', 'Upload file', 'Start training', 'Add member', 'Delete project']) expect(await observer.getByRole('button', { name: button }).count(), button).toBe(0)
    await screenshot(observer, 'project-results.png')

    const [download] = await Promise.all([observer.waitForEvent('download'), run.getByRole('link', { name: RESULT_FILE.name }).click()])
    expect(download.suggestedFilename()).toBe(RESULT_FILE.name)
    const saved = await download.path()
    const bytes = readFileSync(saved)
    expect(bytes.equals(RESULT_FILE.bytes)).toBe(true)
    expect(sha256(bytes)).toBe(sha256(RESULT_FILE.bytes))
    expect(trainingTaskId).toBeGreaterThan(0)
  })

  it('raised no script error in any browser page', () => {
    expect(pageErrors).toEqual([])
  })
})
