// Finding 7 of issue 11 (text) and the property tests for the email normaliser and password policy.
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { eq } from 'drizzle-orm'
import { normalizeEmail, textFieldError } from './forms.ts'
import { checkPasswordPolicy, PASSWORD_MAX_LENGTH } from '../auth/password.ts'
import { createTestEnv, createTestUser, signIn, totpAt } from '../test/helpers.ts'
import { OutboxDeliverer, enqueueEmail } from '../mail/outbox.ts'
import { users } from '../db/schema.ts'

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/u
const anyText = fc.string({ unit: 'binary', maxLength: 300 })
const emailish = fc.tuple(fc.string({ unit: 'binary', maxLength: 30 }), fc.string({ unit: 'binary', maxLength: 30 }), fc.constantFrom('org', 'ÉDU', 'co.uk', 'x')).map(([a, b, tld]) => `${a}@${b}.${tld}`)

describe('the email normaliser (property)', () => {
  it('never throws, and what it accepts is trimmed, lower-cased, NFC, free of control characters, and a fixed point', () => {
    fc.assert(
      fc.property(fc.oneof(anyText, emailish, fc.emailAddress()), (raw) => {
        const email = normalizeEmail(raw)
        if (email === null) return
        expect(email).toBe(email.trim())
        expect(email).toBe(email.toLowerCase())
        expect(email).toBe(email.normalize('NFC'))
        expect(email).not.toMatch(CONTROL)
        expect(email.length).toBeLessThanOrEqual(254)
        expect(email.split('@')).toHaveLength(2)
        expect(normalizeEmail(email)).toBe(email)
        // the same address typed upper-case or decomposed normalises to the same
        expect(normalizeEmail(raw.toUpperCase().normalize('NFD'))).toBe(normalizeEmail(raw.toUpperCase()))
      }),
      { numRuns: 2000 },
    )
  })

  it('rejects what it must: no @, two @, spaces or control characters inside, too long', () => {
    fc.assert(
      fc.property(fc.emailAddress(), fc.constantFrom('\u0000', '\r', '\n', '\t', '\u001b', '\u007f', '\u0085', ' '), fc.nat(), (address, bad, at) => {
        const i = 1 + (at % (address.length - 1))
        expect(normalizeEmail(address.slice(0, i) + bad + address.slice(i))).toBeNull()
        expect(normalizeEmail(address.replace('@', ''))).toBeNull()
        expect(normalizeEmail(address + '@' + address)).toBeNull()
      }),
    )
    expect(normalizeEmail(`${'a'.repeat(250)}@example.org`)).toBeNull()
    expect(normalizeEmail('  Ada@Example.ORG ')).toBe('ada@example.org')
    expect(normalizeEmail('Jose\u0301@example.org')).toBe('jos\u00e9@example.org')
  })
})

describe('the password policy (property)', () => {
  const context = fc.record({
    minLength: fc.integer({ min: 1, max: 64 }),
    email: fc.option(fc.emailAddress(), { nil: null }),
    username: fc.option(fc.string({ minLength: 0, maxLength: 20 }), { nil: null }),
    forbiddenWords: fc.array(fc.string({ maxLength: 12 }), { maxLength: 3 }),
  })

  it('never throws, and any accepted password meets the length bounds and contains no email local part, username or forbidden word', () => {
    fc.assert(
      fc.property(fc.oneof(anyText, fc.string({ unit: 'grapheme', minLength: 8, maxLength: 300 })), context, (password, ctx) => {
        const refusal = checkPasswordPolicy(password, ctx)
        if (refusal !== null) {
          expect(typeof refusal).toBe('string')
          return
        }
        const length = [...password].length
        expect(length).toBeGreaterThanOrEqual(ctx.minLength)
        expect(length).toBeLessThanOrEqual(PASSWORD_MAX_LENGTH)
        const folded = password.toLowerCase()
        const local = ctx.email?.split('@')[0]?.toLowerCase()
        if (local && local.length >= 3) expect(folded).not.toContain(local)
        if (ctx.username && ctx.username.length >= 3) expect(folded).not.toContain(ctx.username.toLowerCase())
        for (const w of ctx.forbiddenWords) if (w.length >= 3) expect(folded).not.toContain(w.toLowerCase())
      }),
      { numRuns: 1000 },
    )
  })

  it('refuses a password that embeds the email local part or username, wherever it sits', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z]{3,10}$/), fc.string({ minLength: 6, maxLength: 20 }), fc.string({ maxLength: 10 }), (name, before, after) => {
        const password = `${before}${name.toUpperCase()}${after}!Q7`
        expect(checkPasswordPolicy(password, { minLength: 1, email: `${name}@example.org` })).not.toBeNull()
        expect(checkPasswordPolicy(password, { minLength: 1, username: name })).not.toBeNull()
      }),
    )
  })
})

describe('text in forms', () => {
  it('signs in with a password typed decomposed (NFD) that was set composed (NFC), and the other way round', async () => {
    const t = createTestEnv()
    const nfc = 'Caf\u00e9-harbour-l\u00e4ntern-42'
    const u = await createTestUser(t, { password: nfc, enrolled: false })
    expect((await t.client().post('/login', { email: u.user.email, password: nfc.normalize('NFD') })).headers.get('Location')).toBe('/mfa/setup')
    // a password set decomposed through a form is stored composed
    const v = await createTestUser(t, { role: 'admin' })
    const browser = await signIn(t, v)
    const nfd = 'Cr\u00e8me-br\u00fbl\u00e9e-harbour-9'.normalize('NFD')
    const res = await browser.post('/password/change', { current_password: v.password, new_password: nfd, confirm_password: nfd })
    expect(res.status).toBe(303)
    t.clock.advance(30_000)
    const again = t.client('203.0.113.50')
    expect((await again.post('/login', { email: v.user.email.toUpperCase(), password: nfd.normalize('NFC') })).headers.get('Location')).toBe('/login/mfa')
    expect((await again.post('/login/mfa', { code: totpAt(v.totpSecret!, t.clock.now()) })).headers.get('Location')).toBe('/')
  })

  it('refuses control characters in one-line fields with 422 and the field marked; descriptions keep line breaks but not NUL', async () => {
    const t = createTestEnv()
    const admin = await createTestUser(t, { role: 'admin' })
    const browser = await signIn(t, admin)
    const marked = async (res: Response, field: string, message = /control characters|one line/) => {
      expect(res.status, field).toBe(422)
      const html = await res.text()
      // an input's error has its id; a textarea's follows it in the same field
      expect(html, field).toMatch(new RegExp(`(id="f-${field}-error"[^>]*|<textarea id="f-${field}"[^]*?<p class="error")>[^<]*(${message.source})`))
    }
    await marked(await browser.post(`/admin/users/${admin.user.id}`, { first_name: 'Ada\r\nSet-Cookie: x', last_name: 'L', organization: '' }), 'first_name')
    await marked(await browser.post(`/admin/users/${admin.user.id}`, { first_name: 'Ada', last_name: 'L\u0000', organization: '' }), 'last_name')
    await marked(await browser.post(`/admin/users/${admin.user.id}`, { first_name: 'Ada', last_name: 'L', organization: 'Leeds\u001b[31m' }), 'organization')
    await marked(await browser.post('/admin/sites', { name: 'Leeds\tHospital', code: 'LTH', contact_email: '' }), 'name')
    await marked(await browser.post('/admin/roles', { name: 'runner\u0085', description: 'x', scope: 'project' }), 'name', /./)
    await marked(await browser.post('/admin/roles', { name: 'runner', description: 'two\nlines', scope: 'project' }), 'description')
    await marked(await browser.post('/admin/invitations', { email: 'ada@example.org', role: 'researcher', organization: 'Leeds\nLine' }), 'organization')
    await marked(await browser.post('/admin/settings', { banner_enabled: 'on', banner_message: 'Down at 5\r\nforged', banner_link: '', banner_level: 'info' }), 'banner_message')
    await marked(await browser.post('/projects/new', { name: 'Proj\u0000ect', description: '' }), 'name')
    await marked(await browser.post('/projects/new', { name: 'Project', description: 'nul \u0000 here' }), 'description')
    const ok = await browser.post('/projects/new', { name: 'Project', description: 'line one\nline two\r\n\tindented' })
    expect(ok.status).toBe(303)
    expect(t.db.select().from(users).where(eq(users.id, admin.user.id)).get()!.firstName).toBe(admin.user.firstName) // nothing saved
  })

  it('never answers 500 to a NUL or control character in q or in a field', async () => {
    const t = createTestEnv()
    const admin = await createTestUser(t, { role: 'admin' })
    const browser = await signIn(t, admin)
    for (const path of ['/admin/users?q=%00', '/admin/users?q=%1b%5b2J%0d%0a', '/projects?q=%00%00', '/admin/import?q=%00', '/admin/audit?q=%00', '/admin/outbox?q=%00']) {
      const res = await browser.get(path)
      expect(res.status, path).toBeLessThan(500)
    }
    for (const email of ['a\u0000@example.org', 'a@exa\u0000mple.org', '\u0000']) {
      const res = await t.client('198.51.100.1').post('/login', { email, password: 'x\u0000y' })
      expect(res.status).toBe(422)
      expect((await t.client('198.51.100.2').post('/password/forgot', { email })).status).toBe(422)
    }
  })

  it('escapes what the console mail printer prints: CR/LF and ANSI escapes cannot forge a log line', async () => {
    const t = createTestEnv()
    enqueueEmail(t.db, { to: 'ada@example.org', subject: 'Hi\r\nEmail #999 (forged)', text: 'Hello Ada\u001b[2J\rEmail #1000 (forged)\nsecond line', html: '<p>x</p>' }, t.clock.now())
    const printed: string[] = []
    await new OutboxDeliverer({ db: t.db, now: t.clock.now, from: 'x@gatehouse.test', smtpUrl: null, print: (s) => printed.push(s) }).deliverDue()
    expect(printed).toHaveLength(1)
    const out = printed[0]!
    expect(out).not.toContain('\u001b')
    expect(out).not.toContain('\r')
    expect(out).toContain('\\u001b[2J')
    // every line the input produced is inside the printed block, none starts like a header of its own
    expect(out.split('\n').filter((l) => /^Email #/.test(l))).toHaveLength(1)
    expect(out).toContain('Subject: Hi\\r\\nEmail #999 (forged)')
  })
})
