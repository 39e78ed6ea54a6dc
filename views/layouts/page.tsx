import type { Child } from 'hono/jsx'
import { raw } from 'hono/html'
import type { Flash } from '../../src/http/flash.ts'

/** What every page knows of the person viewing it; permissions arrive as booleans. */
/** approvalsAwaiting: null when the user decides for no site (no "Approvals" entry); else the count awaiting their decision. */
export type Viewer = { email: string; name: string; canAdminister: boolean; approvalsAwaiting?: number | null }

export type Banner = { message: string; link: string; level: 'info' | 'warning' | 'critical' }

/** One link of the admin navigation; `current` marks the area the page belongs to. */
export type AdminNavLink = { href: string; label: string; current: boolean }

export type PageChrome = { viewer: Viewer | null; flash: Flash | null; banner: Banner | null; deploymentMode: boolean; adminNav?: AdminNavLink[] | null }

// The parts of every page that never change, rendered once at start-up: hono/jsx would otherwise
// build and render each of these elements again on every request.
const DOCTYPE = raw('<!doctype html>')
const HEAD_META = raw(String(
  <>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
  </>,
))
const HEAD_ASSETS = raw(String(
  <>
    <link rel="stylesheet" href="/public/app.css" />
    <link rel="icon" href="/public/favicon.svg" type="image/svg+xml" />
    <script src="/public/htmx.min.js" defer></script>
  </>,
))
const SKIP_LINK = raw(String(
  <a class="skip" href="#main">
    Skip to content
  </a>,
))
const DEPLOYMENT_MODE_BANNER = raw(String(
  <div class="banner banner-warning" role="status">
    Deployment mode is on: projects, cohort queries, models, uploads and training are paused. Sign-in and administration keep working.
  </div>,
))
const BRAND = raw(String(
  <a class="brand" href="/">
    Gatehouse
  </a>,
))
const NAV_LINKS = raw(String(
  <>
    <a href="/">Home</a>
    <a href="/projects">Projects</a>
  </>,
))
const ADMIN_LINK = raw(String(<a href="/admin">Admin</a>))
const SIGN_OUT = raw(String(
  <form method="post" action="/logout" class="inline">
    <button type="submit" class="link">
      Sign out
    </button>
  </form>,
))

export function Page(props: { title: string; chrome: PageChrome; children: Child; narrow?: boolean }) {
  const { viewer, flash, banner, deploymentMode, adminNav } = props.chrome
  return (
    <>
      {DOCTYPE}
      <html lang="en">
        <head>
          {HEAD_META}
          <title>{`${props.title} · Gatehouse`}</title>
          {HEAD_ASSETS}
        </head>
        <body>
          {SKIP_LINK}
          {banner && (
            <div class={`banner banner-${banner.level}`} role={banner.level === 'critical' ? 'alert' : 'status'}>
              {banner.message}
              {banner.link && (
                <>
                  {' '}
                  <a href={banner.link} rel="noopener noreferrer">
                    More information
                  </a>
                </>
              )}
            </div>
          )}
          {deploymentMode && DEPLOYMENT_MODE_BANNER}
          <header class="site">
            {BRAND}
            {viewer && (
              <nav aria-label="Main">
                {NAV_LINKS}
                {viewer.approvalsAwaiting != null && (
                  <a href="/approvals" aria-label={`Approvals, ${viewer.approvalsAwaiting} awaiting your decision`}>
                    Approvals <span class="badge count">{viewer.approvalsAwaiting}</span>
                  </a>
                )}
                {viewer.canAdminister && ADMIN_LINK}
                <a class="who" href="/account" title={`Your account (${viewer.email})`}>
                  {viewer.name}
                </a>
                {SIGN_OUT}
              </nav>
            )}
          </header>
          {adminNav && adminNav.length > 0 && (
            <nav class="admin-nav" aria-label="Admin">
              {adminNav.map((a) => (
                <a href={a.href} aria-current={a.current ? 'page' : undefined}>
                  {a.label}
                </a>
              ))}
            </nav>
          )}
          <main id="main" class={props.narrow ? 'narrow' : undefined}>
            {flash && (
              <p class={`flash flash-${flash.kind}`} role={flash.kind === 'error' ? 'alert' : 'status'}>
                {flash.message}
              </p>
            )}
            {props.children}
          </main>
        </body>
      </html>
    </>
  )
}
