import { describe, expect, it } from 'vitest'
import { eq, isNull } from 'drizzle-orm'
import { BASE_URL, createTestEnv, createTestUser, signIn, type TestClient, type TestEnv } from '../../test/helpers.ts'
import { auditEvents, groups, projects } from '../../db/schema.ts'
import { getAdminGroup, getConsortiumStructure } from '../../models/consortium.ts'

const STRUCTURE = `admin_group: NACC
studies:
  - { id: adrc, kind: primary }
  - { id: dvcid, kind: affiliated }
data_types: [form, dicom]
centres:
  - { adcid: 1, name: "Alpha ADRC", studies: [adrc, dvcid] }
  - { adcid: 2, name: "Beta ADRC", studies: [adrc] }
`

/** NACC/metadata; Alpha: metadata + 5 for adrc + 5 for dvcid; Beta: metadata + 5 for adrc. */
const PROJECT_COUNT = 1 + 11 + 6

const EMPTY_STRUCTURE = { studies: {}, dataTypes: [], centres: {}, adminGroup: '' }

async function adminSession() {
  const t = createTestEnv()
  const admin = await createTestUser(t, { email: 'admin@example.org', role: 'admin' })
  const browser = await signIn(t, admin)
  return { t, admin, browser }
}

/** Sends the upload form as a browser does: multipart, the file in `structure`, the text box in `structure_yaml`. */
function upload(browser: TestClient, file: { text: string | Uint8Array; name?: string } | null, pasted = '', headers: Record<string, string> = {}) {
  const form = new FormData()
  form.append('structure', file ? new File([file.text], file.name ?? 'structure.yaml', { type: 'application/yaml' }) : new File([], '', { type: 'application/octet-stream' }))
  form.append('structure_yaml', pasted)
  return browser.request('/admin/consortium', { method: 'POST', body: form, headers: { Origin: BASE_URL, ...headers } })
}

const ENTITIES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'" }

/** The YAML the plan page's confirm form sends back. */
function hiddenStructure(html: string): string {
  const match = /<input type="hidden" name="structure_yaml" value="([^"]*)"/.exec(html)
  if (!match) throw new Error('no confirm form on the page')
  return match[1]!.replace(/&(amp|lt|gt|quot|#39);/g, (e) => ENTITIES[e]!)
}

function liveProjects(t: TestEnv) {
  return t.db.select().from(projects).where(isNull(projects.deletedAt)).orderBy(projects.id).all()
}

function structureEvents(t: TestEnv) {
  return t.db.select().from(auditEvents).where(eq(auditEvents.event, 'consortium.structure_applied')).all()
}

function expectNothingStored(t: TestEnv) {
  expect(getConsortiumStructure(t.db)).toEqual(EMPTY_STRUCTURE)
  expect(t.db.select().from(groups).all()).toEqual([])
  expect(t.db.select().from(projects).all()).toEqual([])
  expect(structureEvents(t)).toEqual([])
}

async function planAndApply(browser: TestClient, text = STRUCTURE) {
  const plan = await upload(browser, { text })
  expect(plan.status).toBe(200)
  return browser.post('/admin/consortium/apply', { structure_yaml: hiddenStructure(await plan.text()) })
}

describe('who may see and change the consortium structure', () => {
  it('sends anonymous visitors to sign-in, on the page and both POSTs', async () => {
    const t = createTestEnv()
    const client = t.client()
    for (const res of [await client.get('/admin/consortium'), await client.post('/admin/consortium', { structure_yaml: STRUCTURE }), await client.post('/admin/consortium/apply', { structure_yaml: STRUCTURE })]) {
      expect(res.status).toBe(303)
      expect(res.headers.get('Location')).toBe('/login')
    }
    expectNothingStored(t)
  })

  it('refuses a researcher with a 403 that names groups.manage, and applies nothing', async () => {
    const t = createTestEnv()
    const researcher = await signIn(t, await createTestUser(t, { role: 'researcher' }))
    for (const res of [await researcher.get('/admin/consortium'), await upload(researcher, { text: STRUCTURE }), await researcher.post('/admin/consortium/apply', { structure_yaml: STRUCTURE })]) {
      expect(res.status).toBe(403)
      expect(await res.text()).toContain('groups.manage')
    }
    expectNothingStored(t)
  })

  it('refuses a form from a foreign Origin with 403, on the plan and on apply', async () => {
    const { t, browser } = await adminSession()
    const plan = await upload(browser, { text: STRUCTURE }, '', { Origin: 'https://evil.example' })
    expect(plan.status).toBe(403)
    expect(await plan.text()).not.toContain('Apply the structure')
    const apply = await browser.post('/admin/consortium/apply', { structure_yaml: STRUCTURE }, { Origin: 'https://evil.example' })
    expect(apply.status).toBe(403)
    expectNothingStored(t)
  })
})

describe('GET /admin/consortium', () => {
  it('explains what a structure is and how to load one while there is none; linked from the admin home', async () => {
    const { browser } = await adminSession()
    const res = await browser.get('/admin/consortium')
    expect(res.status).toBe(200)
    const html = await res.text()
    expect(html).toContain('No structure yet')
    expect(html).toContain('npm run cli -- import-structure FILE')
    expect(html).not.toContain('id="centres"')
    expect(html).toContain('<form method="post" action="/admin/consortium" enctype="multipart/form-data"')
    expect(html).toContain('<label for="f-structure">')
    expect(html).toContain('<label for="f-structure_yaml">')
    expect(html).toMatch(/<input id="f-structure" name="structure" type="file"/)
    expect(html).toMatch(/<textarea id="f-structure_yaml" name="structure_yaml"/)
    expect(await (await browser.get('/admin')).text()).toContain('<a href="/admin/consortium">Consortium</a>')
  })

  it('shows the stored structure: studies, data types, the admin group and each centre with its labelled projects present of expected', async () => {
    const { t, browser } = await adminSession()
    expect((await planAndApply(browser)).status).toBe(303)
    const alpha = t.db.select().from(groups).where(eq(groups.centreId, 1)).get()!
    const beta = t.db.select().from(groups).where(eq(groups.centreId, 2)).get()!
    const nacc = getAdminGroup(t.db)!
    // One of Alpha's projects was deleted since.
    t.db.update(projects).set({ deletedAt: t.clock.now() }).where(eq(projects.name, 'Alpha ADRC/sandbox-dicom-dvcid')).run()

    const html = await (await browser.get('/admin/consortium')).text()
    expect(html).not.toContain('No structure yet')
    expect(html).toContain(`<a href="/admin/groups/${nacc.id}">NACC</a> — metadata project present`)
    expect(html).toContain('<code>adrc</code> primary')
    expect(html).toContain('<code>dvcid</code> affiliated (projects end in -dvcid)')
    expect(html).toContain('<code>dicom</code>, <code>form</code>')
    const rows = html.split('<tbody>')[1]!.split('</tbody>')[0]!.split('<tr>').slice(1)
    expect(rows).toHaveLength(2)
    expect(rows[0]).toContain('<td>1</td>')
    expect(rows[0]).toContain(`<a href="/admin/groups/${alpha.id}">Alpha ADRC</a>`)
    expect(rows[0]).toContain('adrc, dvcid')
    expect(rows[0]).toContain('<span class="bad">10 of 11</span>')
    expect(rows[0]).toContain('missing: sandbox-dicom-dvcid')
    expect(rows[1]).toContain(`<a href="/admin/groups/${beta.id}">Beta ADRC</a>`)
    expect(rows[1]).toContain('6 of 6')
    expect(rows[1]).not.toContain('missing')
    expect(html).toContain('1 centre lacks labelled projects')

    t.db.update(projects).set({ deletedAt: t.clock.now() }).where(eq(projects.name, 'NACC/metadata')).run()
    expect(await (await browser.get('/admin/consortium')).text()).toContain('<span class="bad"> — metadata project missing</span>')
  })
})

describe('POST /admin/consortium (the plan) and /admin/consortium/apply', () => {
  it('shows what an uploaded file would create, stores nothing, and offers to apply that very text', async () => {
    const { t, browser } = await adminSession()
    const res = await upload(browser, { text: STRUCTURE, name: 'nacc.yaml' })
    expect(res.status).toBe(200)
    const html = await res.text()
    expect(html).toContain('Read from the file “nacc.yaml”. Nothing has been changed yet.')
    expect(html).toMatch(/<dt>Studies to create<\/dt><dd>2<\/dd>/)
    expect(html).toMatch(/<dt>Data types to create<\/dt><dd>2<\/dd>/)
    expect(html).toMatch(/<dt>Groups to create<\/dt><dd>3<\/dd>/)
    expect(html).toMatch(new RegExp(`<dt>Projects to create</dt><dd>${PROJECT_COUNT}</dd>`))
    expect(html).toContain('<code>NACC/metadata</code>')
    expect(html).toContain('<code>Alpha ADRC/accepted-dvcid</code>')
    expect(html).toContain('<code>Beta ADRC/ingest-form</code>')
    expect(html).not.toContain('Beta ADRC/accepted-dvcid')
    expect(html).toContain('owned by you (admin@example.org)')
    expect(html).toContain('<form method="post" action="/admin/consortium/apply"')
    expect(hiddenStructure(html)).toBe(STRUCTURE)
    expectNothingStored(t)
  })

  it('plans pasted YAML too, sent as multipart or url-encoded', async () => {
    const { t, browser } = await adminSession()
    const multipart = await upload(browser, null, STRUCTURE)
    expect(multipart.status).toBe(200)
    const html = await multipart.text()
    expect(html).toContain('Read from the pasted text.')
    expect(hiddenStructure(html).replaceAll('\r\n', '\n')).toBe(STRUCTURE) // a browser sends text fields with CRLF
    const urlencoded = await browser.post('/admin/consortium', { structure_yaml: STRUCTURE })
    expect(urlencoded.status).toBe(200)
    expect(await urlencoded.text()).toMatch(new RegExp(`<dt>Projects to create</dt><dd>${PROJECT_COUNT}</dd>`))
    expectNothingStored(t)
  })

  it('applies: the structure and its projects (owned by the admin) are stored, one audit event, a flash, 303 back to the page', async () => {
    const { t, admin, browser } = await adminSession()
    const res = await planAndApply(browser)
    expect(res.status).toBe(303)
    expect(res.headers.get('Location')).toBe('/admin/consortium')

    expect(getConsortiumStructure(t.db)).toEqual({
      studies: { adrc: 'primary', dvcid: 'affiliated' },
      dataTypes: ['dicom', 'form'],
      centres: { 1: { group: 'Alpha ADRC', studies: ['adrc', 'dvcid'] }, 2: { group: 'Beta ADRC', studies: ['adrc'] } },
      adminGroup: 'NACC',
    })
    const stored = liveProjects(t)
    expect(stored).toHaveLength(PROJECT_COUNT)
    expect(stored.every((p) => p.ownerId === admin.user.id && p.status === 'unstaged')).toBe(true)
    expect(stored.map((p) => p.name)).toEqual(expect.arrayContaining(['NACC/metadata', 'Alpha ADRC/ingest-dicom-dvcid', 'Beta ADRC/sandbox-form']))

    const events = structureEvents(t)
    expect(events).toHaveLength(1)
    expect(events[0]).toMatchObject({ actorId: admin.user.id, actorEmail: 'admin@example.org', targetType: 'group', targetId: String(getAdminGroup(t.db)!.id) })
    expect(JSON.parse(events[0]!.details)).toMatchObject({ owner_id: admin.user.id, created: { groups: 3, projects: PROJECT_COUNT } })

    const page = await (await browser.get('/admin/consortium')).text()
    expect(page).toContain(`Consortium structure applied: created 2 studies, 2 data types, 3 groups, 3 centre–study links and ${PROJECT_COUNT} projects`)
    expect(await (await browser.get('/admin/consortium')).text()).not.toContain('Consortium structure applied') // shown once
  })

  it('says "nothing to change" when the same structure comes again, and changes nothing', async () => {
    const { t, browser } = await adminSession()
    await planAndApply(browser)
    const before = liveProjects(t)

    const again = await upload(browser, { text: STRUCTURE })
    expect(again.status).toBe(200)
    const html = await again.text()
    expect(html).toContain('The structure is up to date; nothing to change.')
    expect(html).not.toContain('action="/admin/consortium/apply"')

    const reapply = await browser.post('/admin/consortium/apply', { structure_yaml: STRUCTURE })
    expect(reapply.status).toBe(303)
    expect(await (await browser.get('/admin/consortium')).text()).toContain('The structure is up to date; nothing to change.')
    expect(liveProjects(t)).toEqual(before)
    expect(structureEvents(t)).toHaveLength(1)
  })

  it('answers an htmx apply with HX-Redirect instead of a 303', async () => {
    const { t, browser } = await adminSession()
    const res = await browser.post('/admin/consortium/apply', { structure_yaml: STRUCTURE }, { 'HX-Request': 'true' })
    expect(res.status).toBe(200)
    expect(res.headers.get('HX-Redirect')).toBe('/admin/consortium')
    expect(liveProjects(t)).toHaveLength(PROJECT_COUNT)
  })

  it('answers 422 with each problem, its line and path, for a file with errors; nothing is stored, on the plan or on apply', async () => {
    const { t, browser } = await adminSession()
    const bad = STRUCTURE.replace('studies: [adrc]', 'studies: [adrc, leads]').replace('kind: affiliated', 'kind: sometimes')
    const res = await upload(browser, { text: bad, name: 'bad.yaml' })
    expect(res.status).toBe(422)
    const html = await res.text()
    expect(html).toContain('The file “bad.yaml” has 2 problems; nothing was changed.')
    expect(html).toContain('Line 4: <code>studies[1].kind</code>: kind is primary or affiliated, got &quot;sometimes&quot;.')
    expect(html).toContain('Line 8: <code>centres[1].studies[1]</code>: Unknown study &quot;leads&quot; (not in studies).')
    expect(html).not.toContain('action="/admin/consortium/apply"')

    const pasted = await browser.post('/admin/consortium', { structure_yaml: 'admin_group: NACC\nadmin_group: Other\n' })
    expect(pasted.status).toBe(422)
    const pastedHtml = await pasted.text()
    expect(pastedHtml).toMatch(/Line 2: YAML: Map keys must be unique/)
    expect(pastedHtml).toContain('admin_group: NACC\nadmin_group: Other\n</textarea>') // kept for fixing

    const apply = await browser.post('/admin/consortium/apply', { structure_yaml: bad })
    expect(apply.status).toBe(422)
    expect(await apply.text()).toContain('Unknown study &quot;leads&quot;')
    expectNothingStored(t)
  })

  it('answers 422 for a conflict with what is stored (a centre renamed to the name of another centre), changing nothing', async () => {
    const { t, browser } = await adminSession()
    await planAndApply(browser)
    const before = liveProjects(t)
    const conflicting = STRUCTURE.replace(/centres:[^]*/, 'centres:\n  - { adcid: 1, name: "Beta ADRC", studies: [adrc] }\n')
    const res = await upload(browser, { text: conflicting })
    expect(res.status).toBe(422)
    expect(await res.text()).toContain('Conflicts with what is stored: centre 1: the name &quot;Beta ADRC&quot; belongs to another group (the centre&#39;s group is &quot;Alpha ADRC&quot;)')
    expect((await browser.post('/admin/consortium/apply', { structure_yaml: conflicting })).status).toBe(422)
    expect(Object.keys(getConsortiumStructure(t.db).centres)).toEqual(['1', '2'])
    expect(liveProjects(t)).toEqual(before)
    expect(structureEvents(t)).toHaveLength(1)
  })

  it('answers 422 when neither a file nor text was sent, or the file is not UTF-8', async () => {
    const { t, browser } = await adminSession()
    const none = await upload(browser, null, '  \n')
    expect(none.status).toBe(422)
    expect(await none.text()).toContain('Choose a structure file, or paste its YAML in the text box.')
    const latin1 = await upload(browser, { text: new Uint8Array([...Buffer.from('admin_group: M'), 0xfc, ...Buffer.from('nchen\n')]) })
    expect(latin1.status).toBe(422)
    expect(await latin1.text()).toContain('The file is not UTF-8 text.')
    expectNothingStored(t)
  })
})

describe('size limits', () => {
  it('accepts a structure above the global 64 KB form limit, through the plan and the confirm form', async () => {
    const { t, browser } = await adminSession()
    const big = `${STRUCTURE}# ${'padding: "x", '.repeat(7 * 1024)}\n`
    expect(big.length).toBeGreaterThan(90 * 1024)
    const res = await planAndApply(browser, big)
    expect(res.status).toBe(303)
    expect(liveProjects(t)).toHaveLength(PROJECT_COUNT)
  })

  it('refuses a structure over 256 KB with 413, as a file or pasted, and a body over 1 MB, storing nothing', async () => {
    const { t, browser } = await adminSession()
    const huge = `${STRUCTURE}# ${'x'.repeat(257 * 1024)}\n`
    const file = await upload(browser, { text: huge })
    expect(file.status).toBe(413)
    expect(await file.text()).toContain('A structure may have at most 256 KB')
    expect((await upload(browser, null, huge)).status).toBe(413)
    expect((await browser.post('/admin/consortium/apply', { structure_yaml: huge })).status).toBe(413)

    const body = new URLSearchParams({ structure_yaml: `${STRUCTURE}# ${'y'.repeat(1100 * 1024)}` }).toString()
    for (const headers of [{}, { 'Content-Length': String(body.length) }] as Record<string, string>[]) {
      const res = await browser.request('/admin/consortium/apply', { method: 'POST', body, headers: { Origin: BASE_URL, 'Content-Type': 'application/x-www-form-urlencoded', ...headers } })
      expect(res.status).toBe(413)
      expect(await res.text()).toContain('larger than the 1 MB allowed here')
    }
    expectNothingStored(t)
  })
})
