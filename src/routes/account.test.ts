import { describe, expect, it } from 'vitest'
import { eq } from 'drizzle-orm'
import { createTestEnv, createTestUser, getUser, signIn, type TestEnv } from '../test/helpers.ts'
import { auditEvents, recoveryCodes, sessions } from '../db/schema.ts'
import { issueRecoveryCodes } from '../auth/recovery-codes.ts'
import { recordAuditEvent } from '../models/audit.ts'
import { listOwnSecurityEvents, ownSecurityEventsQuery } from '../models/account.ts'
import { SoftAuthenticator } from '../test/soft-authenticator.ts'

// GET /account and its own changes (SPEC §11), over HTTP on the real migrations.

const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0'
const SAFARI_IOS = 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1'

function events(t: TestEnv, event: string) {
  return t.db.select().from(auditEvents).where(eq(auditEvents.event, event)).all()
}

function sessionIdsOf(t: TestEnv, userId: number) {
  return t.db.select({ id: sessions.id }).from(sessions).where(eq(sessions.userId, userId)).all().map((s) => s.id)
}

/** The client's session id (the part of its cookie before the dot). */
function sessionIdOf(client: { cookies: Map<string, string> }) {
  return client.cookies.get('session')!.split('.')[0]!
}

async function signInWithAgent(t: TestEnv, u: Awaited<ReturnType<typeof createTestUser>>, userAgent: string, ip: string) {
  const client = t.client(ip)
  const original = client.request.bind(client)
  client.request = (path, init = {}) => {
    const headers = new Headers(init.headers)
    headers.set('User-Agent', userAgent)
    return original(path, { ...init, headers })
  }
  return signIn(t, u, client)
}

describe('GET /account', () => {
  it('sends an anonymous visitor to sign in', async () => {
    const t = createTestEnv()
    const res = await t.client().get('/account')
    expect(res.status).toBe(303)
    expect(res.headers.get('Location')).toBe('/login')
  })

  it('shows the profile, password, second factors, sessions (this one marked, browser summarised), the email setting and security events; the nav links to it', async () => {
    const t = createTestEnv()
    const u = await createTestUser(t, { email: 'maria@example.org' })
    issueRecoveryCodes(t.db, u.user.id, t.clock.now())
    const laptop = await signInWithAgent(t, u, FIREFOX, '203.0.113.20')
    await signInWithAgent(t, u, SAFARI_IOS, '198.51.100.4')
    const res = await laptop.get('/account')
    expect(res.status).toBe(200)
    expect(res.headers.get('Cache-Control')).toContain('no-store')
    const html = await res.text()
    expect(html).toContain('maria@example.org')
    expect(html).toMatch(/<a class="who" href="\/account"/)
    expect(html).toContain('href="/password/change"')
    expect(html).toContain('href="/account/totp"')
    expect(html).toContain('10 unused recovery codes are left.')
    expect(html).not.toContain('note-warning')
    expect(html).toMatch(/Firefox 128 on Linux <strong>\(this browser\)<\/strong>/)
    expect(html).toContain('Safari 18 on iOS')
    expect(html).toContain('198.51.100.4')
    expect(html).toContain('Sign out everywhere else')
    expect(html).toContain('name="workflow_emails"')
    expect(html).toMatch(/<table id="account-events">[\s\S]*Signed in[\s\S]*203\.0\.113\.20/)
  })

  it('warns when 3 or fewer recovery codes are left', async () => {
    const t = createTestEnv()
    const u = await createTestUser(t)
    issueRecoveryCodes(t.db, u.user.id, t.clock.now())
    const ids = t.db.select({ id: recoveryCodes.id }).from(recoveryCodes).where(eq(recoveryCodes.userId, u.user.id)).all()
    for (const { id } of ids.slice(0, 7)) t.db.update(recoveryCodes).set({ usedAt: t.clock.now() }).where(eq(recoveryCodes.id, id)).run()
    const html = await (await (await signIn(t, u)).get('/account')).text()
    expect(html).toContain('3 unused recovery codes are left.')
    expect(html).toMatch(/class="note-warning"[^>]*>You are running out of recovery codes/)
  })

  it('the home page no longer carries the email-setting form; it links to the account page', async () => {
    const t = createTestEnv()
    const html = await (await (await signIn(t, await createTestUser(t))).get('/')).text()
    expect(html).not.toContain('name="workflow_emails"')
    expect(html).toContain('href="/account"')
  })
})

describe('POST /account/profile', () => {
  it('saves first and last name, audited as user.updated, with a flash', async () => {
    const t = createTestEnv()
    const u = await createTestUser(t)
    const client = await signIn(t, u)
    const res = await client.post('/account/profile', { first_name: '  Maria ', last_name: 'Sklodowska' })
    expect(res.status).toBe(303)
    expect(res.headers.get('Location')).toBe('/account')
    expect(getUser(t.db, u.user.id)).toMatchObject({ firstName: 'Maria', lastName: 'Sklodowska' })
    const [event] = events(t, 'user.updated')
    expect(event).toMatchObject({ actorId: u.user.id, targetType: 'user', targetId: String(u.user.id) })
    expect(JSON.parse(event!.details).after).toEqual({ first_name: 'Maria', last_name: 'Sklodowska' })
    expect(await (await client.get('/account')).text()).toContain('Your name has been saved.')
    // the same again changes and audits nothing
    await client.post('/account/profile', { first_name: 'Maria', last_name: 'Sklodowska' })
    expect(events(t, 'user.updated')).toHaveLength(1)
  })

  it('answers 422 with per-field messages and the typed values kept; control characters, empty and overlong names are refused', async () => {
    const t = createTestEnv()
    const u = await createTestUser(t)
    const client = await signIn(t, u)
    const res = await client.post('/account/profile', { first_name: 'Ma\u0000ria', last_name: 'x'.repeat(101) })
    expect(res.status).toBe(422)
    const html = await res.text()
    expect(html).toContain('no line breaks, tabs or other control characters')
    expect(html).toContain('At most 100 characters.')
    expect(html).toContain(`value="${'x'.repeat(101)}"`)
    const empty = await client.post('/account/profile', { first_name: '', last_name: 'Curie\nDrop' })
    expect(empty.status).toBe(422)
    const emptyHtml = await empty.text()
    expect(emptyHtml).toContain('Enter your first name.')
    expect(emptyHtml).toContain('no line breaks')
    expect(getUser(t.db, u.user.id)).toMatchObject({ firstName: '', lastName: '' })
    expect(events(t, 'user.updated')).toHaveLength(0)
  })

  it('refuses a foreign Origin', async () => {
    const t = createTestEnv()
    const u = await createTestUser(t)
    const res = await (await signIn(t, u)).post('/account/profile', { first_name: 'Eve', last_name: 'X' }, { Origin: 'https://evil.example' })
    expect(res.status).toBe(403)
    expect(getUser(t.db, u.user.id).firstName).toBe('')
  })
})

describe('revoking sessions from /account', () => {
  it('asks first, then ends the other session at once, audited; the current one stays', async () => {
    const t = createTestEnv()
    const u = await createTestUser(t)
    const here = await signIn(t, u)
    const there = await signIn(t, u, t.client('198.51.100.9'))
    const thereId = sessionIdOf(there)
    const ask = await here.post(`/account/sessions/${thereId}/revoke`)
    expect(ask.status).toBe(200)
    expect(await ask.text()).toContain('End this session?')
    expect(sessionIdsOf(t, u.user.id)).toContain(thereId)
    const done = await here.post(`/account/sessions/${thereId}/revoke`, { confirm: 'yes' })
    expect(done.status).toBe(303)
    expect(done.headers.get('Location')).toBe('/account')
    expect((await there.get('/account')).headers.get('Location')).toBe('/login')
    expect((await here.get('/account')).status).toBe(200)
    expect(events(t, 'session.revoked')).toHaveLength(1)
    expect(events(t, 'session.revoked')[0]).toMatchObject({ actorId: u.user.id, targetId: String(u.user.id) })
  })

  it('answers 404 for another user’s session and ends nothing', async () => {
    const t = createTestEnv()
    const u = await createTestUser(t)
    const other = await createTestUser(t)
    const mine = await signIn(t, u)
    const theirs = await signIn(t, other, t.client('198.51.100.10'))
    for (const fields of [{}, { confirm: 'yes' }] as Record<string, string>[]) {
      expect((await mine.post(`/account/sessions/${sessionIdOf(theirs)}/revoke`, fields)).status).toBe(404)
    }
    expect((await mine.post('/account/sessions/no-such-session/revoke', { confirm: 'yes' })).status).toBe(404)
    expect((await theirs.get('/account')).status).toBe(200)
    expect(events(t, 'session.revoked')).toHaveLength(0)
  })

  it('revoking the current session signs this browser out', async () => {
    const t = createTestEnv()
    const u = await createTestUser(t)
    const client = await signIn(t, u)
    const id = sessionIdOf(client)
    const res = await client.post(`/account/sessions/${id}/revoke`, { confirm: 'yes' })
    expect(res.status).toBe(303)
    expect(res.headers.get('Location')).toBe('/login')
    expect(client.cookies.has('session')).toBe(false)
    expect(sessionIdsOf(t, u.user.id)).toEqual([])
    expect(JSON.parse(events(t, 'session.revoked')[0]!.details).current).toBe(true)
  })

  it('"sign out everywhere else" asks first, then ends every other session and keeps this one', async () => {
    const t = createTestEnv()
    const u = await createTestUser(t)
    const other = await createTestUser(t)
    const here = await signIn(t, u)
    const a = await signIn(t, u, t.client('198.51.100.11'))
    const b = await signIn(t, u, t.client('198.51.100.12'))
    const bystander = await signIn(t, other, t.client('198.51.100.13'))
    const ask = await here.post('/account/sessions/revoke-others')
    expect(ask.status).toBe(200)
    expect(await ask.text()).toContain('(2 sessions)')
    expect(sessionIdsOf(t, u.user.id)).toHaveLength(3)
    const done = await here.post('/account/sessions/revoke-others', { confirm: 'yes' })
    expect(done.headers.get('Location')).toBe('/account')
    expect(sessionIdsOf(t, u.user.id)).toEqual([sessionIdOf(here)])
    for (const gone of [a, b]) expect((await gone.get('/')).headers.get('Location')).toBe('/login')
    expect((await bystander.get('/')).status).toBe(200)
    expect(JSON.parse(events(t, 'session.revoked_others')[0]!.details).sessions_ended).toBe(2)
    expect(await (await here.get('/account')).text()).toContain('2 sessions ended')
  })
})

describe('the own security events', () => {
  it('lists the last 50 events about this account only (not another user’s, not non-security events), newest first', async () => {
    const t = createTestEnv()
    const u = await createTestUser(t)
    const other = await createTestUser(t)
    for (let i = 0; i < 60; i++) recordAuditEvent(t.db, { event: i % 2 ? 'signin.failed' : 'signin.succeeded', at: t.clock.now() + i, targetType: 'user', targetId: u.user.id, ip: `192.0.2.${i}` })
    recordAuditEvent(t.db, { event: 'password.changed', at: t.clock.now() + 100, targetType: 'user', targetId: other.user.id, ip: '192.0.2.250' })
    recordAuditEvent(t.db, { event: 'user.workflow_emails_changed', at: t.clock.now() + 101, targetType: 'user', targetId: u.user.id, ip: '192.0.2.251' })
    const list = listOwnSecurityEvents(t.db, u.user.id)
    expect(list).toHaveLength(50)
    expect(list[0]!.ip).toBe('192.0.2.59')
    expect(list.every((e) => e.targetId === String(u.user.id) && e.event.startsWith('signin.'))).toBe(true)
    const html = await (await (await signIn(t, u)).get('/account')).text()
    expect(html).not.toContain('192.0.2.250')
    expect(html).toContain('Failed sign-in')
  })

  it('is one query on the audit target index, without a sort of the user’s whole history', () => {
    const t = createTestEnv()
    const query = ownSecurityEventsQuery(t.db, 1, 50).toSQL()
    const plan = t.db.$client.prepare(`explain query plan ${query.sql}`).all(...query.params) as { detail: string }[]
    const details = plan.map((p) => p.detail).join(' | ')
    expect(details).toContain('audit_events_target_idx')
    expect(details).not.toContain('TEMP B-TREE')
  })
})

describe('the structure of /account', () => {
  /** Every heading level in document order, and every id attribute. */
  function outline(html: string) {
    const levels = [...html.matchAll(/<h([1-6])[\s>]/g)].map((m) => Number(m[1]))
    const ids = [...html.matchAll(/\sid="([^"]*)"/g)].map((m) => m[1]!)
    return { levels, ids }
  }

  it('has headings that never skip a level (one h1; the second factors, passkeys among them, as h3) and unique ids', async () => {
    const t = createTestEnv()
    const u = await createTestUser(t)
    const client = await signIn(t, u)
    t.clock.advance(30_000)
    await signIn(t, u, t.client('198.51.100.9')) // a second session row
    const device = new SoftAuthenticator({ origin: t.config.origin, rpId: new URL(t.config.baseUrl).hostname })
    const json = { Origin: t.config.origin, 'Content-Type': 'application/json' }
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- WebAuthn options as the browser script receives them
    const options: any = await (await client.request('/account/passkeys/options', { method: 'POST', body: '{}', headers: json })).json()
    expect((await client.request('/account/passkeys', { method: 'POST', body: JSON.stringify({ name: 'Phone', response: device.register(options) }), headers: json })).status).toBe(200)
    const html = await (await client.get('/account')).text()
    expect(html).toContain('id="passkeys-table"')
    const { levels, ids } = outline(html)
    expect(levels.filter((l) => l === 1)).toHaveLength(1)
    for (let i = 1; i < levels.length; i++) expect(levels[i]!, `heading ${i} (levels ${levels.join(',')})`).toBeLessThanOrEqual(levels[i - 1]! + 1)
    expect(levels.indexOf(3)).toBeGreaterThan(levels.indexOf(2))
    expect(html).toMatch(/<h2>Second factors<\/h2>[\s\S]*<h3 id="passkeys-heading">Passkeys<\/h3>[\s\S]*<h2>Where you are signed in<\/h2>/)
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([])
    expect(html.match(/src="\/public\/passkeys.js"/g)).toHaveLength(1)
  })
})
