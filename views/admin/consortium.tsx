import { plural } from '../components/plural.ts'
import { Page, type PageChrome } from '../layouts/page.tsx'
import { Card } from '../components/form.tsx'
import type { ConsortiumStructure } from '../../src/import/structure.ts'
import type { StructureFileError } from '../../src/import/structure-file.ts'
import type { ApplyStructureResult } from '../../src/models/consortium.ts'
import { TableScroll } from '../components/table-scroll.tsx'

/** One centre as stored, with how many of its labelled projects exist. */
export type CentreRow = { adcid: number; group: string; groupId: number | null; studies: string[]; expectedProjects: number; missingProjects: string[] }

export type ConsortiumOverview = {
  structure: ConsortiumStructure
  adminGroup: { id: number; name: string; hasMetadataProject: boolean } | null
  centres: CentreRow[]
}

/** What was sent and what is wrong with it (a file's or a conflict's problems; `line` null when not tied to one). */
export type StructureUpload = { pasted: string; source: string; errors: StructureFileError[] }

export type StructurePlan = Extract<ApplyStructureResult, { ok: true }>

/** Shown in the empty state; the same shape as README "Consortium structure"; the import page's examples fit it. */
export const EXAMPLE = `admin_group: NACC
studies:
  - { id: adrc, kind: primary }
  - { id: dvcid, kind: affiliated }
data_types: [form, dicom]
centres:
  - { adcid: 1, name: "Alpha ADRC", studies: [adrc, dvcid] }
  - { adcid: 2, name: "Beta ADRC", studies: [adrc] }`

/** Above this many, the plan's project list starts folded. */
const OPEN_LIST_MAX = 50

function isEmptyStructure(o: ConsortiumOverview): boolean {
  return o.adminGroup === null && o.centres.length === 0 && Object.keys(o.structure.studies).length === 0 && o.structure.dataTypes.length === 0
}

export function ConsortiumPage(props: { chrome: PageChrome; overview: ConsortiumOverview; upload?: StructureUpload; maxKb: number }) {
  const { overview, upload } = props
  return (
    <Page title="Consortium structure" chrome={props.chrome}>
      <p>
        <a href="/admin">← Admin</a>
      </p>
      <h1>Consortium structure</h1>
      {upload && upload.errors.length > 0 && (
        <p class="form-error" role="alert">
          {`${upload.source === '' ? 'The structure' : upload.source.charAt(0).toUpperCase() + upload.source.slice(1)} has ${plural(upload.errors.length, 'problem')}; nothing was changed. `}
          <a href="#structure-errors">See the list</a>
        </p>
      )}
      {isEmptyStructure(overview) ? <EmptyState /> : <CurrentStructure overview={overview} />}
      <UploadCard upload={upload} maxKb={props.maxKb} />
    </Page>
  )
}

function EmptyState() {
  return (
    <Card title="No structure yet">
      <p>
        A consortium structure lists the studies (at most one <em>primary</em>; the others <em>affiliated</em>), the data types, the member centres — each a group with a numeric centre
        id, the <code>adcid</code> — and one admin group. Applying it creates those groups and, in each centre, the labelled projects <code>metadata</code>,{' '}
        <code>accepted</code>, <code>ingest-&lt;data type&gt;</code> and <code>sandbox-&lt;data type&gt;</code> for every study the centre takes part in (suffixed{' '}
        <code>-&lt;study&gt;</code> for an affiliated study); the admin group gets a consortium-wide <code>metadata</code> project.
      </p>
      <p>
        Load a YAML file below — you see what it would create before anything changes — or from the command line: <code>npm run cli -- import-structure FILE</code>. A file looks
        like this:
      </p>
      <pre class="sql">
        <code>{EXAMPLE}</code>
      </pre>
    </Card>
  )
}

function CurrentStructure(props: { overview: ConsortiumOverview }) {
  const { structure, adminGroup, centres } = props.overview
  const studies = Object.entries(structure.studies)
  const incomplete = centres.filter((c) => c.missingProjects.length > 0).length
  return (
    <>
      <Card title="Studies and data types">
        <dl class="facts">
          <dt>Admin group</dt>
          <dd>
            {adminGroup ? (
              <>
                <a href={`/admin/groups/${adminGroup.id}`}>{adminGroup.name}</a>
                {adminGroup.hasMetadataProject ? ' — metadata project present' : <span class="bad"> — metadata project missing</span>}
              </>
            ) : (
              <span class="muted">None yet</span>
            )}
          </dd>
          <dt>Studies</dt>
          <dd>
            {studies.length === 0 ? (
              <span class="muted">None</span>
            ) : (
              <ul>
                {studies.map(([id, kind]) => (
                  <li>
                    <code>{id}</code> {kind === 'primary' ? 'primary (projects carry no suffix)' : `affiliated (projects end in -${id})`}
                  </li>
                ))}
              </ul>
            )}
          </dd>
          <dt>Data types</dt>
          <dd>
            {structure.dataTypes.length === 0 ? (
              <span class="muted">None</span>
            ) : (
              structure.dataTypes.map((d, i) => (
                <>
                  {i > 0 && ', '}
                  <code>{d}</code>
                </>
              ))
            )}
          </dd>
        </dl>
      </Card>
      <Card title={`Centres (${centres.length})`}>
        {incomplete > 0 && (
          <p class="bad">
            {`${plural(incomplete, 'centre')} ${incomplete === 1 ? 'lacks' : 'lack'} labelled projects (deleted since, or a study or data type added later). Applying the structure again creates them.`}
          </p>
        )}
        <TableScroll label="Centres">
          <table id="centres">
            <thead>
              <tr>
                <th scope="col">Centre id</th>
                <th scope="col">Group</th>
                <th scope="col">Studies</th>
                <th scope="col">Labelled projects</th>
              </tr>
            </thead>
            <tbody>
              {centres.map((c) => (
                <tr>
                  <td>{c.adcid}</td>
                  <td>{c.groupId === null ? c.group : <a href={`/admin/groups/${c.groupId}`}>{c.group}</a>}</td>
                  <td>{c.studies.length === 0 ? <span class="muted">none</span> : c.studies.join(', ')}</td>
                  <td>
                    {c.missingProjects.length === 0 ? (
                      `${c.expectedProjects} of ${c.expectedProjects}`
                    ) : (
                      <>
                        <span class="bad">{`${c.expectedProjects - c.missingProjects.length} of ${c.expectedProjects}`}</span>
                        <br />
                        <small class="muted">missing: {c.missingProjects.join(', ')}</small>
                      </>
                    )}
                  </td>
                </tr>
              ))}
              {centres.length === 0 && (
                <tr>
                  <td colspan={4}>No centres yet.</td>
                </tr>
              )}
            </tbody>
          </table>
        </TableScroll>
      </Card>
    </>
  )
}

function UploadCard(props: { upload: StructureUpload | undefined; maxKb: number }) {
  const errors = props.upload?.errors ?? []
  const fromFile = props.upload !== undefined && props.upload.source.startsWith('the file')
  const described = (hint: string) => [hint, errors.length > 0 ? 'structure-errors' : null].filter(Boolean).join(' ')
  return (
    <Card title="Load a structure">
      <p>
        Nothing changes yet: the next page shows what the structure would create or update, and asks you to confirm. Applying only ever creates and updates — groups, studies,
        data types and projects left out of the file stay. The projects it creates are owned by you.
      </p>
      {errors.length > 0 && (
        <div id="structure-errors" class="form-error">
          <p>{`${plural(errors.length, 'problem')} in ${props.upload!.source || 'the structure'}:`}</p>
          <ul>
            {errors.map((e) => (
              <li>
                {e.line !== null && `Line ${e.line}: `}
                {e.path !== '' && (
                  <>
                    <code>{e.path}</code>:{' '}
                  </>
                )}
                {e.message}
              </li>
            ))}
          </ul>
        </div>
      )}
      <form method="post" action="/admin/consortium" enctype="multipart/form-data" class="stack">
        <div class={errors.length > 0 && fromFile ? 'field invalid' : 'field'}>
          <label for="f-structure">Structure file (YAML)</label>
          <small id="f-structure-hint" class="hint">
            {`At most ${props.maxKb} KB. When you choose a file, the text box below is ignored.`}
          </small>
          <input
            id="f-structure"
            name="structure"
            type="file"
            accept=".yaml,.yml,application/yaml,text/yaml,text/plain"
            aria-invalid={errors.length > 0 && fromFile ? 'true' : undefined}
            aria-describedby={described('f-structure-hint')}
          />
        </div>
        {/* The leading newline is the one an HTML parser drops after <textarea>, so a pasted blank first line (and every line number) survives. */}
        <div class={errors.length > 0 && !fromFile ? 'field invalid' : 'field'}>
          <label for="f-structure_yaml">Or paste the YAML</label>
          <small id="f-structure_yaml-hint" class="hint">
            The same format as the file: <code>admin_group</code>, <code>studies</code>, <code>data_types</code>, <code>centres</code>.
          </small>
          <textarea
            id="f-structure_yaml"
            name="structure_yaml"
            rows={12}
            class="sql"
            spellcheck={false}
            aria-invalid={errors.length > 0 && !fromFile ? 'true' : undefined}
            aria-describedby={described('f-structure_yaml-hint')}
          >
            {`\n${props.upload?.pasted ?? ''}`}
          </textarea>
        </div>
        <button type="submit">Show what it would change</button>
      </form>
    </Card>
  )
}

export function ConsortiumPlanPage(props: { chrome: PageChrome; plan: StructurePlan; text: string; source: string; adminGroup: string; ownerEmail: string }) {
  const { plan } = props
  const c = plan.created
  const projects = plan.createdProjects
  return (
    <Page title="Consortium structure: what would change" chrome={props.chrome}>
      <p>
        <a href="/admin/consortium">← Consortium structure</a>
      </p>
      <h1>What this structure would change</h1>
      <p>{`Read from ${props.source}. Nothing has been changed yet.`}</p>
      {!plan.changed ? (
        <>
          <p class="flash flash-info" role="status">
            The structure is up to date; nothing to change.
          </p>
          <p>
            <a href="/admin/consortium">Back to the consortium structure</a>
          </p>
        </>
      ) : (
        <>
          <Card title="Summary">
            <dl class="facts" id="plan-summary">
              <dt>Studies to create</dt>
              <dd>{c.studies}</dd>
              <dt>Studies whose kind changes</dt>
              <dd>{plan.updated.studies}</dd>
              <dt>Data types to create</dt>
              <dd>{c.dataTypes}</dd>
              <dt>Groups to create</dt>
              <dd>{c.groups}</dd>
              <dt>Groups to rename or make a centre</dt>
              <dd>{plan.updated.groups}</dd>
              <dt>Centre–study links to add</dt>
              <dd>{c.centreStudies}</dd>
              <dt>Projects to create</dt>
              <dd>{c.projects}</dd>
              <dt>Admin group</dt>
              <dd>{plan.updated.adminGroup ? `${props.adminGroup} (replaces the current admin group)` : props.adminGroup}</dd>
            </dl>
            <p>{`New projects will be owned by you (${props.ownerEmail}). Nothing is deleted.`}</p>
          </Card>
          {projects.length > 0 && (
            <Card title="Projects to create">
              <details open={projects.length <= OPEN_LIST_MAX}>
                <summary>{plural(projects.length, 'project')}</summary>
                <ul id="plan-projects">
                  {projects.map((p) => (
                    <li>
                      <code>{p}</code>
                    </li>
                  ))}
                </ul>
              </details>
            </Card>
          )}
          <form method="post" action="/admin/consortium/apply" class="row">
            <input type="hidden" name="structure_yaml" value={props.text} />
            <button type="submit">Apply the structure</button>
            <a href="/admin/consortium">Cancel</a>
          </form>
        </>
      )}
    </Page>
  )
}
