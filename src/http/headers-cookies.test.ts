// Finding 6 of issue 11: no-store on every page of a signed-in user and every page carrying a
// token or secret; the flash cookie signed, and __Host-/Secure under https.
import { describe, expect, it } from 'vitest'
import { createTestEnv, createTestUser, signIn, GOOD_PASSWORD, OTHER_GOOD_PASSWORD } from '../test/helpers.ts'

describe('Cache-Control', () => {
  it('is no-store on every answer to a signed-in user: pages, 404s, redirects, htmx answers', async () => {
    const t = createTestEnv()
    const u = await createTestUser(t, { role: 'admin' })
    const browser = await signIn(t, u)
    for (const path of ['/', '/admin', '/admin/users', '/no-such-page', '/password/change', '/login']) {
      const res = await browser.get(path)
      expect(res.headers.get('Cache-Control'), `${path} ${res.status}`).toMatch(/no-store/)
    }
    const logout = await browser.post('/logout')
    expect(logout.status).toBe(303)
    expect(logout.headers.get('Cache-Control')).toMatch(/no-store/)
  })

  it('is no-store on the token and secret pages without a session, their error pages and redirects included', async () => {
    const t = createTestEnv()
    const anonymous = t.client()
    for (const path of ['/invite/not-a-real-token', '/password/reset/not-a-real-token', '/mfa/setup', '/login/mfa']) {
      const res = await anonymous.get(path)
      expect(res.headers.get('Cache-Control'), `${path} ${res.status}`).toMatch(/no-store/)
    }
    const u = await createTestUser(t, { enrolled: false })
    const half = t.client('203.0.113.9')
    const res = await half.post('/login', { email: u.user.email, password: u.password })
    expect(res.headers.get('Location')).toBe('/mfa/setup')
    expect(res.headers.get('Cache-Control')).toMatch(/no-store/)
    const setup = await half.get('/mfa/setup')
    expect(setup.status).toBe(200)
    expect(setup.headers.get('Cache-Control')).toBe('no-store')
  })
})

describe('flash cookie', () => {
  async function changePassword(t: ReturnType<typeof createTestEnv>, origin?: string) {
    const u = await createTestUser(t)
    const browser = await signIn(t, u)
    const res = await browser.post('/password/change', { current_password: GOOD_PASSWORD, new_password: OTHER_GOOD_PASSWORD, confirm_password: OTHER_GOOD_PASSWORD }, origin ? { Origin: origin } : {})
    expect(res.status).toBe(303)
    return { browser, res }
  }

  it('is signed: the real one shows once, a forged or altered one is ignored', async () => {
    const t = createTestEnv()
    const { browser, res } = await changePassword(t)
    const line = res.headers.getSetCookie().find((l) => l.startsWith('flash='))!
    expect(line).toBeDefined()
    const value = browser.cookies.get('flash')!
    expect(await (await browser.get('/')).text()).toContain('Your password has been changed.')

    const forged = encodeURIComponent(JSON.stringify({ kind: 'error', message: 'Your account is compromised: call +1 555 0100' }))
    browser.cookies.set('flash', forged)
    expect(await (await browser.get('/')).text()).not.toContain('compromised')

    // altering the message of a real cookie breaks its signature
    const [body, sig] = decodeURIComponent(value).split('.')
    const altered = JSON.parse(Buffer.from(body!, 'base64url').toString('utf8'))
    altered.message = 'Altered message'
    browser.cookies.set('flash', encodeURIComponent(`${Buffer.from(JSON.stringify(altered)).toString('base64url')}.${sig}`))
    expect(await (await browser.get('/')).text()).not.toContain('Altered message')
  })

  it('is named __Host-flash and Secure when BASE_URL is https', async () => {
    const t = createTestEnv({ BASE_URL: 'https://gatehouse.test' })
    const u = await createTestUser(t)
    const browser = t.client()
    const origin = { Origin: 'https://gatehouse.test' }
    await browser.post('/login', { email: u.user.email, password: u.password }, origin)
    const { totpAt } = await import('../test/helpers.ts')
    expect((await browser.post('/login/mfa', { code: totpAt(u.totpSecret!, t.clock.now()) }, origin)).headers.get('Location')).toBe('/')
    const res = await browser.post('/password/change', { current_password: GOOD_PASSWORD, new_password: OTHER_GOOD_PASSWORD, confirm_password: OTHER_GOOD_PASSWORD }, origin)
    expect(res.status).toBe(303)
    const line = res.headers.getSetCookie().find((l) => l.startsWith('__Host-flash='))
    expect(line).toBeDefined()
    expect(line).toMatch(/;\s*Secure/i)
    expect(line).toMatch(/;\s*Path=\//i)
    expect(await (await browser.get('/')).text()).toContain('Your password has been changed.')
  })
})
