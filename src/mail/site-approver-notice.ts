import type { Db } from '../db/client.ts'
import type { Site } from '../db/schema.ts'
import { enqueueEmail } from './outbox.ts'
import { siteApproverChangeEmail } from '../../views/emails/site-approver.tsx'

/**
 * Queues the note to a site's contact address about an approver change, in the caller's
 * transaction; returns null (nothing queued) when the site has no contact address.
 */
export function queueSiteApproverNotice(
  db: Db,
  input: { site: Site; approver: { name: string; email: string }; change: 'appointed' | 'removed'; by: string; now: number; baseUrl: string },
): number | null {
  if (input.site.contactEmail === '') return null
  const email = siteApproverChangeEmail({
    to: input.site.contactEmail,
    change: input.change,
    site: input.site,
    approver: input.approver,
    by: input.by,
    at: input.now,
    siteUrl: `${input.baseUrl}/admin/sites/${input.site.id}`,
  })
  return enqueueEmail(db, email, input.now)
}
