import { and, asc, eq, lte, sql } from 'drizzle-orm'
import nodemailer, { type Transporter } from 'nodemailer'
import { outbox, type OutboxMessage } from '../db/schema.ts'
import { preparedOnce, type Db } from '../db/client.ts'

/** `secret`: the body carries a password, link or code; it is replaced by BODY_REMOVED_TEXT once sent, printed or failed. */
export type Email = { to: string; subject: string; text: string; html: string; secret?: boolean }

/** What a secret-carrying message's body becomes once delivered (the same text as migration 0010). */
export const BODY_REMOVED_TEXT = '(Body removed after delivery: it carried a password, a link or a code.)'
const BODY_REMOVED_HTML = `<p>${BODY_REMOVED_TEXT}</p>`

/** Waits after the 1st, 2nd … failed attempt; the last repeats. A message still unsent 24 h after it was queued is failed. */
export const RETRY_DELAYS_MS = [60_000, 5 * 60_000, 15 * 60_000, 60 * 60_000, 6 * 60 * 60_000] as const
export const GIVE_UP_AFTER_MS = 24 * 60 * 60_000

/** Writes the message to the outbox; call it inside the transaction of the change that causes it. */
export function enqueueEmail(db: Db, email: Email, now: number): number {
  return Number(preparedOnce(db, buildInsert).run({ to: email.to, subject: email.subject, text: email.text, html: email.html, secret: email.secret ? 1 : 0, now }).lastInsertRowid)
}

// Prepared once per database: an import queues thousands of emails in one transaction.
function buildInsert(db: Db) {
  return db
    .insert(outbox)
    .values({
      recipient: sql.placeholder('to'),
      subject: sql.placeholder('subject'),
      textBody: sql.placeholder('text'),
      htmlBody: sql.placeholder('html'),
      carriesSecret: sql.placeholder('secret'),
      status: 'queued',
      nextAttemptAt: sql.placeholder('now'),
      createdAt: sql.placeholder('now'),
    })
    .prepare()
}

export type OutboxDelivererOptions = {
  db: Db
  now: () => number
  from: string
  /** null: no SMTP configured; messages are printed with `print` and kept as 'logged'. */
  smtpUrl: string | null
  print: (text: string) => void
  onError?: (error: unknown) => void
}

/** Delivers due outbox messages in the background, one batch at a time. */
export class OutboxDeliverer {
  private transport: Transporter | null
  private timer: NodeJS.Timeout | null = null
  private running: Promise<number> | null = null

  constructor(private readonly options: OutboxDelivererOptions) {
    this.transport = options.smtpUrl ? nodemailer.createTransport(options.smtpUrl) : null
  }

  start(intervalMs = 2_000): void {
    if (this.timer) return
    const tick = () => {
      this.deliverDue().catch((error) => this.options.onError?.(error))
    }
    this.timer = setInterval(tick, intervalMs)
    this.timer.unref()
    tick()
  }

  /** Stops the loop and waits for a batch in flight, so no message is left half-handled. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
    await this.running?.catch(() => 0)
    this.transport?.close()
  }

  /** Sends every due message once; returns how many were handled. Never runs twice at once. */
  deliverDue(): Promise<number> {
    this.running ??= this.deliverBatch().finally(() => {
      this.running = null
    })
    return this.running
  }

  private async deliverBatch(): Promise<number> {
    const { db } = this.options
    let handled = 0
    for (;;) {
      const due = db
        .select()
        .from(outbox)
        .where(and(eq(outbox.status, 'queued'), lte(outbox.nextAttemptAt, this.options.now())))
        .orderBy(asc(outbox.nextAttemptAt), asc(outbox.id))
        .limit(20)
        .all()
      if (due.length === 0) return handled
      for (const message of due) {
        await this.deliverOne(message)
        handled++
      }
      // Printing (no SMTP) never waits on I/O: without this, thousands of queued messages (an
      // import's invitations) would be handled in one turn of the event loop and stop every page.
      await new Promise<void>((resolve) => setImmediate(resolve))
    }
  }

  private async deliverOne(message: OutboxMessage): Promise<void> {
    const { db } = this.options
    if (!this.transport) {
      this.options.print(formatForConsole(message))
      db.update(outbox).set({ status: 'logged', attempts: message.attempts + 1, ...removedBody(message, this.options.now()) }).where(eq(outbox.id, message.id)).run()
      return
    }
    try {
      await this.transport.sendMail({
        from: this.options.from,
        to: message.recipient,
        subject: message.subject,
        text: message.textBody,
        html: message.htmlBody,
        headers: { 'X-Gatehouse-Outbox-Id': String(message.id) },
      })
      const now = this.options.now()
      db.update(outbox).set({ status: 'sent', attempts: message.attempts + 1, sentAt: now, lastError: null, ...removedBody(message, now) }).where(eq(outbox.id, message.id)).run()
    } catch (error) {
      const now = this.options.now()
      const attempts = message.attempts + 1
      const delay = RETRY_DELAYS_MS[Math.min(attempts, RETRY_DELAYS_MS.length) - 1]!
      const giveUp = now + delay - message.createdAt > GIVE_UP_AFTER_MS
      db.update(outbox)
        .set({
          attempts,
          lastError: error instanceof Error ? error.message.slice(0, 500) : String(error).slice(0, 500),
          status: giveUp ? 'failed' : 'queued',
          nextAttemptAt: giveUp ? message.nextAttemptAt : now + delay,
          ...(giveUp ? removedBody(message, now) : {}),
        })
        .where(eq(outbox.id, message.id))
        .run()
    }
  }
}

/**
 * Control characters as visible escapes (\r, \n, \t, \u001b …), so printed input cannot move the
 * cursor, colour the terminal or start a line of its own; `keepNewlines` keeps LF for the body.
 */
export function escapeForConsole(text: string, keepNewlines = false): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/gu, (ch) => {
    if (ch === '\n' && keepNewlines) return ch
    if (ch === '\n') return '\\n'
    if (ch === '\r') return '\\r'
    if (ch === '\t') return '\\t'
    return `\\u${ch.codePointAt(0)!.toString(16).padStart(4, '0')}`
  })
}

/** The columns that blank a secret-carrying message (nothing for one without a secret). */
function removedBody(message: OutboxMessage, now: number) {
  return message.carriesSecret ? { textBody: BODY_REMOVED_TEXT, htmlBody: BODY_REMOVED_HTML, bodyRemovedAt: now } : {}
}

function formatForConsole(message: OutboxMessage): string {
  const rule = '─'.repeat(72)
  // body lines are indented, so none can pass for a header or a log line of its own
  const body = escapeForConsole(message.textBody, true)
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n')
  return [rule, `Email #${message.id} (no SMTP_URL set: kept in the outbox, printed here)`, `To: ${escapeForConsole(message.recipient)}`, `Subject: ${escapeForConsole(message.subject)}`, '', body, rule].join('\n')
}
