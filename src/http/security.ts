import type { MiddlewareHandler } from 'hono'
import { secureHeaders } from 'hono/secure-headers'
import { bodyLimit } from 'hono/body-limit'
import { getConnInfo } from '@hono/node-server/conninfo'
import type { AppEnv } from './context.ts'
import type { Config } from '../config.ts'
import { originRefusedPage, payloadTooLargePage } from './errors.tsx'

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

/**
 * Refuses unsafe requests whose Origin (or, without one, Referer) is not BASE_URL's origin.
 * Note: the bearer-authenticated site API (/api/) carries no cookies and is exempt.
 */
export function originCheck(config: Config): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (!UNSAFE.has(c.req.method) || c.req.path.startsWith('/api/')) return next()
    const origin = c.req.header('Origin') ?? originOf(c.req.header('Referer'))
    if (origin !== config.origin) return originRefusedPage(c)
    await next()
  }
}

function originOf(url: string | undefined): string | undefined {
  if (!url) return undefined
  try {
    return new URL(url).origin
  } catch {
    return undefined
  }
}

export function securityHeaders(config: Config): MiddlewareHandler<AppEnv> {
  return secureHeaders({
    contentSecurityPolicy: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'"],
      imgSrc: ["'self'", 'data:'],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
      baseUri: ["'none'"],
      objectSrc: ["'none'"],
    },
    strictTransportSecurity: config.secureCookies ? 'max-age=31536000; includeSubDomains' : false,
    referrerPolicy: 'same-origin',
    xFrameOptions: 'DENY',
    crossOriginEmbedderPolicy: false,
  })
}

/**
 * Request bodies are capped at 64 KB (413 beyond: a page, or JSON under /api/). POSTs to the
 * `uploadPaths` are left alone: those routes stream their body and enforce UPLOAD_MAX_MB themselves.
 */
export function formBodyLimit(uploadPaths: readonly RegExp[] = []): MiddlewareHandler<AppEnv> {
  const limit = bodyLimit({
    maxSize: 64 * 1024,
    onError: (c) => (c.req.path.startsWith('/api/') ? c.json({ error: 'The request body is larger than the 64 KB allowed here.' }, 413) : payloadTooLargePage(c as never, '64 KB')),
  })
  return async (c, next) => {
    // GET and HEAD carry no body; skipping them also spares building a full Request per page view.
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next()
    return c.req.method === 'POST' && uploadPaths.some((p) => p.test(c.req.path)) ? next() : limit(c, next)
  }
}

/** The client's IP: the socket's peer, or the first X-Forwarded-For hop when TRUST_PROXY is set. */
export function clientIp(config: Config): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    let ip = ''
    if (config.trustProxy) ip = c.req.header('X-Forwarded-For')?.split(',')[0]?.trim() ?? ''
    if (!ip) {
      try {
        ip = getConnInfo(c).remote.address ?? ''
      } catch {
        ip = '' // app.request() in tests has no socket
      }
    }
    c.set('clientIp', ip || 'unknown')
    await next()
  }
}

/** Paths whose pages carry a token or secret (invitation, reset, sign-in chain): never cached. */
const SECRET_PAGES = /^\/(?:invite\/|password\/reset\/|password\/change|mfa\/|login\/mfa)/

/**
 * `Cache-Control: no-store` on every answer to a signed-in user (any step of the chain) and on
 * every page carrying a token or secret or setting a cookie, error pages and redirects included. Static files are left
 * alone; an answer that already says no-store keeps its own header.
 */
export const noStore: MiddlewareHandler<AppEnv> = async (c, next) => {
  await next()
  if (c.req.path.startsWith('/public/')) return
  // an answer setting a cookie (a new session, a flash) is never cached either
  if (!c.get('auth') && !SECRET_PAGES.test(c.req.path) && !c.res.headers.has('Set-Cookie')) return
  if (!/no-store/.test(c.res.headers.get('Cache-Control') ?? '')) c.res.headers.set('Cache-Control', 'no-store')
}
