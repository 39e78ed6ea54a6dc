import { Hono } from 'hono'
import type { AppEnv } from '../../http/context.ts'
import { requireUser } from '../../auth/middleware.ts'
import { requirePermission } from '../../authz/middleware.ts'
import { chrome } from '../../http/page.ts'
import { streamCsv } from '../../http/csv.ts'
import { AuditPage } from '../../../views/admin/audit.tsx'
import { getLastAuditCheck } from '../../models/audit-chain.ts'
import { isReversedRange, iterateAuditEvents, listAuditEvents, parseAuditFilter, resolveAuditTargets } from '../../models/audit-log.ts'

export const adminAudit = new Hono<AppEnv>()

adminAudit.get('/admin/audit', requireUser, requirePermission('audit.view'), (c) => {
  const filter = parseAuditFilter(c.req.query())
  const { db } = c.get('deps')
  const chain = getLastAuditCheck(db)
  if (isReversedRange(filter)) return c.html(<AuditPage chrome={chrome(c)} filter={filter} page={null} targets={new Map()} chain={chain} />, 422)
  const page = listAuditEvents(db, filter)
  return c.html(<AuditPage chrome={chrome(c)} filter={filter} page={page} targets={resolveAuditTargets(db, page.events)} chain={chain} />)
})

adminAudit.get('/admin/audit.csv', requireUser, requirePermission('audit.view'), (c) => {
  const filter = parseAuditFilter(c.req.query())
  // Like the page: a reversed range is answered with what is wrong, not an empty file.
  if (isReversedRange(filter)) return c.text(`The end day (${filter.to}) is before the start day (${filter.from}), so no event can match. Swap the days or clear one of them.\n`, 422)
  return streamCsv(c, 'audit', ['id', 'time', 'event', 'actor_id', 'actor_email', 'target_type', 'target_id', 'ip', 'details', 'hash'], iterateAuditEvents(c.get('deps').db, filter), (e) => [
    e.id, new Date(e.at).toISOString(), e.event, e.actorId, e.actorEmail, e.targetType, e.targetId, e.ip, e.details, e.hash,
  ])
})
