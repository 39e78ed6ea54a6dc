import { Page, type PageChrome } from './layouts/page.tsx'
import { Card, Field } from './components/form.tsx'
import { DateTime } from './components/time.tsx'
import type { Project } from '../src/db/schema.ts'
import type { FieldErrors } from '../src/http/forms.ts'
import { TableScroll } from './components/table-scroll.tsx'

type ProjectList = { rows: { project: Project; ownerEmail: string }[]; total: number; page: number; pages: number }

export function StatusBadge(props: { status: string }) {
  return <span class={`badge status-${props.status}`}>{props.status}</span>
}

export function ProjectsPage(props: { chrome: PageChrome; list: ProjectList; q: string; canCreate: boolean }) {
  const { list } = props
  const pageUrl = (page: number) => `/projects?${new URLSearchParams({ ...(props.q ? { q: props.q } : {}), page: String(page) })}`
  return (
    <Page title="Projects" chrome={props.chrome}>
      <h1>Projects</h1>
      {props.canCreate && (
        <p>
          <a href="/projects/new">New project</a>
        </p>
      )}
      <form method="get" action="/projects" role="search" class="filter">
        <label for="f-q">Search projects</label>
        <div class="row">
          <input id="f-q" type="search" name="q" value={props.q} maxlength={100} autocomplete="off" />
          <button type="submit" class="secondary">
            Search
          </button>
        </div>
      </form>
      <p class="muted">
        {list.total} {list.total === 1 ? 'project' : 'projects'}
        {list.pages > 1 ? ` · page ${list.page} of ${list.pages}` : ''}
      </p>
      <TableScroll label="Projects">
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Owner</th>
              <th scope="col">Status</th>
              <th scope="col">Updated</th>
            </tr>
          </thead>
          <tbody>
            {list.rows.map(({ project, ownerEmail }) => (
              <tr>
                <td>
                  <a href={`/projects/${project.id}`}>{project.name}</a>
                </td>
                <td>{ownerEmail}</td>
                <td>
                  <StatusBadge status={project.status} />
                </td>
                <td>
                  <DateTime ms={project.updatedAt} />
                </td>
              </tr>
            ))}
            {list.rows.length === 0 && (
              <tr>
                <td colspan={4}>{props.q ? 'No projects match.' : 'No projects yet.'}</td>
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
