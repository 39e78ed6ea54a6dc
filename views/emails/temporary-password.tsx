import { renderEmailHtml } from './layout.tsx'
import type { Email } from '../../src/mail/outbox.ts'

export function temporaryPasswordEmail(input: { to: string; password: string; loginUrl: string; reason: 'registered' | 'reset' }): Email {
  const intro =
    input.reason === 'registered'
      ? 'An administrator has created a Gatehouse account for you.'
      : 'An administrator has reset the password of your Gatehouse account.'
  const text = [
    intro,
    '',
    `Sign in at ${input.loginUrl} with this email address and the one-time password:`,
    '',
    `    ${input.password}`,
    '',
    'It is valid for 7 days. At sign-in you will choose your own password and set up an authenticator app.',
  ].join('\n')
  const html = renderEmailHtml(
    <>
      <p>{intro}</p>
      <p>
        Sign in at <a href={input.loginUrl}>{input.loginUrl}</a> with this email address and the one-time password:
      </p>
      <p style="font-family: ui-monospace, monospace; font-size: 1.25rem; letter-spacing: 0.05em;">{input.password}</p>
      <p>It is valid for 7 days. At sign-in you will choose your own password and set up an authenticator app.</p>
    </>,
  )
  return { to: input.to, subject: input.reason === 'registered' ? 'Your Gatehouse account' : 'Your Gatehouse password was reset', text, html, secret: true }
}
