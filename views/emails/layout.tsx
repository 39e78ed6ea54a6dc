import type { Child } from 'hono/jsx'

/** The HTML body shared by every email; inline styles only, as mail clients need. */
export function EmailLayout(props: { children: Child }) {
  return (
    <html lang="en">
      <body style="font-family: system-ui, sans-serif; line-height: 1.5; color: #1b1f24; max-width: 36rem; margin: 0 auto; padding: 1rem;">
        {props.children}
        <hr style="border: none; border-top: 1px solid #d0d7de; margin-top: 2rem;" />
        <p style="color: #57606a; font-size: 0.875rem;">Sent by Gatehouse. If you did not expect this email, tell your Gatehouse administrator.</p>
      </body>
    </html>
  )
}

export function renderEmailHtml(body: Child): string {
  return '<!doctype html>' + String(<EmailLayout>{body}</EmailLayout>)
}
