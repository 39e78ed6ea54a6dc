import { renderEmailHtml } from './layout.tsx'
import type { Email } from '../../src/mail/outbox.ts'

/** The workflow notifications of site approvals (SPEC §12): plain text and HTML, with a link to the page concerned. */
export type WorkflowNotice =
  | { kind: 'staged'; project: string; site: string }
  | { kind: 'decided'; project: string; site: string; decision: 'approve' | 'decline'; by: string; reason: string; expiresOn: string | null }
  | { kind: 'decided_by_admins'; project: string; by: string; approved: string[]; declined: string[] }
  | { kind: 'withdrawn'; project: string; site: string; by: string; reason: string }
  | { kind: 'lapsed'; project: string; site: string; expiresOn: string }
  | { kind: 'reminder'; project: string; site: string; expiresOn: string; days: number }

/** The footer: where to turn these emails off (the account page, on the same Gatehouse as `url`). */
function offLine(url: string): string {
  const origin = /^https?:\/\/[^/]+/.exec(url)?.[0] ?? ''
  return `You receive this because workflow emails are on for your account; you can turn them off on your account page: ${origin}/account`
}

function content(n: WorkflowNotice): { subject: string; lines: string[]; link: string } {
  switch (n.kind) {
    case 'staged':
      return { subject: `${n.project} awaits ${n.site}’s decision`, lines: [`The project “${n.project}” was staged at ${n.site}. You decide for ${n.site}: read the project and its cohort query, then approve or decline it.`], link: 'Read the project and decide' }
    case 'decided':
      return {
        subject: `${n.site} ${n.decision === 'approve' ? 'approved' : 'declined'} ${n.project}`,
        lines: [
          `${n.site} ${n.decision === 'approve' ? 'approved' : 'declined'} your project “${n.project}” (decided by ${n.by}).`,
          ...(n.reason ? [`Reason: ${n.reason}`] : []),
          ...(n.expiresOn ? [`The approval lapses at the end of ${n.expiresOn} (UTC).`] : []),
        ],
        link: 'Open the project',
      }
    case 'decided_by_admins':
      return {
        subject: `Site decisions on ${n.project}`,
        lines: [
          `${n.by} recorded the decisions of the sites without approvers on your project “${n.project}”.`,
          ...(n.approved.length > 0 ? [`Approved: ${n.approved.join(', ')}.`] : []),
          ...(n.declined.length > 0 ? [`Not approved: ${n.declined.join(', ')}.`] : []),
        ],
        link: 'Open the project',
      }
    case 'withdrawn':
      return { subject: `${n.site} withdrew its approval of ${n.project}`, lines: [`${n.site} withdrew its approval of your project “${n.project}” (by ${n.by}). Its image retrieval and training tasks for the project were cancelled.`, `Reason: ${n.reason}`], link: 'Open the project' }
    case 'lapsed':
      return { subject: `${n.site}’s approval of ${n.project} has lapsed`, lines: [`${n.site}’s approval of your project “${n.project}” lapsed at the end of ${n.expiresOn} (UTC). Its image retrieval and training tasks for the project were cancelled; the site can approve again.`], link: 'Open the project' }
    case 'reminder':
      return { subject: `${n.site}’s approval of ${n.project} lapses in ${n.days === 1 ? '1 day' : `${n.days} days`}`, lines: [`${n.site}’s approval of the project “${n.project}” lapses at the end of ${n.expiresOn} (UTC), in ${n.days} days. To continue, the site records a new approval with a later expiry before then.`], link: 'Open the project' }
  }
}

export function workflowEmail(to: string, notice: WorkflowNotice, url: string): Email {
  const { subject, lines, link } = content(notice)
  const OFF = offLine(url)
  const text = [...lines, '', `${link}: ${url}`, '', OFF].join('\n')
  const html = renderEmailHtml(
    <>
      {lines.map((line) => (
        <p>{line}</p>
      ))}
      <p>
        <a href={url}>{link}</a>
      </p>
      <p style="color: #57606a; font-size: 0.875rem;">{OFF}</p>
    </>,
  )
  return { to, subject: `Gatehouse: ${subject}`, text, html }
}
