import { Hono, type Context } from 'hono'
import { approvesStagedSite } from '../models/approvals.ts'
import type { AppEnv } from '../http/context.ts'
import { requireUser } from '../auth/middleware.ts'
import { requirePermission } from '../authz/middleware.ts'
import { routeClass } from '../http/route-class.ts'
import { chrome } from '../http/page.ts'
import { redirectTo } from '../http/htmx.ts'
import { readForm, checkTextFields, hasErrors, normalizeEmail, type FieldErrors, idParam } from '../http/forms.ts'
import { setFlash } from '../http/flash.ts'
import { forbiddenPage, notFoundPage } from '../http/errors.tsx'
import { can, decideProject, deny, denyAdminSiteApprovals, denyOnProject, type Denial } from '../authz/policy.ts'
import { defaultProjectRoleFor, type ProjectPermission } from '../authz/permissions.ts'
import { denyProjectGrants, getProjectAccess } from '../models/access.ts'
import { getRoleByName, getRoleGroupIds, listRoles, resolveActor } from '../models/roles.ts'
import type { Role } from '../db/schema.ts'
import { getUserByEmail, getUserById } from '../models/users.ts'
import { listGroups } from '../models/groups.ts'
import { getUserMemberships } from '../models/user-admin.ts'
import { checkCohortQuery } from '../models/cohort-query.ts'
import {
  addProjectMember,
  approveProjectSites,
  createProject,
  deleteProject,
  getCohortCounts,
  getCurrentCohortQuery,
  listCohortQueryVersions,
  listProjectMembers,
  listProjectsForUser,
  PROJECT_SORTS,
  PROJECT_STATUS_FILTERS,
  type ProjectSort,
  listStagedSites,
  removeProjectMember,
  saveCohortQuery,
  stageProject,
  unstageProject,
  updateProject,
  type Ctx,
  type Refusal,
} from '../models/projects.ts'
import { ProjectsPage, NewProjectPage, type ProjectListFilters } from '../../views/projects.tsx'
import { ProjectPage, type ProjectView } from '../../views/project.tsx'
import { ConfirmPage } from '../../views/components/confirm.tsx'
import type { Project } from '../db/schema.ts'
import { renderErrorPage } from '../http/errors.tsx'
import { projectModelsSection } from './project-models.tsx'
import { siteDecisionSummary, sitesWithApprovers } from '../models/site-decisions.ts'
import { getSiteById } from '../models/sites.ts'

export const projectRoutes = new Hono<AppEnv>()

/** Every project route: signed in, and paused in deployment mode. */
const guard = [requireUser, routeClass('core')] as const

function ctxOf(c: Context<AppEnv>): Ctx {
  const actor = c.get('actor')
  return { actor: { id: actor.id, email: actor.email }, now: c.get('deps').clock.now(), ip: c.get('clientIp'), baseUrl: c.get('deps').config.baseUrl }
}

export type LoadedProject = { project: Project; access: NonNullable<ReturnType<typeof getProjectAccess>> }

/** The project if the actor may read it; otherwise null, answered as 404 so its existence does not leak. */
export function loadReadableProject(c: Context<AppEnv>): LoadedProject | null {
  const id = idParam(c.req.param('id'))
  if (id === null) return null
  const access = getProjectAccess(c.get('deps').db, c.get('actor').id, id)
  if (!access || !decideProject(c.get('actor'), 'project.view', access).allowed) return null
  return { project: access.project, access }
}

/** 403 naming the permission, or 409 when the project's state is what forbids it. */
export function refuse(c: Context<AppEnv>, denial: Denial) {
  if (denial.kind === 'state') return renderErrorPage(c, 409, 'Not possible now', `${denial.rule.charAt(0).toUpperCase()}${denial.rule.slice(1)}.`)
  return forbiddenPage(c, denial)
}

export function denyProject(c: Context<AppEnv>, loaded: LoadedProject, permission: ProjectPermission): Denial | null {
  return denyOnProject(c.get('actor'), permission, loaded.access)
}

function projectView(c: Context<AppEnv>, loaded: LoadedProject, extra: Partial<ProjectView> = {}): ProjectView {
  const { db } = c.get('deps')
  const actor = c.get('actor')
  const query = getCurrentCohortQuery(db, loaded.project.id)
  const may = (p: ProjectPermission) => decideProject(actor, p, loaded.access)
  return {
    project: loaded.project,
    owner: getUserById(db, loaded.project.ownerId)?.email ?? '',
    cohortQuery: query,
    versions: listCohortQueryVersions(db, loaded.project.id).length,
    counts: getCohortCounts(db, query?.id ?? null),
    stagedSites: listStagedSites(db, loaded.project.id),
    members: listProjectMembers(db, loaded.project.id),
    // Only the project roles this actor may give here (the privilege ceiling).
    projectRoles: !may('members.manage').allowed ? [] : listRoles(db, 'project').filter((r) => denyProjectGrants(db, actor, [{ projectId: loaded.project.id, roleId: r.id }]) === null).map((r) => r.name),
    can: {
      edit: may('project.edit').allowed,
      stage: may('project.stage').allowed,
      delete: may('project.delete').allowed,
      manageMembers: may('members.manage').allowed,
      unstage: can(actor, 'projects.unstage') && loaded.project.status === 'staged',
      approve: can(actor, 'projects.approve') && loaded.project.status === 'staged',
    },
    values: {},
    errors: {},
    models: projectModelsSection(c, loaded),
    siteDecisions: siteDecisionSummary(db, actor, loaded.project.id, c.get('deps').clock.now()),
    ...extra,
  }
}

export function renderProject(c: Context<AppEnv>, loaded: LoadedProject, extra: Partial<ProjectView> = {}, status: 200 | 409 | 422 = 200) {
  return c.html(<ProjectPage chrome={chrome(c)} view={projectView(c, loaded, extra)} />, status)
}

function answerRefusal(c: Context<AppEnv>, loaded: LoadedProject, refusal: Refusal, values: Record<string, string> = {}) {
  const reloaded = { ...loaded, project: getProjectAccess(c.get('deps').db, c.get('actor').id, loaded.project.id)?.project ?? loaded.project }
  return renderProject(c, reloaded, { error: refusal.field ? undefined : refusal.reason, errors: refusal.field ? { [refusal.field]: refusal.reason } : {}, values }, refusal.status)
}

projectRoutes.get('/projects', ...guard, (c) => {
  const actor = c.get('actor')
  const everything = can(actor, 'projects.manage_all')
  const filters = parseProjectListFilters(c.req.query(), everything)
  const list = listProjectsForUser(c.get('deps').db, { userId: actor.id, everything, page: Number(c.req.query('page')) || 1, ...filters, groupId: filters.group === '' ? null : Number(filters.group) })
  const groups = listGroups(c.get('deps').db).map((g) => ({ id: g.id, name: g.name }))
  return c.html(<ProjectsPage chrome={chrome(c)} list={list} filters={filters} groups={groups} canSeeDeleted={everything} canCreate={can(actor, 'projects.create')} />)
})

/** The list's filters from the query string; anything unknown is dropped (never an error). */
function parseProjectListFilters(query: Record<string, string>, everything: boolean): ProjectListFilters {
  const text = (v: string | undefined) => (v ?? '').trim().slice(0, 100)
  const status = (PROJECT_STATUS_FILTERS as readonly string[]).includes(query.status ?? '') && (query.status !== 'deleted' || everything) ? (query.status as ProjectListFilters['status']) : null
  const group = /^\d{1,9}$/.test(query.group ?? '') ? query.group! : ''
  const sort = (PROJECT_SORTS as readonly string[]).includes(query.sort ?? '') ? (query.sort as ProjectSort) : 'updated'
  return { q: text(query.q), owner: text(query.owner), status, group, awaiting: query.awaiting === '1', sort, dir: query.dir === 'asc' ? 'asc' : 'desc' }
}

/** Groups a new project may be put in: any for admins, else the groups the creator belongs to. */
function groupsFor(c: Context<AppEnv>) {
  const actor = c.get('actor')
  const { db } = c.get('deps')
  const all = listGroups(db).map((g) => ({ id: g.id, name: g.name }))
  if (can(actor, 'projects.manage_all')) return all
  const mine = new Set(getUserMemberships(db, actor.id).groups.map((g) => g.id))
  return all.filter((g) => mine.has(g.id))
}

projectRoutes.get('/projects/new', ...guard, requirePermission('projects.create'), (c) => c.html(<NewProjectPage chrome={chrome(c)} values={{}} errors={{}} groups={groupsFor(c)} />))

function checkProjectFields(name: string, description: string): FieldErrors {
  return {
    name: name === '' ? 'Give the project a name.' : [...name].length > 200 ? 'At most 200 characters.' : undefined,
    description: [...description].length > 1000 ? 'At most 1,000 characters.' : undefined,
  }
}

projectRoutes.post('/projects/new', ...guard, requirePermission('projects.create'), async (c) => {
  const form = await readForm(c)
  const values = { name: form.get('name').trim(), description: form.get('description').trim(), group_id: form.get('group_id') }
  const errors = checkTextFields(checkProjectFields(values.name, values.description), values, ['description'])
  const group = values.group_id ? groupsFor(c).find((g) => String(g.id) === values.group_id) : null
  if (values.group_id && !group) errors.group_id = 'Choose one of your groups (or none).'
  if (hasErrors(errors)) return c.html(<NewProjectPage chrome={chrome(c)} values={values} errors={errors} groups={groupsFor(c)} />, 422)
  const project = createProject(c.get('deps').db, { name: values.name, description: values.description, groupId: group?.id ?? null }, ctxOf(c))
  setFlash(c, 'success', `Project “${project.name}” created.`)
  return redirectTo(c, `/projects/${project.id}`)
})

projectRoutes.get('/projects/:id', ...guard, (c) => {
  const loaded = loadReadableProject(c)
  if (loaded) return renderProject(c, loaded)
  // An approver of a site the project is staged at reads its details, query, counts and
  // decisions — not its members or models (every other project route stays 404 for them).
  const id = idParam(c.req.param('id'))
  const access = id === null ? null : getProjectAccess(c.get('deps').db, c.get('actor').id, id)
  if (!access || c.get('actor').disabledAt !== null || !approvesStagedSite(c.get('deps').db, c.get('actor').id, access.project.id)) return notFoundPage(c)
  return renderProject(c, { project: access.project, access }, { approverOnly: true, members: [], models: null, projectRoles: [] })
})

/** Edit name and description (owner or admin; only while unstaged). */
projectRoutes.post('/projects/:id', ...guard, async (c) => {
  const loaded = loadReadableProject(c)
  if (!loaded) return notFoundPage(c)
  const denial = denyProject(c, loaded, 'project.edit')
  if (denial) return refuse(c, denial)
  const form = await readForm(c)
  const values = { name: form.get('name').trim(), description: form.get('description').trim() }
  const errors = checkTextFields(checkProjectFields(values.name, values.description), values, ['description'])
  if (hasErrors(errors)) return renderProject(c, loaded, { values, errors }, 422)
  const outcome = updateProject(c.get('deps').db, loaded.project, values, ctxOf(c))
  if (!outcome.ok) return answerRefusal(c, loaded, outcome, values)
  setFlash(c, 'success', 'Project saved.')
  return redirectTo(c, `/projects/${loaded.project.id}`)
})

projectRoutes.post('/projects/:id/cohort-query', ...guard, async (c) => {
  const loaded = loadReadableProject(c)
  if (!loaded) return notFoundPage(c)
  const denial = denyProject(c, loaded, 'project.edit')
  if (denial) return refuse(c, denial)
  const query = (await readForm(c)).get('query')
  const problem = checkCohortQuery(query)
  if (problem) return renderProject(c, loaded, { values: { query }, errors: { query: problem } }, 422)
  const outcome = saveCohortQuery(c.get('deps').db, loaded.project, query, ctxOf(c))
  if (!outcome.ok) return answerRefusal(c, loaded, outcome, { query })
  setFlash(c, 'success', `Cohort query version ${outcome.value.version} saved and sent to the sites; counts appear as they report back.`)
  return redirectTo(c, `/projects/${loaded.project.id}#cohort`)
})

projectRoutes.post('/projects/:id/stage', ...guard, async (c) => {
  const loaded = loadReadableProject(c)
  if (!loaded) return notFoundPage(c)
  const denial = denyProject(c, loaded, 'project.stage')
  if (denial) return refuse(c, denial)
  const siteIds = (await readForm(c)).getAll('site_ids').map(Number)
  const outcome = stageProject(c.get('deps').db, loaded.project, siteIds, ctxOf(c))
  if (!outcome.ok) return answerRefusal(c, loaded, outcome)
  setFlash(c, 'success', 'Project staged for approval; it is locked for editing now.')
  return redirectTo(c, `/projects/${loaded.project.id}`)
})

projectRoutes.post('/projects/:id/unstage', ...guard, async (c) => {
  const loaded = loadReadableProject(c)
  if (!loaded) return notFoundPage(c)
  const denial = deny(c.get('actor'), 'projects.unstage')
  if (denial) return forbiddenPage(c, denial)
  const outcome = unstageProject(c.get('deps').db, loaded.project, ctxOf(c))
  if (!outcome.ok) return answerRefusal(c, loaded, outcome)
  setFlash(c, 'success', 'Project unstaged: site decisions cleared, editing enabled again.')
  return redirectTo(c, `/projects/${loaded.project.id}`)
})

projectRoutes.post('/projects/:id/approvals', ...guard, async (c) => {
  const loaded = loadReadableProject(c)
  if (!loaded) return notFoundPage(c)
  const denial = deny(c.get('actor'), 'projects.approve')
  if (denial) return forbiddenPage(c, denial)
  const ids = (await readForm(c)).getAll('approved_site_ids').map(Number)
  // SPEC §4.1: a site with approvers decides for itself; naming one refuses the whole request.
  const { db } = c.get('deps')
  const selfDeciding = sitesWithApprovers(db, ids.filter((id) => Number.isInteger(id) && id > 0)).map((id) => getSiteById(db, id)?.name ?? `#${id}`)
  const selfDenial = denyAdminSiteApprovals(c.get('actor'), selfDeciding)
  if (selfDenial) return forbiddenPage(c, selfDenial)
  const outcome = approveProjectSites(c.get('deps').db, loaded.project, ids, ctxOf(c))
  if (!outcome.ok) return answerRefusal(c, loaded, outcome)
  setFlash(c, 'success', 'Site approvals saved; approved sites have been sent an image retrieval task.')
  return redirectTo(c, `/projects/${loaded.project.id}`)
})

projectRoutes.post('/projects/:id/members', ...guard, async (c) => {
  const loaded = loadReadableProject(c)
  if (!loaded) return notFoundPage(c)
  const denial = denyProject(c, loaded, 'members.manage')
  if (denial) return refuse(c, denial)
  const { db } = c.get('deps')
  const form = await readForm(c)
  const values = { email: form.get('email') }
  // role repeated (checkboxes); '' is "the default for their site role", also when none is checked
  const asked = form.getAll('role')
  const memberRoles = asked.length === 0 ? [''] : asked
  const again = (errors: FieldErrors) => renderProject(c, loaded, { values, memberRoles, errors }, 422)
  const email = normalizeEmail(values.email)
  const user = email ? getUserByEmail(db, email) : null
  // Note: an unknown address and a disabled account get the same answer, so adding members does not reveal who has an account.
  if (!user || user.disabledAt !== null) return again({ email: 'No active Gatehouse account can be added with this address. Ask an admin to invite the person.' })
  const names = [...new Set(memberRoles.map((name) => name || defaultProjectRoleFor(resolveActor(db, user).sitePermissions)))]
  const roleSet: Role[] = []
  for (const name of names) {
    const role = getRoleByName(db, name)
    if (!role || role.scope !== 'project') return again({ role: 'Choose a project role.' })
    const limits = getRoleGroupIds(db, role.id)
    if (limits.length > 0 && (loaded.project.groupId === null || !limits.includes(loaded.project.groupId))) {
      return again({ role: `The role “${role.name}” is limited to other groups than this project's.` })
    }
    roleSet.push(role)
  }
  if (user.id === loaded.project.ownerId) return again({ email: 'This is the project owner, who has every permission already.' })
  const ceiling = denyProjectGrants(db, c.get('actor'), roleSet.map((role) => ({ projectId: loaded.project.id, roleId: role.id })))
  if (ceiling) return refuse(c, ceiling)
  const outcome = addProjectMember(db, loaded.project, user, roleSet, ctxOf(c))
  if (!outcome.ok) return again({ [outcome.field ?? 'role']: outcome.reason })
  setFlash(c, 'success', `${user.email} added as ${roleSet.map((r) => r.name).join(', ')}.`)
  return redirectTo(c, `/projects/${loaded.project.id}#members`)
})

projectRoutes.post('/projects/:id/members/:userId/remove', ...guard, async (c) => {
  const loaded = loadReadableProject(c)
  if (!loaded) return notFoundPage(c)
  const denial = denyProject(c, loaded, 'members.manage')
  if (denial) return refuse(c, denial)
  const userId = idParam(c.req.param('userId'))
  const member = listProjectMembers(c.get('deps').db, loaded.project.id).find((m) => m.userId === userId)
  if (!member) return notFoundPage(c)
  if ((await readForm(c)).get('confirm') !== 'yes') {
    return c.html(<ConfirmPage chrome={chrome(c)} title={`Remove ${member.email} from “${loaded.project.name}”?`} question="They lose access to the project at once. Their models stay." button="Remove member" action={c.req.path} cancel={`/projects/${loaded.project.id}#members`} />)
  }
  removeProjectMember(c.get('deps').db, loaded.project, member.userId, ctxOf(c))
  setFlash(c, 'success', `${member.email} removed from the project.`)
  return redirectTo(c, `/projects/${loaded.project.id}#members`)
})

projectRoutes.post('/projects/:id/delete', ...guard, async (c) => {
  const loaded = loadReadableProject(c)
  if (!loaded) return notFoundPage(c)
  const denial = denyProject(c, loaded, 'project.delete')
  if (denial) return refuse(c, denial)
  if ((await readForm(c)).get('confirm') !== 'yes') {
    return c.html(<ConfirmPage chrome={chrome(c)} title={`Delete “${loaded.project.name}”?`} question="The project disappears for everyone. Its records and audit trail are kept; data already at the sites is not purged." button="Delete project" action={c.req.path} cancel={`/projects/${loaded.project.id}`} />)
  }
  deleteProject(c.get('deps').db, loaded.project, ctxOf(c))
  setFlash(c, 'success', `Project “${loaded.project.name}” deleted.`)
  return redirectTo(c, '/projects')
})

