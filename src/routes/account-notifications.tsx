import { Hono, type Context } from 'hono'
import { eq } from 'drizzle-orm'
import type { AppEnv } from '../http/context.ts'
import { requireUser } from '../auth/middleware.ts'
import { readForm } from '../http/forms.ts'
import { setFlash } from '../http/flash.ts'
import { writeTransaction } from '../db/client.ts'
import { users } from '../db/schema.ts'
import { recordAuditEvent } from '../models/audit.ts'

// The signed-in user's workflow-email setting (SPEC §12). Security notices are not affected.

export const accountNotifications = new Hono<AppEnv>()

/** Back to the page the form was on: the Referer's path when it is one of ours, else home. */
function backTo(c: Context<AppEnv>): string {
  const referer = c.req.header('Referer')
  if (!referer) return '/'
  try {
    const url = new URL(referer)
    if (url.origin !== new URL(c.get('deps').config.baseUrl).origin) return '/'
    return url.pathname.startsWith('/') && !url.pathname.startsWith('//') ? url.pathname + url.search : '/'
  } catch {
    return '/'
  }
}

accountNotifications.post('/account/notifications', requireUser, async (c) => {
  const { db, clock } = c.get('deps')
  const actor = c.get('actor')
  const form = await readForm(c)
  // a checkbox: present (any value) is on, absent is off
  const on = form.getAll('workflow_emails').length > 0
  const changed = writeTransaction(db, () => {
    const before = db.select({ w: users.workflowEmails }).from(users).where(eq(users.id, actor.id)).get()
    if (!before || before.w === on) return false
    db.update(users).set({ workflowEmails: on }).where(eq(users.id, actor.id)).run()
    recordAuditEvent(db, { event: 'user.workflow_emails_changed', at: clock.now(), actor: { id: actor.id, email: actor.email }, targetType: 'user', targetId: actor.id, ip: c.get('clientIp'), details: { workflow_emails: on } })
    return true
  })
  setFlash(c, 'success', changed ? (on ? 'Workflow emails are on.' : 'Workflow emails are off. Security notices are still sent.') : 'Your email setting is unchanged.')
  return c.redirect(backTo(c), 303)
})
