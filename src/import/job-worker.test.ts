import { afterEach, describe, expect, it } from 'vitest'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { eq } from 'drizzle-orm'
import { BASE_URL, createTestUser, FakeClock, quietLog, signIn, TestClient, testConfig, type TestEnv } from '../test/helpers.ts'
import { openDatabase } from '../db/client.ts'
import { applyMigrations } from '../db/migrate.ts'
import { createApp } from '../app.ts'
import { TokenBucketLimiter } from '../auth/rate-limit.ts'
import type { AppDeps } from '../http/context.ts'
import { auditEvents, importRuns, invitations, outbox, projectMembers, users } from '../db/schema.ts'
import { applyConsortiumStructure } from '../models/consortium.ts'
import { getImportRun, jobProgress, settleImportJobs } from './runs.ts'
import { AUTH, STRUCTURE } from '../test/small-consortium.ts'

// The admin page's planning and apply on a database file run in a worker thread with its own
// connection (job-in-worker.ts): the same result as in-process, one transaction, and a failure
// inside the worker rolls everything back and marks the run failed.

function person(auth: string, first: string): string {
  return `- active: true
  adcid: 1
  auth_email: ${auth}
  authorizations: { approve_data: true, audit_data: false, view_reports: true, study_id: adrc, submit: [form] }
  email: ${auth}
  name: { first_name: ${first}, last_name: Smith }
  org_name: Alpha ADRC
`
}

const dirs: string[] = []
afterEach(async () => {
  await settleImportJobs()
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

/** A test environment like createTestEnv's, on a database file (the worker needs a file to open). */
function fileEnv(): TestEnv {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-import-worker-'))
  dirs.push(dir)
  const config = testConfig()
  const db = openDatabase(join(dir, 'gatehouse.sqlite'))
  applyMigrations(db)
  const clock = new FakeClock()
  const deps: AppDeps = { config, db, clock, log: quietLog, ipLimiter: new TokenBucketLimiter(config.ipBurst, config.ipRefillPerSecond) }
  const app = createApp(deps)
  return { deps, db, clock, config, app, client: (ip = '203.0.113.7') => new TestClient(app, ip) }
}

/** Uploads the files as the admin page does; the run is then being planned. */
async function uploadedRun(usersYaml: string, prepare: (db: TestEnv['db']) => void = () => {}) {
  const t = fileEnv()
  prepare(t.db)
  const admin = await createTestUser(t, { email: 'admin@example.org', role: 'admin' })
  expect(applyConsortiumStructure(t.db, STRUCTURE, { actor: { id: admin.user.id, email: admin.user.email }, now: t.clock.now(), ip: '' }).ok).toBe(true)
  const browser = await signIn(t, admin)
  const form = new FormData()
  form.append('users', new File([usersYaml], 'users.yaml', { type: 'application/yaml' }))
  form.append('authorizations', new File([AUTH], 'auth.yaml', { type: 'application/yaml' }))
  form.append('domains', new File([], '', { type: 'application/octet-stream' }))
  form.append('notify', 'none')
  const res = await browser.request('/admin/import', { method: 'POST', body: form, headers: { Origin: BASE_URL } })
  expect(res.status).toBe(303)
  return { t, browser, id: Number(/(\d+)$/.exec(res.headers.get('Location')!)![1]) }
}

async function plannedRun(usersYaml: string) {
  const run = await uploadedRun(usersYaml)
  await settleImportJobs()
  expect(getImportRun(run.t.db, run.id)?.status).toBe('planned')
  return run
}

describe('planning an import in a worker thread (database file)', () => {
  it('plans off this thread: while this thread holds the write lock the plan waits in the worker to store its report, pages answer, then it is planned', async () => {
    // The lock is taken as the upload returns: a plan made on this connection would store its
    // report inside this transaction at once; one on the worker's own connection has to wait.
    const { t, browser, id } = await uploadedRun(person('ann@alpha.edu', 'Ann'))
    t.db.$client.exec('BEGIN IMMEDIATE')
    try {
      await new Promise((r) => setTimeout(r, 500))
      expect((await browser.get('/')).status).toBe(200)
      expect(getImportRun(t.db, id)?.status).toBe('planning')
    } finally {
      t.db.$client.exec('COMMIT')
    }
    await settleImportJobs()
    expect(getImportRun(t.db, id)).toMatchObject({ status: 'planned', entries: 1, reportOk: true, report: { ok: true } })
  })

  it('a failure inside the worker marks the run failed with the reason, and stores no report', async () => {
    const { t, browser, id } = await uploadedRun(person('ann@alpha.edu', 'Ann'), (db) =>
      // Storing the report fails inside the worker (its own connection sees the trigger too).
      db.$client.exec(`CREATE TRIGGER fail_report BEFORE UPDATE OF report ON import_run_files BEGIN SELECT RAISE(ABORT, 'injected failure'); END`),
    )
    await settleImportJobs()
    expect(getImportRun(t.db, id)).toMatchObject({ status: 'failed', failure: expect.stringContaining('Planning failed'), report: null, reportOk: null })
    expect(await (await browser.get(`/admin/import/${id}`)).text()).toContain('Planning failed')
  })
})

describe('applying an import in a worker thread (database file)', () => {
  it('applies through the admin route in the worker: invitations, emails, the run applied, one audit event', async () => {
    const { t, browser, id } = await plannedRun(person('ann@alpha.edu', 'Ann') + person('cid@alpha.edu', 'Cid'))
    const res = await browser.post(`/admin/import/${id}/apply`, { confirm: 'yes' })
    expect(res.status).toBe(303)
    // the worker runs on its own connection: this thread answers while it applies
    expect((await browser.get('/')).status).toBe(200)
    await settleImportJobs()
    expect(getImportRun(t.db, id)).toMatchObject({ status: 'applied', appliedBy: expect.any(Number) })
    expect(t.db.select().from(invitations).all().map((i) => i.email).sort()).toEqual(['ann@alpha.edu', 'cid@alpha.edu'])
    expect(t.db.select().from(outbox).where(eq(outbox.recipient, 'cid@alpha.edu')).all()).toHaveLength(1)
    expect(t.db.select().from(auditEvents).where(eq(auditEvents.event, 'import.applied')).all()).toHaveLength(1)
    const page = await browser.get(`/admin/import/${id}`)
    expect(await page.text()).toContain('Applied')
  })

  it('applies off this thread: while this thread holds the write lock the apply waits in the worker, pages answer, then it completes', async () => {
    const { t, browser, id } = await plannedRun(person('ann@alpha.edu', 'Ann'))
    const res = await browser.post(`/admin/import/${id}/apply`, { confirm: 'yes' })
    expect(res.status).toBe(303)
    // Take the write lock before the job reaches its transaction (an apply on this connection would
    // run inside it and finish at once; one on the worker's own connection has to wait for it).
    t.db.$client.exec('BEGIN IMMEDIATE')
    try {
      for (let i = 0; i < 500 && jobProgress(id)?.phase !== 'applying'; i++) await new Promise((r) => setTimeout(r, 10))
      expect(jobProgress(id)?.phase).toBe('applying')
      await new Promise((r) => setTimeout(r, 300))
      expect((await browser.get('/')).status).toBe(200)
      expect(getImportRun(t.db, id)?.status).toBe('applying')
      expect(t.db.select().from(invitations).all()).toEqual([])
    } finally {
      t.db.$client.exec('COMMIT')
    }
    await settleImportJobs()
    expect(getImportRun(t.db, id)?.status).toBe('applied')
    expect(t.db.select().from(invitations).all().map((i) => i.email)).toEqual(['ann@alpha.edu'])
  })

  it('a failure inside the worker rolls back everything and marks the run failed', async () => {
    const { t, browser, id } = await plannedRun(person('ann@alpha.edu', 'Ann') + person('cid@alpha.edu', 'Cid') + person('eve@alpha.edu', 'Eve'))
    const before = { users: t.db.select().from(users).all().length, members: t.db.select().from(projectMembers).all().length, audit: t.db.select().from(auditEvents).all().length }
    // The second invitation fails inside the worker's transaction, after the first was inserted.
    t.db.$client.exec(`CREATE TRIGGER fail_second_invitation BEFORE INSERT ON invitations WHEN NEW.email = 'cid@alpha.edu' BEGIN SELECT RAISE(ABORT, 'injected failure'); END`)
    const res = await browser.post(`/admin/import/${id}/apply`, { confirm: 'yes' })
    expect(res.status).toBe(303)
    await settleImportJobs()
    const run = getImportRun(t.db, id)!
    expect(run.status).toBe('failed')
    expect(run.failure).toContain('nothing was applied')
    expect(run.appliedAt).toBeNull()
    expect(t.db.select().from(invitations).all()).toEqual([])
    expect(t.db.select().from(outbox).where(eq(outbox.recipient, 'ann@alpha.edu')).all()).toEqual([])
    expect({ users: t.db.select().from(users).all().length, members: t.db.select().from(projectMembers).all().length, audit: t.db.select().from(auditEvents).all().length }).toEqual(before)
    expect(t.db.select().from(importRuns).where(eq(importRuns.status, 'applying')).all()).toEqual([])
  })
})
