// Finding 3 of issue 11: the outbox keeps no secret once a message is delivered, printed or failed.
import { afterEach, describe, expect, it } from 'vitest'
import { SMTPServer } from 'smtp-server'
import { freePort } from '../test/net.ts'
import { eq } from 'drizzle-orm'
import { FakeClock, testDb, createTestEnv, createTestUser, signIn } from '../test/helpers.ts'
import { enqueueEmail, OutboxDeliverer, GIVE_UP_AFTER_MS, BODY_REMOVED_TEXT } from './outbox.ts'
import { outbox } from '../db/schema.ts'
import { passwordResetEmail } from '../../views/emails/password-reset.tsx'
import { retryFailedEmail } from '../models/outbox-admin.ts'

const closers: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const close of closers.splice(0)) await close()
})

const SECRET_URL = 'https://gatehouse.test/password/reset/abcdefghijklmnopqrstuvwxyz234567'

describe('secrets in the outbox', () => {
  it('blanks a secret-carrying message once printed (no SMTP), keeping recipient, subject and status, and prints it only once', async () => {
    const db = testDb()
    const id = enqueueEmail(db, passwordResetEmail({ to: 'ada@example.org', resetUrl: SECRET_URL }), 0)
    const plain = enqueueEmail(db, { to: 'bob@example.org', subject: 'Joined', text: 'Bob joined', html: '<p>Bob joined</p>' }, 0)
    const printed: string[] = []
    const mailer = new OutboxDeliverer({ db, now: () => 5, from: 'x@gatehouse.test', smtpUrl: null, print: (t) => printed.push(t) })
    await mailer.deliverDue()
    await mailer.deliverDue()
    expect(printed).toHaveLength(2)
    expect(printed.filter((p) => p.includes(SECRET_URL))).toHaveLength(1)
    const row = db.select().from(outbox).where(eq(outbox.id, id)).get()!
    expect(row).toMatchObject({ recipient: 'ada@example.org', subject: 'Reset your Gatehouse password', status: 'logged', textBody: BODY_REMOVED_TEXT, bodyRemovedAt: 5 })
    expect(row.htmlBody).not.toContain('abcdefghijklmnop')
    expect(JSON.stringify(db.select().from(outbox).all())).not.toContain('abcdefghijklmnop')
    // a message without a secret keeps its body
    expect(db.select().from(outbox).where(eq(outbox.id, plain)).get()!.textBody).toBe('Bob joined')
  })

  it('blanks it once sent over SMTP, and once failed; a failed one cannot be sent again empty', async () => {
    const db = testDb()
    const clock = new FakeClock(0)
    const port = await freePort()
    const server = new SMTPServer({ authOptional: true, disabledCommands: ['STARTTLS'], logger: false, onData: (s, _x, cb) => { s.resume(); s.on('end', () => cb()) } })
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
    closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())))
    const sent = enqueueEmail(db, passwordResetEmail({ to: 'ada@example.org', resetUrl: SECRET_URL }), 0)
    const up = new OutboxDeliverer({ db, now: clock.now, from: 'x@gatehouse.test', smtpUrl: `smtp://127.0.0.1:${port}?ignoreTLS=true`, print: () => {} })
    await up.deliverDue()
    await up.stop()
    expect(db.select().from(outbox).where(eq(outbox.id, sent)).get()).toMatchObject({ status: 'sent', textBody: BODY_REMOVED_TEXT })

    const failing = enqueueEmail(db, passwordResetEmail({ to: 'bob@example.org', resetUrl: SECRET_URL }), clock.now())
    const down = new OutboxDeliverer({ db, now: clock.now, from: 'x@gatehouse.test', smtpUrl: `smtp://127.0.0.1:${await freePort()}`, print: () => {} })
    clock.advance(GIVE_UP_AFTER_MS + 1)
    await down.deliverDue()
    await down.stop()
    const failed = db.select().from(outbox).where(eq(outbox.id, failing)).get()!
    expect(failed).toMatchObject({ status: 'failed', textBody: BODY_REMOVED_TEXT })
    expect(retryFailedEmail(db, failing, { at: clock.now(), actor: { id: 1, email: 'root@example.org' }, ip: '127.0.0.1' })).toBe(false)
  })

  it('shows "body removed" on the admin outbox page', async () => {
    const t = createTestEnv()
    enqueueEmail(t.db, passwordResetEmail({ to: 'ada@example.org', resetUrl: SECRET_URL }), t.clock.now())
    await new OutboxDeliverer({ db: t.db, now: t.clock.now, from: 'x@gatehouse.test', smtpUrl: null, print: () => {} }).deliverDue()
    const admin = await signIn(t, await createTestUser(t, { role: 'admin' }))
    const html = await (await admin.get('/admin/outbox')).text()
    expect(html).toContain('Reset your Gatehouse password')
    expect(html).toContain('body removed')
  })
})

describe('migration 0010 (custom part)', () => {
  it('blanks secret-carrying messages already delivered, marks queued ones, keeps others, and expires outstanding reset links', async () => {
    const { readFileSync } = await import('node:fs')
    const { join } = await import('node:path')
    const { PROJECT_ROOT } = await import('../paths.ts')
    const { passwordResetTokens, users, invitations } = await import('../db/schema.ts')
    const db = testDb()
    const insert = (subject: string, status: 'sent' | 'logged' | 'failed' | 'queued') =>
      db.insert(outbox).values({ recipient: 'ada@example.org', subject, textBody: `body ${SECRET_URL}`, htmlBody: `<p>${SECRET_URL}</p>`, status, nextAttemptAt: 0, createdAt: 7, sentAt: status === 'sent' ? 9 : null }).returning().get().id
    const sent = insert('Reset your Gatehouse password', 'sent')
    const logged = insert('Your Gatehouse security code', 'logged')
    const reminder = insert('Reminder (2): your Gatehouse invitation', 'failed')
    const queued = insert('You are invited to Gatehouse', 'queued')
    const plain = insert('Ada joined Gatehouse', 'sent')
    const user = db.insert(users).values({ email: 'ada@example.org', role: 'researcher', passwordHash: 'x', passwordChangedAt: 0, createdAt: 0 }).returning().get()
    db.insert(passwordResetTokens).values({ tokenHash: 'old', userId: user.id, createdAt: 100, expiresAt: 100 + 3_600_000 }).run()
    const invitation = db.insert(invitations).values({ email: 'bob@example.org', role: 'researcher', tokenSalt: 's', tokenHash: 'h', createdAt: 0, sentAt: 0, expiresAt: 1e13, securityTokenHash: 'sha', securityTokenExpiresAt: 1e13, tabBindingHash: 'tab', pendingPasswordHash: 'pw' }).returning().get()
    const file = readFileSync(join(PROJECT_ROOT, 'drizzle', '0010_outbox_secrets.sql'), 'utf8')
    for (const statement of file.split('-- custom')[1]!.split('--> statement-breakpoint')) db.$client.exec(statement)
    const row = (id: number) => db.select().from(outbox).where(eq(outbox.id, id)).get()!
    expect(row(sent)).toMatchObject({ textBody: BODY_REMOVED_TEXT, carriesSecret: true, bodyRemovedAt: 9 })
    expect(row(logged)).toMatchObject({ textBody: BODY_REMOVED_TEXT, bodyRemovedAt: 7 })
    expect(row(reminder)).toMatchObject({ textBody: BODY_REMOVED_TEXT })
    expect(row(queued)).toMatchObject({ textBody: `body ${SECRET_URL}`, carriesSecret: true, bodyRemovedAt: null })
    expect(row(plain)).toMatchObject({ textBody: `body ${SECRET_URL}`, carriesSecret: false })
    expect(db.select().from(passwordResetTokens).get()!.expiresAt).toBe(100)
    expect(db.select().from(invitations).where(eq(invitations.id, invitation.id)).get()).toMatchObject({ securityTokenHash: null, tabBindingHash: null, pendingPasswordHash: null, tokenHash: 'h' })
  })
})
