import { Hono } from 'hono'
import type { AppEnv } from '../http/context.ts'
import { requireUser } from '../auth/middleware.ts'
import { chrome } from '../http/page.ts'
import { HomePage } from '../../views/home.tsx'
import { listUserSessions } from '../auth/session.ts'

export const home = new Hono<AppEnv>()

home.get('/', requireUser, (c) => {
  const actor = c.get('actor')
  const { db } = c.get('deps')
  const sessions = listUserSessions(db, actor.id).map((s) => ({ ...s, current: s.id === c.get('auth')!.session.id }))
  return c.html(<HomePage chrome={chrome(c)} user={actor} sessions={sessions} />)
})
