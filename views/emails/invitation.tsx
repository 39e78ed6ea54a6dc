import { renderEmailHtml } from './layout.tsx'
import type { Email } from '../../src/mail/outbox.ts'

export function invitationEmail(input: { to: string; link: string; inviter: string; expiresAt: number; organization: string }): Email {
  const until = new Date(input.expiresAt).toISOString().slice(0, 16).replace('T', ' ') + ' UTC'
  const text = [
    `${input.inviter} has invited you to Gatehouse${input.organization ? ` (${input.organization})` : ''}.`,
    '',
    `Accept the invitation here: ${input.link}`,
    '',
    `The link works until ${until}. You will choose a username and a password, confirm a code we email you, and set up an authenticator app.`,
  ].join('\n')
  const html = renderEmailHtml(
    <>
      <p>
        {input.inviter} has invited you to Gatehouse{input.organization ? ` (${input.organization})` : ''}.
      </p>
      <p>
        <a href={input.link}>Accept the invitation</a>
      </p>
      <p>The link works until {until}. You will choose a username and a password, confirm a code we email you, and set up an authenticator app.</p>
    </>,
  )
  return { to: input.to, subject: 'You are invited to Gatehouse', text, html, secret: true }
}

export function securityTokenEmail(input: { to: string; token: string }): Email {
  const text = [`Your Gatehouse security code is:`, '', `    ${input.token}`, '', 'Enter it in the browser tab where you filled in the invitation form. It is valid for 60 minutes.'].join('\n')
  const html = renderEmailHtml(
    <>
      <p>Your Gatehouse security code is:</p>
      <p style="font-family: ui-monospace, monospace; font-size: 1.5rem; letter-spacing: 0.2em;">{input.token}</p>
      <p>Enter it in the browser tab where you filled in the invitation form. It is valid for 60 minutes.</p>
    </>,
  )
  return { to: input.to, subject: 'Your Gatehouse security code', text, html, secret: true }
}

export function invitationAcceptedEmail(input: { to: string; invitee: string; username: string }): Email {
  const text = `${input.invitee} accepted your Gatehouse invitation and created the account "${input.username}".`
  return { to: input.to, subject: `${input.invitee} joined Gatehouse`, text, html: renderEmailHtml(<p>{text}</p>) }
}

/** A follow-up for an unclaimed invitation (consortium import, SPEC §6.4): the same link, working again until `expiresAt`. */
export function invitationFollowUpEmail(input: { to: string; link: string; expiresAt: number; organization: string; number: number }): Email {
  const until = new Date(input.expiresAt).toISOString().slice(0, 16).replace('T', ' ') + ' UTC'
  const lead = `You were invited to Gatehouse${input.organization ? ` (${input.organization})` : ''} and have not accepted yet.`
  const text = [lead, '', `Accept the invitation here: ${input.link}`, '', `The link works until ${until}. If you do not need an account, ignore this email.`].join('\n')
  const html = renderEmailHtml(
    <>
      <p>{lead}</p>
      <p>
        <a href={input.link}>Accept the invitation</a>
      </p>
      <p>The link works until {until}. If you do not need an account, ignore this email.</p>
    </>,
  )
  return { to: input.to, subject: `Reminder${input.number > 1 ? ` (${input.number})` : ''}: your Gatehouse invitation`, text, html, secret: true }
}
