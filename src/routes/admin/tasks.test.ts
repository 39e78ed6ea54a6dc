import { describe, expect, it } from 'vitest'
import { createTestEnv, createTestUser, signIn } from '../../test/helpers.ts'
import { createSite } from '../../models/sites.ts'
import { createProject, saveCohortQuery } from '../../models/projects.ts'
import { CLAIM_LEASE_MS, claimTask, recordTaskResult } from '../../models/tasks.ts'

async function world() {
  const t = createTestEnv()
  const admin = await createTestUser(t, { email: 'admin@example.org', role: 'admin' })
  const ctx = () => ({ actor: { id: admin.user.id, email: admin.user.email }, now: t.clock.now(), ip: '' })
  const leeds = createSite(t.db, { name: 'Leeds', code: 'LTH', contactEmail: '' }, ctx()).site
  const york = createSite(t.db, { name: 'York', code: 'YORK', contactEmail: '' }, ctx()).site
  const project = createProject(t.db, { name: 'Lung nodules', description: '', groupId: null }, ctx())
  const saved = saveCohortQuery(t.db, project, 'SELECT 1', ctx())
  if (!saved.ok) throw new Error('not saved')
  const browser = await signIn(t, admin)
  return { t, admin, leeds, york, project, browser }
}

/** The table row of one task. */
function rowOf(html: string, taskId: number): string {
  const match = new RegExp(`<tr id="task-${taskId}">([\\s\\S]*?)</tr>`).exec(html)
  return match ? match[1]! : ''
}

describe('GET /admin/tasks', () => {
  it('shows every task with site, kind, project, status, attempts and its history', async () => {
    const { t, leeds, york, browser } = await world()
    const [leedsTask, yorkTask] = [leeds, york].map((s) => t.db.$client.prepare('select id from tasks where site_id = ?').get(s.id) as { id: number })
    claimTask(t.db, leeds, leedsTask!.id, t.clock.now())
    t.clock.advance(CLAIM_LEASE_MS)
    claimTask(t.db, leeds, leedsTask!.id, t.clock.now())
    recordTaskResult(t.db, leeds, leedsTask!.id, { count: 17 }, t.clock.now())

    const res = await browser.get('/admin/tasks')
    expect(res.status).toBe(200)
    const html = await res.text()
    const leedsRow = rowOf(html, leedsTask!.id)
    expect(leedsRow).toContain('Leeds')
    expect(leedsRow).toContain('cohort query')
    expect(leedsRow).toContain('Lung nodules')
    expect(leedsRow).toContain('<td>done</td>')
    expect(leedsRow).toContain('<td>2</td>')
    expect(leedsRow).toContain('count 17')
    expect(leedsRow).toContain(`<a href="/admin/tasks/${leedsTask!.id}">#${leedsTask!.id}</a>`)
    expect(leedsRow).toContain('5 steps') // the history itself is on the task's page
    expect(rowOf(html, yorkTask!.id)).toContain('<td>pending</td>')
  })

  it('filters by status and by site; unknown filter values mean any', async () => {
    const { t, leeds, york, browser } = await world()
    const leedsTask = t.db.$client.prepare('select id from tasks where site_id = ?').get(leeds.id) as { id: number }
    const yorkTask = t.db.$client.prepare('select id from tasks where site_id = ?').get(york.id) as { id: number }
    claimTask(t.db, leeds, leedsTask.id, t.clock.now())
    const claimed = await (await browser.get('/admin/tasks?status=claimed')).text()
    expect(rowOf(claimed, leedsTask.id)).not.toBe('')
    expect(rowOf(claimed, yorkTask.id)).toBe('')
    const bySite = await (await browser.get(`/admin/tasks?site_id=${york.id}`)).text()
    expect(rowOf(bySite, yorkTask.id)).not.toBe('')
    expect(rowOf(bySite, leedsTask.id)).toBe('')
    const any = await browser.get('/admin/tasks?status=bogus&site_id=999')
    expect(any.status).toBe(200)
    const anyHtml = await any.text()
    expect(rowOf(anyHtml, leedsTask.id)).not.toBe('')
    expect(rowOf(anyHtml, yorkTask.id)).not.toBe('')
  })

  it('the list shows no raw epoch milliseconds or JSON, and a training result as key–value pairs', async () => {
    const { t, leeds, browser } = await world()
    const task = t.db.$client.prepare('select id from tasks where site_id = ?').get(leeds.id) as { id: number }
    claimTask(t.db, leeds, task.id, t.clock.now())
    t.db.$client.prepare(`update tasks set status = 'done', result = ?, completed_at = ? where id = ?`).run(JSON.stringify({ status: 'done', metrics: { auc: 0.91, epochs: 12 } }), t.clock.now(), task.id)
    const html = await (await browser.get('/admin/tasks')).text()
    const table = /<table>[\s\S]*<\/table>/.exec(html)![0]
    expect(table).not.toMatch(/\b1\d{12}\b/)
    expect(table).not.toContain('{"')
    expect(table).not.toContain('{&quot;')
    expect(rowOf(html, task.id)).toMatch(/<dt>Auc<\/dt><dd>0\.91<\/dd>/)
  })
})

describe('GET /admin/tasks/:id', () => {
  it('shows the task with site and project linked and its history as a timeline: formatted times, details as key–value lists', async () => {
    const { t, leeds, project, browser } = await world()
    const task = t.db.$client.prepare('select id from tasks where site_id = ?').get(leeds.id) as { id: number }
    claimTask(t.db, leeds, task.id, t.clock.now())
    t.clock.advance(CLAIM_LEASE_MS)
    claimTask(t.db, leeds, task.id, t.clock.now())
    recordTaskResult(t.db, leeds, task.id, { count: 17 }, t.clock.now())

    const res = await browser.get(`/admin/tasks/${task.id}`)
    expect(res.status).toBe(200)
    const html = await res.text()
    const main = /<main[\s\S]*<\/main>/.exec(html)![0]
    expect(main).toContain(`<h1>Task #${task.id}`)
    expect(main).toContain(`<a href="/admin/sites/${leeds.id}">Leeds</a>`)
    expect(main).toContain(`<a href="/projects/${project.id}">Lung nodules</a>`)
    expect(main).toMatch(/<dt>Status<\/dt><dd>done<\/dd>/)
    expect(main).toMatch(/<dt>Attempts<\/dt><dd>2<\/dd>/)
    const timeline = /<ol class="timeline">([\s\S]*?)<\/ol>/.exec(main)![1]!
    expect([...timeline.matchAll(/data-event="([a-z_]+)"/g)].map((m) => m[1])).toEqual(['created', 'claimed', 'claim_expired', 'claimed', 'result'])
    expect(timeline).toMatch(/<dt>Expires at<\/dt><dd><time datetime="[^"]+">\d{4}-\d\d-\d\d \d\d:\d\d UTC<\/time><\/dd>/)
    expect(timeline).toMatch(/<dt>Count<\/dt><dd>17<\/dd>/)
    expect(main).not.toMatch(/\b1\d{12}\b/) // no epoch milliseconds anywhere on the page
    expect(main).not.toContain('{"')
    expect(main).not.toContain('{&quot;')
  })

  it('answers 404 for an unknown or malformed id and 403 without sites.manage', async () => {
    const { t, leeds, browser } = await world()
    const task = t.db.$client.prepare('select id from tasks where site_id = ?').get(leeds.id) as { id: number }
    expect((await browser.get('/admin/tasks/99999')).status).toBe(404)
    expect((await browser.get('/admin/tasks/abc')).status).toBe(404)
    expect((await browser.get('/admin/tasks/1e3')).status).toBe(404)
    const researcher = await signIn(t, await createTestUser(t, { role: 'researcher' }))
    const refused = await researcher.get(`/admin/tasks/${task.id}`)
    expect(refused.status).toBe(403)
    expect(await refused.text()).not.toContain('Leeds')
  })
})
