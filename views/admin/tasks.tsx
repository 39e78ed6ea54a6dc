import { Page, type PageChrome } from '../layouts/page.tsx'
import { DateTime } from '../components/time.tsx'
import { TASK_STATUSES, type Site } from '../../src/db/schema.ts'
import type { AdminTaskRow } from '../../src/models/tasks.ts'
import { TableScroll } from '../components/table-scroll.tsx'

export type TaskFilterValues = { status: string; siteId: string }

const KIND_LABELS: Record<AdminTaskRow['kind'], string> = { cohort_query: 'cohort query', image_retrieval: 'image retrieval', training: 'training' }

function outcome(t: AdminTaskRow): string {
  if (t.error) return t.error
  if (t.kind === 'cohort_query' && t.resultCount !== null) return `count ${t.resultCount}`
  return t.result ? JSON.stringify(t.result) : '—'
}

function eventDetails(details: Record<string, unknown>): string {
  return Object.keys(details).length === 0 ? '' : JSON.stringify(details)
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
          <button type="submit">Filter</button>
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
                <td>{`#${t.id}`}</td>
                <td>
                  <a href={`/admin/sites/${t.siteId}`}>{t.siteName}</a> <code>{t.siteCode}</code>
                </td>
                <td>{KIND_LABELS[t.kind]}</td>
                <td>
                  {t.projectDeleted ? (
                    <>
                      {t.projectName} <small class="muted">(deleted)</small>
                    </>
                  ) : (
                    <a href={`/projects/${t.projectId}`}>{t.projectName}</a>
                  )}
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
                <td class="details">
                  <code>{outcome(t)}</code>
                </td>
                <td>
                  <ol class="task-history">
                    {t.events.map((e) => (
                      <li>
                        <DateTime ms={e.at} /> <code>{e.event}</code> {eventDetails(e.details) && <small class="muted">{eventDetails(e.details)}</small>}
                      </li>
                    ))}
                  </ol>
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
