import { renderEmailHtml } from './layout.tsx'
import type { Email } from '../../src/mail/outbox.ts'

/**
 * A security notification (SPEC §12): always sent, to the account's own address, saying what
 * happened, when, from which IP, and what to do if it was not them. `what` is one sentence in
 * the past tense ("Your password was changed.").
 */
export function securityNoticeEmail(input: { to: string; subject: string; what: string; at: number; ip: string; accountUrl: string }): Email {
  const when = new Date(input.at).toISOString().slice(0, 16).replace('T', ' ') + ' UTC'
  const from = input.ip ? ` from ${input.ip}` : ''
  const detail = `This happened at ${when}${from}.`
  const advice = 'If this was you, there is nothing to do. If it was not, change your password now and tell your Gatehouse administrator.'
  const text = [input.what, '', detail, '', advice, '', `Your account: ${input.accountUrl}`].join('\n')
  const html = renderEmailHtml(
    <>
      <p>{input.what}</p>
      <p>{detail}</p>
      <p>{advice}</p>
      <p>
        <a href={input.accountUrl}>Open your account</a>
      </p>
    </>,
  )
  return { to: input.to, subject: `Gatehouse security: ${input.subject}`, text, html }
}
