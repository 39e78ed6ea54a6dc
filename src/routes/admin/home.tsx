import { Hono } from 'hono'
import type { AppEnv } from '../../http/context.ts'
import { requireUser } from '../../auth/middleware.ts'
import { requirePermission } from '../../authz/middleware.ts'
import { chrome } from '../../http/page.ts'
import { AdminHomePage } from '../../../views/admin/home.tsx'
import { getAdminSummary } from '../../models/dashboard.ts'
import { resolveAuditTargets } from '../../models/audit-log.ts'

export const adminHome = new Hono<AppEnv>()

adminHome.get('/admin', requireUser, requirePermission('admin.access'), (c) => {
  const { db, clock } = c.get('deps')
  const summary = getAdminSummary(db, clock.now())
  return c.html(<AdminHomePage chrome={chrome(c)} summary={summary} eventTargets={resolveAuditTargets(db, summary.recentEvents)} />)
})
