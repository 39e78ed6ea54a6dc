import { Page, type PageChrome } from '../layouts/page.tsx'
import { DateTime } from '../components/time.tsx'
import { TASK_STATUSES, type Site } from '../../src/db/schema.ts'
import type { AdminTaskRow } from '../../src/models/tasks.ts'
import { TableScroll } from '../components/table-scroll.tsx'
import { KeyValues } from '../components/key-values.tsx'

export type TaskFilterValues = { status: string; siteId: string }

const KIND_LABELS: Record<AdminTaskRow['kind'], string> = { cohort_query: 'cohort query', image_retrieval: 'image retrieval', training: 'training' }

const EVENT_LABELS: Record<string, string> = {
  created: 'Created',
  claimed: 'Claimed by the site',
  claim_expired: 'Claim expired: back to pending',
  result: 'Result reported',
  file_downloaded: 'File downloaded by the site',
  file_uploaded: 'File uploaded by the site',
}

/** The task's result: its error, its cohort count, or its reported fields as key–value pairs. */
function Outcome(props: { task: AdminTaskRow }) {
  const t = props.task
  if (t.error) return <span class="bad">{t.error}</span>
  if (t.kind === 'cohort_query' && t.resultCount !== null) return <>{`count ${t.resultCount}`}</>
  return t.result ? <KeyValues values={t.result} /> : <>—</>
}

function ProjectLink(props: { task: AdminTaskRow }) {
  const t = props.task
  return t.projectDeleted ? (
    <>
      {t.projectName} <small class="muted">(deleted)</small>
    </>
  ) : (
    <a href={`/projects/${t.projectId}`}>{t.projectName}</a>
  )
}

export function TasksPage(props: { chrome: PageChrome; sites: Site[]; filter: TaskFilterValues; tasks: { rows: AdminTaskRow[]; total: number } }) {
  const { filter, tasks } = props
  return (
    <Page title="Tasks" chrome={props.chrome}>
      <p>
        <a href="/admin">← Admin</a>
      </p>
      <h1>Tasks</h1>
      <p>
        Work handed to sites through the site API. A claim not finished within its lease returns the task to pending, so it is handed out again; every step is kept in the
        task's history.
      </p>
      <form method="get" action="/admin/tasks" class="filters">
        <div class="field">
          <label for="f-status">Status</label>
          <select id="f-status" name="status">
            <option value="" selected={filter.status === ''}>
              any
            </option>
            {TASK_STATUSES.map((s) => (
              <option value={s} selected={filter.status === s}>
                {s}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="f-site">Site</label>
          <select id="f-site" name="site_id">
            <option value="" selected={filter.siteId === ''}>
              any
            </option>
            {props.sites.map((s) => (
              <option value={String(s.id)} selected={filter.siteId === String(s.id)}>
                {`${s.name} (${s.code})`}
              </option>
            ))}
          </select>
        </div>
        <div class="row">
          <button type="submit" class="secondary">
            Filter
          </button>
        </div>
      </form>
      <p>{tasks.total > tasks.rows.length ? `The newest ${tasks.rows.length} of ${tasks.total} tasks; filter to narrow the list.` : `${tasks.total} ${tasks.total === 1 ? 'task' : 'tasks'}.`}</p>
      <TableScroll label="Tasks">
        <table>
          <thead>
            <tr>
              <th scope="col">Task</th>
              <th scope="col">Site</th>
              <th scope="col">Kind</th>
              <th scope="col">Project</th>
              <th scope="col">Status</th>
              <th scope="col">Attempts</th>
              <th scope="col">Claimed</th>
              <th scope="col">Completed</th>
              <th scope="col">Result</th>
              <th scope="col">History</th>
            </tr>
          </thead>
          <tbody>
            {tasks.rows.map((t) => (
              <tr id={`task-${t.id}`}>
                <td>
                  <a href={`/admin/tasks/${t.id}`}>{`#${t.id}`}</a>
                </td>
                <td>
                  <a href={`/admin/sites/${t.siteId}`}>{t.siteName}</a> <code>{t.siteCode}</code>
                </td>
                <td>{KIND_LABELS[t.kind]}</td>
                <td>
                  <ProjectLink task={t} />
                </td>
                <td>{t.status}</td>
                <td>{t.attempts}</td>
                <td>
                  <DateTime ms={t.claimedAt} />
                  {t.claimExpiresAt !== null && (
                    <>
                      <br />
                      <small class="muted">
                        lease until <DateTime ms={t.claimExpiresAt} />
                      </small>
                    </>
                  )}
                </td>
                <td>
                  <DateTime ms={t.completedAt} />
                </td>
                <td>
                  <Outcome task={t} />
                </td>
                <td class="nowrap">
                  <a href={`/admin/tasks/${t.id}#history`}>{t.events.length === 1 ? '1 step' : `${t.events.length} steps`}</a>
                </td>
              </tr>
            ))}
            {tasks.rows.length === 0 && (
              <tr>
                <td colspan={10}>No tasks.</td>
              </tr>
            )}
          </tbody>
        </table>
      </TableScroll>
    </Page>
  )
}

export function TaskPage(props: { chrome: PageChrome; task: AdminTaskRow }) {
  const t = props.task
  return (
    <Page title={`Task #${t.id}`} chrome={props.chrome}>
      <p>
        <a href="/admin/tasks">← Tasks</a>
      </p>
      <h1>
        Task #{t.id}: {KIND_LABELS[t.kind]} at {t.siteName}
      </h1>
      <section class="card">
        <dl class="facts">
          <dt>Site</dt>
          <dd>
            <a href={`/admin/sites/${t.siteId}`}>{t.siteName}</a> <code>{t.siteCode}</code>
          </dd>
          <dt>Project</dt>
          <dd>
            <ProjectLink task={t} />
          </dd>
          <dt>Kind</dt>
          <dd>{KIND_LABELS[t.kind]}</dd>
          <dt>Status</dt>
          <dd>{t.status}</dd>
          <dt>Attempts</dt>
          <dd>{t.attempts}</dd>
          <dt>Created</dt>
          <dd>
            <DateTime ms={t.createdAt} />
          </dd>
          <dt>Claimed</dt>
          <dd>
            <DateTime ms={t.claimedAt} />
            {t.claimExpiresAt !== null && (
              <>
                {' '}
                <small class="muted">
                  lease until <DateTime ms={t.claimExpiresAt} />
                </small>
              </>
            )}
          </dd>
          <dt>Completed</dt>
          <dd>
            <DateTime ms={t.completedAt} />
          </dd>
          <dt>Result</dt>
          <dd>
            <Outcome task={t} />
          </dd>
        </dl>
      </section>
      <section class="card" aria-labelledby="history">
        <h2 id="history">History</h2>
        <ol class="timeline">
          {t.events.map((e) => (
            <li data-event={e.event}>
              <DateTime ms={e.at} /> · <strong>{EVENT_LABELS[e.event] ?? e.event}</strong> <code class="muted">{e.event}</code>
              {Object.keys(e.details).length > 0 && <KeyValues values={e.details} />}
            </li>
          ))}
        </ol>
      </section>
    </Page>
  )
}
