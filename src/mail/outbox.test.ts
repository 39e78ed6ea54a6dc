import { afterEach, describe, expect, it } from 'vitest'
import { SMTPServer } from 'smtp-server'
import { simpleParser } from 'mailparser'
import { freePort } from '../test/net.ts'
import { eq } from 'drizzle-orm'
import { FakeClock, testDb } from '../test/helpers.ts'
import { enqueueEmail, OutboxDeliverer, RETRY_DELAYS_MS } from './outbox.ts'
import { outbox } from '../db/schema.ts'
import type { Db } from '../db/client.ts'

const MIN = 60_000
const closers: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const close of closers.splice(0)) await close()
})

async function startSmtpSink(port: number) {
  const received: { to: string; subject: string; text: string; html: string }[] = []
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, _session, callback) {
      simpleParser(stream).then((mail) => {
        received.push({ to: (Array.isArray(mail.to) ? mail.to[0] : mail.to)?.text ?? '', subject: mail.subject ?? '', text: mail.text ?? '', html: typeof mail.html === 'string' ? mail.html : '' })
        callback()
      }, callback)
    },
  })
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  const close = () => new Promise<void>((resolve) => server.close(() => resolve()))
  closers.push(close)
  return { received, close }
}

function rows(db: Db) {
  return db.select().from(outbox).all()
}

const message = (n: number) => ({ to: `person${n}@example.org`, subject: `Message ${n}`, text: `Hello ${n}`, html: `<p>Hello ${n}</p>` })

describe('mail outbox', () => {
  it('keeps messages queued while SMTP is down, retries on 1, 5, 15, 60 minutes, then delivers each exactly once when it is back', async () => {
    const db = testDb()
    const clock = new FakeClock()
    const port = await freePort()
    const mailer = new OutboxDeliverer({ db, now: clock.now, from: 'Gatehouse <no-reply@gatehouse.test>', smtpUrl: `smtp://127.0.0.1:${port}?ignoreTLS=true`, print: () => {} })
    closers.push(() => mailer.stop())
    for (let i = 1; i <= 3; i++) enqueueEmail(db, message(i), clock.now())

    await mailer.deliverDue()
    expect(rows(db).map((r) => [r.status, r.attempts])).toEqual([['queued', 1], ['queued', 1], ['queued', 1]])
    expect(rows(db)[0]!.lastError).toBeTruthy()
    expect(rows(db)[0]!.nextAttemptAt).toBe(clock.now() + RETRY_DELAYS_MS[0])

    await mailer.deliverDue() // nothing due yet: no new attempt
    expect(rows(db)[0]!.attempts).toBe(1)

    clock.advance(1 * MIN)
    await mailer.deliverDue()
    expect(rows(db)[0]!.attempts).toBe(2)
    expect(rows(db)[0]!.nextAttemptAt).toBe(clock.now() + 5 * MIN)

    const sink = await startSmtpSink(port)
    clock.advance(5 * MIN)
    await mailer.deliverDue()
    await mailer.deliverDue()
    expect(rows(db).map((r) => r.status)).toEqual(['sent', 'sent', 'sent'])
    expect(sink.received.map((m) => m.subject).sort()).toEqual(['Message 1', 'Message 2', 'Message 3'])
    expect(sink.received[0]!.text.trim()).toMatch(/^Hello \d$/)
    expect(sink.received[0]!.html).toContain('<p>Hello')
    clock.advance(60 * MIN)
    await mailer.deliverDue()
    expect(sink.received).toHaveLength(3)
  })

  it('marks a message failed once it has been retried for 24 hours, with the last error', async () => {
    const db = testDb()
    const clock = new FakeClock()
    const mailer = new OutboxDeliverer({ db, now: clock.now, from: 'x@gatehouse.test', smtpUrl: `smtp://127.0.0.1:${await freePort()}`, print: () => {} })
    closers.push(() => mailer.stop())
    enqueueEmail(db, message(1), clock.now())
    const attemptsAt: number[] = []
    for (let i = 0; i < 20 && rows(db)[0]!.status === 'queued'; i++) {
      clock.ms = rows(db)[0]!.nextAttemptAt
      attemptsAt.push((clock.ms - rows(db)[0]!.createdAt) / MIN)
      await mailer.deliverDue()
    }
    expect(attemptsAt).toEqual([0, 1, 6, 21, 81, 441, 801, 1161])
    const [row] = rows(db)
    expect(row!.status).toBe('failed')
    expect(row!.lastError).toMatch(/ECONNREFUSED|connect/i)
  })

  it('without SMTP, prints each message once and keeps it in the outbox as logged', async () => {
    const db = testDb()
    const printed: string[] = []
    const mailer = new OutboxDeliverer({ db, now: () => 0, from: 'x@gatehouse.test', smtpUrl: null, print: (t) => printed.push(t) })
    enqueueEmail(db, message(7), 0)
    await mailer.deliverDue()
    await mailer.deliverDue()
    expect(printed).toHaveLength(1)
    expect(printed[0]).toContain('person7@example.org')
    expect(printed[0]).toContain('Hello 7')
    expect(db.select().from(outbox).where(eq(outbox.status, 'logged')).all()).toHaveLength(1)
  })

  it('without SMTP, a long queue (an import\'s invitations) is printed batch by batch, letting the event loop run in between', async () => {
    const db = testDb()
    const printedWhenLoopRan: number[] = []
    let printed = 0
    const mailer = new OutboxDeliverer({ db, now: () => 0, from: 'x@gatehouse.test', smtpUrl: null, print: () => void printed++ })
    for (let i = 0; i < 100; i++) enqueueEmail(db, message(i), 0)
    // a page request waiting for the event loop, as an immediate callback would
    const probe = () => setImmediate(() => { printedWhenLoopRan.push(printed); if (printed < 100) probe() })
    probe()
    expect(await mailer.deliverDue()).toBe(100)
    expect(printed).toBe(100)
    expect(printedWhenLoopRan.filter((n) => n > 0 && n < 100).length).toBeGreaterThanOrEqual(3) // ran between batches of 20
  })

  it('survives a restart: a queued message is delivered by a new deliverer over the same database', async () => {
    const db = testDb()
    const port = await freePort()
    enqueueEmail(db, message(9), 0)
    const sink = await startSmtpSink(port)
    const second = new OutboxDeliverer({ db, now: () => 1, from: 'x@gatehouse.test', smtpUrl: `smtp://127.0.0.1:${port}?ignoreTLS=true`, print: () => {} })
    closers.push(() => second.stop())
    await second.deliverDue()
    expect(sink.received.map((m) => m.subject)).toEqual(['Message 9'])
  })
})
