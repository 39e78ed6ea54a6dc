import { Hono } from 'hono'
import type { AppEnv } from '../http/context.ts'
import { requireUser } from '../auth/middleware.ts'
import { routeClass } from '../http/route-class.ts'
import { chrome } from '../http/page.ts'
import { notFoundPage } from '../http/errors.tsx'
import { isOnline, listAwaiting, listDecided, listDecidingSites } from '../models/approvals.ts'
import { ApprovalsPage } from '../../views/approvals.tsx'

// GET /approvals (SPEC §4.1): the inbox of whoever decides for a site — its approvers, and for
// sites without approvers the holders of projects.approve (admins). Deciding itself goes through
// the existing decision page (GET/POST /projects/:id/sites/:siteId/decision) and its confirmation.
// A user who decides for no site gets 404, like the nav that does not show them the entry.

export const approvalRoutes = new Hono<AppEnv>()

approvalRoutes.get('/approvals', requireUser, routeClass('core'), (c) => {
  const { db, clock } = c.get('deps')
  const now = clock.now()
  const sites = listDecidingSites(db, c.get('actor'))
  if (sites.length === 0) return notFoundPage(c)
  const ids = sites.map((s) => s.id)
  const awaiting = listAwaiting(db, ids)
  return c.html(
    <ApprovalsPage
      chrome={chrome(c)}
      view={{
        sites: sites.map((s) => ({ id: s.id, name: s.name, code: s.code, asApprover: s.asApprover, lastSeenAt: s.lastSeenAt, online: isOnline(s.lastSeenAt, now), awaiting: awaiting.get(s.id) ?? [] })),
        decided: listDecided(db, ids),
      }}
    />,
  )
})
