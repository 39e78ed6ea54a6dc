import { Hono } from 'hono'
import { stream } from 'hono/streaming'
import type { AppEnv } from '../../http/context.ts'
import { requireUser } from '../../auth/middleware.ts'
import { requirePermission } from '../../authz/middleware.ts'
import { chrome } from '../../http/page.ts'
import { AuditPage } from '../../../views/admin/audit.tsx'
import { getLastAuditCheck } from '../../models/audit-chain.ts'
import { csvField, isReversedRange, iterateAuditEvents, listAuditEvents, parseAuditFilter, resolveAuditTargets } from '../../models/audit-log.ts'

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
  const { db, clock } = c.get('deps')
  c.header('Content-Type', 'text/csv; charset=utf-8')
  c.header('Content-Disposition', `attachment; filename="gatehouse-audit-${new Date(clock.now()).toISOString().slice(0, 10)}.csv"`)
  return stream(c, async (out) => {
    await out.write('id,time,event,actor_id,actor_email,target_type,target_id,ip,details,hash\n')
    for (const chunk of iterateAuditEvents(db, filter)) {
      if (out.aborted) return // the client went away: stop reading the log
      let text = ''
      for (const e of chunk) {
        text += [e.id, new Date(e.at).toISOString(), e.event, e.actorId, e.actorEmail, e.targetType, e.targetId, e.ip, e.details, e.hash].map(csvField).join(',') + '\n'
      }
      await out.write(text) // waits while the client is slow: memory stays at one chunk
    }
  })
})
