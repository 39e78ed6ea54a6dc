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
// Each site's "Awaiting" list is paged on its own (?page_<site id>=n) and so is "Decided"
// (?decided_page=n), 50 per page; a page past the end shows the last one.

export const approvalRoutes = new Hono<AppEnv>()

/** A page number from the query string: 1 for anything that is not a positive whole number. */
function pageParam(value: string | undefined): number {
  return value !== undefined && /^[1-9][0-9]{0,8}$/.test(value) ? Number(value) : 1
}

approvalRoutes.get('/approvals', requireUser, routeClass('core'), (c) => {
  const { db, clock } = c.get('deps')
  const now = clock.now()
  const sites = listDecidingSites(db, c.get('actor'))
  if (sites.length === 0) return notFoundPage(c)
  const ids = sites.map((s) => s.id)
  const awaiting = listAwaiting(db, ids, new Map(ids.map((id) => [id, pageParam(c.req.query(`page_${id}`))])))
  const decided = listDecided(db, ids, pageParam(c.req.query('decided_page')))
  // Links keep the other lists on the page they show (clamped), and jump to the list they change.
  const pageUrl = (list: number | 'decided', n: number) => {
    const params = new URLSearchParams()
    for (const id of ids) {
      const page = list === id ? n : awaiting.get(id)!.page
      if (page > 1) params.set(`page_${id}`, String(page))
    }
    const decidedPage = list === 'decided' ? n : decided.page
    if (decidedPage > 1) params.set('decided_page', String(decidedPage))
    const query = params.toString()
    return `/approvals${query ? `?${query}` : ''}#${list === 'decided' ? 'decided' : `site-${list}`}`
  }
  return c.html(
    <ApprovalsPage
      chrome={chrome(c)}
      view={{
        sites: sites.map((s) => ({ id: s.id, name: s.name, code: s.code, asApprover: s.asApprover, lastSeenAt: s.lastSeenAt, online: isOnline(s.lastSeenAt, now), awaiting: awaiting.get(s.id)! })),
        decided,
        pageUrl,
      }}
    />,
  )
})
