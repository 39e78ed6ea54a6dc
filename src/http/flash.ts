import type { Context } from 'hono'
import { deleteCookie, getCookie, setCookie } from 'hono/cookie'

export type Flash = { kind: 'success' | 'info' | 'error'; message: string }

const COOKIE = 'flash'

/** Shows `message` on the next page this browser loads (Post/Redirect/Get). */
export function setFlash(c: Context, kind: Flash['kind'], message: string): void {
  setCookie(c, COOKIE, JSON.stringify({ kind, message }), { httpOnly: true, sameSite: 'Lax', path: '/', maxAge: 60 })
}

export function takeFlash(c: Context): Flash | null {
  const raw = getCookie(c, COOKIE)
  if (!raw) return null
  deleteCookie(c, COOKIE, { path: '/' })
  try {
    const parsed = JSON.parse(raw) as Flash
    if (typeof parsed.message !== 'string' || !['success', 'info', 'error'].includes(parsed.kind)) return null
    return { kind: parsed.kind, message: parsed.message.slice(0, 500) }
  } catch {
    return null
  }
}
