import { renderEmailHtml } from './layout.tsx'
import type { Email } from '../../src/mail/outbox.ts'

/** Tells a site's contact address that someone was appointed or removed as one of its approvers (SPEC §4.1). */
export function siteApproverChangeEmail(input: {
  to: string
  change: 'appointed' | 'removed'
  site: { name: string; code: string }
  approver: { name: string; email: string }
  by: string
  at: number
  siteUrl: string
}): Email {
  const when = new Date(input.at).toISOString().slice(0, 16).replace('T', ' ') + ' UTC'
  const who = input.approver.name === input.approver.email ? input.approver.email : `${input.approver.name} (${input.approver.email})`
  const what =
    input.change === 'appointed'
      ? `${who} was appointed as an approver of ${input.site.name} (${input.site.code}) by ${input.by} at ${when}. From now on they can decide on projects staged at this site.`
      : `${who} is no longer an approver of ${input.site.name} (${input.site.code}); removed by ${input.by} at ${when}.`
  const advice = 'You receive this because this address is the site’s contact in Gatehouse. If this change is unexpected, tell your Gatehouse administrator.'
  const text = [what, '', advice, '', `The site in Gatehouse: ${input.siteUrl}`].join('\n')
  const html = renderEmailHtml(
    <>
      <p>{what}</p>
      <p>{advice}</p>
      <p>
        <a href={input.siteUrl}>Open the site in Gatehouse</a>
      </p>
    </>,
  )
  const subject = input.change === 'appointed' ? `New approver for ${input.site.name}` : `Approver removed from ${input.site.name}`
  return { to: input.to, subject: `Gatehouse: ${subject}`, text, html }
}
