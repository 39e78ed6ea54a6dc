import { describe, expect, it } from 'vitest'
import { createHash, randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { and, eq } from 'drizzle-orm'
import { createTestEnv, createTestUser, T0, type TestEnv } from '../test/helpers.ts'
import { siteDecisions, files, models, sites, taskEvents, tasks, trainingRuns, type Site, type StoredFile, type Task } from '../db/schema.ts'
import { hashToken } from '../auth/tokens.ts'
import { createSite, rotateSiteKey } from '../models/sites.ts'
import { createProject, deleteProject, getCohortCounts, saveCohortQuery } from '../models/projects.ts'
import { saveSiteSettings, getSiteSettings } from '../models/settings.ts'
import { CLAIM_LEASE_MS } from '../models/tasks.ts'

const V1 = '/api/sites/v1'

async function setup(env: Record<string, string> = {}) {
  const t = createTestEnv(env)
  const admin = await createTestUser(t, { email: 'admin@example.org', role: 'admin' })
  const ctx = () => ({ actor: { id: admin.user.id, email: admin.user.email }, now: t.clock.now(), ip: '203.0.113.1' })
  const leeds = createSite(t.db, { name: 'Leeds', code: 'LTH', contactEmail: '' }, ctx())
  const york = createSite(t.db, { name: 'York', code: 'YORK', contactEmail: '' }, ctx())
  const project = createProject(t.db, { name: 'Lung nodules', description: '', groupId: null }, ctx())
  const saved = saveCohortQuery(t.db, project, 'SELECT id FROM patients', ctx())
  if (!saved.ok) throw new Error('cohort query not saved')
  const taskOf = (s: { site: Site }) => t.db.select().from(tasks).where(eq(tasks.siteId, s.site.id)).get()!
  return { t, admin, ctx, leeds, york, project, query: saved.value, taskOf }
}

/** A site's HTTP client: JSON in and out, the bearer key, no Origin (the API needs none). */
function siteClient(t: TestEnv, key: string | null) {
  const send = (method: string, path: string, body?: RequestInit['body'], headers: Record<string, string> = {}) =>
    t.app.request(`${V1}${path}`, { method, body, headers: { ...(key === null ? {} : { Authorization: `Bearer ${key}` }), ...headers } })
  return {
    get: (path: string) => send('GET', path),
    post: (path: string, json?: unknown) => send('POST', path, json === undefined ? undefined : JSON.stringify(json), { 'Content-Type': 'application/json' }),
    postRaw: (path: string, body: string, contentType = 'application/json') => send('POST', path, body, { 'Content-Type': contentType }),
    upload: (path: string, form: FormData) => send('POST', path, form),
  }
}

function history(t: TestEnv, taskId: number): string[] {
  return t.db.select().from(taskEvents).where(eq(taskEvents.taskId, taskId)).orderBy(taskEvents.id).all().map((e) => e.event)
}

function insertTrainingTask(t: TestEnv, input: { projectId: number; siteId: number; ownerId: number }): Task & { trainingRunId: number } {
  const now = t.clock.now()
  const model = t.db.insert(models).values({ projectId: input.projectId, ownerId: input.ownerId, name: 'ResNet', status: 'initiated', allowedSiteIds: [input.siteId], createdAt: now, updatedAt: now }).returning().get()
  const run = t.db.insert(trainingRuns).values({ modelId: model.id, siteId: input.siteId, startedBy: input.ownerId, createdAt: now, updatedAt: now }).returning().get()
  const task = t.db.insert(tasks).values({ siteId: input.siteId, kind: 'training', projectId: input.projectId, trainingRunId: run.id, createdAt: now }).returning().get()
  // Training is handed out only while the site's approval of the project is current (SPEC §4.1).
  t.db.insert(siteDecisions).values({ projectId: input.projectId, siteId: input.siteId, decision: 'approve', decidedBy: input.ownerId, decidedAt: now }).run()
  t.db.insert(taskEvents).values({ taskId: task.id, at: now, event: 'created' }).run()
  return task as Task & { trainingRunId: number }
}

describe('authentication', () => {
  it('answers 401 JSON with WWW-Authenticate on every site API route without a valid key', async () => {
    const { t, leeds, taskOf } = await setup()
    const routes = [...new Map(t.app.routes.filter((r) => r.path.startsWith(V1) && r.method !== 'ALL').map((r) => [`${r.method} ${r.path}`, r])).values()]
    expect(routes.map((r) => `${r.method} ${r.path}`).sort()).toEqual([
      `GET ${V1}/tasks`,
      `GET ${V1}/tasks/:id/files/:fileId`,
      `POST ${V1}/tasks/:id/claim`,
      `POST ${V1}/tasks/:id/files`,
      `POST ${V1}/tasks/:id/result`,
    ])
    const id = String(taskOf(leeds).id)
    for (const route of routes) {
      const path = route.path.replace(':id', id).replace(':fileId', '1')
      for (const authorization of [undefined, 'Basic Zm9vOmJhcg==', 'Bearer', 'Bearer gh_site_wrong', `Bearer ${leeds.apiKey}x`, leeds.apiKey]) {
        const res = await t.app.request(path, { method: route.method, headers: authorization ? { Authorization: authorization } : {} })
        expect(res.status, `${route.method} ${route.path} with ${authorization}`).toBe(401)
        expect(res.headers.get('WWW-Authenticate')).toMatch(/^Bearer realm="gatehouse-site-api"/)
        expect(res.headers.get('Content-Type')).toContain('application/json')
        expect(await res.json()).toEqual({ error: expect.any(String) })
      }
    }
    expect(taskOf(leeds).status).toBe('pending')
  })

  it('stores the key only as a hash; a rotated key stops working at once and the new one works', async () => {
    const { t, leeds, ctx } = await setup()
    const row = t.db.$client.prepare('select * from sites where id = ?').get(leeds.site.id) as Record<string, unknown>
    expect(JSON.stringify(row)).not.toContain(leeds.apiKey)
    expect(JSON.stringify(row)).not.toContain(leeds.apiKey.slice(14))
    expect(row.api_key_hash).toBe(hashToken(leeds.apiKey))

    expect((await siteClient(t, leeds.apiKey).get('/tasks')).status).toBe(200)
    const rotated = rotateSiteKey(t.db, leeds.site, ctx())
    expect((await siteClient(t, leeds.apiKey).get('/tasks')).status).toBe(401)
    expect((await siteClient(t, rotated.apiKey).get('/tasks')).status).toBe(200)
  })
})

describe('GET /api/sites/v1/tasks', () => {
  it("lists the site's own pending tasks with their project and cohort query", async () => {
    const { t, leeds, york, project, query, taskOf } = await setup()
    const res = await siteClient(t, leeds.apiKey).get('/tasks')
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({
      tasks: [{ id: taskOf(leeds).id, kind: 'cohort_query', project: { id: project.id, name: 'Lung nodules' }, created_at: new Date(T0).toISOString(), cohort_query: { version: query.version, sql: 'SELECT id FROM patients' } }],
    })
    const yorks = (await (await siteClient(t, york.apiKey).get('/tasks')).json()) as { tasks: { id: number }[] }
    expect(yorks.tasks.map((x) => x.id)).toEqual([taskOf(york).id])
  })

  it('describes a training task with its run and model', async () => {
    const { t, leeds, project, admin } = await setup()
    const task = insertTrainingTask(t, { projectId: project.id, siteId: leeds.site.id, ownerId: admin.user.id })
    const body = (await (await siteClient(t, leeds.apiKey).get('/tasks')).json()) as { tasks: Record<string, unknown>[] }
    const listed = body.tasks.find((x) => x.id === task.id)!
    expect(listed).toMatchObject({ kind: 'training', training: { run_id: task.trainingRunId, model: { name: 'ResNet' } } })
    expect(listed).not.toHaveProperty('cohort_query')
  })
})

describe('POST /api/sites/v1/tasks/:id/claim', () => {
  it('claims a pending task once (409 the second time) and gives the lease end', async () => {
    const { t, leeds, taskOf } = await setup()
    const api = siteClient(t, leeds.apiKey)
    const id = taskOf(leeds).id
    const res = await api.post(`/tasks/${id}/claim`)
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ id, kind: 'cohort_query', claim_expires_at: new Date(T0 + CLAIM_LEASE_MS).toISOString() })
    const again = await api.post(`/tasks/${id}/claim`)
    expect(again.status).toBe(409)
    expect(await again.json()).toEqual({ error: expect.any(String) })
    expect(taskOf(leeds).attempts).toBe(1)
  })

  it("answers 404 for another site's task, an unknown task and a malformed id", async () => {
    const { t, leeds, york, taskOf } = await setup()
    const api = siteClient(t, leeds.apiKey)
    for (const path of [`/tasks/${taskOf(york).id}/claim`, '/tasks/999999/claim', '/tasks/abc/claim', '/tasks/0/claim']) {
      const res = await api.post(path)
      expect(res.status, path).toBe(404)
      expect(await res.json()).toEqual({ error: expect.any(String) })
    }
    expect(taskOf(york).status).toBe('pending')
  })

  it('an expired claim returns the task to pending; claimed again, its history loses nothing', async () => {
    const { t, leeds, query, taskOf } = await setup()
    const api = siteClient(t, leeds.apiKey)
    const id = taskOf(leeds).id
    expect((await api.post(`/tasks/${id}/claim`)).status).toBe(200)
    t.clock.advance(CLAIM_LEASE_MS + 1000)
    const listed = (await (await api.get('/tasks')).json()) as { tasks: { id: number }[] }
    expect(listed.tasks.map((x) => x.id)).toEqual([id])
    expect((await api.post(`/tasks/${id}/claim`)).status).toBe(200)
    expect(taskOf(leeds).attempts).toBe(2)
    expect((await api.post(`/tasks/${id}/result`, { count: 1234 })).status).toBe(200)
    expect(history(t, id)).toEqual(['created', 'claimed', 'claim_expired', 'claimed', 'result'])
    expect(getCohortCounts(t.db, query.id).find((c) => c.site.id === leeds.site.id)).toMatchObject({ state: 'counted', count: 1234, shown: '1,234' })
  })
})

describe('POST /api/sites/v1/tasks/:id/result', () => {
  it('records cohort counts that the project shows (small numbers suppressed) and errors', async () => {
    const { t, leeds, york, query, taskOf } = await setup()
    const leedsApi = siteClient(t, leeds.apiKey)
    const yorkApi = siteClient(t, york.apiKey)
    await leedsApi.post(`/tasks/${taskOf(leeds).id}/claim`)
    await yorkApi.post(`/tasks/${taskOf(york).id}/claim`)
    const res = await leedsApi.post(`/tasks/${taskOf(leeds).id}/result`, { count: 3 })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ id: taskOf(leeds).id, kind: 'cohort_query', status: 'done', claim_expires_at: null, completed_at: new Date(T0).toISOString() })
    expect((await yorkApi.post(`/tasks/${taskOf(york).id}/result`, { error: 'relation "patients" does not exist' })).status).toBe(200)
    const counts = getCohortCounts(t.db, query.id)
    expect(counts.find((c) => c.site.id === leeds.site.id)).toMatchObject({ state: 'counted', count: 3, shown: '< 5' })
    expect(counts.find((c) => c.site.id === york.site.id)).toMatchObject({ state: 'error', error: 'relation "patients" does not exist' })
  })

  it('answers 409 for a result without a claim, and for a second result', async () => {
    const { t, leeds, taskOf } = await setup()
    const api = siteClient(t, leeds.apiKey)
    const id = taskOf(leeds).id
    const early = await api.post(`/tasks/${id}/result`, { count: 10 })
    expect(early.status).toBe(409)
    expect(await early.json()).toEqual({ error: expect.stringContaining('claim') })
    expect(taskOf(leeds)).toMatchObject({ status: 'pending', resultCount: null })
    await api.post(`/tasks/${id}/claim`)
    expect((await api.post(`/tasks/${id}/result`, { count: 10 })).status).toBe(200)
    expect((await api.post(`/tasks/${id}/result`, { count: 11 })).status).toBe(409)
    expect(taskOf(leeds).resultCount).toBe(10)
  })

  it("answers 404 for another site's task", async () => {
    const { t, leeds, york, taskOf } = await setup()
    await siteClient(t, york.apiKey).post(`/tasks/${taskOf(york).id}/claim`)
    expect((await siteClient(t, leeds.apiKey).post(`/tasks/${taskOf(york).id}/result`, { count: 10 })).status).toBe(404)
    expect(taskOf(york).status).toBe('claimed')
  })

  it('answers 422 with the issues for malformed bodies, and changes nothing', async () => {
    const { t, leeds, taskOf } = await setup()
    const api = siteClient(t, leeds.apiKey)
    const id = taskOf(leeds).id
    await api.post(`/tasks/${id}/claim`)
    const bodies: [string, string][] = [
      ['not json', '{"count": '],
      ['empty', ''],
      ['a string', '"12"'],
      ['an array', '[12]'],
      ['null', 'null'],
      ['missing count', '{}'],
      ['count as a string', '{"count": "12"}'],
      ['negative count', '{"count": -1}'],
      ['fractional count', '{"count": 2.5}'],
      ['unknown field', '{"count": 2, "extra": true}'],
      ['count and error', '{"count": 2, "error": "x"}'],
      ['empty error', '{"error": ""}'],
      ['error not a string', '{"error": 5}'],
    ]
    for (const [label, body] of bodies) {
      const res = await api.postRaw(`/tasks/${id}/result`, body)
      expect(res.status, label).toBe(422)
      const json = (await res.json()) as { error: string; issues: { path: string; message: string }[] }
      expect(json.error, label).toEqual(expect.any(String))
      expect(json.issues.length, label).toBeGreaterThan(0)
    }
    const negative = (await (await api.post(`/tasks/${id}/result`, { count: -1 })).json()) as { issues: { path: string }[] }
    expect(negative.issues).toEqual([expect.objectContaining({ path: 'count' })])
    expect(taskOf(leeds)).toMatchObject({ status: 'claimed', resultCount: null })
    expect(history(t, id)).toEqual(['created', 'claimed'])
  })

  it('validates training reports (status and metrics), and records them on the run and model', async () => {
    const { t, leeds, project, admin } = await setup()
    const task = insertTrainingTask(t, { projectId: project.id, siteId: leeds.site.id, ownerId: admin.user.id })
    const api = siteClient(t, leeds.apiKey)
    await api.post(`/tasks/${task.id}/claim`)
    expect((await api.post(`/tasks/${task.id}/result`, { status: 'done' })).status).toBe(422)
    expect((await api.post(`/tasks/${task.id}/result`, { status: 'running', metrics: { auc: [0.9] } })).status).toBe(422)
    const running = await api.post(`/tasks/${task.id}/result`, { status: 'running', metrics: { epoch: 1, phase: 'warm-up' } })
    expect(running.status).toBe(200)
    expect(await running.json()).toMatchObject({ status: 'claimed', claim_expires_at: new Date(t.clock.now() + CLAIM_LEASE_MS).toISOString(), completed_at: null })
    expect((await api.post(`/tasks/${task.id}/result`, { status: 'results uploaded', metrics: { auc: 0.91 } })).status).toBe(200)
    const run = t.db.select().from(trainingRuns).where(eq(trainingRuns.id, task.trainingRunId)).get()!
    expect(run).toMatchObject({ status: 'results uploaded', metrics: { epoch: 1, phase: 'warm-up', auc: 0.91 } })
    expect(t.db.select().from(models).where(eq(models.id, run.modelId)).get()!.status).toBe('results uploaded')
  })

  it('answers 413 JSON to a body over 64 KB', async () => {
    const { t, leeds, taskOf } = await setup()
    const api = siteClient(t, leeds.apiKey)
    const id = taskOf(leeds).id
    await api.post(`/tasks/${id}/claim`)
    const res = await api.postRaw(`/tasks/${id}/result`, JSON.stringify({ error: 'x'.repeat(65 * 1024) }))
    expect(res.status).toBe(413)
    expect(await res.json()).toEqual({ error: expect.stringContaining('64 KB') })
    expect(taskOf(leeds).status).toBe('claimed')
  })
})

describe('POST /api/sites/v1/tasks/:id/files', () => {
  async function trainingSetup(env: Record<string, string> = {}) {
    const s = await setup(env)
    const task = insertTrainingTask(s.t, { projectId: s.project.id, siteId: s.leeds.site.id, ownerId: s.admin.user.id })
    return { ...s, task, api: siteClient(s.t, s.leeds.apiKey) }
  }

  function form(content: Buffer, filename = 'weights.pt'): FormData {
    const data = new FormData()
    data.append('note', 'final epoch')
    data.append('file', new Blob([new Uint8Array(content)]), filename)
    return data
  }

  it('streams the file under DATA_DIR/files/runs/<run>/ and records size and SHA-256', async () => {
    const { t, leeds, task, api } = await trainingSetup()
    await api.post(`/tasks/${task.id}/claim`)
    const content = randomBytes(200_000) // well over the 64 KB form limit
    const res = await api.upload(`/tasks/${task.id}/files`, form(content))
    expect(res.status).toBe(201)
    const sha256 = createHash('sha256').update(content).digest('hex')
    const body = (await res.json()) as { file: Record<string, unknown> }
    expect(body.file).toMatchObject({ run_id: task.trainingRunId, filename: 'weights.pt', size: content.length, sha256 })
    const row = t.db.select().from(files).where(eq(files.id, body.file.id as number)).get()!
    expect(row).toMatchObject({ trainingRunId: task.trainingRunId, siteId: leeds.site.id, filename: 'weights.pt', size: content.length, sha256, modelId: null })
    expect(row.storagePath.startsWith(join('files', 'runs', String(task.trainingRunId)))).toBe(true)
    expect(readFileSync(join(t.config.dataDir, row.storagePath)).equals(content)).toBe(true)
    expect(history(t, task.id)).toEqual(['created', 'claimed', 'file_uploaded'])
  })

  it('answers 413 past UPLOAD_MAX_MB, records nothing and leaves no file', async () => {
    const { t, task, api } = await trainingSetup({ UPLOAD_MAX_MB: '1' })
    await api.post(`/tasks/${task.id}/claim`)
    const res = await api.upload(`/tasks/${task.id}/files`, form(randomBytes(1024 * 1024 + 1)))
    expect(res.status).toBe(413)
    expect(await res.json()).toEqual({ error: expect.stringContaining('1 MB') })
    expect(t.db.select().from(files).all()).toEqual([])
    const dir = join(t.config.dataDir, 'files', 'runs', String(task.trainingRunId))
    expect(existsSync(dir) ? readdirSync(dir) : []).toEqual([])
    const fits = await api.upload(`/tasks/${task.id}/files`, form(randomBytes(1024 * 1024)))
    expect(fits.status).toBe(201)
  })

  it('needs a claimed training task of this site, and a file', async () => {
    const { t, task, api, york, leeds, taskOf } = await trainingSetup()
    const small = () => form(Buffer.from('metrics,0.9\n'), 'metrics.csv')
    expect((await api.upload(`/tasks/${task.id}/files`, small())).status).toBe(409)
    expect((await siteClient(t, york.apiKey).upload(`/tasks/${task.id}/files`, small())).status).toBe(404)
    await api.post(`/tasks/${taskOf(leeds).id}/claim`)
    expect((await api.upload(`/tasks/${taskOf(leeds).id}/files`, small())).status).toBe(422)
    await api.post(`/tasks/${task.id}/claim`)
    const noFile = new FormData()
    noFile.append('note', 'forgot the file')
    const res = await api.upload(`/tasks/${task.id}/files`, noFile)
    expect(res.status).toBe(422)
    expect(await res.json()).toMatchObject({ error: expect.any(String), issues: [expect.objectContaining({ path: 'file' })] })
    expect((await api.postRaw(`/tasks/${task.id}/files`, '{}')).status).toBe(422)
    expect(t.db.select().from(files).all()).toEqual([])
  })
})

describe('deployment mode', () => {
  it('answers 503 JSON on every site API route while it is on, and nothing is claimed', async () => {
    const { t, admin, leeds, taskOf } = await setup()
    saveSiteSettings(t.db, { ...getSiteSettings(t.db), deploymentMode: true }, { at: t.clock.now(), actor: { id: admin.user.id, email: admin.user.email }, ip: '' })
    const api = siteClient(t, leeds.apiKey)
    const id = taskOf(leeds).id
    for (const res of [await api.get('/tasks'), await api.post(`/tasks/${id}/claim`), await api.post(`/tasks/${id}/result`, { count: 1 }), await api.upload(`/tasks/${id}/files`, new FormData())]) {
      expect(res.status).toBe(503)
      expect(res.headers.get('Retry-After')).toBe('300')
      expect(await res.json()).toMatchObject({ error: expect.stringContaining('deployment mode') })
    }
    expect(taskOf(leeds).status).toBe('pending')
    saveSiteSettings(t.db, { ...getSiteSettings(t.db), deploymentMode: false }, { at: t.clock.now(), actor: { id: admin.user.id, email: admin.user.email }, ip: '' })
    expect((await api.post(`/tasks/${id}/claim`)).status).toBe(200)
  })
})

describe('unknown endpoints', () => {
  it('answer 404 JSON under /api/sites/v1', async () => {
    const { t, leeds } = await setup()
    const res = await siteClient(t, leeds.apiKey).get('/nothing')
    expect(res.status).toBe(404)
    expect(await res.json()).toEqual({ error: expect.any(String) })
    expect(t.db.select().from(sites).all()).toHaveLength(2)
  })
})

describe('GET /api/sites/v1/tasks/:id/files/:fileId (the model files of a training task)', () => {
  const sha256Of = (content: Buffer) => createHash('sha256').update(content).digest('hex')

  /** A model file as an upload leaves it: bytes under DATA_DIR/files/models/<model>/, a row with size and SHA-256. */
  function addModelFile(t: TestEnv, modelId: number, filename: string, content: Buffer, uploadedBy: number): StoredFile {
    const storagePath = join('files', 'models', String(modelId), randomBytes(8).toString('hex'))
    mkdirSync(join(t.config.dataDir, 'files', 'models', String(modelId)), { recursive: true })
    writeFileSync(join(t.config.dataDir, storagePath), content)
    return t.db.insert(files).values({ modelId, filename, size: content.length, sha256: sha256Of(content), storagePath, uploadedBy, createdAt: t.clock.now() }).returning().get()
  }

  async function filesSetup() {
    const s = await setup()
    const task = insertTrainingTask(s.t, { projectId: s.project.id, siteId: s.leeds.site.id, ownerId: s.admin.user.id })
    const modelId = s.t.db.select().from(trainingRuns).where(eq(trainingRuns.id, task.trainingRunId)).get()!.modelId
    const weights = randomBytes(300_000) // several stream chunks
    const config = Buffer.from('{"layers": 50, "name": "Résumé"}\n')
    const weightsFile = addModelFile(s.t, modelId, 'weights.pt', weights, s.admin.user.id)
    const configFile = addModelFile(s.t, modelId, 'config "v2" – résumé.json', config, s.admin.user.id)
    return { ...s, task, modelId, weights, config, weightsFile, configFile, api: siteClient(s.t, s.leeds.apiKey) }
  }

  it('the task list and the claim name each file of the model: id, filename, size and SHA-256 (no storage path)', async () => {
    const { t, task, modelId, weights, config, weightsFile, configFile, api, york, project, admin } = await filesSetup()
    const expected = [
      { id: weightsFile.id, filename: 'weights.pt', size: weights.length, sha256: sha256Of(weights) },
      { id: configFile.id, filename: 'config "v2" – résumé.json', size: config.length, sha256: sha256Of(config) },
    ]
    const listed = (await (await api.get('/tasks')).json()) as { tasks: { id: number; training?: unknown }[] }
    expect(listed.tasks.find((x) => x.id === task.id)!.training).toEqual({ run_id: task.trainingRunId, model: { id: modelId, name: 'ResNet', files: expected } })
    const claim = await api.post(`/tasks/${task.id}/claim`)
    expect(claim.status).toBe(200)
    const claimed = (await claim.json()) as Record<string, unknown>
    expect(claimed.training).toEqual({ run_id: task.trainingRunId, model: { id: modelId, name: 'ResNet', files: expected } })
    expect(JSON.stringify(claimed)).not.toContain('files/models')

    // A model without files lists none; cohort tasks have no training part at all.
    const bare = insertTrainingTask(t, { projectId: project.id, siteId: york.site.id, ownerId: admin.user.id })
    const yorks = (await (await siteClient(t, york.apiKey).get('/tasks')).json()) as { tasks: Record<string, unknown>[] }
    expect(yorks.tasks.find((x) => x.id === bare.id)!.training).toMatchObject({ model: { files: [] } })
    expect(yorks.tasks.find((x) => x.kind === 'cohort_query')).not.toHaveProperty('training')
  })

  it('streams a file of the claimed task as an attachment with its SHA-256, and keeps the download in the history', async () => {
    const { t, task, weights, config, weightsFile, configFile, api } = await filesSetup()
    await api.post(`/tasks/${task.id}/claim`)
    const res = await api.get(`/tasks/${task.id}/files/${weightsFile.id}`)
    expect(res.status).toBe(200)
    expect(res.headers.get('Content-Type')).toBe('application/octet-stream')
    expect(res.headers.get('Content-Length')).toBe(String(weights.length))
    expect(res.headers.get('Content-Disposition')).toBe(`attachment; filename="weights.pt"; filename*=UTF-8''weights.pt`)
    expect(res.headers.get('X-Content-SHA256')).toBe(sha256Of(weights))
    expect(res.headers.get('Cache-Control')).toBe('no-store')
    expect(res.headers.get('Set-Cookie')).toBeNull()
    const received = Buffer.from(await res.arrayBuffer())
    expect(received.equals(weights)).toBe(true)
    expect(sha256Of(received)).toBe(res.headers.get('X-Content-SHA256'))

    // A name with quotes and non-ASCII characters: an ASCII fallback and the exact UTF-8 name.
    const second = await api.get(`/tasks/${task.id}/files/${configFile.id}`)
    expect(second.status).toBe(200)
    const disposition = second.headers.get('Content-Disposition')!
    expect(disposition).toMatch(/^attachment; filename="config _v2_ _ r_sum_\.json"; filename\*=UTF-8''/)
    expect(decodeURIComponent(disposition.split("UTF-8''")[1]!)).toBe('config "v2" – résumé.json')
    expect(Buffer.from(await second.arrayBuffer()).equals(config)).toBe(true)

    expect(history(t, task.id)).toEqual(['created', 'claimed', 'file_downloaded', 'file_downloaded'])
    const event = t.db.select().from(taskEvents).where(eq(taskEvents.taskId, task.id)).orderBy(taskEvents.id).all()[2]!
    expect(event.details).toEqual({ file_id: weightsFile.id, filename: 'weights.pt', sha256: sha256Of(weights) })
    // Downloading neither ends nor extends the claim.
    expect(t.db.select().from(tasks).where(eq(tasks.id, task.id)).get()).toMatchObject({ status: 'claimed', claimExpiresAt: T0 + CLAIM_LEASE_MS })
  })

  it("answers 404 for another site's task, unknown or malformed ids, a file of another model, a result file and a cohort task", async () => {
    const { t, task, weightsFile, api, york, leeds, project, admin } = await filesSetup()
    await api.post(`/tasks/${task.id}/claim`)
    // Another model of the same project, trained at York; and a result file of Leeds' run.
    const yorkTask = insertTrainingTask(t, { projectId: project.id, siteId: york.site.id, ownerId: admin.user.id })
    const yorkModelId = t.db.select().from(trainingRuns).where(eq(trainingRuns.id, yorkTask.trainingRunId)).get()!.modelId
    const otherModelFile = addModelFile(t, yorkModelId, 'other.pt', randomBytes(100), admin.user.id)
    await siteClient(t, york.apiKey).post(`/tasks/${yorkTask.id}/claim`)
    const upload = new FormData()
    upload.append('file', new Blob([new Uint8Array(Buffer.from('auc,0.9\n'))]), 'metrics.csv')
    const resultFile = ((await (await api.upload(`/tasks/${task.id}/files`, upload)).json()) as { file: { id: number } }).file
    const cohortTask = t.db.select().from(tasks).where(and(eq(tasks.siteId, leeds.site.id), eq(tasks.kind, 'cohort_query'))).get()!
    await api.post(`/tasks/${cohortTask.id}/claim`)

    const paths: [string, string][] = [
      ["York's task, with its own model's file", `/tasks/${yorkTask.id}/files/${otherModelFile.id}`],
      ["York's task, with Leeds' model file", `/tasks/${yorkTask.id}/files/${weightsFile.id}`],
      ['an unknown task', `/tasks/999999/files/${weightsFile.id}`],
      ['a malformed task id', `/tasks/abc/files/${weightsFile.id}`],
      ['an unknown file', `/tasks/${task.id}/files/999999`],
      ['a malformed file id', `/tasks/${task.id}/files/1e3`],
      ['a zero file id', `/tasks/${task.id}/files/0`],
      ['a file of another model', `/tasks/${task.id}/files/${otherModelFile.id}`],
      ['a result file of the run', `/tasks/${task.id}/files/${resultFile.id}`],
      ['a cohort task', `/tasks/${cohortTask.id}/files/${weightsFile.id}`],
    ]
    for (const [label, path] of paths) {
      const res = await api.get(path)
      expect(res.status, label).toBe(404)
      expect(res.headers.get('Content-Type'), label).toContain('application/json')
      expect(await res.json(), label).toEqual({ error: expect.any(String) })
    }
    expect(history(t, task.id)).not.toContain('file_downloaded')
    expect(history(t, yorkTask.id)).not.toContain('file_downloaded')

    // A deleted project's tasks are not handed out any more, nor are their files.
    deleteProject(t.db, project, { actor: { id: admin.user.id, email: admin.user.email }, now: t.clock.now(), ip: '' })
    expect((await api.get(`/tasks/${task.id}/files/${weightsFile.id}`)).status).toBe(404)
  })

  it('answers 409 unless the site holds the claim: before claiming, after the claim expired, after the task finished', async () => {
    const { t, task, weightsFile, api } = await filesSetup()
    const path = `/tasks/${task.id}/files/${weightsFile.id}`
    const pending = await api.get(path)
    expect(pending.status).toBe(409)
    expect(await pending.json()).toEqual({ error: 'The task is pending: claim it before downloading its files.' })

    await api.post(`/tasks/${task.id}/claim`)
    expect((await api.get(path)).status).toBe(200)
    t.clock.advance(CLAIM_LEASE_MS + 1000)
    const expired = await api.get(path)
    expect(expired.status).toBe(409)
    expect(await expired.json()).toEqual({ error: expect.stringContaining('expired') })
    expect(t.db.select().from(tasks).where(eq(tasks.id, task.id)).get()!.status).toBe('pending')

    await api.post(`/tasks/${task.id}/claim`)
    expect((await api.post(`/tasks/${task.id}/result`, { status: 'running', metrics: { epoch: 1 } })).status).toBe(200)
    expect((await api.get(path)).status).toBe(200)
    expect((await api.post(`/tasks/${task.id}/result`, { status: 'results uploaded' })).status).toBe(200)
    const finished = await api.get(path)
    expect(finished.status).toBe(409)
    expect(await finished.json()).toEqual({ error: expect.stringContaining('finished') })
    expect(history(t, task.id)).toEqual(['created', 'claimed', 'file_downloaded', 'claim_expired', 'claimed', 'result', 'file_downloaded', 'result'])
  })

  it('answers 500 JSON when the recorded file is missing from storage, and 503 in deployment mode', async () => {
    const { t, task, weightsFile, configFile, api, admin } = await filesSetup()
    await api.post(`/tasks/${task.id}/claim`)
    rmSync(join(t.config.dataDir, weightsFile.storagePath))
    const missing = await api.get(`/tasks/${task.id}/files/${weightsFile.id}`)
    expect(missing.status).toBe(500)
    expect(await missing.json()).toEqual({ error: expect.stringContaining('missing') })

    const actor = { id: admin.user.id, email: admin.user.email }
    saveSiteSettings(t.db, { ...getSiteSettings(t.db), deploymentMode: true }, { at: t.clock.now(), actor, ip: '' })
    const paused = await api.get(`/tasks/${task.id}/files/${configFile.id}`)
    expect(paused.status).toBe(503)
    expect(paused.headers.get('Retry-After')).toBe('300')
    saveSiteSettings(t.db, { ...getSiteSettings(t.db), deploymentMode: false }, { at: t.clock.now(), actor, ip: '' })
    expect((await api.get(`/tasks/${task.id}/files/${configFile.id}`)).status).toBe(200)
  })
})
