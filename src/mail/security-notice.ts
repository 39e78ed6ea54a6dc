import type { Db } from '../db/client.ts'
import { enqueueEmail } from './outbox.ts'
import { securityNoticeEmail } from '../../views/emails/security-notice.tsx'

/**
 * Queues a security notification (SPEC §12) in the caller's transaction: call it inside the same
 * `db.transaction` as the change it reports, so both land or neither does. Never turned off by
 * the user's workflow-email setting.
 */
export function queueSecurityNotice(
  db: Db,
  input: { to: string; subject: string; what: string; now: number; ip: string; baseUrl: string },
): number {
  return enqueueEmail(db, securityNoticeEmail({ to: input.to, subject: input.subject, what: input.what, at: input.now, ip: input.ip, accountUrl: `${input.baseUrl}/account` }), input.now)
}
