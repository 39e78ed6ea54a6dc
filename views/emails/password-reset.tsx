import { renderEmailHtml } from './layout.tsx'
import type { Email } from '../../src/mail/outbox.ts'

export function passwordResetEmail(input: { to: string; resetUrl: string }): Email {
  const text = [
    'Someone (hopefully you) asked to reset the password of your Gatehouse account.',
    '',
    `Choose a new password here: ${input.resetUrl}`,
    '',
    'The link works once, for one hour. Using it signs you out everywhere. If you did not ask for this, ignore this email: your password stays as it is.',
  ].join('\n')
  const html = renderEmailHtml(
    <>
      <p>Someone (hopefully you) asked to reset the password of your Gatehouse account.</p>
      <p>
        <a href={input.resetUrl}>Choose a new password</a>
      </p>
      <p>The link works once, for one hour. Using it signs you out everywhere. If you did not ask for this, ignore this email: your password stays as it is.</p>
    </>,
  )
  return { to: input.to, subject: 'Reset your Gatehouse password', text, html, secret: true }
}
