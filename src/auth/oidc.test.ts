// The pure pieces of the OpenID Connect client side: where a completed flow may send the browser,
// which `amr` counts as a second factor, and which `email` claim counts as an address.
import { describe, expect, it } from 'vitest'
import { hasSecondFactorAmr, safeReturnTo, verifiedEmailClaim } from './oidc.ts'

describe('safeReturnTo', () => {
  // every form a browser resolves to another host, or that could split the Location header
  const offsite = ['//evil.example', '/\\evil.example', '\\\\evil.example', '/\\/evil.example', 'https://evil.example', 'http:/evil.example', 'javascript:alert(1)', ' //evil.example', '/\t/evil.example', '/\n/evil.example', '/\r\nSet-Cookie: x=1', '\u0000/evil', '', 'evil.example', '/' + 'a'.repeat(600)]
  for (const raw of offsite) {
    it(`sends ${JSON.stringify(raw.slice(0, 40))} to /`, () => {
      const safe = safeReturnTo(raw)
      expect(safe).toBe('/')
      expect(new URL(safe, 'http://gatehouse.test').host).toBe('gatehouse.test')
    })
  }

  it('keeps local paths, encoded slashes included (they stay a path on this host)', () => {
    for (const raw of ['/account', '/projects/3?tab=models', '/%2F%2Fevil.example', '/%5Cevil.example', '/.//evil.example']) {
      expect(safeReturnTo(raw)).toBe(raw)
      expect(new URL(safeReturnTo(raw), 'http://gatehouse.test').host).toBe('gatehouse.test')
    }
  })
})

describe('hasSecondFactorAmr', () => {
  it('counts only an array holding a second-factor method', () => {
    expect(hasSecondFactorAmr(['pwd', 'mfa'])).toBe(true)
    expect(hasSecondFactorAmr(['hwk'])).toBe(true)
    expect(hasSecondFactorAmr('mfa')).toBe(false)
    expect(hasSecondFactorAmr(['pwd'])).toBe(false)
    expect(hasSecondFactorAmr([['mfa']])).toBe(false)
    expect(hasSecondFactorAmr({ 0: 'mfa', length: 1 })).toBe(false)
    expect(hasSecondFactorAmr(undefined)).toBe(false)
  })
})

describe('verifiedEmailClaim', () => {
  it('uses the email only when email_verified is exactly true', () => {
    expect(verifiedEmailClaim({ email: 'a@x.example', email_verified: true })).toBe('a@x.example')
    expect(verifiedEmailClaim({ email: 'a@x.example', email_verified: 'true' })).toBeNull()
    expect(verifiedEmailClaim({ email: 'a@x.example' })).toBeNull()
    expect(verifiedEmailClaim({ email: ['a@x.example'], email_verified: true })).toBeNull()
  })

  it('folds case and NFC like stored addresses, but refuses characters that fold into ASCII look-alikes; padded or control-character addresses are no address', () => {
    expect(verifiedEmailClaim({ email: 'Kate@Hospital.Example', email_verified: true })).toBe('kate@hospital.example')
    expect(verifiedEmailClaim({ email: 'RENÉE@hôpital.example', email_verified: true })).toBe('renée@hôpital.example')
    expect(verifiedEmailClaim({ email: 'rene\u0301e@x.example', email_verified: true })).toBe('ren\u00e9e@x.example') // NFD becomes NFC
    for (const lookalike of ['\u212Aate@hospital.example', '\uFB01ona@hospital.example', '\uFF4Bate@hospital.example', 'kate@hospital\u2024example']) {
      expect(verifiedEmailClaim({ email: lookalike, email_verified: true }), lookalike).toBeNull()
    }
    expect(verifiedEmailClaim({ email: ' kate@hospital.example', email_verified: true })).toBeNull()
    expect(verifiedEmailClaim({ email: 'kate@hospital.example\n', email_verified: true })).toBeNull()
    expect(verifiedEmailClaim({ email: 'kate@hospital.example\u0000', email_verified: true })).toBeNull()
    expect(verifiedEmailClaim({ email: 'kate@hospital.example\u0085', email_verified: true })).toBeNull()
  })
})
