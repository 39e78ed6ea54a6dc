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
  return c.html(<HomePage chrome={chrome(c)} user={actor} sessions={listUserSessions(db, actor.id)} currentSessionId={c.get('auth')!.session.id} />)
})
