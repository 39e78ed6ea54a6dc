import { Hono } from 'hono'
import type { AppEnv } from '../../http/context.ts'
import { requireUser } from '../../auth/middleware.ts'
import { requirePermission } from '../../authz/middleware.ts'
import { chrome } from '../../http/page.ts'
import { TaskPage, TasksPage, type TaskFilterValues } from '../../../views/admin/tasks.tsx'
import { getTaskForAdmin, listTasksForAdmin } from '../../models/tasks.ts'
import { idParam } from '../../http/forms.ts'
import { notFoundPage } from '../../http/errors.tsx'
import { listSitesByName } from '../../models/sites.ts'
import { TASK_STATUSES } from '../../db/schema.ts'

export const adminTasks = new Hono<AppEnv>()

const guard = [requireUser, requirePermission('sites.manage')] as const

/** Every task handed to sites, newest first, with its history; filter by status and site (unknown values mean "any"). */
adminTasks.get('/admin/tasks', ...guard, (c) => {
  const { db } = c.get('deps')
  const sites = listSitesByName(db)
  const rawStatus = c.req.query('status') ?? ''
  const status = (TASK_STATUSES as readonly string[]).includes(rawStatus) ? (rawStatus as (typeof TASK_STATUSES)[number]) : undefined
  const siteId = sites.find((s) => String(s.id) === c.req.query('site_id'))?.id
  const filter: TaskFilterValues = { status: status ?? '', siteId: siteId === undefined ? '' : String(siteId) }
  return c.html(<TasksPage chrome={chrome(c)} sites={sites} filter={filter} tasks={listTasksForAdmin(db, { status, siteId })} />)
})

/** One task: its facts and its history as a timeline. */
adminTasks.get('/admin/tasks/:id', ...guard, (c) => {
  const id = idParam(c.req.param('id'))
  const task = id === null ? null : getTaskForAdmin(c.get('deps').db, id)
  if (task === null) return notFoundPage(c)
  return c.html(<TaskPage chrome={chrome(c)} task={task} />)
})
