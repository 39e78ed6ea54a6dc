import type { Context } from 'hono'
import { deleteCookie, getCookie, setCookie } from 'hono/cookie'
import { createHmac, timingSafeEqual } from 'node:crypto'
import type { AppEnv } from './context.ts'

export type Flash = { kind: 'success' | 'info' | 'error'; message: string }

// The cookie is "base64url(JSON).base64url(HMAC-SHA-256)" under a key derived from the server's
// secret key, so a forged or altered flash is ignored; __Host- and Secure when BASE_URL is https.

function cookieName(c: Context): string {
  return (c as Context<AppEnv>).get('deps').config.secureCookies ? '__Host-flash' : 'flash'
}

function signature(c: Context, body: string): Buffer {
  const key = createHmac('sha256', (c as Context<AppEnv>).get('deps').config.encryptionKey).update('gatehouse flash cookie v1').digest()
  return createHmac('sha256', key).update(body).digest()
}

/** Shows `message` on the next page this browser loads (Post/Redirect/Get). */
export function setFlash(c: Context, kind: Flash['kind'], message: string): void {
  const body = Buffer.from(JSON.stringify({ kind, message }), 'utf8').toString('base64url')
  const secure = (c as Context<AppEnv>).get('deps').config.secureCookies
  setCookie(c, cookieName(c), `${body}.${signature(c, body).toString('base64url')}`, { httpOnly: true, sameSite: 'Lax', path: '/', maxAge: 60, secure })
}

export function takeFlash(c: Context): Flash | null {
  const name = cookieName(c)
  const raw = getCookie(c, name)
  if (!raw) return null
  deleteCookie(c, name, { path: '/', secure: (c as Context<AppEnv>).get('deps').config.secureCookies })
  const [body, sig, ...rest] = raw.split('.')
  if (!body || !sig || rest.length > 0) return null
  const expected = signature(c, body)
  const given = Buffer.from(sig, 'base64url')
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null
  try {
    const parsed = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Flash
    if (typeof parsed.message !== 'string' || !['success', 'info', 'error'].includes(parsed.kind)) return null
    return { kind: parsed.kind, message: parsed.message.slice(0, 500) }
  } catch {
    return null
  }
}
