import { Hono, type Context } from 'hono'
import type { AppEnv } from '../../http/context.ts'
import { requireUser } from '../../auth/middleware.ts'
import { requirePermission } from '../../authz/middleware.ts'
import { chrome } from '../../http/page.ts'
import { redirectTo } from '../../http/htmx.ts'
import { readForm, normalizeEmail, idParam, type FieldErrors } from '../../http/forms.ts'
import { setFlash } from '../../http/flash.ts'
import { notFoundPage, renderErrorPage } from '../../http/errors.tsx'
import { SitePage } from '../../../views/admin/sites.tsx'
import { ConfirmPage } from '../../../views/components/confirm.tsx'
import { appointSiteApprover, isSiteApprover, listApproversForSite, removeSiteApprover, whyNotAppointable, type AppointRefusal, type SiteApproverCtx } from '../../models/site-approvers.ts'
import { displayName, getUserByEmail, getUserById } from '../../models/users.ts'
import { getSiteById } from '../../models/sites.ts'
import type { Site } from '../../db/schema.ts'

// /admin/sites/:id/approvers: appoint and remove the users who decide for a site (SPEC §4.1).

export const adminSiteApprovers = new Hono<AppEnv>()

const guard = [requireUser, requirePermission('sites.manage')] as const

const EMAIL_MAX_LENGTH = 254

function loadSite(c: Context<AppEnv>): Site | null {
  const id = idParam(c.req.param('id'))
  return id === null ? null : getSiteById(c.get('deps').db, id)
}

function ctxOf(c: Context<AppEnv>): SiteApproverCtx {
  const actor = c.get('actor')
  const { clock, config } = c.get('deps')
  return { actor: { id: actor.id, email: actor.email }, now: clock.now(), ip: c.get('clientIp'), baseUrl: config.baseUrl }
}

function sitePageWithError(c: Context<AppEnv>, site: Site, email: string, message: string, status: 409 | 422) {
  return c.html(
    <SitePage chrome={chrome(c)} site={site} values={{}} errors={{}} approvers={listApproversForSite(c.get('deps').db, site.id)} approverValues={{ email }} approverErrors={{ email: message } satisfies FieldErrors} />,
    status,
  )
}

function selfAppointmentRefused(c: Context<AppEnv>) {
  return renderErrorPage(c, 403, 'Not allowed', 'You cannot appoint yourself as an approver of a site. Ask another administrator to appoint you.')
}

const REFUSAL_MESSAGES: Record<Exclude<AppointRefusal, 'self'>, string> = {
  disabled: 'This account is disabled; enable it first to appoint it as an approver.',
  already: 'This account already approves for this site.',
}

adminSiteApprovers.post('/admin/sites/:id/approvers', ...guard, async (c) => {
  const site = loadSite(c)
  if (!site) return notFoundPage(c)
  const { db } = c.get('deps')
  const raw = (await readForm(c)).get('email').trim()
  const email = raw.length > EMAIL_MAX_LENGTH ? null : normalizeEmail(raw)
  if (email === null) return sitePageWithError(c, site, raw, 'Enter a valid email address.', 422)
  const user = getUserByEmail(db, email)
  if (!user) return sitePageWithError(c, site, raw, 'No account has this email address. Invite the person first, then appoint them.', 422)
  const refusal = whyNotAppointable(db, site, user, c.get('actor').id)
  if (refusal === 'self') return selfAppointmentRefused(c)
  if (refusal) return sitePageWithError(c, site, raw, REFUSAL_MESSAGES[refusal], 422)
  const result = appointSiteApprover(db, site, user, ctxOf(c))
  if (!result.ok) return result.reason === 'self' ? selfAppointmentRefused(c) : sitePageWithError(c, site, raw, REFUSAL_MESSAGES[result.reason], 422)
  setFlash(c, 'success', `${displayName(user)} now approves for ${site.name}.`)
  return redirectTo(c, `/admin/sites/${site.id}`)
})

adminSiteApprovers.post('/admin/sites/:id/approvers/:userId/remove', ...guard, async (c) => {
  const site = loadSite(c)
  if (!site) return notFoundPage(c)
  const { db } = c.get('deps')
  const userId = idParam(c.req.param('userId'))
  const user = userId === null ? null : getUserById(db, userId)
  if (!user || !isSiteApprover(db, site.id, user.id)) return notFoundPage(c)
  if ((await readForm(c)).get('confirm') !== 'yes') {
    return c.html(
      <ConfirmPage
        chrome={chrome(c)}
        title={`Remove ${displayName(user)} as approver of ${site.name}?`}
        question={`${displayName(user)} (${user.email}) will no longer decide on projects staged at ${site.name}. Decisions already made stay in the history.${site.contactEmail ? ` ${site.contactEmail} is told.` : ''}`}
        button="Remove approver"
        action={c.req.path}
        cancel={`/admin/sites/${site.id}`}
      />,
    )
  }
  if (!removeSiteApprover(db, site, user, ctxOf(c))) return notFoundPage(c)
  setFlash(c, 'success', `${displayName(user)} no longer approves for ${site.name}.`)
  return redirectTo(c, `/admin/sites/${site.id}`)
})
