import type { Child } from 'hono/jsx'
import { raw } from 'hono/html'
import type { Flash } from '../../src/http/flash.ts'

/** What every page knows of the person viewing it; permissions arrive as booleans. */
export type Viewer = { email: string; name: string; canAdminister: boolean }

export type Banner = { message: string; link: string; level: 'info' | 'warning' | 'critical' }

/** One link of the admin navigation; `current` marks the area the page belongs to. */
export type AdminNavLink = { href: string; label: string; current: boolean }

export type PageChrome = { viewer: Viewer | null; flash: Flash | null; banner: Banner | null; deploymentMode: boolean; adminNav?: AdminNavLink[] | null }

export function Page(props: { title: string; chrome: PageChrome; children: Child; narrow?: boolean }) {
  const { viewer, flash, banner, deploymentMode, adminNav } = props.chrome
  return (
    <>
      {raw('<!doctype html>')}
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <title>{`${props.title} · Gatehouse`}</title>
          <link rel="stylesheet" href="/public/app.css" />
          <link rel="icon" href="/public/favicon.svg" type="image/svg+xml" />
          <script src="/public/htmx.min.js" defer></script>
        </head>
        <body>
          <a class="skip" href="#main">
            Skip to content
          </a>
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
          {deploymentMode && (
            <div class="banner banner-warning" role="status">
              Deployment mode is on: projects, cohort queries, models, uploads and training are paused. Sign-in and administration keep working.
            </div>
          )}
          <header class="site">
            <a class="brand" href="/">
              Gatehouse
            </a>
            {viewer && (
              <nav aria-label="Main">
                <a href="/">Home</a>
                <a href="/projects">Projects</a>
                {viewer.canAdminister && <a href="/admin">Admin</a>}
                <span class="who" title={viewer.email}>
                  {viewer.name}
                </span>
                <form method="post" action="/logout" class="inline">
                  <button type="submit" class="link">
                    Sign out
                  </button>
                </form>
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
