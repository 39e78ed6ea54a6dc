import { DateTime } from './components/time.tsx'
import type { FieldErrors } from '../src/http/forms.ts'
import type { ModelFileRow, ModelRow } from '../src/models/models.ts'
import { MODEL_DESCRIPTION_MAX_LENGTH, MODEL_NAME_MAX_LENGTH } from '../src/models/models.ts'
import { TableScroll } from './components/table-scroll.tsx'

// The models part of a project page (SPEC §4): each model with its owner, status, allowed sites,
// files and training runs, and the forms the viewer may use. The route decides every boolean
// with the policy; this only shows what it is told.

/** `disabled`: an administrator disabled the site, so it is not offered for training. */
export type SiteRef = { id: number; name: string; code: string; disabled: boolean }

/** A form of this section re-rendered after a refusal (422/409), with the user's values. */
export type ModelsForm = {
  form: 'create' | 'edit' | 'upload' | 'train'
  modelId: number | null
  values: Record<string, string>
  siteIds: number[]
  errors: FieldErrors
  error?: string | undefined
}

export type ModelCardView = ModelRow & {
  allowedSites: SiteRef[]
  can: { edit: boolean; upload: boolean; train: boolean }
  /** Training of this model is under way at some site (no new training until it ends). */
  trainingUnderWay: boolean
}

export type ModelsSectionView = {
  projectId: number
  projectStatus: string
  uploadMaxMb: number
  models: ModelCardView[]
  can: { create: boolean; viewResults: boolean; downloadResults: boolean }
  form: ModelsForm | null
}

const statusClass = (status: string) => `badge status-${status.replace(/\s+/g, '-')}`

export function ModelStatusBadge(props: { status: string }) {
  return <span class={statusClass(props.status)}>{props.status}</span>
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`
  if (bytes < 1024 * 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MB`
  return `${(bytes / (1024 * 1024 * 1024)).toFixed(2)} GB`
}

function TextInput(props: { id: string; name: string; label: string; value: string; maxlength: number; required?: boolean; error?: string | undefined; hint?: string }) {
  const described = [props.hint ? `${props.id}-hint` : null, props.error ? `${props.id}-error` : null].filter(Boolean).join(' ')
  return (
    <div class={props.error ? 'field invalid' : 'field'}>
      <label for={props.id}>{props.label}</label>
      {props.hint && (
        <small id={`${props.id}-hint`} class="hint">
          {props.hint}
        </small>
      )}
      <input id={props.id} name={props.name} type="text" value={props.value} maxlength={props.maxlength} required={props.required} autocomplete="off" aria-invalid={props.error ? 'true' : undefined} aria-describedby={described || undefined} />
      {props.error && (
        <p id={`${props.id}-error`} class="error">
          {props.error}
        </p>
      )}
    </div>
  )
}

function TextArea(props: { id: string; name: string; label: string; value: string; maxlength: number; error?: string | undefined }) {
  return (
    <div class={props.error ? 'field invalid' : 'field'}>
      <label for={props.id}>{props.label}</label>
      <small id={`${props.id}-hint`} class="hint">
        Optional, at most {props.maxlength} characters.
      </small>
      <textarea id={props.id} name={props.name} rows={3} maxlength={props.maxlength} aria-invalid={props.error ? 'true' : undefined} aria-describedby={props.error ? `${props.id}-hint ${props.id}-error` : `${props.id}-hint`}>
        {props.value}
      </textarea>
      {props.error && (
        <p id={`${props.id}-error`} class="error">
          {props.error}
        </p>
      )}
    </div>
  )
}

function FileLinks(props: { projectId: number; files: ModelFileRow[] }) {
  return (
    <ul>
      {props.files.map((f) => (
        <li>
          <a href={`/projects/${props.projectId}/files/${f.id}`} download={f.filename}>
            {f.filename}
          </a>{' '}
          <span class="muted">({formatBytes(f.size)})</span>
        </li>
      ))}
    </ul>
  )
}

function Metrics(props: { metrics: Record<string, number | string> }) {
  const entries = Object.entries(props.metrics)
  if (entries.length === 0) return <span class="muted">none yet</span>
  return (
    <dl class="facts">
      {entries.map(([name, value]) => (
        <>
          <dt>{name}</dt>
          <dd>{typeof value === 'number' ? value.toLocaleString('en-GB', { maximumFractionDigits: 6 }) : value}</dd>
        </>
      ))}
    </dl>
  )
}

function ModelCard(props: { view: ModelsSectionView; card: ModelCardView }) {
  const { view, card } = props
  const m = card.model
  const prefix = `model-${m.id}`
  const form = view.form && view.form.modelId === m.id ? view.form : null
  const formFor = (kind: ModelsForm['form']) => (form?.form === kind ? form : null)
  const edit = formFor('edit')
  const upload = formFor('upload')
  const train = formFor('train')
  const base = `/projects/${view.projectId}/models/${m.id}`
  return (
    <article class="card" id={prefix} aria-labelledby={`${prefix}-title`}>
      <h3 id={`${prefix}-title`}>
        {m.name} <ModelStatusBadge status={m.status} />
      </h3>
      {form?.error && (
        <p class="form-error" role="alert">
          {form.error}
        </p>
      )}
      <dl class="facts">
        <dt>Owner</dt>
        <dd>{card.owner}</dd>
        <dt>Description</dt>
        <dd>{m.description || '—'}</dd>
        <dt>Allowed sites</dt>
        <dd>{card.allowedSites.length > 0 ? card.allowedSites.map((s) => s.name).join(', ') : '—'}</dd>
        <dt>Created</dt>
        <dd>
          <DateTime ms={m.createdAt} />
        </dd>
      </dl>

      <h4>Files</h4>
      {card.files.length === 0 ? (
        <p class="muted">No files uploaded yet.</p>
      ) : (
        <TableScroll label="Files">
          <table>
            <caption class="visually-hidden">Files of the model {m.name}</caption>
            <thead>
              <tr>
                <th scope="col">File</th>
                <th scope="col">Size</th>
                <th scope="col">SHA-256</th>
                <th scope="col">Uploaded</th>
              </tr>
            </thead>
            <tbody>
              {card.files.map((f) => (
                <tr>
                  <td>
                    <a href={`/projects/${view.projectId}/files/${f.id}`} download={f.filename}>
                      {f.filename}
                    </a>
                  </td>
                  <td>
                    <span title={`${f.size.toLocaleString('en-GB')} bytes`}>{formatBytes(f.size)}</span>
                  </td>
                  <td class="truncate">
                    <code title={f.sha256}>{f.sha256}</code>
                  </td>
                  <td>
                    {f.uploadedBy ?? '—'}, <DateTime ms={f.createdAt} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableScroll>
      )}

      <h4>Training</h4>
      {card.runs.length === 0 ? (
        <p class="muted">Not trained yet.</p>
      ) : (
        <TableScroll label="Training runs">
          <table>
            <caption class="visually-hidden">Training runs of the model {m.name}, one per site</caption>
            <thead>
              <tr>
                <th scope="col">Site</th>
                <th scope="col">Status</th>
                <th scope="col">Started</th>
                <th scope="col">Last update</th>
                {view.can.viewResults && <th scope="col">Metrics</th>}
                {view.can.downloadResults && <th scope="col">Result files</th>}
              </tr>
            </thead>
            <tbody>
              {card.runs.map((r) => (
                <tr>
                  <td>{r.site.name}</td>
                  <td>
                    <ModelStatusBadge status={r.run.status} />
                  </td>
                  <td>
                    <DateTime ms={r.run.createdAt} />
                  </td>
                  <td>
                    <DateTime ms={r.run.updatedAt} />
                  </td>
                  {view.can.viewResults && (
                    <td>
                      <Metrics metrics={r.run.metrics} />
                    </td>
                  )}
                  {view.can.downloadResults && <td>{r.files.length > 0 ? <FileLinks projectId={view.projectId} files={r.files} /> : <span class="muted">none yet</span>}</td>}
                </tr>
              ))}
            </tbody>
          </table>
        </TableScroll>
      )}

      {card.can.edit && (
        <details open={!!edit}>
          <summary>Edit name and description</summary>
          <form method="post" action={base} class="stack">
            <TextInput id={`${prefix}-name`} name="name" label="Model name" value={edit?.values.name ?? m.name} maxlength={MODEL_NAME_MAX_LENGTH} required error={edit?.errors.name} />
            <TextArea id={`${prefix}-description`} name="description" label="Model description" value={edit?.values.description ?? m.description} maxlength={MODEL_DESCRIPTION_MAX_LENGTH} error={edit?.errors.description} />
            <button type="submit">Save model</button>
          </form>
        </details>
      )}

      {card.can.upload && (
        <form method="post" action={`${base}/files`} enctype="multipart/form-data" class="stack">
          <div class={upload?.errors.file ? 'field invalid' : 'field'}>
            <label for={`${prefix}-file`}>Upload a file to {m.name}</label>
            <small id={`${prefix}-file-hint`} class="hint">
              At most {view.uploadMaxMb} MB per file. Its SHA-256 is recorded. Files can be added until training starts.
            </small>
            <input
              id={`${prefix}-file`}
              name="file"
              type="file"
              required
              aria-invalid={upload?.errors.file ? 'true' : undefined}
              aria-describedby={upload?.errors.file ? `${prefix}-file-hint ${prefix}-file-error` : `${prefix}-file-hint`}
            />
            {upload?.errors.file && (
              <p id={`${prefix}-file-error`} class="error">
                {upload.errors.file}
              </p>
            )}
          </div>
          <button type="submit">Upload file</button>
        </form>
      )}

      {card.can.train &&
        (card.trainingUnderWay ? (
          <p class="muted">Training is under way; more can be started once it has ended.</p>
        ) : card.files.length === 0 ? (
          <p class="muted">Upload the model’s files to start training.</p>
        ) : (
          <form method="post" action={`${base}/train`} class="stack">
            <fieldset class={train?.errors.site_ids ? 'invalid' : undefined} aria-describedby={train?.errors.site_ids ? `${prefix}-sites-error` : undefined}>
              <legend>Start training of {m.name} at these sites</legend>
              {card.allowedSites.map((s) =>
                s.disabled ? (
                  <p class="muted">
                    {s.name} <code>{s.code}</code> <span class="badge">disabled</span> — not offered while the site is disabled
                  </p>
                ) : (
                  <label class="check">
                    <input type="checkbox" name="site_ids" value={String(s.id)} checked={train?.siteIds.includes(s.id)} /> {s.name} <code>{s.code}</code>
                  </label>
                ),
              )}
              {card.allowedSites.length === 0 && <p class="muted">This model has no allowed sites.</p>}
              {train?.errors.site_ids && (
                <p id={`${prefix}-sites-error`} class="error">
                  {train.errors.site_ids}
                </p>
              )}
            </fieldset>
            <p class="muted">Each chosen site receives a training task; the model's files and metadata are then fixed.</p>
            <button type="submit">Start training</button>
          </form>
        ))}
    </article>
  )
}

export function ModelsSection(props: { view: ModelsSectionView }) {
  const v = props.view
  const create = v.form?.form === 'create' ? v.form : null
  return (
    <section class="card" id="models" aria-labelledby="models-title">
      <h2 id="models-title">Models</h2>
      {v.projectStatus !== 'approved' ? (
        <p class="muted">Models can be created once the project is approved at one or more sites.</p>
      ) : (
        v.models.length === 0 && <p class="muted">No models yet.</p>
      )}
      {v.models.map((card) => (
        <ModelCard view={v} card={card} />
      ))}
      {v.can.create && (
        <form method="post" action={`/projects/${v.projectId}/models`} class="stack" id="new-model">
          <h3>New model</h3>
          {create?.error && (
            <p class="form-error" role="alert">
              {create.error}
            </p>
          )}
          <TextInput id="new-model-name" name="name" label="Model name" value={create?.values.name ?? ''} maxlength={MODEL_NAME_MAX_LENGTH} required error={create?.errors.name} hint={`At most ${MODEL_NAME_MAX_LENGTH} characters.`} />
          <TextArea id="new-model-description" name="description" label="Model description" value={create?.values.description ?? ''} maxlength={MODEL_DESCRIPTION_MAX_LENGTH} error={create?.errors.description} />
          <p class="muted">The model may be trained at the sites that have approved the project now.</p>
          <button type="submit">Create model</button>
        </form>
      )}
    </section>
  )
}
