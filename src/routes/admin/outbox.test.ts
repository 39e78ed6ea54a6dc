import { afterEach, describe, expect, it } from 'vitest'
import { SMTPServer } from 'smtp-server'
import { simpleParser } from 'mailparser'
import { freePort } from '../../test/net.ts'
import { eq } from 'drizzle-orm'
import { createTestEnv, createTestUser, signIn, T0, type TestEnv } from '../../test/helpers.ts'
import { auditEvents, outbox, type OutboxMessage } from '../../db/schema.ts'
import { OutboxDeliverer, GIVE_UP_AFTER_MS } from '../../mail/outbox.ts'

const MIN = 60_000
const HOUR = 60 * MIN

const closers: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close()
})

/** A real SMTP server on 127.0.0.1 that keeps each message's recipient, subject and outbox id header. */
async function startSmtpSink(port: number) {
  const received: { to: string; subject: string; outboxId: string }[] = []
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, _session, callback) {
      simpleParser(stream).then((mail) => {
        received.push({ to: (Array.isArray(mail.to) ? mail.to[0] : mail.to)?.text ?? '', subject: mail.subject ?? '', outboxId: String(mail.headers.get('x-gatehouse-outbox-id') ?? '') })
        callback()
      }, callback)
    },
  })
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  const close = () => new Promise<void>((resolve) => server.close(() => resolve()))
  closers.push(close)
  return { received, close }
}

function deliverer(t: TestEnv, port: number) {
  const mailer = new OutboxDeliverer({ db: t.db, now: t.clock.now, from: 'Gatehouse <no-reply@gatehouse.test>', smtpUrl: `smtp://127.0.0.1:${port}?ignoreTLS=true`, print: () => {} })
  closers.push(() => mailer.stop())
  return mailer
}

async function adminSession(t: TestEnv) {
  const admin = await createTestUser(t, { role: 'admin', email: 'root@example.org' })
  return { admin, client: await signIn(t, admin) }
}

function insertMessage(t: TestEnv, values: Partial<OutboxMessage> & { recipient: string }): OutboxMessage {
  return t.db
    .insert(outbox)
    .values({ subject: `Subject for ${values.recipient}`, textBody: 'text', htmlBody: '<p>html</p>', status: 'queued', nextAttemptAt: t.clock.now(), createdAt: t.clock.now(), ...values })
    .returning()
    .get()
}

function row(t: TestEnv, id: number): OutboxMessage {
  return t.db.select().from(outbox).where(eq(outbox.id, id)).get()!
}

/** The table rows of the outbox page, as the cells' text. */
function rowsOf(html: string): { to: string; subject: string; status: string; attempts: string; nextTry: string; lastError: string; retryAction: string | null }[] {
  const tbody = html.slice(html.indexOf('<tbody>'), html.indexOf('</tbody>'))
  return [...tbody.matchAll(/<tr>([\s\S]*?)<\/tr>/g)]
    .map((m) => [...m[1]!.matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((c) => c[1]!))
    .filter((cells) => cells.length === 8)
    .map((cells) => ({
      to: cells[1]!,
      subject: cells[2]!,
      status: /<span class="badge">([^<]*)<\/span>/.exec(cells[3]!)![1]!,
      attempts: cells[4]!,
      nextTry: cells[5]!,
      lastError: cells[6]!,
      retryAction: /<form method="post" action="([^"]+)"/.exec(cells[7]!)?.[1] ?? null,
    }))
}

describe('outbox page', () => {
  it('lists every message with status, attempts, next try and last error, newest first, and filters by status', async () => {
    const t = createTestEnv()
    const { client } = await adminSession(t)
    const waiting = insertMessage(t, { recipient: 'waiting@example.org', attempts: 3, nextAttemptAt: T0 + 15 * MIN, lastError: 'connect ECONNREFUSED 127.0.0.1:25' })
    const sent = insertMessage(t, { recipient: 'sent@example.org', status: 'sent', attempts: 1, sentAt: T0 + 5_000 })
    const failed = insertMessage(t, { recipient: 'failed@example.org', status: 'failed', attempts: 8, lastError: '550 5.1.1 mailbox <failed@example.org> unavailable', createdAt: T0 - 25 * HOUR })
    insertMessage(t, { recipient: 'logged@example.org', status: 'logged', attempts: 1 })

    const res = await client.get('/admin/outbox')
    expect(res.status).toBe(200)
    const html = await res.text()
    const rows = rowsOf(html)
    expect(rows.map((r) => r.to)).toEqual(['logged@example.org', 'failed@example.org', 'sent@example.org', 'waiting@example.org'])
    const byTo = Object.fromEntries(rows.map((r) => [r.to, r]))
    expect(byTo['waiting@example.org']).toMatchObject({ status: 'Waiting', attempts: '3', lastError: 'connect ECONNREFUSED 127.0.0.1:25', retryAction: null })
    expect(byTo['waiting@example.org']!.nextTry).toBe('<time datetime="2026-11-02T09:15:00.000Z">2026-11-02 09:15 UTC</time>')
    expect(byTo['sent@example.org']).toMatchObject({ status: 'Sent', attempts: '1', nextTry: '—', lastError: '', retryAction: null })
    expect(byTo['failed@example.org']).toMatchObject({ status: 'Failed', attempts: '8', nextTry: '—', retryAction: `/admin/outbox/${failed.id}/retry` })
    expect(byTo['failed@example.org']!.lastError).toBe('550 5.1.1 mailbox &lt;failed@example.org&gt; unavailable') // escaped
    expect(byTo['logged@example.org']).toMatchObject({ status: 'Printed (no SMTP)', retryAction: null })
    expect(html).toContain('Waiting (1)')
    expect(html).toContain('Failed (1)')
    expect(html).toContain('Sent (1)')
    expect(html).toContain('No SMTP_URL is set') // createTestEnv sets none

    const onlyFailed = rowsOf(await (await client.get('/admin/outbox?status=failed')).text())
    expect(onlyFailed.map((r) => r.to)).toEqual(['failed@example.org'])
    expect(rowsOf(await (await client.get('/admin/outbox?status=queued')).text()).map((r) => r.to)).toEqual(['waiting@example.org'])
    expect(rowsOf(await (await client.get('/admin/outbox?status=sent')).text()).map((r) => r.to)).toEqual(['sent@example.org'])
    // an unknown status is no filter
    expect(rowsOf(await (await client.get('/admin/outbox?status=bogus')).text())).toHaveLength(4)
    expect(sent.id).toBeLessThan(failed.id)
    expect(waiting.id).toBeLessThan(sent.id)
  })

  it('pages by 50, newest first: "Older →" continues below the last row shown, keeping the status filter; "Newest" returns', async () => {
    const t = createTestEnv()
    const { client } = await adminSession(t)
    for (let i = 0; i < 130; i++) insertMessage(t, { recipient: `p${String(i).padStart(3, '0')}@example.org`, status: 'sent' })
    insertMessage(t, { recipient: 'queued@example.org' })
    const pad = (i: number) => `p${String(i).padStart(3, '0')}@example.org`
    const first = await (await client.get('/admin/outbox?status=sent')).text()
    expect(rowsOf(first).map((r) => r.to)).toEqual(Array.from({ length: 50 }, (_, i) => pad(129 - i)))
    expect(first).toContain('130 messages')
    expect(first).not.toContain('>Newest</a>')
    const older = /<a href="([^"]+)">Older →<\/a>/.exec(first)![1]!.replaceAll('&amp;', '&')
    expect(older).toMatch(/^\/admin\/outbox\?status=sent&before=\d+$/)
    const secondHtml = await (await client.get(older)).text()
    expect(rowsOf(secondHtml).map((r) => r.to)).toEqual(Array.from({ length: 50 }, (_, i) => pad(79 - i)))
    expect(secondHtml).toContain('href="/admin/outbox?status=sent">Newest</a>')
    const third = await (await client.get(/<a href="([^"]+)">Older →<\/a>/.exec(secondHtml)![1]!.replaceAll('&amp;', '&'))).text()
    expect(rowsOf(third).map((r) => r.to)).toEqual(Array.from({ length: 30 }, (_, i) => pad(29 - i)))
    expect(third).not.toContain('Older →')
    // a nonsense cursor is the first page
    expect(rowsOf(await (await client.get('/admin/outbox?status=sent&before=abc')).text())[0]!.to).toBe(pad(129))
  })

  it('"Send again" on a failed message queues it for a fresh 24 hours, audited, and a real SMTP delivery then sends it exactly once', async () => {
    const t = createTestEnv({ SMTP_URL: 'smtp://127.0.0.1:1' })
    const { admin, client } = await adminSession(t)
    let nudged = 0
    t.deps.onEmailQueued = () => void nudged++
    const retryDay = T0 - 30 * HOUR
    const failed = insertMessage(t, { recipient: 'bounce@example.org', subject: 'Your Gatehouse account', status: 'failed', attempts: 8, createdAt: retryDay, nextAttemptAt: retryDay + 24 * HOUR - 3 * HOUR, lastError: 'connect ECONNREFUSED 127.0.0.1:2525' })
    expect(await (await client.get('/admin/outbox')).text()).not.toContain('No SMTP_URL is set')

    const res = await client.post(`/admin/outbox/${failed.id}/retry`)
    expect(res.status).toBe(303)
    expect(res.headers.get('Location')).toBe('/admin/outbox?status=queued')
    expect(nudged).toBe(1)
    const requeued = row(t, failed.id)
    expect(requeued).toMatchObject({ status: 'queued', nextAttemptAt: t.clock.now(), createdAt: t.clock.now(), attempts: 8 })
    expect(requeued.lastError).toBe('retry requested: connect ECONNREFUSED 127.0.0.1:2525')
    const audit = t.db.select().from(auditEvents).where(eq(auditEvents.event, 'outbox.retried')).all()
    expect(audit).toEqual([expect.objectContaining({ actorId: admin.user.id, actorEmail: 'root@example.org', targetType: 'email', targetId: String(failed.id), ip: '203.0.113.7' })])
    const listed = await (await client.get(res.headers.get('Location')!)).text()
    expect(listed).toContain('The message is queued again')
    expect(rowsOf(listed).map((r) => [r.to, r.status, r.retryAction])).toEqual([['bounce@example.org', 'Waiting', null]])

    // SMTP still down: with a fresh 24-hour window it stays queued instead of failing at once
    const retriedAt = t.clock.now()
    const port = await freePort()
    const mailer = deliverer(t, port)
    await mailer.deliverDue()
    expect(row(t, failed.id)).toMatchObject({ status: 'queued', attempts: 9 })
    expect(row(t, failed.id).lastError).toMatch(/ECONNREFUSED|connect/i)
    expect(row(t, failed.id).nextAttemptAt).toBe(t.clock.now() + 6 * HOUR)

    // SMTP back: delivered once, and only once however often the deliverer runs
    const sink = await startSmtpSink(port)
    t.clock.advance(6 * HOUR)
    await Promise.all([mailer.deliverDue(), mailer.deliverDue()])
    await mailer.deliverDue()
    t.clock.advance(24 * HOUR)
    await mailer.deliverDue()
    expect(sink.received).toEqual([{ to: 'bounce@example.org', subject: 'Your Gatehouse account', outboxId: String(failed.id) }])
    expect(row(t, failed.id)).toMatchObject({ status: 'sent', attempts: 10, lastError: null, sentAt: retriedAt + 6 * HOUR })
    // a sent message cannot be sent again (signed in afresh: the first session has idled out)
    expect((await (await signIn(t, admin)).post(`/admin/outbox/${failed.id}/retry`)).status).toBe(404)
  })

  it('gives up again 24 hours after the retry when SMTP stays down, so the message is failed once more', async () => {
    const t = createTestEnv()
    const { client } = await adminSession(t)
    const failed = insertMessage(t, { recipient: 'again@example.org', status: 'failed', attempts: 8, createdAt: T0 - 48 * HOUR })
    expect((await client.post(`/admin/outbox/${failed.id}/retry`)).status).toBe(303)
    const retriedAt = t.clock.now()
    const mailer = deliverer(t, await freePort())
    for (let i = 0; i < 20 && row(t, failed.id).status === 'queued'; i++) {
      t.clock.ms = row(t, failed.id).nextAttemptAt
      await mailer.deliverDue()
    }
    const last = row(t, failed.id)
    expect(last.status).toBe('failed')
    expect(t.clock.now() - retriedAt).toBeLessThanOrEqual(GIVE_UP_AFTER_MS)
    expect(t.clock.now() - retriedAt).toBeGreaterThan(GIVE_UP_AFTER_MS - 6 * HOUR)
    expect(last.attempts).toBe(8 + 5) // 0, 6, 12, 18, then 24 h would be past the window
  })

  it('answers 404 to "Send again" on a message that is not failed (queued, sent, logged), unknown or malformed, and changes nothing', async () => {
    const t = createTestEnv()
    const { client } = await adminSession(t)
    const queued = insertMessage(t, { recipient: 'q@example.org', nextAttemptAt: T0 + HOUR, attempts: 2 })
    const sent = insertMessage(t, { recipient: 's@example.org', status: 'sent', sentAt: T0 })
    const logged = insertMessage(t, { recipient: 'l@example.org', status: 'logged' })
    const before = t.db.select().from(outbox).all()
    for (const id of [queued.id, sent.id, logged.id, 99_999, 'abc', '1.5', '-1']) {
      const res = await client.post(`/admin/outbox/${id}/retry`)
      expect(res.status, `retry ${id}`).toBe(404)
    }
    expect(t.db.select().from(outbox).all()).toEqual(before)
    expect(t.db.select().from(auditEvents).where(eq(auditEvents.event, 'outbox.retried')).all()).toEqual([])
  })

  it('SMTP down, then up: every queued message (10 registrations) is delivered exactly once', async () => {
    const t = createTestEnv({ SMTP_URL: 'smtp://127.0.0.1:1' })
    const { admin, client } = await adminSession(t)
    for (let i = 0; i < 10; i++) expect((await client.post('/admin/users', { email: `new${i}@example.org`, role: 'researcher' })).status).toBe(303)
    const queued = t.db.select().from(outbox).all()
    expect(queued).toHaveLength(10)
    expect(queued.every((m) => m.status === 'queued')).toBe(true)

    const port = await freePort()
    const mailer = deliverer(t, port)
    await mailer.deliverDue() // down: every message waits
    t.clock.advance(1 * MIN)
    await mailer.deliverDue() // still down
    expect(t.db.select().from(outbox).all().map((m) => [m.status, m.attempts])).toEqual(Array(10).fill(['queued', 2]))
    const page = rowsOf(await (await client.get('/admin/outbox?status=queued')).text())
    expect(page).toHaveLength(10)
    expect(page.every((r) => r.attempts === '2' && /ECONNREFUSED|connect/i.test(r.lastError))).toBe(true)

    const sink = await startSmtpSink(port)
    t.clock.advance(5 * MIN)
    // several runs at once and afterwards: each message still goes out once
    await Promise.all([mailer.deliverDue(), mailer.deliverDue(), mailer.deliverDue()])
    for (let i = 0; i < 3; i++) {
      t.clock.advance(HOUR)
      await mailer.deliverDue()
    }
    // and a second deliverer over the same database (a restart) finds nothing left to send
    const restarted = deliverer(t, port)
    await restarted.deliverDue()

    const ids = sink.received.map((m) => m.outboxId)
    expect(ids).toHaveLength(10)
    expect(new Set(ids).size).toBe(10)
    expect([...ids].sort((a, b) => Number(a) - Number(b))).toEqual(queued.map((m) => String(m.id)))
    expect(sink.received.map((m) => m.to).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `new${i}@example.org`))
    expect(t.db.select().from(outbox).all().map((m) => [m.status, m.attempts])).toEqual(Array(10).fill(['sent', 3]))
    const again = await signIn(t, admin) // the first session has idled out meanwhile
    expect(rowsOf(await (await again.get('/admin/outbox?status=sent')).text()).map((r) => [r.status, r.attempts])).toEqual(Array(10).fill(['Sent', '3']))
  })

  it('answers 403 to a researcher on the page and on "Send again", which does nothing', async () => {
    const t = createTestEnv()
    const failed = insertMessage(t, { recipient: 'f@example.org', status: 'failed', attempts: 8 })
    const researcher = await createTestUser(t, { role: 'researcher', email: 'researcher@example.org' }) // a random address may end in "f@example.org"
    const client = await signIn(t, researcher)
    const page = await client.get('/admin/outbox')
    expect(page.status).toBe(403)
    const body = await page.text()
    expect(body).toContain('users.manage')
    expect(body).not.toContain('f@example.org')
    const retry = await client.post(`/admin/outbox/${failed.id}/retry`)
    expect(retry.status).toBe(403)
    expect(row(t, failed.id).status).toBe('failed')
    expect(t.db.select().from(auditEvents).where(eq(auditEvents.event, 'outbox.retried')).all()).toEqual([])
    const anonymous = await t.client().post(`/admin/outbox/${failed.id}/retry`)
    expect(anonymous.status).toBe(303)
    expect(row(t, failed.id).status).toBe('failed')
  })
})

describe('outbox message page', () => {
  it('shows recipient, subject, status, attempts, times, the last error and the text body, escaped; each row links to it', async () => {
    const t = createTestEnv()
    const { client } = await adminSession(t)
    const failed = insertMessage(t, { recipient: 'f@example.org', subject: 'Your <account>', textBody: 'Hello,\n\nsign in at <https://x.test/login>.', status: 'failed', attempts: 8, lastError: '550 mailbox <f@example.org> unavailable', createdAt: T0 - HOUR })
    const list = await (await client.get('/admin/outbox')).text()
    expect(list).toContain(`<a href="/admin/outbox/${failed.id}">Your &lt;account&gt;</a>`)
    const res = await client.get(`/admin/outbox/${failed.id}`)
    expect(res.status).toBe(200)
    const main = /<main[\s\S]*<\/main>/.exec(await res.text())![0]
    expect(main).toContain('<h1>Your &lt;account&gt;</h1>')
    expect(main).toMatch(/<dt>To<\/dt><dd>f@example.org<\/dd>/)
    expect(main).toMatch(/<dt>Status<\/dt><dd><span class="badge">Failed<\/span><\/dd>/)
    expect(main).toMatch(/<dt>Attempts<\/dt><dd>8<\/dd>/)
    expect(main).toMatch(/<dt>Queued<\/dt><dd><time datetime="2026-11-02T08:00:00.000Z">2026-11-02 08:00 UTC<\/time><\/dd>/)
    expect(main).toMatch(/<dt>Last error<\/dt><dd>550 mailbox &lt;f@example.org&gt; unavailable<\/dd>/)
    expect(main).toContain('<pre class="body">Hello,\n\nsign in at &lt;https://x.test/login&gt;.</pre>')
    expect(main).toContain(`action="/admin/outbox/${failed.id}/retry"`)
    expect(main).not.toContain('<p>html</p>') // the HTML body is never rendered as HTML
  })

  it('says the body was removed once a delivered message no longer keeps it, and offers no retry unless failed', async () => {
    const t = createTestEnv()
    const { client } = await adminSession(t)
    const sent = insertMessage(t, { recipient: 's@example.org', status: 'sent', attempts: 1, sentAt: T0, textBody: '', htmlBody: '' })
    const main = /<main[\s\S]*<\/main>/.exec(await (await client.get(`/admin/outbox/${sent.id}`)).text())![0]
    expect(main).toContain('Body removed after delivery.')
    expect(main).not.toContain('<pre class="body">')
    expect(main).not.toContain('/retry')
    expect(main).toMatch(/<dt>Sent<\/dt><dd><time/)
  })

  it('answers 404 for an unknown or malformed id and 403 without users.manage, showing nothing of the message', async () => {
    const t = createTestEnv()
    const { client } = await adminSession(t)
    const m = insertMessage(t, { recipient: 'secret@example.org', subject: 'Secret subject' })
    for (const id of ['99999', 'abc', '0', '-1', '1e2']) expect((await client.get(`/admin/outbox/${id}`)).status, id).toBe(404)
    const researcher = await signIn(t, await createTestUser(t, { role: 'researcher' }))
    const refused = await researcher.get(`/admin/outbox/${m.id}`)
    expect(refused.status).toBe(403)
    const body = await refused.text()
    expect(body).toContain('users.manage')
    expect(body).not.toContain('Secret subject')
    expect(body).not.toContain('secret@example.org')
  })
})
