import { Hono, type Context } from 'hono'
import type { Child } from 'hono/jsx'
import { createReadStream } from 'node:fs'
import { rmdir, stat, unlink } from 'node:fs/promises'
import { privateDir } from '../db/file-modes.ts'
import { dirname, isAbsolute, join, relative, resolve } from 'node:path'
import { Readable } from 'node:stream'
import type { AppEnv } from '../http/context.ts'
import { requireUser } from '../auth/middleware.ts'
import { routeClass } from '../http/route-class.ts'
import { redirectTo } from '../http/htmx.ts'
import { readForm, checkTextFields, hasErrors, idParam } from '../http/forms.ts'
import { setFlash } from '../http/flash.ts'
import { notFoundPage, payloadTooLargePage, renderErrorPage } from '../http/errors.tsx'
import { MalformedUploadError, receiveUploadedFile, UploadTooLargeError, type ReceivedFile } from '../http/multipart.ts'
import { decideOnModel, decideProject, denyOnModel as denyOnModelPolicy, type Denial } from '../authz/policy.ts'
import type { ProjectPermission } from '../authz/permissions.ts'
import { listSites, type Ctx, type Refusal } from '../models/projects.ts'
import type { Model } from '../db/schema.ts'
import {
  checkCanUpload,
  checkModelFields,
  createModel,
  getModel,
  getProjectFile,
  listProjectModels,
  newModelFilePath,
  recordModelFile,
  startTraining,
  updateModel,
} from '../models/models.ts'
import { denyProject, loadReadableProject, refuse, renderProject, type LoadedProject } from './projects.tsx'
import { ModelsSection, type ModelsForm } from '../../views/project-models.tsx'

// Models, their files and training (SPEC §4, §7): create and edit a model, upload files to it
// (streamed to disk and hashed on the way, never held in memory), start training at chosen
// sites, and download model and result files. A project the actor cannot read is 404 on every
// route; a model or file of another project is 404 too.

export const projectModels = new Hono<AppEnv>()

/** Signed in, and paused in deployment mode (models, uploads and training are core functions). */
const guard = [requireUser, routeClass('core')] as const

function ctxOf(c: Context<AppEnv>): Ctx {
  const actor = c.get('actor')
  return { actor: { id: actor.id, email: actor.email }, now: c.get('deps').clock.now(), ip: c.get('clientIp') }
}

/**
 * The permission on someone's model: the permission itself, and for another person's model
 * also models.manage_any (the project owner and admins hold every permission).
 */
function denyOnModel(c: Context<AppEnv>, loaded: LoadedProject, model: Model, permission: ProjectPermission): Denial | null {
  return denyOnModelPolicy(c.get('actor'), permission, loaded.access, model)
}

function loadModel(c: Context<AppEnv>, loaded: LoadedProject): Model | null {
  return getModel(c.get('deps').db, loaded.project.id, idParam(c.req.param('modelId')) ?? 0)
}

// ─── The section on the project page ──────────────────────────────────────────────────────────

/** A refused form of this section, kept for the page rendered in answer to the same request. */
const refusedForms = new WeakMap<Context<AppEnv>, ModelsForm>()

/** The models part of a project page. */
export function projectModelsSection(c: Context<AppEnv>, loaded: LoadedProject): Child {
  const { db, config } = c.get('deps')
  const actor = c.get('actor')
  const may = (p: ProjectPermission) => decideProject(actor, p, loaded.access).allowed
  const mayOnModel = (model: Model, p: ProjectPermission) => decideOnModel(actor, p, loaded.access, model).allowed
  const rows = listProjectModels(db, loaded.project.id)
  const sites = new Map(rows.length > 0 ? listSites(db).map((s) => [s.id, { id: s.id, name: s.name, code: s.code, disabled: s.disabledAt !== null }]) : [])
  const view = {
    projectId: loaded.project.id,
    projectStatus: loaded.project.status,
    uploadMaxMb: config.uploadMaxMb,
    can: { create: may('models.create'), viewResults: may('results.view'), downloadResults: may('results.download') },
    form: refusedForms.get(c) ?? null,
    models: rows.map((row) => ({
      ...row,
      allowedSites: row.model.allowedSiteIds.map((id) => sites.get(id) ?? { id, name: `site #${id}`, code: '', disabled: false }),
      trainingUnderWay: row.runs.some((r) => r.run.status === 'initiated' || r.run.status === 'running'),
      can: {
        edit: row.model.status === 'pending' && mayOnModel(row.model, 'models.create'),
        upload: row.model.status === 'pending' && mayOnModel(row.model, 'models.upload'),
        train: mayOnModel(row.model, 'models.train'),
      },
    })),
  }
  return <ModelsSection view={view} />
}

/** The project page again, with the refused form's values and errors (422, or 409 for the model's state). */
function answerForm(c: Context<AppEnv>, loaded: LoadedProject, form: Omit<ModelsForm, 'siteIds' | 'values'> & Partial<Pick<ModelsForm, 'siteIds' | 'values'>>, status: 409 | 422) {
  refusedForms.set(c, { values: {}, siteIds: [], ...form })
  return renderProject(c, loaded, {}, status)
}

function answerRefusal(c: Context<AppEnv>, loaded: LoadedProject, refusal: Refusal, form: Omit<ModelsForm, 'errors' | 'error' | 'siteIds' | 'values'> & Partial<Pick<ModelsForm, 'siteIds' | 'values'>>) {
  return answerForm(c, loaded, { ...form, errors: refusal.field ? { [refusal.field]: refusal.reason } : {}, error: refusal.field ? undefined : refusal.reason }, refusal.status)
}

// ─── Create and edit ──────────────────────────────────────────────────────────────────────────

projectModels.post('/projects/:id/models', ...guard, async (c) => {
  const loaded = loadReadableProject(c)
  if (!loaded) return notFoundPage(c)
  const denial = denyProject(c, loaded, 'models.create')
  if (denial) return refuse(c, denial)
  const form = await readForm(c)
  const values = { name: form.get('name').trim(), description: form.get('description').trim() }
  const errors = checkTextFields(checkModelFields(values.name, values.description), values, ['description'])
  if (hasErrors(errors)) return answerForm(c, loaded, { form: 'create', modelId: null, values, errors }, 422)
  const outcome = createModel(c.get('deps').db, loaded.project, values, ctxOf(c))
  if (!outcome.ok) return answerRefusal(c, loaded, outcome, { form: 'create', modelId: null, values })
  setFlash(c, 'success', `Model “${outcome.value.name}” created.`)
  return redirectTo(c, `/projects/${loaded.project.id}#model-${outcome.value.id}`)
})

/** Name and description; only while the model is pending. */
projectModels.post('/projects/:id/models/:modelId', ...guard, async (c) => {
  const loaded = loadReadableProject(c)
  if (!loaded) return notFoundPage(c)
  const model = loadModel(c, loaded)
  if (!model) return notFoundPage(c)
  const denial = denyOnModel(c, loaded, model, 'models.create')
  if (denial) return refuse(c, denial)
  const form = await readForm(c)
  const values = { name: form.get('name').trim(), description: form.get('description').trim() }
  const errors = checkTextFields(checkModelFields(values.name, values.description), values, ['description'])
  if (hasErrors(errors)) return answerForm(c, loaded, { form: 'edit', modelId: model.id, values, errors }, 422)
  const outcome = updateModel(c.get('deps').db, model, values, ctxOf(c))
  if (!outcome.ok) return answerRefusal(c, loaded, outcome, { form: 'edit', modelId: model.id, values })
  setFlash(c, 'success', `Model “${values.name}” saved.`)
  return redirectTo(c, `/projects/${loaded.project.id}#model-${model.id}`)
})

// A reload of a form's answer page asks for these addresses with GET: show the project instead.
projectModels.get('/projects/:id/models', ...guard, (c) => {
  const loaded = loadReadableProject(c)
  return loaded ? c.redirect(`/projects/${loaded.project.id}#models`, 303) : notFoundPage(c)
})
projectModels.on('GET', ['/projects/:id/models/:modelId', '/projects/:id/models/:modelId/files', '/projects/:id/models/:modelId/train'], ...guard, (c) => {
  const loaded = loadReadableProject(c)
  const model = loaded && loadModel(c, loaded)
  return loaded && model ? c.redirect(`/projects/${loaded.project.id}#model-${model.id}`, 303) : notFoundPage(c)
})

// ─── Upload ───────────────────────────────────────────────────────────────────────────────────

/** Streamed to DATA_DIR/files/models/<model id>/<random name> by receiveUploadedFile (busboy), SHA-256 computed on the way. */
projectModels.post('/projects/:id/models/:modelId/files', ...guard, async (c) => {
  const loaded = loadReadableProject(c)
  if (!loaded) return notFoundPage(c)
  const model = loadModel(c, loaded)
  if (!model) return notFoundPage(c)
  const denial = denyOnModel(c, loaded, model, 'models.upload')
  if (denial) return refuse(c, denial)
  const state = checkCanUpload(model)
  if (state) return answerRefusal(c, loaded, state, { form: 'upload', modelId: model.id })

  const { config, db } = c.get('deps')
  const { directory, storagePath } = newModelFilePath(model.id)
  const destination = join(config.dataDir, storagePath)
  privateDir(join(config.dataDir, directory))
  let received: ReceivedFile
  try {
    received = await receiveUploadedFile(c.req.raw, { field: 'file', destination, maxFileBytes: config.uploadMaxMb * 1024 * 1024 })
    // A browser sends an empty part when no file was chosen.
    if (received.size === 0) throw new MalformedUploadError('Choose a file to upload: it was missing or empty.')
  } catch (error) {
    await unlink(destination).catch(() => {})
    await rmdir(dirname(destination)).catch(() => {}) // only when empty: the model's first upload failed
    if (error instanceof UploadTooLargeError) return payloadTooLargePage(c, `${config.uploadMaxMb} MB`)
    if (error instanceof MalformedUploadError) return answerForm(c, loaded, { form: 'upload', modelId: model.id, errors: { file: error.message } }, 422)
    throw error
  }
  const outcome = recordModelFile(db, model, { ...received, storagePath }, ctxOf(c))
  if (!outcome.ok) {
    await unlink(destination).catch(() => {})
    return answerRefusal(c, loaded, outcome, { form: 'upload', modelId: model.id })
  }
  setFlash(c, 'success', `“${received.filename}” uploaded to “${model.name}” (SHA-256 ${received.sha256}).`)
  return redirectTo(c, `/projects/${loaded.project.id}#model-${model.id}`)
})

// ─── Training ─────────────────────────────────────────────────────────────────────────────────

projectModels.post('/projects/:id/models/:modelId/train', ...guard, async (c) => {
  const loaded = loadReadableProject(c)
  if (!loaded) return notFoundPage(c)
  const model = loadModel(c, loaded)
  if (!model) return notFoundPage(c)
  const denial = denyOnModel(c, loaded, model, 'models.train')
  if (denial) return refuse(c, denial)
  const raw = (await readForm(c)).getAll('site_ids')
  const siteIds = raw.map(Number)
  if (siteIds.some((id) => !Number.isInteger(id))) {
    return answerForm(c, loaded, { form: 'train', modelId: model.id, errors: { site_ids: 'Choose sites from the list.' } }, 422)
  }
  const outcome = startTraining(c.get('deps').db, model, siteIds, ctxOf(c))
  if (!outcome.ok) return answerRefusal(c, loaded, outcome, { form: 'train', modelId: model.id, siteIds })
  setFlash(c, 'success', `Training of “${model.name}” started at ${outcome.value.length} site${outcome.value.length === 1 ? '' : 's'}; each site picks up its task and reports back.`)
  return redirectTo(c, `/projects/${loaded.project.id}#model-${model.id}`)
})

// ─── Downloads ────────────────────────────────────────────────────────────────────────────────

/** `attachment` with an ASCII fallback name and the exact UTF-8 name (RFC 6266 / RFC 8187). */
function contentDisposition(filename: string): string {
  const fallback = filename.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_')
  const encoded = encodeURIComponent(filename).replace(/['()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`)
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encoded}`
}

/** A model file (project.view) or a site's result file (results.download), streamed from disk. */
projectModels.get('/projects/:id/files/:fileId', ...guard, async (c) => {
  const loaded = loadReadableProject(c)
  if (!loaded) return notFoundPage(c)
  const { db, config } = c.get('deps')
  const found = getProjectFile(db, loaded.project.id, idParam(c.req.param('fileId')) ?? 0)
  if (!found) return notFoundPage(c)
  if (found.kind === 'result') {
    const denial = denyProject(c, loaded, 'results.download')
    if (denial) return refuse(c, denial)
  }
  const dataDir = resolve(config.dataDir)
  const path = resolve(dataDir, found.file.storagePath)
  const inside = relative(dataDir, path)
  if (inside === '' || inside.startsWith('..') || isAbsolute(inside)) return notFoundPage(c)
  const info = await stat(path).catch(() => null)
  if (!info?.isFile()) {
    c.get('deps').log.error({ msg: 'stored file missing', file_id: found.file.id })
    return renderErrorPage(c, 404, 'File missing', 'This file is recorded, but it is no longer in storage. Tell your administrator.')
  }
  const body = Readable.toWeb(createReadStream(path)) as unknown as ReadableStream<Uint8Array>
  return c.body(body, 200, {
    'Content-Type': 'application/octet-stream',
    'Content-Length': String(info.size),
    'Content-Disposition': contentDisposition(found.file.filename),
    'Cache-Control': 'private, no-store',
    'X-Content-Type-Options': 'nosniff',
  })
})
