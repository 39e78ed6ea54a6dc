import { Page, type PageChrome } from '../layouts/page.tsx'
import { DateTime } from '../components/time.tsx'
import { Field, FormError } from '../components/form.tsx'
import type { ImportRun } from '../../src/db/schema.ts'
import type { JobProgress, StoredReport } from '../../src/import/runs.ts'
import type { listImportRuns } from '../../src/import/runs.ts'
import { TableScroll } from '../components/table-scroll.tsx'
import { AUTHORIZATIONS_EXAMPLE, DIRECTORY_EXAMPLE, DOMAINS_EXAMPLE } from './import-examples.ts'

export const STATUS_LABELS: Record<ImportRun['status'], string> = {
  planning: 'Planning…',
  planned: 'Planned, not applied',
  applying: 'Applying…',
  applied: 'Applied',
  failed: 'Failed',
}

const NOTIFY_LABELS = {
  none: 'None: no follow-ups',
  date: 'By date: follow-ups on days 7, 14 and 21 after the claim email',
  force: 'Force: send a follow-up to every unclaimed invitation in the files now',
} as const

const YAML_FILES = '.yaml,.yml,application/yaml,text/yaml,text/plain'

/** The plural ending of a count's noun. */
const ending = (n: number) => (n === 1 ? '' : 's')

export type ImportFormErrors = Partial<Record<'users' | 'authorizations' | 'domains' | 'notify', string>> & { form?: string }

/** What each file looks like: the examples fit the consortium page's example structure. */
function FileFormats() {
  return (
    <section aria-labelledby="formats-h">
      <h2 id="formats-h">What the files look like</h2>
      <p>
        YAML 1.2 with strict types (<code>yes</code> is text, <code>"true"</code> is not true); unknown keys and duplicate keys are errors. Centre ids, studies and data types
        come from the <a href="/admin/consortium">consortium structure</a>; role names are existing project roles, spelled exactly.
      </p>
      <details open>
        <summary>User directory</summary>
        <p>
          Active entries need <code>adcid</code>, <code>org_name</code> and all five <code>authorizations</code>; inactive entries carry none of them.
        </p>
        <pre class="sql">
          <code>{DIRECTORY_EXAMPLE}</code>
        </pre>
      </details>
      <details open>
        <summary>Authorization map</summary>
        <p>
          Authorizations are <code>approve-data</code>, <code>audit-data</code>, <code>view-reports</code> and <code>submit-&lt;data type&gt;</code>. A label without an
          entry of its own for an affiliated study (<code>ingest-form-dvcid</code>) uses the generic one (<code>ingest-form</code>).
        </p>
        <pre class="sql">
          <code>{AUTHORIZATIONS_EXAMPLE}</code>
        </pre>
      </details>
      <details>
        <summary>Domain config (optional)</summary>
        <pre class="sql">
          <code>{DOMAINS_EXAMPLE}</code>
        </pre>
      </details>
    </section>
  )
}

export function ImportPage(props: {
  chrome: PageChrome
  runs: ReturnType<typeof listImportRuns>
  errors: ImportFormErrors
  notify: string
  maxMb: number
  followUps: { lastRun: number | null; due: number }
  hasStructure: boolean
}) {
  const e = props.errors
  return (
    <Page title="Consortium import" chrome={props.chrome}>
      <p>
        <a href="/admin">← Admin</a>
      </p>
      <h1>Consortium import</h1>
      <p>
        Upload the user directory and the authorization map (and, for duplicate and identity-provider checks, the domain config). You see the plan first: counts, every error,
        warning, action and flag. Nothing changes until you apply it. The formats are shown below (in full in the README, “Consortium import”); the CLI does the same:{' '}
        <code>npm run cli -- import USERS.yaml AUTH.yaml</code>.
      </p>
      {!props.hasStructure && (
        <p class="flash flash-info">
          No consortium structure is set up yet: every centre will be unknown. <a href="/admin/consortium">Set up the structure</a> first.
        </p>
      )}
      <section aria-labelledby="upload-h">
        <h2 id="upload-h">New import</h2>
        <FormError message={e.form} />
        <form method="post" action="/admin/import" enctype="multipart/form-data" class="stack">
          <Field name="users" type="file" accept={YAML_FILES} label="User directory (YAML)" error={e.users} required hint={`A YAML list of people (SPEC §6.2). The files together may have ${props.maxMb} MB (about 16,000 people).`} />
          <Field name="authorizations" type="file" accept={YAML_FILES} label="Authorization map (YAML)" error={e.authorizations} required hint="Project label → { authorization: role name }." />
          <Field name="domains" type="file" accept={YAML_FILES} label="Domain config (YAML, optional)" error={e.domains} hint="Without it, no duplicate-person or identity-provider checks run." />
          <fieldset class={e.notify ? 'invalid' : undefined} aria-describedby={e.notify ? 'notify-error' : undefined}>
            <legend>Follow-ups for unclaimed invitations</legend>
            {(Object.keys(NOTIFY_LABELS) as (keyof typeof NOTIFY_LABELS)[]).map((mode) => (
              <label class="check">
                <input type="radio" name="notify" value={mode} checked={props.notify === mode} /> {NOTIFY_LABELS[mode]}
              </label>
            ))}
            <small class="hint">The claim email to a newly invited person is always sent.</small>
            {e.notify && (
              <p id="notify-error" class="error">
                {e.notify}
              </p>
            )}
          </fieldset>
          <button type="submit">Upload and plan</button>
        </form>
      </section>
      <FileFormats />
      <section aria-labelledby="followups-h">
        <h2 id="followups-h">Follow-ups</h2>
        <p>
          Invitations imported with follow-ups by date are reminded on days 7, 14 and 21 after their claim email; the server checks every hour
          {props.followUps.lastRun !== null ? (
            <>
              {' '}
              (last check <DateTime ms={props.followUps.lastRun} />)
            </>
          ) : (
            ' (no check yet)'
          )}
          . Due now: {props.followUps.due}.
        </p>
      </section>
      <section aria-labelledby="runs-h">
        <h2 id="runs-h">Recent imports</h2>
        {props.runs.length === 0 ? (
          <p>No imports yet.</p>
        ) : (
          <TableScroll label="Recent imports">
            <table>
              <thead>
                <tr>
                  <th scope="col">#</th>
                  <th scope="col">Uploaded</th>
                  <th scope="col">User directory</th>
                  <th scope="col">Entries</th>
                  <th scope="col">Follow-ups</th>
                  <th scope="col">Status</th>
                </tr>
              </thead>
              <tbody>
                {props.runs.map((r) => (
                  <tr>
                    <td>
                      <a href={`/admin/import/${r.id}`}>#{r.id}</a>
                    </td>
                    <td>
                      <DateTime ms={r.createdAt} />
                      {r.createdBy === null && ' (CLI)'}
                    </td>
                    <td>{r.usersFilename}</td>
                    <td>{r.entries}</td>
                    <td>{r.notify}</td>
                    <td>
                      <span class={`badge run-${r.status}`}>{STATUS_LABELS[r.status]}</span>
                      {r.appliedAt !== null && <DateTime ms={r.appliedAt} />}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableScroll>
        )}
      </section>
    </Page>
  )
}

/** The progress of a running plan or apply; polls itself with htmx and, when done, the server redirects to the result. */
export function ImportProgress(props: { runId: number; status: ImportRun['status']; progress: JobProgress | null }) {
  const p = props.progress
  const label =
    props.status === 'applying' && p?.phase === 'applying'
      ? `Applying ${p.total} actions in one transaction…`
      : p?.phase === 'planning'
        ? `${props.status === 'applying' ? 'Checking again before applying' : 'Planning'}: ${p.done} of ${p.total} entries`
        : 'Reading the files…'
  const determinate = p !== null && p.phase === 'planning' && p.total > 0
  return (
    <div id="import-progress" hx-get={`/admin/import/${props.runId}/progress`} hx-trigger="every 1s" hx-swap="outerHTML">
      <label for="import-progress-bar">{label}</label>
      {determinate ? <progress id="import-progress-bar" max={p.total} value={p.done} /> : <progress id="import-progress-bar" />}
      <p role="status" aria-live="polite" class="hint">
        {determinate ? `${Math.floor((100 * p.done) / p.total)} %` : 'Working'} · <a href={`/admin/import/${props.runId}`}>Refresh</a>
      </p>
    </div>
  )
}

export type ReportSection = 'errors' | 'warnings' | 'actions' | 'flags'
export type ReportQuery = { section: ReportSection; q: string; action: string; sort: 'entry' | 'email' | 'action'; page: number }
export const REPORT_PAGE_SIZE = 100

type Row = Record<string, unknown> & { entry: number | null; email: string | null }

export function ImportRunPage(props: {
  chrome: PageChrome
  run: Omit<ImportRun, 'usersYaml' | 'authYaml' | 'domainsYaml'>
  report: StoredReport | null
  progress: JobProgress | null
  query: ReportQuery
  rows: { items: Row[]; total: number }
  createdBy: string | null
  appliedBy: string | null
}) {
  const { run, report, query } = props
  const running = run.status === 'planning' || run.status === 'applying'
  const actions = report?.actions ?? []
  const count = (kind: string) => actions.filter((a) => a.action === kind && !a.on_accept).length
  const onAccept = actions.filter((a) => a.on_accept).length
  const pages = Math.max(1, Math.ceil(props.rows.total / REPORT_PAGE_SIZE))
  const link = (changes: Partial<ReportQuery>) => {
    const next = { ...query, ...changes }
    const params = new URLSearchParams({ section: next.section })
    if (next.q) params.set('q', next.q)
    if (next.action) params.set('action', next.action)
    if (next.sort !== 'entry') params.set('sort', next.sort)
    if (next.page > 1) params.set('page', String(next.page))
    return `/admin/import/${run.id}?${params}#report`
  }
  return (
    <Page title={`Import #${run.id}`} chrome={props.chrome}>
      <p>
        <a href="/admin/import">← Consortium import</a>
      </p>
      <h1>
        Import #{run.id} <span class={`badge run-${run.status}`}>{STATUS_LABELS[run.status]}</span>
      </h1>
      <dl class="facts">
        <dt>Uploaded</dt>
        <dd>
          <DateTime ms={run.createdAt} /> {props.createdBy ? `by ${props.createdBy}` : '(CLI)'}
        </dd>
        <dt>Files</dt>
        <dd>
          {run.usersFilename}, {run.authFilename}
          {run.domainsFilename ? `, ${run.domainsFilename}` : ' (no domain config: no domain checks)'}
        </dd>
        <dt>Follow-ups</dt>
        <dd>{NOTIFY_LABELS[run.notify]}</dd>
        {run.appliedAt !== null && (
          <>
            <dt>Applied</dt>
            <dd>
              <DateTime ms={run.appliedAt} /> {props.appliedBy ? `by ${props.appliedBy}` : ''}
            </dd>
          </>
        )}
      </dl>
      {running && <ImportProgress runId={run.id} status={run.status} progress={props.progress} />}
      {run.status === 'failed' && <p class="flash flash-error">{run.failure}</p>}
      {report && (
        <>
          <section aria-labelledby="summary-h">
            <h2 id="summary-h">{report.applied ? 'Result' : 'Plan'}</h2>
            {!report.ok && (
              <p class="flash flash-error" role="alert">
                The files have {report.errors.length} error{report.errors.length === 1 ? '' : 's'}: nothing can be applied. Fix them and upload the files again; the plan below shows what the valid
                entries would do.
              </p>
            )}
            <ul class="counts">
              <li>
                <strong>{count('invite')}</strong> invitation{ending(count('invite'))} ({onAccept} project role{ending(onAccept)} granted on acceptance)
              </li>
              <li>
                <strong>{count('grant')}</strong> project role{ending(count('grant'))} granted to existing accounts
              </li>
              <li>
                <strong>{count('enable')}</strong> account{ending(count('enable'))} enabled, <strong>{count('disable')}</strong> disabled
              </li>
              <li>
                <strong>{count('follow_up')}</strong> follow-up{ending(count('follow_up'))}, <strong>{count('skip')}</strong> skipped
              </li>
              <li>
                <strong>{report.errors.length}</strong> error{ending(report.errors.length)}, <strong>{report.warnings.length}</strong> warning{ending(report.warnings.length)}, <strong>{report.flags.length}</strong> flag{ending(report.flags.length)}
              </li>
            </ul>
            {report.applied && report.counts && (
              <p>
                Changed: {report.counts.invited} invited, {report.counts.granted} granted, {report.counts.enabled} enabled, {report.counts.disabled} disabled ({report.counts.sessions_ended} sessions
                ended), {report.counts.follow_ups} follow-ups sent.
              </p>
            )}
            <div class="row">
              {run.status === 'planned' && report.ok && actions.length > 0 && (
                <form method="post" action={`/admin/import/${run.id}/apply`}>
                  <button type="submit">Apply this import…</button>
                </form>
              )}
              {run.status === 'planned' && report.ok && actions.length === 0 && <p>Nothing to change: the accounts already match the files.</p>}
              <a href={`/admin/import/${run.id}/report.json`} download>
                Download the report (JSON)
              </a>
            </div>
          </section>
          <section id="report" aria-labelledby="report-h">
            <h2 id="report-h">Details</h2>
            <nav class="facets flat" aria-label="Report sections">
              {(['errors', 'warnings', 'actions', 'flags'] as const).map((s) => (
                <a href={link({ section: s, page: 1, q: '', action: '' })} aria-current={query.section === s ? 'page' : undefined}>
                  {s[0]!.toUpperCase() + s.slice(1)} ({report[s].length})
                </a>
              ))}
            </nav>
            <form method="get" action={`/admin/import/${run.id}`} class="row" role="search">
              <input type="hidden" name="section" value={query.section} />
              <label for="f-q" class="visually-hidden">
                Filter by email
              </label>
              <input id="f-q" name="q" type="search" value={query.q} placeholder="Filter by email, project or message" />
              {query.section === 'actions' && (
                <>
                  <label for="f-action" class="visually-hidden">
                    Action
                  </label>
                  <select id="f-action" name="action">
                    <option value="">All actions</option>
                    {['invite', 'grant', 'enable', 'disable', 'follow_up', 'skip'].map((a) => (
                      <option value={a} selected={query.action === a}>
                        {a}
                      </option>
                    ))}
                  </select>
                </>
              )}
              <button type="submit" class="secondary">
                Filter
              </button>
            </form>
            <ReportTable section={query.section} rows={props.rows.items} sortLink={(sort) => link({ sort, page: 1 })} sort={query.sort} />
            {pages > 1 && (
              <nav class="pager" aria-label="Pages">
                {query.page > 1 ? <a href={link({ page: query.page - 1 })}>← Previous</a> : <span />}
                <span>
                  Page {query.page} of {pages} ({props.rows.total} rows)
                </span>
                {query.page < pages ? <a href={link({ page: query.page + 1 })}>Next →</a> : <span />}
              </nav>
            )}
          </section>
        </>
      )}
    </Page>
  )
}

const COLUMNS: Record<ReportSection, [key: string, label: string][]> = {
  errors: [
    ['entry', 'Entry'],
    ['email', 'Email'],
    ['path', 'Field'],
    ['line', 'Line'],
    ['message', 'Problem'],
  ],
  warnings: [
    ['entry', 'Entry'],
    ['email', 'Email'],
    ['code', 'Code'],
    ['message', 'Warning'],
  ],
  actions: [
    ['entry', 'Entry'],
    ['email', 'Email'],
    ['action', 'Action'],
    ['account', 'Account'],
    ['project', 'Project'],
    ['role', 'Role'],
    ['note', 'Note'],
  ],
  flags: [
    ['entry', 'Entry'],
    ['email', 'Email'],
    ['type', 'Flag'],
    ['kind', 'Kind'],
    ['matches', 'Matches'],
    ['message', 'Message'],
  ],
}

const SORTABLE = new Set(['entry', 'email', 'action'])

function ReportTable(props: { section: ReportSection; rows: Row[]; sort: string; sortLink: (sort: 'entry' | 'email' | 'action') => string }) {
  if (props.rows.length === 0) return <p>Nothing here.</p>
  const cell = (row: Row, key: string) => {
    if (key === 'note') return [row.on_accept ? 'on acceptance' : '', row.follow_up ? `follow-up ${row.follow_up}` : '', row.reason ?? ''].filter(Boolean).join('; ')
    if (key === 'matches') return ((row.matches as string[] | undefined) ?? []).join(', ')
    const v = row[key]
    return v === null || v === undefined ? '' : String(v)
  }
  return (
    <TableScroll label="Import rows">
      <table>
        <thead>
          <tr>
            {COLUMNS[props.section].map(([key, label]) => (
              <th scope="col" aria-sort={props.sort === key ? 'ascending' : undefined}>
                {SORTABLE.has(key) && (key !== 'action' || props.section === 'actions') ? <a href={props.sortLink(key as 'entry' | 'email' | 'action')} class="sort">
                    {label}
                    <span class="sort-arrow" aria-hidden="true">
                      {props.sort === key ? '▲' : '↕'}
                    </span>
                  </a> : label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {props.rows.map((row) => (
            <tr>
              {COLUMNS[props.section].map(([key]) => (
                <td>{cell(row, key)}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </TableScroll>
  )
}
