import { Hono, type Context } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import type { AppEnv } from '../../http/context.ts'
import { requireUser } from '../../auth/middleware.ts'
import { requirePermission } from '../../authz/middleware.ts'
import { chrome } from '../../http/page.ts'
import { isHtmx, redirectTo } from '../../http/htmx.ts'
import { readForm, idParam } from '../../http/forms.ts'
import { setFlash } from '../../http/flash.ts'
import { forbiddenPage, notFoundPage, payloadTooLargePage, renderErrorPage } from '../../http/errors.tsx'
import { denyImportPlan } from '../../import/apply.ts'
import { holdsEverySitePermission } from '../../authz/policy.ts'
import { ConfirmPage } from '../../../views/components/confirm.tsx'
import { ImportPage, ImportProgress, ImportRunPage, REPORT_PAGE_SIZE, type ImportFormErrors, type ReportQuery, type ReportSection } from '../../../views/admin/import.tsx'
import { NOTIFY_MODES } from '../../db/schema.ts'
import { getConsortiumStructure } from '../../models/consortium.ts'
import { getUserById } from '../../models/users.ts'
import { followUpsLastRun, listDueFollowUps } from '../../import/follow-ups.ts'
import { getImportRun, getImportRunState, jobProgress, listImportRuns, publicReport, reportOf, startApplying, startPlanning, type ImportFiles } from '../../import/runs.ts'
import type { NotifyMode } from '../../import/plan.ts'

// The consortium import in the admin area (SPEC §6, §7 `GET,POST /admin/import`): upload the files
// and a notification mode → a run is planned in the background (progress bar) → its plan (counts,
// every error, warning, action and flag) → apply (one transaction) → the result, viewable later.

export const adminImport = new Hono<AppEnv>()

/** The largest upload, the files together (SPEC §3.4): a 10,000-person directory is about 3 MB. */
export const IMPORT_MAX_MB = 5
const IMPORT_BODY_MAX_BYTES = IMPORT_MAX_MB * 1024 * 1024

const guard = [requireUser, requirePermission('users.manage')] as const

// The upload is exempt from the global 64 KB limit (app.ts `uploadPaths`) and capped here instead,
// after the guards, so only an admin gets to send that much.
const importBody = bodyLimit({ maxSize: IMPORT_BODY_MAX_BYTES, onError: (c) => payloadTooLargePage(c as Context<AppEnv>, `${IMPORT_MAX_MB} MB for the files together`) })

function renderForm(c: Context<AppEnv>, errors: ImportFormErrors = {}, notify = 'none', status: 200 | 422 = 200) {
  const { db, clock } = c.get('deps')
  const structure = getConsortiumStructure(db)
  return c.html(
    <ImportPage
      chrome={chrome(c)}
      runs={listImportRuns(db)}
      errors={errors}
      notify={notify}
      maxMb={IMPORT_MAX_MB}
      followUps={{ lastRun: followUpsLastRun(db), due: listDueFollowUps(db, clock.now()).length }}
      hasStructure={Object.keys(structure.centres).length > 0}
    />,
    status,
  )
}

adminImport.get('/admin/import', ...guard, (c) => renderForm(c))

type FileRead = { ok: true; name: string; text: string } | { ok: false; error: string } | null

/** A chosen file as UTF-8 text; null when none was chosen (a browser sends an empty, unnamed part). */
async function readFile(value: unknown): Promise<FileRead> {
  if (!(value instanceof File) || (value.size === 0 && value.name === '')) return null
  try {
    return { ok: true, name: value.name.split(/[\\/]/).pop()!.slice(0, 255) || 'file', text: new TextDecoder('utf-8', { fatal: true }).decode(await value.arrayBuffer()) }
  } catch {
    return { ok: false, error: 'The file is not UTF-8 text. Save it as UTF-8 and upload it again.' }
  }
}

adminImport.post('/admin/import', ...guard, importBody, async (c) => {
  let body: Record<string, string | File | (string | File)[]>
  try {
    body = await c.req.parseBody()
  } catch {
    return renderForm(c, { form: 'The upload could not be read. Choose the files again and send the form as multipart/form-data.' }, 'none', 422)
  }
  const notify = typeof body.notify === 'string' ? body.notify : ''
  const errors: ImportFormErrors = {}
  if (!(NOTIFY_MODES as readonly string[]).includes(notify)) errors.notify = 'Choose none, by date or force.'
  const [users, auth, domains] = await Promise.all([readFile(body.users), readFile(body.authorizations), readFile(body.domains)])
  if (users === null) errors.users = 'Choose the user directory file.'
  else if (!users.ok) errors.users = users.error
  if (auth === null) errors.authorizations = 'Choose the authorization map file.'
  else if (!auth.ok) errors.authorizations = auth.error
  if (domains !== null && !domains.ok) errors.domains = domains.error
  if (Object.keys(errors).length > 0 || !users?.ok || !auth?.ok) return renderForm(c, errors, notify, 422)
  const files: ImportFiles = {
    usersFilename: users.name,
    authFilename: auth.name,
    domainsFilename: domains?.ok ? domains.name : null,
    usersYaml: users.text,
    authYaml: auth.text,
    domainsYaml: domains?.ok ? domains.text : null,
  }
  const { db, clock, log } = c.get('deps')
  const id = startPlanning(db, files, { notify: notify as NotifyMode, now: clock.now(), createdBy: c.get('actor').id, onError: (error) => log.error({ msg: 'import planning failed', error: String(error) }) })
  setFlash(c, 'info', `Import #${id} uploaded and being planned; nothing changes until you apply it.`)
  return redirectTo(c, `/admin/import/${id}`)
})

const SECTIONS = new Set<ReportSection>(['errors', 'warnings', 'actions', 'flags'])

function readQuery(c: Context<AppEnv>, defaultSection: ReportSection): ReportQuery {
  const section = c.req.query('section') as ReportSection
  const sort = c.req.query('sort')
  return {
    section: SECTIONS.has(section) ? section : defaultSection,
    q: (c.req.query('q') ?? '').trim().slice(0, 200),
    action: c.req.query('action') ?? '',
    sort: sort === 'email' || sort === 'action' ? sort : 'entry',
    page: Math.max(1, Math.floor(Number(c.req.query('page')) || 1)),
  }
}

function loadRun(c: Context<AppEnv>) {
  const id = idParam(c.req.param('id'))
  return id === null ? null : getImportRun(c.get('deps').db, id)
}

adminImport.get('/admin/import/:id', ...guard, (c) => {
  const run = loadRun(c)
  if (!run) return notFoundPage(c)
  const { db } = c.get('deps')
  const report = reportOf(run)
  const query = readQuery(c, report && report.errors.length > 0 ? 'errors' : 'actions')
  let rows: Record<string, unknown>[] = report ? [...(report[query.section] as unknown as Record<string, unknown>[])] : []
  if (query.q) {
    const q = query.q.toLowerCase()
    rows = rows.filter((r) => Object.values(r).some((v) => (Array.isArray(v) ? v.join(' ') : String(v ?? '')).toLowerCase().includes(q)))
  }
  if (query.section === 'actions' && query.action) rows = rows.filter((r) => r.action === query.action)
  if (query.sort !== 'entry') {
    const key = query.sort
    rows.sort((a, b) => String(a[key] ?? '').localeCompare(String(b[key] ?? '')) || Number(a.entry ?? -1) - Number(b.entry ?? -1))
  }
  const total = rows.length
  query.page = Math.min(query.page, Math.max(1, Math.ceil(total / REPORT_PAGE_SIZE)))
  const items = rows.slice((query.page - 1) * REPORT_PAGE_SIZE, query.page * REPORT_PAGE_SIZE) as never
  const { usersYaml: _u, authYaml: _a, domainsYaml: _d, ...summary } = run
  const nameOf = (id: number | null) => (id === null ? null : (getUserById(db, id)?.email ?? `user #${id}`))
  return c.html(
    <ImportRunPage chrome={chrome(c)} run={summary} report={report} progress={jobProgress(run.id)} query={query} rows={{ items, total }} createdBy={nameOf(run.createdBy)} appliedBy={nameOf(run.appliedBy)} />,
  )
})

/** The progress fragment (htmx polls it); once the job is done, the browser goes to the result. */
adminImport.get('/admin/import/:id/progress', ...guard, (c) => {
  const id = idParam(c.req.param('id'))
  const run = id === null ? null : getImportRunState(c.get('deps').db, id)
  if (!run) return notFoundPage(c)
  if (run.status === 'planning' || run.status === 'applying') return c.html(<ImportProgress runId={run.id} status={run.status} progress={jobProgress(run.id)} />)
  return isHtmx(c) ? redirectTo(c, `/admin/import/${run.id}`) : c.redirect(`/admin/import/${run.id}`, 303)
})

adminImport.get('/admin/import/:id/report.json', ...guard, (c) => {
  const run = loadRun(c)
  const report = run ? reportOf(run) : null
  if (!run || !report) return notFoundPage(c)
  c.header('Content-Disposition', `attachment; filename="gatehouse-import-${run.id}.json"`)
  return c.json(publicReport(report))
})

adminImport.post('/admin/import/:id/apply', ...guard, async (c) => {
  // Only the run's status here: its report and files (megabytes for a large import) are read for the confirmation page alone.
  const id = idParam(c.req.param('id'))
  const state = id === null ? null : getImportRunState(c.get('deps').db, id)
  if (!state) return notFoundPage(c)
  const form = await readForm(c)
  if (state.status !== 'planned' || state.ok === null) {
    setFlash(c, 'info', state.status === 'applied' ? 'This import has already been applied.' : 'This import cannot be applied now.')
    return redirectTo(c, `/admin/import/${state.id}`)
  }
  if (!state.ok) return renderErrorPage(c, 409, 'Not applied', 'The files have errors, so nothing can be applied. Fix them and upload the files again.')
  // The privilege ceiling (SPEC §2.2) on the plan shown; the apply checks it again on the plan it makes.
  // Someone who holds every permission cannot exceed it: their run's report is not even read here.
  if (!holdsEverySitePermission(c.get('actor'))) {
    const run = loadRun(c)
    const report = run ? reportOf(run) : null
    const ceiling = report ? denyImportPlan(c.get('deps').db, c.get('actor'), report) : null
    if (ceiling) return forbiddenPage(c, ceiling)
  }
  if (form.get('confirm') !== 'yes') {
    const run = loadRun(c)
    const report = run ? reportOf(run) : null
    if (!run || !report) return notFoundPage(c)
    const n = (kind: string) => report.actions.filter((a) => a.action === kind && !a.on_accept).length
    return c.html(
      <ConfirmPage
        chrome={chrome(c)}
        title={`Apply import #${run.id}?`}
        question={`This invites ${n('invite')} people (sending their claim emails), grants ${n('grant')} project roles, enables ${n('enable')} and disables ${n('disable')} accounts (ending their sessions), and sends ${n('follow_up')} follow-ups. It is one transaction, and the plan is checked again against what is stored now.`}
        button="Apply the import"
        action={`/admin/import/${run.id}/apply`}
        cancel={`/admin/import/${run.id}`}
      />,
    )
  }
  const run = state
  const { db, clock, config, log } = c.get('deps')
  const actor = c.get('actor')
  const outcome = startApplying(db, run.id, {
    actor: { id: actor.id, email: actor.email },
    now: clock.now(),
    ip: c.get('clientIp'),
    baseUrl: config.baseUrl,
    key: config.encryptionKey,
    ttlMs: config.invitationTtlHours * 3_600_000,
    inviter: 'Gatehouse import',
    onError: (error) => log.error({ msg: 'import apply failed', error: String(error) }),
  })
  if (outcome === 'started') setFlash(c, 'success', `Import #${run.id} is being applied.`)
  else setFlash(c, 'info', outcome === 'has errors' ? 'The files have errors; nothing was applied.' : 'This import cannot be applied now.')
  return redirectTo(c, `/admin/import/${run.id}`)
})
