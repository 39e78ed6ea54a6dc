import type { Child } from 'hono/jsx'
import { raw } from 'hono/html'
import type { Flash } from '../../src/http/flash.ts'

/** What every page knows of the person viewing it; permissions arrive as booleans. */
export type Viewer = { email: string; name: string; canAdminister: boolean }

export type PageChrome = { viewer: Viewer | null; flash: Flash | null }

export function Page(props: { title: string; chrome: PageChrome; children: Child; narrow?: boolean }) {
  const { viewer, flash } = props.chrome
  return (
    <>
      {raw('<!doctype html>')}
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <title>{`${props.title} · Gatehouse`}</title>
          <link rel="stylesheet" href="/public/app.css" />
          <script src="/public/htmx.min.js" defer></script>
        </head>
        <body>
          <a class="skip" href="#main">
            Skip to content
          </a>
          <header class="site">
            <a class="brand" href="/">
              Gatehouse
            </a>
            {viewer && (
              <nav aria-label="Main">
                <a href="/">Home</a>
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
