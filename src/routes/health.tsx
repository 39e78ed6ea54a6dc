import { Hono } from 'hono'
import { sql } from 'drizzle-orm'
import type { AppEnv } from '../http/context.ts'
import { publicPage } from '../auth/middleware.ts'

export const health = new Hono<AppEnv>()

health.get('/healthz', publicPage, (c) => {
  try {
    c.get('deps').db.get(sql`select 1`)
    return c.json({ status: 'ok' })
  } catch {
    return c.json({ status: 'error', reason: 'database did not answer' }, 503)
  }
})
