import type { Context } from 'hono'

export function isHtmx(c: Context): boolean {
  return c.req.header('HX-Request') === 'true'
}

/** 303 for a plain form post; for htmx, 200 with HX-Redirect so the browser loads the page. */
export function redirectTo(c: Context, location: string): Response {
  if (isHtmx(c)) {
    c.header('HX-Redirect', location)
    return c.body(null, 200)
  }
  return c.redirect(location, 303)
}
