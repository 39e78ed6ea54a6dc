import { describe, expect, it } from 'vitest'
import { eq } from 'drizzle-orm'
import { createHash, randomBytes } from 'node:crypto'
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { BASE_URL, createTestEnv, createTestUser, signIn, T0, type TestClient, type TestEnv, type TestUser } from '../test/helpers.ts'
import { auditEvents, files, models, roles, sites, tasks, trainingRuns, type Model, type Project } from '../db/schema.ts'
import { addProjectMember, approveProjectSites, createProject, saveCohortQuery, stageProject } from '../models/projects.ts'
import { getSiteSettings, saveSiteSettings } from '../models/settings.ts'

// Models, uploads, downloads and training over HTTP (SPEC §4, §7): who may do what (404 for a
// project one cannot read, 403 naming the permission, 409 for state), 422 per field, the bytes
// stored and served, the 413 upload limit, and the tasks training creates.

type Who = 'admin' | 'owner' | 'member' | 'colleague' | 'observer' | 'outsider' | 'limited'

type Env = TestEnv & {
  users: Record<Who, TestUser>
  clients: Record<Who, TestClient>
  project: Project
  unapproved: Project
  site: Record<'leeds' | 'york' | 'hull' | 'bristol', number>
}

function insertSite(t: TestEnv, name: string, code: string): number {
  return t.db.insert(sites).values({ name, code, apiKeyHash: `hash-${code}`, apiKeyPrefix: 'gh_site_xx', createdAt: T0, keyRotatedAt: T0 }).returning().get().id
}

function roleId(t: TestEnv, name: string): number {
  return t.db.select().from(roles).where(eq(roles.name, name)).get()!.id
}

/**
 * An approved project of `owner` (Leeds and York approved, Hull staged but not approved, Bristol
 * never staged) with members: `member` and `colleague` (contributor), `observer` (read-only),
 * `limited` (a custom role with project.view only); `outsider` is a researcher with no relation.
 */
async function setup(env: Record<string, string> = {}): Promise<Env> {
  const t = createTestEnv(env)
  const users = {
    admin: await createTestUser(t, { role: 'admin', email: 'admin@example.org' }),
    owner: await createTestUser(t, { role: 'researcher', email: 'owner@example.org' }),
    member: await createTestUser(t, { role: 'researcher', email: 'member@example.org' }),
    colleague: await createTestUser(t, { role: 'researcher', email: 'colleague@example.org' }),
    observer: await createTestUser(t, { role: 'observer', email: 'observer@example.org' }),
    outsider: await createTestUser(t, { role: 'researcher', email: 'outsider@example.org' }),
    limited: await createTestUser(t, { role: 'researcher', email: 'limited@example.org' }),
  }
  const ctx = (u: TestUser) => ({ actor: { id: u.user.id, email: u.user.email }, now: t.clock.now(), ip: '203.0.113.1' })
  const site = { leeds: insertSite(t, 'Leeds', 'LTH'), york: insertSite(t, 'York', 'YORK'), hull: insertSite(t, 'Hull', 'HULL'), bristol: insertSite(t, 'Bristol', 'BRIS') }

  const project = createProject(t.db, { name: 'Lung nodules', description: '', groupId: null }, ctx(users.owner))
  const saved = saveCohortQuery(t.db, project, 'SELECT id FROM patients', ctx(users.owner))
  if (!saved.ok) throw new Error('cohort query not saved')
  t.db.update(tasks).set({ status: 'done', resultCount: 42 }).where(eq(tasks.cohortQueryId, saved.value.id)).run()
  if (!stageProject(t.db, project, [site.leeds, site.york, site.hull], ctx(users.owner)).ok) throw new Error('not staged')
  if (!approveProjectSites(t.db, { ...project, status: 'staged' }, [site.leeds, site.york], ctx(users.admin)).ok) throw new Error('not approved')
  const limitedRole = t.db.insert(roles).values({ name: 'looker', scope: 'project', permissions: ['project.view'], createdAt: T0, updatedAt: T0 }).returning().get()
  const contributor = { id: roleId(t, 'contributor'), name: 'contributor' }
  addProjectMember(t.db, project, users.member.user, contributor, ctx(users.owner))
  addProjectMember(t.db, project, users.colleague.user, contributor, ctx(users.owner))
  addProjectMember(t.db, project, users.observer.user, { id: roleId(t, 'read-only'), name: 'read-only' }, ctx(users.owner))
  addProjectMember(t.db, project, users.limited.user, limitedRole, ctx(users.owner))
  const unapproved = createProject(t.db, { name: 'Not yet', description: '', groupId: null }, ctx(users.owner))
  addProjectMember(t.db, unapproved, users.observer.user, { id: roleId(t, 'read-only'), name: 'read-only' }, ctx(users.owner))

  const clients = {} as Record<Who, TestClient>
  for (const who of Object.keys(users) as Who[]) clients[who] = await signIn(t, users[who])
  return Object.assign(t, { users, clients, project: { ...project, status: 'approved' as const }, unapproved, site })
}

const modelsOf = (t: Env) => t.db.select().from(models).all()
const modelById = (t: Env, id: number): Model => t.db.select().from(models).where(eq(models.id, id)).get()!

async function createModelAs(t: Env, who: Who, name = `Model of ${who}`): Promise<Model> {
  const res = await t.clients[who].post(`/projects/${t.project.id}/models`, { name, description: 'A baseline' })
  if (res.status !== 303) throw new Error(`create answered ${res.status}`)
  return modelsOf(t).find((m) => m.name === name)!
}

function upload(client: TestClient, path: string, content: Uint8Array, filename = 'weights.pt'): Promise<Response> {
  const form = new FormData()
  form.append('note', 'ignored')
  form.append('file', new Blob([content]), filename)
  return client.request(path, { method: 'POST', body: form, headers: { Origin: BASE_URL } })
}

/** A multipart body built by hand, sent with its Content-Length. */
function uploadWithLength(client: TestClient, path: string, content: Uint8Array, filename = 'weights.pt'): Promise<Response> {
  const boundary = '----gatehouse-test-boundary'
  const body = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\nContent-Type: application/octet-stream\r\n\r\n`),
    content,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ])
  return client.request(path, { method: 'POST', body, headers: { Origin: BASE_URL, 'Content-Type': `multipart/form-data; boundary=${boundary}`, 'Content-Length': String(body.length) } })
}

/** Every file stored under DATA_DIR/files (relative paths). */
function storedFiles(t: Env): string[] {
  const root = join(t.config.dataDir, 'files')
  try {
    return readdirSync(root, { recursive: true, withFileTypes: true })
      .filter((d) => d.isFile())
      .map((d) => join(d.parentPath, d.name).slice(root.length + 1))
  } catch {
    return []
  }
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex')
const base = (t: Env, model: Model) => `/projects/${t.project.id}/models/${model.id}`

async function uploadOk(t: Env, who: Who, model: Model, content: Uint8Array = randomBytes(1000), filename = 'weights.pt') {
  const res = await upload(t.clients[who], `${base(t, model)}/files`, content, filename)
  if (res.status !== 303) throw new Error(`upload answered ${res.status}: ${(await res.text()).slice(0, 300)}`)
  return t.db.select().from(files).where(eq(files.modelId, model.id)).all().at(-1)!
}

describe('creating models', () => {
  it('creates a pending model owned by the member, allowed at the approved sites, audited', async () => {
    const t = await setup()
    const res = await t.clients.member.post(`/projects/${t.project.id}/models`, { name: '  ResNet  ', description: 'Baseline' })
    expect(res.status).toBe(303)
    const [model] = modelsOf(t)
    expect(res.headers.get('Location')).toBe(`/projects/${t.project.id}#model-${model!.id}`)
    expect(model).toMatchObject({ name: 'ResNet', description: 'Baseline', ownerId: t.users.member.user.id, status: 'pending', projectId: t.project.id })
    expect([...model!.allowedSiteIds].sort()).toEqual([t.site.leeds, t.site.york].sort())
    expect(t.db.select().from(auditEvents).where(eq(auditEvents.event, 'model.created')).all()).toHaveLength(1)

    const page = await (await t.clients.member.get(`/projects/${t.project.id}`)).text()
    expect(page).toContain('ResNet')
    expect(page).toContain('member@example.org')
    expect(page).toMatch(/Leeds, York|York, Leeds/)
  })

  it('refuses a model before the project is approved with 409', async () => {
    const t = await setup()
    const res = await t.clients.owner.post(`/projects/${t.unapproved.id}/models`, { name: 'Too soon' })
    expect(res.status).toBe(409)
    expect(await res.text()).toContain('models need an approved project')
    expect(modelsOf(t)).toHaveLength(0)
    // and the page says so instead of offering the form
    const page = await (await t.clients.owner.get(`/projects/${t.unapproved.id}`)).text()
    expect(page).toContain('Models can be created once the project is approved')
    expect(page).not.toContain('Create model')
  })

  it('answers 422 per field, keeping the values: name required and at most 75, description at most 250', async () => {
    const t = await setup()
    const long = 'n'.repeat(76)
    const res = await t.clients.member.post(`/projects/${t.project.id}/models`, { name: long, description: 'd'.repeat(251) })
    expect(res.status).toBe(422)
    const html = await res.text()
    expect(html).toContain('At most 75 characters.')
    expect(html).toContain('At most 250 characters.')
    expect(html).toContain(`value="${long}"`)
    const empty = await t.clients.member.post(`/projects/${t.project.id}/models`, { name: '' })
    expect(empty.status).toBe(422)
    expect(await empty.text()).toContain('Give the model a name.')
    expect(modelsOf(t)).toHaveLength(0)
    expect((await t.clients.member.post(`/projects/${t.project.id}/models`, { name: 'n'.repeat(75), description: 'd'.repeat(250) })).status).toBe(303)
  })
})

describe('editing models', () => {
  it('lets a member edit their own pending model, refuses someone else’s with 403 naming models.manage_any', async () => {
    const t = await setup()
    const own = await createModelAs(t, 'member')
    const theirs = await createModelAs(t, 'colleague')
    expect((await t.clients.member.post(base(t, own), { name: 'Renamed', description: '' })).status).toBe(303)
    expect(modelById(t, own.id).name).toBe('Renamed')
    expect(t.db.select().from(auditEvents).where(eq(auditEvents.event, 'model.updated')).all()).toHaveLength(1)

    const res = await t.clients.member.post(base(t, theirs), { name: 'Hijacked' })
    expect(res.status).toBe(403)
    expect(await res.text()).toContain('models.manage_any')
    expect(modelById(t, theirs.id).name).toBe('Model of colleague')
    // neither are their files nor their training
    const up = await upload(t.clients.member, `${base(t, theirs)}/files`, randomBytes(10))
    expect(up.status).toBe(403)
    expect(await up.text()).toContain('models.manage_any')
    const train = await t.clients.member.post(`${base(t, theirs)}/train`, { site_ids: String(t.site.leeds) })
    expect(train.status).toBe(403)
    expect(storedFiles(t)).toEqual([])
  })

  it('answers 422 for a too long name when editing', async () => {
    const t = await setup()
    const own = await createModelAs(t, 'member')
    const res = await t.clients.member.post(base(t, own), { name: 'x'.repeat(76) })
    expect(res.status).toBe(422)
    expect(await res.text()).toContain('At most 75 characters.')
  })

  it('refuses to edit a model that is no longer pending with 409', async () => {
    const t = await setup()
    const model = await createModelAs(t, 'member')
    await uploadOk(t, 'member', model)
    expect((await t.clients.member.post(`${base(t, model)}/train`, { site_ids: String(t.site.leeds) })).status).toBe(303)
    const res = await t.clients.member.post(base(t, model), { name: 'Too late' })
    expect(res.status).toBe(409)
    expect(await res.text()).toContain('The model is initiated')
    expect(modelById(t, model.id).name).toBe('Model of member')
    const late = await upload(t.clients.member, `${base(t, model)}/files`, randomBytes(10))
    expect(late.status).toBe(409)
    expect(storedFiles(t)).toHaveLength(1)
  })

  it('lets the project owner and an admin act on anyone’s model', async () => {
    const t = await setup()
    const model = await createModelAs(t, 'member')
    expect((await t.clients.owner.post(base(t, model), { name: 'By owner' })).status).toBe(303)
    expect((await t.clients.admin.post(base(t, model), { name: 'By admin' })).status).toBe(303)
    expect(modelById(t, model.id).name).toBe('By admin')
    const byOwner = await uploadOk(t, 'owner', model)
    const byAdmin = await uploadOk(t, 'admin', model)
    expect([byOwner.uploadedBy, byAdmin.uploadedBy]).toEqual([t.users.owner.user.id, t.users.admin.user.id])
    expect((await t.clients.admin.post(`${base(t, model)}/train`, { site_ids: String(t.site.york) })).status).toBe(303)
    expect(t.db.select().from(trainingRuns).get()).toMatchObject({ siteId: t.site.york, startedBy: t.users.admin.user.id })
  })
})

describe('who may not', () => {
  it('an observer member gets 403 naming the permission on every write', async () => {
    const t = await setup()
    const model = await createModelAs(t, 'member')
    await uploadOk(t, 'member', model)
    const c = t.clients.observer
    const attempts: [Promise<Response>, string][] = [
      [c.post(`/projects/${t.project.id}/models`, { name: 'Nope' }), 'models.create'],
      [c.post(`/projects/${t.unapproved.id}/models`, { name: 'Nope' }), 'models.create'],
      [c.post(base(t, model), { name: 'Nope' }), 'models.create'],
      [upload(c, `${base(t, model)}/files`, randomBytes(10)), 'models.upload'],
      [c.post(`${base(t, model)}/train`, { site_ids: String(t.site.leeds) }), 'models.train'],
    ]
    for (const [pending, permission] of attempts) {
      const res = await pending
      expect(res.status).toBe(403)
      expect(await res.text()).toContain(permission)
    }
    expect(modelsOf(t)).toHaveLength(1)
    expect(modelById(t, model.id)).toMatchObject({ name: 'Model of member', status: 'pending' })
    expect(storedFiles(t)).toHaveLength(1)
    expect(t.db.select().from(trainingRuns).all()).toHaveLength(0)
    // and the page offers them no form
    const page = await (await c.get(`/projects/${t.project.id}`)).text()
    expect(page).toContain('Model of member')
    expect(page).not.toContain('Create model')
    expect(page).not.toContain('Upload file')
    expect(page).not.toContain('Start training')
    expect(page).not.toContain('Save model')
  })

  it('a non-member gets 404 on every route, and so does a model or file of another project', async () => {
    const t = await setup()
    const model = await createModelAs(t, 'member')
    const file = await uploadOk(t, 'member', model)
    const c = t.clients.outsider
    const answers = await Promise.all([
      c.post(`/projects/${t.project.id}/models`, { name: 'Nope' }),
      c.post(base(t, model), { name: 'Nope' }),
      upload(c, `${base(t, model)}/files`, randomBytes(10)),
      c.post(`${base(t, model)}/train`, { site_ids: String(t.site.leeds) }),
      c.get(`/projects/${t.project.id}/files/${file.id}`),
      c.get(base(t, model)),
    ])
    expect(answers.map((r) => r.status)).toEqual([404, 404, 404, 404, 404, 404])

    // the owner reads both projects, but a model or file is only found through its own
    const o = t.clients.owner
    const elsewhere = `/projects/${t.unapproved.id}`
    const crossed = await Promise.all([
      o.post(`${elsewhere}/models/${model.id}`, { name: 'Nope' }),
      upload(o, `${elsewhere}/models/${model.id}/files`, randomBytes(10)),
      o.post(`${elsewhere}/models/${model.id}/train`, { site_ids: String(t.site.leeds) }),
      o.get(`${elsewhere}/files/${file.id}`),
      o.get(`/projects/${t.project.id}/files/999999`),
      o.post(`/projects/${t.project.id}/models/999999`, { name: 'Nope' }),
    ])
    expect(crossed.map((r) => r.status)).toEqual([404, 404, 404, 404, 404, 404])
    expect(storedFiles(t)).toHaveLength(1)
  })

  it('pauses in deployment mode', async () => {
    const t = await setup()
    const model = await createModelAs(t, 'member')
    const file = await uploadOk(t, 'member', model)
    const admin = t.users.admin.user
    saveSiteSettings(t.db, { ...getSiteSettings(t.db), deploymentMode: true }, { at: t.clock.now(), actor: { id: admin.id, email: admin.email }, ip: '' })
    const answers = await Promise.all([
      t.clients.member.post(`/projects/${t.project.id}/models`, { name: 'Later' }),
      upload(t.clients.member, `${base(t, model)}/files`, randomBytes(10)),
      t.clients.member.post(`${base(t, model)}/train`, { site_ids: String(t.site.leeds) }),
      t.clients.member.get(`/projects/${t.project.id}/files/${file.id}`),
    ])
    expect(answers.map((r) => r.status)).toEqual([503, 503, 503, 503])
    expect(modelsOf(t)).toHaveLength(1)
    expect(storedFiles(t)).toHaveLength(1)
  })
})

describe('uploads and downloads', () => {
  it('stores the exact bytes under DATA_DIR/files/models/<id>/ with their SHA-256, and serves them back as an attachment', async () => {
    const t = await setup()
    const model = await createModelAs(t, 'member')
    const content = randomBytes(300_000)
    const row = await uploadOk(t, 'member', model, content, 'modèle ✓ (final).pt')
    expect(row).toMatchObject({ size: content.length, sha256: sha256(content), uploadedBy: t.users.member.user.id, filename: 'modèle ✓ (final).pt' })
    expect(row.storagePath).toMatch(new RegExp(`^files/models/${model.id}/[0-9a-f]{32}$`))
    expect(readFileSync(join(t.config.dataDir, row.storagePath)).equals(content)).toBe(true)
    const audit = t.db.select().from(auditEvents).where(eq(auditEvents.event, 'model.file_uploaded')).get()!
    expect(JSON.parse(audit.details)).toMatchObject({ file_id: row.id, sha256: row.sha256, size: content.length })

    // every reader may download a model file: observer and a project.view-only role included
    for (const who of ['member', 'observer', 'limited', 'admin'] as const) {
      const res = await t.clients[who].get(`/projects/${t.project.id}/files/${row.id}`)
      expect(res.status).toBe(200)
      expect(res.headers.get('Content-Type')).toBe('application/octet-stream')
      expect(res.headers.get('Content-Length')).toBe(String(content.length))
      expect(res.headers.get('Content-Disposition')).toBe(`attachment; filename="mod_le _ (final).pt"; filename*=UTF-8''mod%C3%A8le%20%E2%9C%93%20%28final%29.pt`)
      expect(Buffer.from(await res.arrayBuffer()).equals(content)).toBe(true)
    }
    // the page lists it with a download link and shows the limit on the form
    const page = await (await t.clients.member.get(`/projects/${t.project.id}`)).text()
    expect(page).toContain(`href="/projects/${t.project.id}/files/${row.id}"`)
    expect(page).toContain(row.sha256)
    expect(page).toContain('At most 100 MB per file')
  })

  it('also takes a body with Content-Length, keeps only the last segment of a path as the name, and ignores other fields', async () => {
    const t = await setup()
    const model = await createModelAs(t, 'member')
    const content = randomBytes(5000)
    const res = await uploadWithLength(t.clients.member, `${base(t, model)}/files`, content, '..\\..\\etc/passwd')
    expect(res.status).toBe(303)
    const row = t.db.select().from(files).get()!
    expect(row).toMatchObject({ filename: 'passwd', sha256: sha256(content) })
  })

  it('refuses a file over UPLOAD_MAX_MB with 413 and leaves nothing behind, streamed or declared', async () => {
    const t = await setup({ UPLOAD_MAX_MB: '1' })
    const model = await createModelAs(t, 'member')
    const tooBig = randomBytes(1.5 * 1024 * 1024)
    const streamed = await upload(t.clients.member, `${base(t, model)}/files`, tooBig)
    expect(streamed.status).toBe(413)
    expect(await streamed.text()).toContain('1 MB')
    const declared = await uploadWithLength(t.clients.member, `${base(t, model)}/files`, tooBig)
    expect(declared.status).toBe(413)
    const oneOver = await upload(t.clients.member, `${base(t, model)}/files`, randomBytes(1024 * 1024 + 1))
    expect(oneOver.status).toBe(413)
    expect(storedFiles(t)).toEqual([])
    expect(t.db.select().from(files).all()).toHaveLength(0)
    expect(t.db.select().from(auditEvents).where(eq(auditEvents.event, 'model.file_uploaded')).all()).toHaveLength(0)

    // exactly the limit is accepted, and the page says what the limit is
    const exact = randomBytes(1024 * 1024)
    const row = await uploadOk(t, 'member', model, exact)
    expect(row.sha256).toBe(sha256(exact))
    expect(storedFiles(t)).toHaveLength(1)
    expect(await (await t.clients.member.get(`/projects/${t.project.id}`)).text()).toContain('At most 1 MB per file')
  })

  it('answers 422 on the file field for no file, an empty file, or a body that is not multipart, leaving nothing behind', async () => {
    const t = await setup()
    const model = await createModelAs(t, 'member')
    const none = await upload(t.clients.member, `${base(t, model)}/files`, new Uint8Array(0), '')
    expect(none.status).toBe(422)
    expect(await none.text()).toContain('Choose a file to upload: it was missing or empty.')
    const empty = await upload(t.clients.member, `${base(t, model)}/files`, new Uint8Array(0), 'empty.pt')
    expect(empty.status).toBe(422)
    expect(await empty.text()).toContain('Choose a file to upload: it was missing or empty.')
    const plain = await t.clients.member.post(`${base(t, model)}/files`, { file: 'not a file' })
    expect(plain.status).toBe(422)
    expect(await plain.text()).toContain('multipart/form-data')
    expect(storedFiles(t)).toEqual([])
    expect(t.db.select().from(files).all()).toHaveLength(0)
  })

  it('other routes keep the 64 KB form limit', async () => {
    const t = await setup()
    const res = await t.clients.member.post(`/projects/${t.project.id}/models`, { name: 'x', description: 'y'.repeat(70 * 1024) })
    expect(res.status).toBe(413)
  })

  it('serves result files only with results.download, and lists them only then', async () => {
    const t = await setup()
    const model = await createModelAs(t, 'member')
    await uploadOk(t, 'member', model)
    await t.clients.member.post(`${base(t, model)}/train`, { site_ids: String(t.site.leeds) })
    const run = t.db.select().from(trainingRuns).get()!
    t.db.update(trainingRuns).set({ status: 'results uploaded', metrics: { auc: 0.912, note: 'converged' } }).run()
    const content = Buffer.from('id,prediction\n1,0.8\n')
    const storagePath = join('files', 'runs', String(run.id), 'result')
    mkdirSync(dirname(join(t.config.dataDir, storagePath)), { recursive: true })
    writeFileSync(join(t.config.dataDir, storagePath), content)
    const result = t.db.insert(files).values({ trainingRunId: run.id, siteId: t.site.leeds, filename: 'predictions.csv', size: content.length, sha256: sha256(content), storagePath, createdAt: T0 }).returning().get()

    const ok = await t.clients.observer.get(`/projects/${t.project.id}/files/${result.id}`)
    expect(ok.status).toBe(200)
    expect(Buffer.from(await ok.arrayBuffer()).equals(content)).toBe(true)
    const page = await (await t.clients.observer.get(`/projects/${t.project.id}`)).text()
    expect(page).toContain('predictions.csv')
    expect(page).toContain('auc')
    expect(page).toContain('converged')

    const refused = await t.clients.limited.get(`/projects/${t.project.id}/files/${result.id}`)
    expect(refused.status).toBe(403)
    expect(await refused.text()).toContain('results.download')
    const limitedPage = await (await t.clients.limited.get(`/projects/${t.project.id}`)).text()
    expect(limitedPage).not.toContain('predictions.csv')
    expect(limitedPage).not.toContain('converged')
    expect(limitedPage).toContain('results uploaded')

    expect((await t.clients.outsider.get(`/projects/${t.project.id}/files/${result.id}`)).status).toBe(404)
  })
})

describe('training', () => {
  it('creates one training run and one pending task per chosen site; the model becomes initiated', async () => {
    const t = await setup()
    const model = await createModelAs(t, 'member')
    await uploadOk(t, 'member', model)
    const res = await t.clients.member.post(`${base(t, model)}/train`, { site_ids: [String(t.site.leeds), String(t.site.york)] })
    expect(res.status).toBe(303)
    const runs = t.db.select().from(trainingRuns).all()
    expect(runs.map((r) => r.siteId).sort()).toEqual([t.site.leeds, t.site.york].sort())
    const training = t.db.select().from(tasks).where(eq(tasks.kind, 'training')).all()
    expect(training).toHaveLength(2)
    expect(training.map((x) => [x.siteId, x.status, x.projectId]).sort()).toEqual(runs.map((r) => [r.siteId, 'pending', t.project.id]).sort())
    expect(new Set(training.map((x) => x.trainingRunId))).toEqual(new Set(runs.map((r) => r.id)))
    expect(modelById(t, model.id).status).toBe('initiated')
    expect(t.db.select().from(auditEvents).where(eq(auditEvents.event, 'model.training_started')).all()).toHaveLength(1)

    const page = await (await t.clients.member.get(`/projects/${t.project.id}`)).text()
    expect(page).toContain('Training is under way')
    expect(page).not.toContain('Start training')
    expect(page).not.toContain('Upload file')
  })

  it('refuses the whole request with 422 naming a site outside the model’s allowed sites', async () => {
    const t = await setup()
    const model = await createModelAs(t, 'member')
    await uploadOk(t, 'member', model)
    const res = await t.clients.member.post(`${base(t, model)}/train`, { site_ids: [String(t.site.leeds), String(t.site.hull), String(t.site.bristol)] })
    expect(res.status).toBe(422)
    const html = await res.text()
    expect(html).toMatch(/allowed sites[^<]*Hull, Bristol/)
    expect(t.db.select().from(trainingRuns).all()).toHaveLength(0)
    expect(t.db.select().from(tasks).where(eq(tasks.kind, 'training')).all()).toHaveLength(0)
    expect(modelById(t, model.id).status).toBe('pending')
    // the form comes back with the choices kept
    expect(html).toContain(`value="${t.site.leeds}" checked`)

    const none = await t.clients.member.post(`${base(t, model)}/train`, {})
    expect(none.status).toBe(422)
    expect(await none.text()).toContain('Choose at least one site.')
    const junk = await t.clients.member.post(`${base(t, model)}/train`, { site_ids: 'leeds' })
    expect(junk.status).toBe(422)
  })

  it('needs an uploaded file first, and says so on the page', async () => {
    const t = await setup()
    const model = await createModelAs(t, 'member')
    const res = await t.clients.member.post(`${base(t, model)}/train`, { site_ids: String(t.site.leeds) })
    expect(res.status).toBe(422)
    expect(await res.text()).toContain('Upload the model’s files first')
    expect(t.db.select().from(trainingRuns).all()).toHaveLength(0)
  })

  it('offers only the model’s allowed sites in the form', async () => {
    const t = await setup()
    const model = await createModelAs(t, 'member')
    await uploadOk(t, 'member', model)
    const page = await (await t.clients.member.get(`/projects/${t.project.id}`)).text()
    const form = page.slice(page.indexOf(`action="${base(t, model)}/train"`))
    expect(form).toContain(`value="${t.site.leeds}"`)
    expect(form).toContain(`value="${t.site.york}"`)
    expect(form.slice(0, form.indexOf('</form>'))).not.toContain('Hull')
  })
})
