import { Page, type PageChrome } from './layouts/page.tsx'
import { Card, Field } from './components/form.tsx'
import { DateTime } from './components/time.tsx'
import type { Project } from '../src/db/schema.ts'
import type { FieldErrors } from '../src/http/forms.ts'
import { TableScroll } from './components/table-scroll.tsx'

type ProjectList = { rows: { project: Project; ownerEmail: string; groupName: string | null }[]; total: number; page: number; pages: number }

export type ProjectListFilters = {
  q: string
  owner: string
  status: 'unstaged' | 'staged' | 'approved' | 'deleted' | null
  /** A group id as typed ('' = any). */
  group: string
  awaiting: boolean
  sort: 'updated' | 'name' | 'owner' | 'status' | 'group'
  dir: 'asc' | 'desc'
}

function listUrl(f: ProjectListFilters, extra: Partial<Record<string, string>> = {}): string {
  const params = new URLSearchParams()
  if (f.q) params.set('q', f.q)
  if (f.owner) params.set('owner', f.owner)
  if (f.status) params.set('status', f.status)
  if (f.group) params.set('group', f.group)
  if (f.awaiting) params.set('awaiting', '1')
  if (f.sort !== 'updated') params.set('sort', f.sort)
  if (f.dir !== 'desc') params.set('dir', f.dir)
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) params.set(k, v)
  const s = params.toString()
  return s ? `/projects?${s}` : '/projects'
}

/** A column header that sorts: a link, its state in aria-sort, the direction as an arrow. */
function SortHeader(props: { f: ProjectListFilters; column: ProjectListFilters['sort']; label: string }) {
  const active = props.f.sort === props.column
  const next = active && props.f.dir === 'asc' ? 'desc' : 'asc'
  return (
    <th scope="col" aria-sort={active ? (props.f.dir === 'asc' ? 'ascending' : 'descending') : undefined}>
      <a href={listUrl(props.f, { sort: props.column, dir: next, page: undefined })} class="sort">
        {props.label}
        <span class="sort-arrow" aria-hidden="true">
          {active ? (props.f.dir === 'asc' ? '▲' : '▼') : '↕'}
        </span>
      </a>
    </th>
  )
}

export function StatusBadge(props: { status: string }) {
  return <span class={`badge status-${props.status}`}>{props.status}</span>
}

export function ProjectsPage(props: { chrome: PageChrome; list: ProjectList; filters: ProjectListFilters; groups: { id: number; name: string }[]; canSeeDeleted: boolean; canCreate: boolean }) {
  const { list, filters: f } = props
  const pageUrl = (page: number) => listUrl(f, { page: String(page) })
  const filtered = Boolean(f.q || f.owner || f.status || f.group || f.awaiting)
  return (
    <Page title="Projects" chrome={props.chrome}>
      <h1>Projects</h1>
      {props.canCreate && (
        <p>
          <a href="/projects/new">New project</a>
        </p>
      )}
      <form method="get" action="/projects" role="search" class="filter">
        <div class="row">
          <div class="field">
            <label for="f-q">Search projects</label>
            <input id="f-q" type="search" name="q" value={f.q} maxlength={100} autocomplete="off" />
          </div>
          <div class="field">
            <label for="f-status">Status</label>
            <select id="f-status" name="status">
              <option value="">any</option>
              {(['unstaged', 'staged', 'approved', ...(props.canSeeDeleted ? ['deleted'] : [])] as const).map((s) => (
                <option value={s} selected={f.status === s}>
                  {s}
                </option>
              ))}
            </select>
          </div>
          <div class="field">
            <label for="f-owner">Owner email</label>
            <input id="f-owner" type="search" name="owner" value={f.owner} maxlength={100} autocomplete="off" />
          </div>
          <div class="field">
            <label for="f-group">Group</label>
            <select id="f-group" name="group">
              <option value="">any</option>
              {props.groups.map((g) => (
                <option value={String(g.id)} selected={f.group === String(g.id)}>
                  {g.name}
                </option>
              ))}
            </select>
          </div>
          <label class="check">
            <input type="checkbox" name="awaiting" value="1" checked={f.awaiting} /> Awaiting a site decision
          </label>
          {f.sort !== 'updated' && <input type="hidden" name="sort" value={f.sort} />}
          {f.dir !== 'desc' && <input type="hidden" name="dir" value={f.dir} />}
          <button type="submit" class="secondary">
            Filter
          </button>
          {filtered && <a href="/projects">Clear</a>}
        </div>
      </form>
      <p class="muted" aria-live="polite">
        {list.total} {list.total === 1 ? 'project' : 'projects'}
        {list.pages > 1 ? ` · page ${list.page} of ${list.pages}` : ''}
      </p>
      <TableScroll label="Projects">
        <table>
          <thead>
            <tr>
              <SortHeader f={f} column="name" label="Name" />
              <SortHeader f={f} column="owner" label="Owner" />
              <SortHeader f={f} column="group" label="Group" />
              <SortHeader f={f} column="status" label="Status" />
              <SortHeader f={f} column="updated" label="Updated" />
            </tr>
          </thead>
          <tbody>
            {list.rows.map(({ project, ownerEmail, groupName }) => (
              <tr>
                <td>{project.deletedAt === null ? <a href={`/projects/${project.id}`}>{project.name}</a> : project.name}</td>
                <td>{ownerEmail}</td>
                <td>{groupName ?? '—'}</td>
                <td>
                  <StatusBadge status={project.deletedAt === null ? project.status : 'deleted'} />
                </td>
                <td>
                  <DateTime ms={project.updatedAt} />
                </td>
              </tr>
            ))}
            {list.rows.length === 0 && (
              <tr>
                <td colspan={5}>{filtered ? 'No projects match.' : 'No projects yet.'}</td>
              </tr>
            )}
          </tbody>
        </table>
      </TableScroll>
      {list.pages > 1 && (
        <nav class="pager" aria-label="Pages">
          {list.page > 1 ? <a href={pageUrl(list.page - 1)}>← Previous</a> : <span />}
          {list.page < list.pages ? <a href={pageUrl(list.page + 1)}>Next →</a> : <span />}
        </nav>
      )}
    </Page>
  )
}

export function NewProjectPage(props: { chrome: PageChrome; values: Record<string, string>; errors: FieldErrors; groups: { id: number; name: string }[] }) {
  const { values, errors } = props
  return (
    <Page title="New project" chrome={props.chrome} narrow>
      <p>
        <a href="/projects">← Projects</a>
      </p>
      <h1>New project</h1>
      <form method="post" action="/projects/new" class="stack">
        <Field name="name" label="Name" value={values.name ?? ''} required maxlength={200} error={errors.name} autocomplete="off" />
        <div class={errors.description ? 'field invalid' : 'field'}>
          <label for="f-description">Description</label>
          <textarea id="f-description" name="description" rows={4} maxlength={1000}>
            {values.description ?? ''}
          </textarea>
          {errors.description && <p class="error">{errors.description}</p>}
        </div>
        <div class={errors.group_id ? 'field invalid' : 'field'}>
          <label for="f-group_id">Group (optional)</label>
          <select id="f-group_id" name="group_id">
            <option value="">— none —</option>
            {props.groups.map((g) => (
              <option value={String(g.id)} selected={values.group_id === String(g.id)}>
                {g.name}
              </option>
            ))}
          </select>
          {errors.group_id && <p class="error">{errors.group_id}</p>}
        </div>
        <button type="submit">Create project</button>
      </form>
    </Page>
  )
}
