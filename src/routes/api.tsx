import { Hono, type Context, type MiddlewareHandler } from 'hono'
import { touchSiteLastSeen } from '../models/approvals.ts'
import { createReadStream } from 'node:fs'
import { rm, stat } from 'node:fs/promises'
import { privateDir } from '../db/file-modes.ts'
import { isAbsolute, join, relative, resolve } from 'node:path'
import { Readable } from 'node:stream'
import type { AppEnv } from '../http/context.ts'
import { routeClass } from '../http/route-class.ts'
import { MalformedUploadError, UploadTooLargeError, receiveUploadedFile } from '../http/multipart.ts'
import { generateToken } from '../auth/tokens.ts'
import { getSiteByApiKey, getSiteById } from '../models/sites.ts'
import { APPROVAL_CODE_MESSAGES, claimTask, getClaimedTrainingTask, getTrainingModelFileForSite, listPendingTasksForSite, recordTaskResult, recordTrainingResultFile, type SiteTask } from '../models/tasks.ts'
import type { Site } from '../db/schema.ts'

// The site API (SPEC §4): JSON only, under /api/sites/v1, authenticated by a site's bearer key.
// Sites pull work; the portal never calls into a hospital network. Documented in the README.

type ApiEnv = { Variables: AppEnv['Variables'] & { site: Site } }

export const api = new Hono<ApiEnv>()

/** Finds the site by its bearer key; 401 JSON otherwise, also for a disabled site's key. */
const requireSiteKey: MiddlewareHandler<ApiEnv> = async (c, next) => {
  const match = /^Bearer +(\S+) *$/i.exec(c.req.header('Authorization') ?? '')
  const site = match ? getSiteByApiKey(c.get('deps').db, match[1]!) : null
  if (!site) {
    c.header('WWW-Authenticate', match ? 'Bearer realm="gatehouse-site-api", error="invalid_token"' : 'Bearer realm="gatehouse-site-api"')
    return c.json({ error: match ? 'Unknown or revoked site key.' : 'Send the site key as "Authorization: Bearer <key>".' }, 401)
  }
  if (site.disabledAt !== null) return siteDisabled(c)
  touchSiteLastSeen(c.get('deps').db, site.id, c.get('deps').clock.now())
  c.set('site', site)
  await next()
}

/** A disabled site's key is refused like an unknown key, with a code so its operators know why. */
function siteDisabled(c: Context<ApiEnv>) {
  c.header('WWW-Authenticate', 'Bearer realm="gatehouse-site-api", error="invalid_token"')
  return c.json({ error: 'This site is disabled: its key is refused until an administrator enables it again.', code: 'site_disabled' }, 401)
}

/**
 * True when the site was disabled while its request body was arriving. Checked right before the
 * write, with no await in between, so a disable that committed first always wins.
 */
function disabledMeanwhile(c: Context<ApiEnv>): boolean {
  return getSiteById(c.get('deps').db, c.get('site').id)?.disabledAt !== null
}

const guard = [requireSiteKey, routeClass('site-api')] as const

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString()
}

function taskJson(t: SiteTask) {
  return {
    id: t.task.id,
    kind: t.task.kind,
    project: t.project,
    created_at: iso(t.task.createdAt),
    ...(t.cohortQuery ? { cohort_query: { version: t.cohortQuery.version, sql: t.cohortQuery.sqlText } } : {}),
    ...(t.training ? { training: { run_id: t.training.runId, model: t.training.model } } : {}),
  }
}

/** A positive integer id in the path, or null (answered 404). */
function idParam(c: Context<ApiEnv>, name: string): number | null {
  const raw = c.req.param(name) ?? ''
  return /^[1-9]\d{0,15}$/.test(raw) ? Number(raw) : null
}

/** The task id in the path, or null (answered 404) when it is not a positive integer. */
function taskIdOf(c: Context<ApiEnv>): number | null {
  return idParam(c, 'id')
}

/** `attachment` with an ASCII fallback name and the exact UTF-8 name (RFC 6266 / RFC 8187). */
function attachment(filename: string): string {
  const fallback = filename.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_')
  const encoded = encodeURIComponent(filename).replace(/['()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`)
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encoded}`
}

const noSuchTask = { error: 'No such task for this site.' }

api.get('/api/sites/v1/tasks', ...guard, (c) => {
  const { db, clock } = c.get('deps')
  return c.json({ tasks: listPendingTasksForSite(db, c.get('site').id, clock.now()).map(taskJson) })
})

api.post('/api/sites/v1/tasks/:id/claim', ...guard, (c) => {
  const id = taskIdOf(c)
  if (id === null) return c.json(noSuchTask, 404)
  const { db, clock } = c.get('deps')
  const claimed = claimTask(db, c.get('site'), id, clock.now())
  if (claimed === 'not found') return c.json(noSuchTask, 404)
  if (claimed === 'conflict') return c.json({ error: 'The task is not pending: it is claimed already or finished.' }, 409)
  if ('code' in claimed) return c.json({ error: APPROVAL_CODE_MESSAGES[claimed.code], code: claimed.code }, 409)
  return c.json({ ...taskJson(claimed), claim_expires_at: iso(claimed.task.claimExpiresAt) })
})

api.post('/api/sites/v1/tasks/:id/result', ...guard, async (c) => {
  const id = taskIdOf(c)
  if (id === null) return c.json(noSuchTask, 404)
  let body: unknown
  try {
    body = JSON.parse(await c.req.text())
  } catch (error) {
    return c.json({ error: 'The body must be a JSON object.', issues: [{ path: '', message: error instanceof Error ? error.message : 'Invalid JSON' }] }, 422)
  }
  const { db, clock } = c.get('deps')
  if (disabledMeanwhile(c)) return siteDisabled(c)
  const outcome = recordTaskResult(db, c.get('site'), id, body, clock.now())
  if (!outcome.ok) return c.json(outcome.issues ? { error: outcome.error, issues: outcome.issues } : { error: outcome.error, ...(outcome.code ? { code: outcome.code } : {}) }, outcome.status)
  const t = outcome.task
  return c.json({ id: t.id, kind: t.kind, status: t.status, claim_expires_at: iso(t.claimExpiresAt), completed_at: iso(t.completedAt) })
})

/** A result file of a training task: streamed to DATA_DIR/files/runs/<run id>/, SHA-256 recorded. */
api.post('/api/sites/v1/tasks/:id/files', ...guard, async (c) => {
  const id = taskIdOf(c)
  if (id === null) return c.json(noSuchTask, 404)
  const { db, clock, config } = c.get('deps')
  const site = c.get('site')
  const held = getClaimedTrainingTask(db, site, id, clock.now())
  if (!held.ok) return c.json({ error: held.error, ...(held.code ? { code: held.code } : {}) }, held.status)
  const relativeDir = join('files', 'runs', String(held.task.trainingRunId))
  privateDir(join(config.dataDir, relativeDir))
  const storagePath = join(relativeDir, generateToken(16))
  let received
  try {
    received = await receiveUploadedFile(c.req.raw, { field: 'file', destination: join(config.dataDir, storagePath), maxFileBytes: config.uploadMaxMb * 1024 * 1024 })
  } catch (error) {
    if (error instanceof UploadTooLargeError) return c.json({ error: `The file is larger than the ${config.uploadMaxMb} MB allowed.` }, 413)
    if (error instanceof MalformedUploadError) return c.json({ error: error.message, issues: [{ path: 'file', message: error.message }] }, 422)
    throw error
  }
  if (disabledMeanwhile(c)) {
    await rm(join(config.dataDir, storagePath), { force: true })
    return siteDisabled(c)
  }
  const file = recordTrainingResultFile(db, site, held.task, { ...received, storagePath }, clock.now())
  return c.json({ file: { id: file.id, run_id: held.task.trainingRunId, filename: file.filename, size: file.size, sha256: file.sha256, created_at: iso(file.createdAt) } }, 201)
})

/**
 * A file of the model a training task trains, streamed from disk, while the site holds the claim.
 * X-Content-SHA256 carries the SHA-256 recorded at upload, for the site to check what it received.
 */
api.get('/api/sites/v1/tasks/:id/files/:fileId', ...guard, async (c) => {
  const id = taskIdOf(c)
  if (id === null) return c.json(noSuchTask, 404)
  const fileId = idParam(c, 'fileId')
  if (fileId === null) return c.json({ error: "No such file among the files of this task's model." }, 404)
  const { db, clock, config, log } = c.get('deps')
  const found = getTrainingModelFileForSite(db, c.get('site'), id, fileId, clock.now())
  if (!found.ok) return c.json({ error: found.error, ...(found.code ? { code: found.code } : {}) }, found.status)
  const dataDir = resolve(config.dataDir)
  const path = resolve(dataDir, found.file.storagePath)
  const inside = relative(dataDir, path)
  const info = inside === '' || inside.startsWith('..') || isAbsolute(inside) ? null : await stat(path).catch(() => null)
  if (!info?.isFile()) {
    log.error({ msg: 'stored file missing', file_id: found.file.id, task_id: id })
    return c.json({ error: 'This file is recorded, but it is missing from storage. Tell the Gatehouse administrators.' }, 500)
  }
  const body = Readable.toWeb(createReadStream(path)) as unknown as ReadableStream<Uint8Array>
  return c.body(body, 200, {
    'Content-Type': 'application/octet-stream',
    'Content-Length': String(info.size),
    'Content-Disposition': attachment(found.file.filename),
    'X-Content-SHA256': found.file.sha256,
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  })
})

api.all('/api/sites/v1/*', (c) => c.json({ error: 'No such endpoint.' }, 404))
