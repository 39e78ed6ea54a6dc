import { Hono, type Context } from 'hono'
import type { AppEnv } from '../http/context.ts'
import { requireUser } from '../auth/middleware.ts'
import { routeClass } from '../http/route-class.ts'
import { chrome } from '../http/page.ts'
import { redirectTo } from '../http/htmx.ts'
import { readForm, idParam, checkTextFields, hasErrors } from '../http/forms.ts'
import { setFlash } from '../http/flash.ts'
import { notFoundPage } from '../http/errors.tsx'
import { denySiteDecision, type Denial } from '../authz/policy.ts'
import { getCurrentCohortQuery, getProject, listStagedSites, sha256Hex } from '../models/projects.ts'
import { getSiteById } from '../models/sites.ts'
import {
  checkDecisionFields,
  decidesForSite,
  getSiteStanding,
  isStagedAt,
  listSiteDecisions,
  recordSiteDecision,
  siteDecisionFacts,
  todayUtc,
  withdrawSiteApproval,
  type DecisionOutcome,
} from '../models/site-decisions.ts'
import type { Project, Site } from '../db/schema.ts'
import { loadReadableProject, refuse } from './projects.tsx'
import { SiteDecisionPage } from '../../views/site-decision.tsx'
import { ConfirmPage } from '../../views/components/confirm.tsx'

// Per-site decisions and withdrawal (SPEC §4.1): whoever decides for a site (its approvers, or
// admins while it has none) approves, declines or withdraws on a staged or approved project.
// Permission and state rules are the policy's (decideSiteDecision); the model re-asks it inside
// the write transaction, so racing deciders are judged in order.

export const siteDecisionRoutes = new Hono<AppEnv>()

const guard = [requireUser, routeClass('core')] as const

type Loaded = { project: Project; site: Site }

/**
 * The project and site, or null (404): unknown or deleted project, unknown site, or a project the
 * actor may neither read nor decide on for any of its staged sites (its existence does not leak).
 */
function load(c: Context<AppEnv>): Loaded | null {
  const { db } = c.get('deps')
  const projectId = idParam(c.req.param('id'))
  const siteId = idParam(c.req.param('siteId'))
  if (projectId === null || siteId === null) return null
  const project = getProject(db, projectId)
  if (!project || project.deletedAt !== null) return null
  const site = getSiteById(db, siteId)
  if (!site) return null
  const actor = c.get('actor')
  const visible = loadReadableProject(c) !== null || listStagedSites(db, project.id).some((s) => decidesForSite(db, actor, s.site.id))
  return visible ? { project, site } : null
}

function ctxOf(c: Context<AppEnv>) {
  const actor = c.get('actor')
  return { actor: { id: actor.id, email: actor.email }, now: c.get('deps').clock.now(), ip: c.get('clientIp'), baseUrl: c.get('deps').config.baseUrl }
}

function render(c: Context<AppEnv>, loaded: Loaded, extra: { values?: Record<string, string>; errors?: Record<string, string>; error?: string } = {}, status: 200 | 409 | 422 = 200) {
  const { db, clock } = c.get('deps')
  const now = clock.now()
  const project = getProject(db, loaded.project.id) ?? loaded.project
  const history = listSiteDecisions(db, project.id).filter((d) => d.siteId === loaded.site.id)
  const query = getCurrentCohortQuery(db, project.id)
  return c.html(
    <SiteDecisionPage
      chrome={chrome(c)}
      view={{
        project: { id: project.id, name: project.name, description: project.description, status: project.status },
        site: { id: loaded.site.id, name: loaded.site.name },
        standing: getSiteStanding(db, project.id, loaded.site.id, now),
        current: history[0] ?? null,
        history,
        query: query ? { version: query.version, sqlText: query.sqlText, sha256: sha256Hex(query.sqlText) } : null,
        today: todayUtc(now),
        values: extra.values ?? {},
        errors: extra.errors ?? {},
        ...(extra.error ? { error: extra.error } : {}),
      }}
    />,
    status,
  )
}

function answer(c: Context<AppEnv>, loaded: Loaded, outcome: Exclude<DecisionOutcome, { ok: true }>, values: Record<string, string>) {
  if (outcome.denial) return refuse(c, { permission: outcome.denial.permission, label: 'Decide for a site', rule: outcome.denial.rule, kind: outcome.denial.kind } satisfies Denial)
  return render(c, loaded, { values, error: outcome.reason }, outcome.status === 403 ? 422 : outcome.status)
}

siteDecisionRoutes.get('/projects/:id/sites/:siteId/decision', ...guard, (c) => {
  const loaded = load(c)
  if (!loaded || !isStagedAt(c.get('deps').db, loaded.project.id, loaded.site.id)) return notFoundPage(c)
  return render(c, loaded)
})

siteDecisionRoutes.post('/projects/:id/sites/:siteId/decision', ...guard, async (c) => {
  const loaded = load(c)
  if (!loaded) return notFoundPage(c)
  const { db, clock } = c.get('deps')
  const actor = c.get('actor')
  const form = await readForm(c)
  const values = { decision: form.get('decision'), reason: form.get('reason').trim(), conditions: form.get('conditions').trim(), agreement: form.get('agreement').trim(), expires_on: form.get('expires_on').trim() }
  const now = clock.now()
  const denial = denySiteDecision(actor, values.decision === 'decline' ? 'decline' : 'approve', siteDecisionFacts(db, actor.id, loaded.project, loaded.site, now))
  if (denial) return refuse(c, { ...denial, label: 'Decide for a site' })
  if (!isStagedAt(db, loaded.project.id, loaded.site.id)) return render(c, loaded, { values, error: `${loaded.site.name} was not staged for this project, so it cannot decide on it. Nothing was changed.` }, 422)
  const errors = checkTextFields(checkDecisionFields(values, todayUtc(now)), values, ['reason', 'conditions']) as Record<string, string>
  if (hasErrors(errors)) return render(c, loaded, { values, errors }, 422)
  if (form.get('confirm') !== 'yes') {
    const approving = values.decision === 'approve'
    const site = loaded.site.name
    return c.html(
      <ConfirmPage
        chrome={chrome(c)}
        title={`${approving ? 'Approve' : 'Decline'} “${loaded.project.name}” for ${site}?`}
        question={
          approving
            ? `${site} takes part: it gets an image retrieval task for this project and training may run there${values.expires_on ? `, until the end of ${values.expires_on} (UTC)` : ''}. The decision is recorded with your name and the query's fingerprint; it can be withdrawn later.`
            : `${site} does not take part and gets no work of this project. The reason is recorded with your name and shown to the project owner; ${site} may approve later with a new decision.`
        }
        button={approving ? `Approve for ${site}` : `Decline for ${site}`}
        tone={approving ? 'primary' : 'danger'}
        action={c.req.path}
        cancel={`/projects/${loaded.project.id}/sites/${loaded.site.id}/decision`}
        hidden={values}
      />,
    )
  }
  const outcome = recordSiteDecision(db, actor, loaded.project.id, loaded.site, { decision: values.decision as 'approve' | 'decline', reason: values.reason, conditions: values.conditions, agreement: values.agreement, expiresOn: values.expires_on || null }, ctxOf(c))
  if (!outcome.ok) return answer(c, loaded, outcome, values)
  const what = values.decision === 'approve' ? (outcome.joined ? 'approved the project and joins it: it has an image retrieval task and is added to the existing models' : 'approved the project; it has an image retrieval task') : 'declined the project'
  setFlash(c, 'success', `${loaded.site.name} ${what}.`)
  return redirectTo(c, `/projects/${loaded.project.id}/sites/${loaded.site.id}/decision`)
})

siteDecisionRoutes.post('/projects/:id/sites/:siteId/withdraw', ...guard, async (c) => {
  const loaded = load(c)
  if (!loaded) return notFoundPage(c)
  const { db, clock } = c.get('deps')
  const actor = c.get('actor')
  const form = await readForm(c)
  const reason = form.get('reason').trim()
  const values = { withdraw_reason: reason }
  const denial = denySiteDecision(actor, 'withdraw', siteDecisionFacts(db, actor.id, loaded.project, loaded.site, clock.now()))
  if (denial) return refuse(c, { ...denial, label: 'Decide for a site' })
  const errors = checkTextFields({ withdraw_reason: reason === '' ? 'Give the reason for withdrawing.' : [...reason].length > 2000 ? 'At most 2,000 characters.' : undefined }, values, ['withdraw_reason']) as Record<string, string>
  if (hasErrors(errors)) return render(c, loaded, { values, errors }, 422)
  if (form.get('confirm') !== 'yes') {
    return c.html(
      <ConfirmPage
        chrome={chrome(c)}
        title={`Withdraw ${loaded.site.name}'s approval of “${loaded.project.name}”?`}
        question={`${loaded.site.name} gets no more work of this project: its pending and claimed image retrieval and training tasks are cancelled and its running training ends as stopped. Approving again later is a new decision.`}
        button="Withdraw approval"
        action={c.req.path}
        cancel={`/projects/${loaded.project.id}/sites/${loaded.site.id}/decision`}
        hidden={{ reason }}
      />,
    )
  }
  const outcome = withdrawSiteApproval(db, actor, loaded.project.id, loaded.site, reason, ctxOf(c))
  if (!outcome.ok) return answer(c, loaded, outcome, values)
  setFlash(c, 'success', `${loaded.site.name} withdrew its approval: its open tasks of this project are cancelled.`)
  return redirectTo(c, `/projects/${loaded.project.id}/sites/${loaded.site.id}/decision`)
})
