import { describe, expect, it } from 'vitest'
import { and, eq } from 'drizzle-orm'
import { approvalWorld, type SiteWithKey } from '../test/approval-world.ts'
import { approvalNotices, auditEvents, taskEvents, tasks, users } from '../db/schema.ts'
import { runApprovalExpiry } from './approval-expiry.ts'
import { getSiteStanding } from './site-decisions.ts'

// The hourly approval-expiry job (issue 12 item 5) on the real migrations, with a controlled
// clock. Leeds's approval expires on 2026-12-31: it lapses at 2027-01-01T00:00Z, the 30-day
// reminder is due from 2026-12-02T00:00Z and the 7-day one from 2026-12-25T00:00Z.

const EXPIRES = '2026-12-31'
const at = (iso: string) => Date.parse(iso)

type W = Awaited<ReturnType<typeof approvalWorld>>

async function approvedWithExpiry(w: W, s: SiteWithKey = w.leeds, decider = w.alice) {
  const id = w.project()
  const res = await (await w.as(decider)).post(`/projects/${id}/sites/${s.site.id}/decision`, { confirm: 'yes', decision: 'approve', reason: '', conditions: '', agreement: '', expires_on: EXPIRES })
  expect(res.status).toBe(303)
  w.clearMail()
  return id
}
const run = (w: W, iso: string) => runApprovalExpiry(w.t.db, at(iso), w.t.config.baseUrl)
const recipients = (w: W, subject: string) => w.mails(subject).map((m) => m.recipient).sort()
const openTasks = (w: W, projectId: number, siteId: number) => w.t.db.select().from(tasks).where(and(eq(tasks.projectId, projectId), eq(tasks.siteId, siteId), eq(tasks.kind, 'image_retrieval'))).all()

describe('approval lapse (end of the expiry day, UTC)', () => {
  it('is current at 23:59 on the expiry day and lapsed from midnight; the job then cancels the site’s tasks once, audits approval.expired and tells the owner', async () => {
    const w = await approvalWorld()
    const id = await approvedWithExpiry(w)
    expect(openTasks(w, id, w.leeds.site.id).map((t) => t.status)).toEqual(['pending'])

    expect(run(w, '2026-12-31T23:59:59Z').lapsed).toEqual([])
    expect(getSiteStanding(w.t.db, id, w.leeds.site.id, at('2026-12-31T23:59:59Z'))).toBe('approved')
    expect(openTasks(w, id, w.leeds.site.id).map((t) => t.status)).toEqual(['pending'])
    expect(w.t.db.select().from(auditEvents).where(eq(auditEvents.event, 'approval.expired')).all()).toHaveLength(0)

    const first = run(w, '2027-01-01T00:00:00Z')
    expect(first.lapsed).toHaveLength(1)
    expect(getSiteStanding(w.t.db, id, w.leeds.site.id, at('2027-01-01T00:00:00Z'))).toBe('expired')
    const [task] = openTasks(w, id, w.leeds.site.id)
    expect(task!.status).toBe('cancelled')
    const events = w.t.db.select().from(taskEvents).where(and(eq(taskEvents.taskId, task!.id), eq(taskEvents.event, 'cancelled'))).all()
    expect(events).toHaveLength(1)
    expect(events[0]!.details).toMatchObject({ code: 'approval_expired' })
    const audit = w.t.db.select().from(auditEvents).where(eq(auditEvents.event, 'approval.expired')).all()
    expect(audit).toHaveLength(1)
    expect(JSON.parse(audit[0]!.details)).toMatchObject({ site_id: w.leeds.site.id, expires_on: EXPIRES, cancelled_task_ids: [task!.id] })
    expect(recipients(w, 'has lapsed')).toEqual(['owner@example.org'])
    expect(w.mails('has lapsed')[0]!.textBody).toContain(`${w.t.config.baseUrl}/projects/${id}`)

    // processed once: later runs (and a run at the same instant) change nothing more
    expect(run(w, '2027-01-01T00:00:00Z').lapsed).toEqual([])
    expect(run(w, '2027-01-02T10:00:00Z').lapsed).toEqual([])
    expect(w.t.db.select().from(auditEvents).where(eq(auditEvents.event, 'approval.expired')).all()).toHaveLength(1)
    expect(w.t.db.select().from(taskEvents).where(eq(taskEvents.taskId, task!.id)).all().filter((e) => e.event === 'cancelled')).toHaveLength(1)
    expect(w.mails('has lapsed')).toHaveLength(1)
  })

  it('a withdrawn approval or an approval without expiry never lapses through the job', async () => {
    const w = await approvalWorld()
    const id = w.project()
    expect((await (await w.as(w.alice)).post(`/projects/${id}/sites/${w.leeds.site.id}/decision`, { confirm: 'yes', decision: 'approve' })).status).toBe(303)
    expect((await (await w.as(w.admin)).post(`/projects/${id}/sites/${w.york.site.id}/decision`, { confirm: 'yes', decision: 'approve', expires_on: EXPIRES })).status).toBe(303)
    expect((await (await w.as(w.admin)).post(`/projects/${id}/sites/${w.york.site.id}/withdraw`, { reason: 'Agreement ended early.', confirm: 'yes' })).status).toBe(303)
    w.clearMail()
    expect(run(w, '2027-06-01T00:00:00Z')).toEqual({ lapsed: [], reminded: [] })
    expect(w.mails()).toEqual([])
  })
})

describe('expiry reminders (30 and 7 days before)', () => {
  it('sends each reminder once, to the site’s approvers and the project owner, even with two runs at once', async () => {
    const w = await approvalWorld()
    const id = await approvedWithExpiry(w)
    expect(run(w, '2026-12-01T23:59:59Z').reminded).toEqual([])
    expect(w.mails()).toEqual([])

    const [a, b] = await Promise.all([Promise.resolve().then(() => run(w, '2026-12-02T00:00:00Z')), Promise.resolve().then(() => run(w, '2026-12-02T00:00:00Z'))])
    expect([...a!.reminded, ...b!.reminded].map((r) => r.kind)).toEqual(['reminder_30'])
    expect(recipients(w, 'lapses in 30 days')).toEqual(['alice@leeds.example.org', 'ann@leeds.example.org', 'owner@example.org'])
    expect(w.mails('lapses in 30 days')[0]!.textBody).toContain(`/projects/${id}`)
    expect(run(w, '2026-12-10T00:00:00Z').reminded).toEqual([])

    expect(run(w, '2026-12-24T23:59:59Z').reminded).toEqual([])
    const seven = [run(w, '2026-12-25T00:00:00Z'), run(w, '2026-12-25T00:00:00Z'), run(w, '2026-12-26T00:00:00Z')]
    expect(seven.flatMap((r) => r.reminded.map((x) => x.kind))).toEqual(['reminder_7'])
    expect(recipients(w, 'lapses in 7 days')).toEqual(['alice@leeds.example.org', 'ann@leeds.example.org', 'owner@example.org'])
    expect(w.mails('lapses in')).toHaveLength(6)
    expect(w.t.db.select().from(approvalNotices).all().map((n) => n.kind).sort()).toEqual(['reminder_30', 'reminder_7'])
  })

  it('a claimed reminder is not sent again by a run that lost the claim (a second process)', async () => {
    const w = await approvalWorld()
    await approvedWithExpiry(w)
    // another process already claimed the 30-day reminder
    const { id } = w.t.db.$client.prepare("select id from site_decisions where decision = 'approve'").get() as { id: number }
    w.t.db.insert(approvalNotices).values({ decisionId: id, kind: 'reminder_30', at: at('2026-12-02T00:00:00Z') }).run()
    expect(run(w, '2026-12-02T01:00:00Z').reminded).toEqual([])
    expect(w.mails()).toEqual([])
  })

  it('for a site without approvers the reminder goes to the admins (and the owner)', async () => {
    const w = await approvalWorld()
    await approvedWithExpiry(w, w.york, w.admin)
    run(w, '2026-12-02T00:00:00Z')
    expect(recipients(w, 'lapses in 30 days')).toEqual(['admin2@example.org', 'admin@example.org', 'owner@example.org'])
  })

  it('an approval given within 7 days of its expiry gets one reminder, with the days actually left', async () => {
    const w = await approvalWorld()
    const id = w.project()
    w.t.clock.ms = at('2026-12-28T12:00:00Z')
    expect((await (await w.as(w.alice)).post(`/projects/${id}/sites/${w.leeds.site.id}/decision`, { confirm: 'yes', decision: 'approve', expires_on: EXPIRES })).status).toBe(303)
    w.clearMail()
    expect(run(w, '2026-12-28T13:00:00Z').reminded.map((r) => r.kind)).toEqual(['reminder_7'])
    expect(run(w, '2026-12-29T13:00:00Z').reminded).toEqual([])
    expect(w.mails('lapses in 4 days')).toHaveLength(3)
    expect(w.mails('lapses in')).toHaveLength(3)
  })

  it('workflow_emails off: no reminder to that user, the others still get theirs', async () => {
    const w = await approvalWorld()
    await approvedWithExpiry(w)
    w.t.db.update(users).set({ workflowEmails: false }).where(eq(users.id, w.ann.user.id)).run()
    run(w, '2026-12-02T00:00:00Z')
    expect(recipients(w, 'lapses in 30 days')).toEqual(['alice@leeds.example.org', 'owner@example.org'])
  })
})
