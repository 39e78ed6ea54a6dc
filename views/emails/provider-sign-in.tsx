import { renderEmailHtml } from './layout.tsx'
import type { Email } from '../../src/mail/outbox.ts'

/** "Forgot password" for an account without a local password: how it signs in instead (no link to reset anything). */
export function providerSignInReminderEmail(input: { to: string; providers: string[]; loginUrl: string }): Email {
  const names = input.providers.join(', ')
  const text = [
    'Someone (hopefully you) asked to reset the password of your Gatehouse account.',
    '',
    `Your account has no Gatehouse password: you sign in with ${names}. On the sign-in page, choose "Sign in with ${input.providers[0]}": ${input.loginUrl}`,
    '',
    `If you cannot sign in at ${names}, ask that service's help desk or your Gatehouse administrator. If you did not ask for this, ignore this email: nothing was changed.`,
  ].join('\n')
  const html = renderEmailHtml(
    <>
      <p>Someone (hopefully you) asked to reset the password of your Gatehouse account.</p>
      <p>
        Your account has no Gatehouse password: you sign in with <strong>{names}</strong>. On the <a href={input.loginUrl}>sign-in page</a>, choose “Sign in with {input.providers[0]}”.
      </p>
      <p>
        If you cannot sign in at {names}, ask that service's help desk or your Gatehouse administrator. If you did not ask for this, ignore this email: nothing was changed.
      </p>
    </>,
  )
  return { to: input.to, subject: 'How you sign in to Gatehouse', text, html }
}
