import { idParam } from '../../http/forms.ts'
import { Hono } from 'hono'
import type { AppEnv } from '../../http/context.ts'
import { requireUser } from '../../auth/middleware.ts'
import { requirePermission } from '../../authz/middleware.ts'
import { chrome } from '../../http/page.ts'
import { redirectTo } from '../../http/htmx.ts'
import { setFlash } from '../../http/flash.ts'
import { notFoundPage } from '../../http/errors.tsx'
import { OutboxMessagePage, OutboxPage } from '../../../views/admin/outbox.tsx'
import { countOutbox, getOutboxMessage, isOutboxBodyKept, listOutbox, retryFailedEmail } from '../../models/outbox-admin.ts'

export const adminOutbox = new Hono<AppEnv>()

const guard = [requireUser, requirePermission('users.manage')] as const

adminOutbox.get('/admin/outbox', ...guard, (c) => {
  const { db, config } = c.get('deps')
  const status = c.req.query('status') ?? ''
  const before = idParam(c.req.query('before'))
  return c.html(<OutboxPage chrome={chrome(c)} status={status} counts={countOutbox(db)} page={listOutbox(db, { status, before })} before={before} smtpConfigured={config.smtpUrl !== null} />)
})

/** One message: recipient, subject, status, attempts, last error, and its text while the outbox still keeps it. */
adminOutbox.get('/admin/outbox/:id', ...guard, (c) => {
  const id = idParam(c.req.param('id'))
  const message = id === null ? null : getOutboxMessage(c.get('deps').db, id)
  if (message === null) return notFoundPage(c)
  return c.html(<OutboxMessagePage chrome={chrome(c)} message={message} bodyKept={isOutboxBodyKept(message)} />)
})

adminOutbox.post('/admin/outbox/:id/retry', ...guard, (c) => {
  const actor = c.get('actor')
  const { db, clock } = c.get('deps')
  const ok = retryFailedEmail(db, idParam(c.req.param('id')) ?? 0, { at: clock.now(), actor: { id: actor.id, email: actor.email }, ip: c.get('clientIp') })
  if (!ok) return notFoundPage(c)
  c.get('deps').onEmailQueued?.()
  setFlash(c, 'success', 'The message is queued again and will be retried for another 24 hours.')
  return redirectTo(c, '/admin/outbox?status=queued')
})
