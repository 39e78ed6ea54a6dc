import { Hono } from 'hono'
import { redirectTo } from '../http/htmx.ts'
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
  return redirectTo(c, '/account')
})
