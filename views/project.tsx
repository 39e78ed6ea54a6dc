import type { Child } from 'hono/jsx'
import { Page, type PageChrome } from './layouts/page.tsx'
import { Card, Field, FormError } from './components/form.tsx'
import { DateTime } from './components/time.tsx'
import { StatusBadge } from './projects.tsx'
import type { CohortQuery, Project } from '../src/db/schema.ts'
import type { ProjectMemberRow, SiteCount, StagedSite } from '../src/models/projects.ts'
import type { FieldErrors } from '../src/http/forms.ts'
import { TableScroll } from './components/table-scroll.tsx'
import type { SiteDecisionRow, SiteStanding } from '../src/models/site-decisions.ts'

export type ProjectView = {
  project: Project
  owner: string
  cohortQuery: CohortQuery | null
  versions: number
  counts: SiteCount[]
  stagedSites: StagedSite[]
  members: ProjectMemberRow[]
  projectRoles: string[]
  can: { edit: boolean; stage: boolean; delete: boolean; manageMembers: boolean; unstage: boolean; approve: boolean }
  values: Record<string, string>
  /** The members form's checked roles ('' = the default for their site role); absent: the default. */
  memberRoles?: string[]
  errors: FieldErrors
  error?: string | undefined
  models: Child
  /** Read by a site approver who is not a member: no members section (and no models). */
  approverOnly?: boolean
  /** Per staged site (by site id): its current decision (SPEC §4.1), and whether this user decides for it. */
  siteDecisions?: Map<number, { current: SiteDecisionRow | null; standing: SiteStanding; canDecide: boolean; hasApprovers: boolean }>
}

export function ProjectPage(props: { chrome: PageChrome; view: ProjectView }) {
  const v = props.view
  const p = v.project
  const locked = p.status !== 'unstaged'
  const checked = (role: string) => (v.memberRoles ?? ['']).includes(role)
  return (
    <Page title={p.name} chrome={props.chrome}>
      <p>
        <a href="/projects">← Projects</a>
      </p>
      <h1>
        {p.name} <StatusBadge status={p.status} />
      </h1>
      <FormError message={v.error} />
      {locked && <p class="flash flash-info">This project is {p.status}: the project and its cohort query are locked for editing{p.status === 'staged' ? ' until an admin unstages it' : ''}.</p>}
      <Card title="Details">
        <dl class="facts">
          <dt>Owner</dt>
          <dd>{v.owner}</dd>
          <dt>Created</dt>
          <dd>
            <DateTime ms={p.createdAt} />
          </dd>
          <dt>Description</dt>
          <dd>{p.description || '—'}</dd>
        </dl>
        {v.can.edit && (
          <details open={!!(v.errors.name || v.errors.description)}>
            <summary>Edit name and description</summary>
            <form method="post" action={`/projects/${p.id}`} class="stack">
              <Field name="name" label="Name" value={v.values.name ?? p.name} required maxlength={200} error={v.errors.name} autocomplete="off" />
              <div class={v.errors.description ? 'field invalid' : 'field'}>
                <label for="f-description">Description</label>
                <textarea id="f-description" name="description" rows={3} maxlength={1000}>
                  {v.values.description ?? p.description}
                </textarea>
                {v.errors.description && <p class="error">{v.errors.description}</p>}
              </div>
              <button type="submit">Save</button>
            </form>
          </details>
        )}
      </Card>
      <section class="card" id="cohort">
        <h2>Cohort query</h2>
        {v.cohortQuery ? (
          <>
            <p class="muted">
              Version {v.cohortQuery.version} of {v.versions}, saved <DateTime ms={v.cohortQuery.createdAt} />.
            </p>
            <pre class="sql">{v.cohortQuery.sqlText}</pre>
          </>
        ) : (
          <p class="muted">No cohort query yet.</p>
        )}
        <TableScroll label="Counts by site">
        <table>
          <caption class="visually-hidden">Counts reported by each site</caption>
          <thead>
            <tr>
              <th scope="col">Site</th>
              <th scope="col">Records</th>
            </tr>
          </thead>
          <tbody>
            {v.counts.map((c) => (
              <tr>
                <td>
                  {c.site.name} <code>{c.site.code}</code>
                  {c.site.disabledAt !== null && (
                    <>
                      {' '}
                      <span class="badge">disabled</span>
                    </>
                  )}
                </td>
                <td>{c.state === 'error' ? <span class="bad">error: {c.error}</span> : c.shown}</td>
              </tr>
            ))}
            {v.counts.length === 0 && (
              <tr>
                <td colspan={2}>No sites are registered yet.</td>
              </tr>
            )}
          </tbody>
        </table>
        </TableScroll>
        {v.can.edit && (
          <form method="post" action={`/projects/${p.id}/cohort-query`} class="stack">
            <div class={v.errors.query ? 'field invalid' : 'field'}>
              <label for="f-query">{v.cohortQuery ? 'New version of the cohort query' : 'Cohort query'}</label>
              <small id="f-query-hint" class="hint">
                One SELECT statement (UNION, INTERSECT and EXCEPT allowed), at most 10,240 characters. Saving sends it to every site.
              </small>
              <textarea id="f-query" name="query" rows={6} maxlength={10240} class="sql" spellcheck={false} aria-describedby={v.errors.query ? 'f-query-hint f-query-error' : 'f-query-hint'} aria-invalid={v.errors.query ? 'true' : undefined}>
                {v.values.query ?? v.cohortQuery?.sqlText ?? ''}
              </textarea>
              {v.errors.query && (
                <p id="f-query-error" class="error">
                  {v.errors.query}
                </p>
              )}
            </div>
            <button type="submit">Save and send to sites</button>
          </form>
        )}
      </section>
      <section class="card" id="sites">
        <h2>Sites</h2>
        {p.status === 'unstaged' ? (
          v.can.stage ? (
            <form method="post" action={`/projects/${p.id}/stage`} class="stack">
              <fieldset class={v.errors.site_ids ? 'invalid' : undefined}>
                <legend>Stage for approval at these sites</legend>
                {v.counts.map((c) =>
                  c.site.disabledAt !== null ? (
                    <p class="muted">
                      {c.site.name} <span class="badge">disabled</span> — not offered while the site is disabled
                    </p>
                  ) : (
                    <label class="check">
                      <input type="checkbox" name="site_ids" value={String(c.site.id)} /> {c.site.name} — {c.shown}
                    </label>
                  ),
                )}
                {v.errors.site_ids && <p class="error">{v.errors.site_ids}</p>}
              </fieldset>
              <p class="muted" id="stage-help">
                {v.cohortQuery ? 'Each chosen site must have reported a non-zero count for the current cohort query. Staging locks the project.' : 'Write the cohort query first: sites can only be chosen once they have counted it.'}
              </p>
              <button type="submit" disabled={v.cohortQuery === null} aria-describedby="stage-help">
                Stage for approval
              </button>
            </form>
          ) : (
            <p class="muted">Not staged yet.</p>
          )
        ) : (
          <>
            <TableScroll label="Site approvals">
            <table>
              <thead>
                <tr>
                  <th scope="col">Site</th>
                  <th scope="col">Decision</th>
                  <th scope="col">By</th>
                  <th scope="col">When</th>
                  <th scope="col">Evidence</th>
                </tr>
              </thead>
              <tbody>
                {v.stagedSites.map((s) => {
                  const d = v.siteDecisions?.get(s.site.id)
                  const cur = d?.current ?? null
                  return (
                    <tr>
                      <td>
                        {s.site.name}
                        {d?.hasApprovers && <small class="muted"> (decides for itself)</small>}
                      </td>
                      <td>
                        {d?.standing === 'withdrawn' ? (
                          'Approval withdrawn'
                        ) : d?.standing === 'expired' ? (
                          `Approval expired on ${cur?.expiresOn ?? ''}`
                        ) : s.decision === 'approved' ? (
                          <strong class="good">Approved</strong>
                        ) : s.decision === 'not approved' ? (
                          'Not approved'
                        ) : (
                          'Awaiting decision'
                        )}
                      </td>
                      <td>{s.decidedBy ?? '—'}</td>
                      <td>
                        <DateTime ms={s.decidedAt} />
                      </td>
                      <td>
                        {cur && (cur.reason || cur.conditions || cur.agreement || cur.expiresOn) && (
                          <ul class="plain">
                            {cur.reason && <li>Reason: {cur.reason}</li>}
                            {cur.conditions && <li>Conditions: {cur.conditions}</li>}
                            {cur.agreement && <li>Data-use agreement: {cur.agreement}</li>}
                            {cur.expiresOn && d?.standing !== 'expired' && <li>Expires at the end of {cur.expiresOn} (UTC)</li>}
                          </ul>
                        )}
                        {d && (
                          <p>
                            <a href={`/projects/${p.id}/sites/${s.site.id}/decision`}>{d.canDecide ? `Decide for ${s.site.name}` : 'History'}</a>
                          </p>
                        )}
                      </td>
                    </tr>
                  )
                })}
              </tbody>
            </table>
            </TableScroll>
            {v.can.approve && v.stagedSites.some((s) => !v.siteDecisions?.get(s.site.id)?.hasApprovers) && (
              <form method="post" action={`/projects/${p.id}/approvals`} class="stack">
                <fieldset class={v.errors.approved_site_ids ? 'invalid' : undefined}>
                  <legend>Site approvals</legend>
                  {v.stagedSites.filter((s) => !v.siteDecisions?.get(s.site.id)?.hasApprovers).map((s) => (
                    <label class="check">
                      <input type="checkbox" name="approved_site_ids" value={String(s.site.id)} /> Approve at {s.site.name}
                    </label>
                  ))}
                  {v.errors.approved_site_ids && <p class="error">{v.errors.approved_site_ids}</p>}
                </fieldset>
                <button type="submit">Save site approvals</button>
              </form>
            )}
            {v.can.unstage && (
              <form method="post" action={`/projects/${p.id}/unstage`}>
                <button type="submit" class="secondary">
                  Unstage (clears site decisions, re-enables editing)
                </button>
              </form>
            )}
          </>
        )}
      </section>
      {!v.approverOnly && (
      <section class="card" id="members">
        <h2>Members</h2>
        <TableScroll label="Members">
        <table>
          <thead>
            <tr>
              <th scope="col">Email</th>
              <th scope="col">Name</th>
              <th scope="col">Project role</th>
              {v.can.manageMembers && (
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              )}
            </tr>
          </thead>
          <tbody>
            {v.members.map((m) => (
              <tr>
                <td>{m.email}</td>
                <td>{m.name || '—'}</td>
                <td>
                  {m.roles.join(', ')}
                  {m.siteRole === 'observer' && m.roles.some((r) => r !== 'read-only') ? ' (read-only: observer)' : ''}
                </td>
                {v.can.manageMembers && (
                  <td>
                    <form method="post" action={`/projects/${p.id}/members/${m.userId}/remove`} class="inline">
                      <button type="submit" class="link">
                        Remove
                      </button>
                    </form>
                  </td>
                )}
              </tr>
            ))}
            {v.members.length === 0 && (
              <tr>
                <td colspan={4}>No members besides the owner.</td>
              </tr>
            )}
          </tbody>
        </table>
        </TableScroll>
        {v.can.manageMembers && (
          <form method="post" action={`/projects/${p.id}/members`} class="stack">
            <Field name="email" label="Add a member by email" type="email" value={v.values.email ?? ''} required error={v.errors.email} autocomplete="off" />
            <fieldset class={v.errors.role ? 'field invalid' : 'field'}>
              <legend>Project roles (the member gets every permission of each; adding someone who is a member already adds the roles they lack)</legend>
              <label>
                <input type="checkbox" name="role" value="" checked={checked('')} id="f-role-default" />
                Default for their site role (researcher: contributor, observer: read-only)
              </label>
              {v.projectRoles.map((r) => (
                <label>
                  <input type="checkbox" name="role" value={r} checked={checked(r)} />
                  {r}
                </label>
              ))}
              {v.errors.role && <p class="error">{v.errors.role}</p>}
            </fieldset>
            <button type="submit">Add member</button>
          </form>
        )}
      </section>
      )}
      {v.models}
      {v.can.delete && (
        <form method="post" action={`/projects/${p.id}/delete`}>
          <button type="submit" class="danger">
            Delete project
          </button>
        </form>
      )}
    </Page>
  )
}
