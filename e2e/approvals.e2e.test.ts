// An approver's journey in real Chromium: the approver of Leeds (an observer account, seeded in
// the server's database with a temporary password like an admin-created account) signs in for the
// first time — password change and TOTP enrolment with oathtool — sees the "Approvals" entry with
// its count, opens /approvals, reads the project staged at Leeds, approves it with an expiry
// through the decision page, and finds it under "Decided"; the entry's count drops to 0.
import { join } from 'node:path'
import { and, eq } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import { REPO_ROOT, completeFirstSignIn, launchChromium, startGatehouse, startSmtpSink, type GatehouseServer, type SmtpSink } from './support.ts'
import { openDatabase, type Db } from '../src/db/client.ts'
import { projectSites, projects, siteApprovers, tasks, users } from '../src/db/schema.ts'
import { hashPassword } from '../src/auth/password.ts'
import { createSite } from '../src/models/sites.ts'
import { createProject, saveCohortQuery } from '../src/models/projects.ts'

const APPROVER = { email: 'alice@leeds.example.org', temporaryPassword: 'temporary lantern harbour violet 42', newPassword: 'copper meadow kite folds quiet maps' }
const PROJECT = 'Lung nodule follow-up'
const EXPIRES = '2030-06-30'
const AXE_PATH = join(REPO_ROOT, 'node_modules/axe-core/axe.min.js')
type Violation = { id: string; impact: string | null; nodes: { target: string[] }[] }

/** Serious and critical axe-core violations of /approvals, light and dark, in a context that may inject axe. */
async function axeProblems(browser: Browser, from: Page, url: string): Promise<string[]> {
  const context = await browser.newContext({ bypassCSP: true, storageState: await from.context().storageState() })
  const page = await context.newPage()
  const problems: string[] = []
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme })
    expect((await page.goto(url))?.status()).toBe(200)
    await page.addScriptTag({ path: AXE_PATH })
    const violations = await page.evaluate(async () => (await (globalThis as unknown as { axe: { run(): Promise<{ violations: Violation[] }> } }).axe.run()).violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => ({ target: n.target })) })))
    for (const v of violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')) problems.push(`${scheme}: ${v.id} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)
  }
  await context.close()
  return problems
}

describe('an approver decides through /approvals', () => {
  let sink: SmtpSink
  let server: GatehouseServer
  let browser: Browser
  let db: Db
  let page: Page
  let projectId = 0
  let leedsId = 0

  beforeAll(async () => {
    sink = await startSmtpSink()
    server = await startGatehouse({ smtpPort: sink.port, adminEmail: 'admin@example.org' })
    db = openDatabase(join(server.dataDir, 'gatehouse.sqlite'))
    const now = Date.now()
    const owner = db.insert(users).values({ email: 'owner@example.org', role: 'researcher', passwordHash: await hashPassword('owner password never used here'), passwordChangedAt: now, mustChangePassword: true, createdAt: now }).returning().get()
    const approver = db.insert(users).values({ email: APPROVER.email, role: 'observer', passwordHash: await hashPassword(APPROVER.temporaryPassword), passwordChangedAt: now, mustChangePassword: true, createdAt: now }).returning().get()
    const ctx = { actor: { id: owner.id, email: owner.email }, now, ip: '127.0.0.1' }
    const leeds = createSite(db, { name: 'Leeds Teaching Hospitals', code: 'LTH', contactEmail: '' }, ctx).site
    leedsId = leeds.id
    db.insert(siteApprovers).values({ siteId: leeds.id, userId: approver.id, appointedBy: owner.id, appointedAt: now }).run()
    const project = createProject(db, { name: PROJECT, description: 'CT follow-up of incidental nodules', groupId: null }, ctx)
    projectId = project.id
    if (!saveCohortQuery(db, project, "SELECT patient_id FROM scans WHERE modality = 'CT'", ctx).ok) throw new Error('query not saved')
    db.update(tasks).set({ status: 'done', resultCount: 120, completedAt: now }).where(and(eq(tasks.projectId, project.id), eq(tasks.kind, 'cohort_query'))).run()
    db.update(projects).set({ status: 'staged', stagedAt: now }).where(eq(projects.id, project.id)).run()
    db.insert(projectSites).values({ projectId: project.id, siteId: leeds.id, stagedAt: now }).run()
    browser = await launchChromium()
    page = await (await browser.newContext()).newPage()
  }, 120_000)

  afterAll(async () => {
    await browser?.close()
    await server?.stop()
    await sink?.stop()
  })

  it('signs in, opens /approvals, approves with an expiry and sees it under "Decided"', async () => {
    await completeFirstSignIn(page, server.baseUrl, APPROVER)
    const entry = page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: /Approvals/ })
    await expect.poll(() => entry.textContent()).toContain('1')
    await entry.click()
    await page.waitForURL(`${server.baseUrl}/approvals`)
    const leeds = page.locator('section', { has: page.getByRole('heading', { name: 'Leeds Teaching Hospitals (LTH)' }) })
    expect(await leeds.textContent()).toContain(PROJECT)
    expect(await leeds.textContent()).toContain('owner@example.org')
    expect(await leeds.textContent()).toContain('120')
    expect(await axeProblems(browser, page, `${server.baseUrl}/approvals`)).toEqual([])
    // the approver reads the project (details and query), without its members
    await leeds.getByRole('link', { name: PROJECT }).click()
    await page.waitForURL(`${server.baseUrl}/projects/${projectId}`)
    expect(await page.locator('main').textContent()).toContain("modality = 'CT'")
    expect(await page.locator('#members').count()).toBe(0)
    await page.goBack()
    await page.locator('section', { has: page.getByRole('heading', { name: 'Leeds Teaching Hospitals (LTH)' }) }).getByRole('link', { name: 'Read the query and decide for Leeds Teaching Hospitals' }).click()
    await page.waitForURL(`${server.baseUrl}/projects/${projectId}/sites/${leedsId}/decision`)
    await page.getByRole('radio', { name: /Approve/ }).check()
    await page.getByLabel(/Approval expires on/).fill(EXPIRES)
    await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.getByRole('button', { name: 'Record decision' }).click()])
    // the confirmation names the site and what follows; nothing is recorded before it
    expect(await page.locator('main').textContent()).toContain('Leeds Teaching Hospitals takes part')
    await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.getByRole('button', { name: 'Approve for Leeds Teaching Hospitals' }).click()])
    expect(await page.locator('p.flash-success').textContent()).toContain('Leeds Teaching Hospitals approved the project')
    await page.goto(`${server.baseUrl}/approvals`)
    const decided = page.locator('table', { has: page.getByRole('columnheader', { name: 'Withdrawn' }) })
    const row = decided.locator('tr', { hasText: PROJECT })
    expect(await row.textContent()).toContain('Approved')
    expect(await row.textContent()).toContain(APPROVER.email)
    expect(await row.textContent()).toContain(EXPIRES)
    expect(await page.locator('section', { has: page.getByRole('heading', { name: 'Leeds Teaching Hospitals (LTH)' }) }).textContent()).toContain('Nothing awaits a decision')
    expect(await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: /Approvals/ }).textContent()).toContain('0')
    expect(await axeProblems(browser, page, `${server.baseUrl}/approvals`)).toEqual([])
  }, 120_000)
})
