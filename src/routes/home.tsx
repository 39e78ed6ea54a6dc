import { Hono } from 'hono'
import type { AppEnv } from '../http/context.ts'
import { requireUser } from '../auth/middleware.ts'
import { chrome } from '../http/page.ts'
import { HomePage } from '../../views/home.tsx'
import { listUserSessions } from '../auth/session.ts'
import { listUserIdentities } from '../models/user-identities.ts'
import { listEnabledIdentityProviders } from '../models/identity-providers.ts'

export const home = new Hono<AppEnv>()

home.get('/', requireUser, (c) => {
  const actor = c.get('actor')
  const { db } = c.get('deps')
  const identities = listUserIdentities(db, actor.id)
  const linkable = listEnabledIdentityProviders(db).filter((p) => !identities.some((i) => i.providerId === p.id))
  return c.html(<HomePage chrome={chrome(c)} user={actor} sessions={listUserSessions(db, actor.id)} currentSessionId={c.get('auth')!.session.id} identities={identities} linkableProviders={linkable} />)
})
