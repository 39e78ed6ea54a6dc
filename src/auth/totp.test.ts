import { describe, expect, it } from 'vitest'
import { execFileSync } from 'node:child_process'
import { createTotpUri, generateTotpSecret, verifyTotpCode } from './totp.ts'
import { decryptSecret, encryptSecret } from './encryption.ts'
import { randomBytes } from 'node:crypto'

function oathtool(secret: string, atMs: number): string {
  const now = new Date(atMs).toISOString().replace('T', ' ').slice(0, 19) + ' UTC'
  return execFileSync('oathtool', ['--totp', '-b', `--now=${now}`, secret], { encoding: 'utf8' }).trim()
}

describe('TOTP', () => {
  it('accepts codes from an independent generator (oathtool), as real authenticator apps compute them', () => {
    const secret = generateTotpSecret()
    for (const at of [Date.UTC(2026, 0, 1), Date.UTC(2026, 5, 30, 12, 0, 29), Date.UTC(2027, 2, 3, 4, 5, 6)]) {
      const code = oathtool(secret, at)
      expect(code).toMatch(/^\d{6}$/)
      expect(verifyTotpCode(secret, code, at, null)).toEqual({ ok: true, step: Math.floor(at / 30_000) })
    }
  })

  it('accepts one step either side, not two', () => {
    const secret = generateTotpSecret()
    const at = Date.UTC(2026, 0, 1, 0, 0, 15)
    expect(verifyTotpCode(secret, oathtool(secret, at - 30_000), at, null).ok).toBe(true)
    expect(verifyTotpCode(secret, oathtool(secret, at + 30_000), at, null).ok).toBe(true)
    expect(verifyTotpCode(secret, oathtool(secret, at - 60_000), at, null)).toEqual({ ok: false, reason: 'invalid' })
    expect(verifyTotpCode(secret, oathtool(secret, at + 60_000), at, null)).toEqual({ ok: false, reason: 'invalid' })
  })

  it('refuses a code whose step is not after the last one used (replay)', () => {
    const secret = generateTotpSecret()
    const at = Date.UTC(2026, 0, 1, 0, 0, 15)
    const step = Math.floor(at / 30_000)
    const code = oathtool(secret, at)
    expect(verifyTotpCode(secret, code, at, step)).toEqual({ ok: false, reason: 'replayed' })
    expect(verifyTotpCode(secret, oathtool(secret, at - 30_000), at, step)).toEqual({ ok: false, reason: 'replayed' })
    expect(verifyTotpCode(secret, oathtool(secret, at + 30_000), at, step)).toEqual({ ok: true, step: step + 1 })
  })

  it('refuses malformed codes', () => {
    const secret = generateTotpSecret()
    for (const code of ['', '12345', '1234567', 'abcdef', '12 34 5']) expect(verifyTotpCode(secret, code, Date.now(), null).ok).toBe(false)
  })

  it('builds the otpauth URI authenticator apps read: SHA1, 6 digits, 30 s, issuer', () => {
    const uri = new URL(createTotpUri('JBSWY3DPEHPK3PXP', 'ada@example.org', 'Gatehouse'))
    expect(uri.protocol).toBe('otpauth:')
    expect(uri.host).toBe('totp')
    expect(uri.searchParams.get('secret')).toBe('JBSWY3DPEHPK3PXP')
    expect(uri.searchParams.get('issuer')).toBe('Gatehouse')
    // SHA1, 6 digits and 30 s are the URI format's defaults, so they may be left out
    expect([null, 'SHA1']).toContain(uri.searchParams.get('algorithm'))
    expect([null, '6']).toContain(uri.searchParams.get('digits'))
    expect([null, '30']).toContain(uri.searchParams.get('period'))
    expect(decodeURIComponent(uri.pathname)).toBe('/Gatehouse:ada@example.org')
  })
})

describe('secret encryption (AES-256-GCM)', () => {
  it('round-trips, uses a fresh IV each time, and refuses another key or a tampered value', () => {
    const key = randomBytes(32)
    const a = encryptSecret(key, 'JBSWY3DPEHPK3PXP')
    const b = encryptSecret(key, 'JBSWY3DPEHPK3PXP')
    expect(a).not.toBe(b)
    expect(a).not.toContain('JBSWY3DPEHPK3PXP')
    expect(decryptSecret(key, a)).toBe('JBSWY3DPEHPK3PXP')
    expect(decryptSecret(randomBytes(32), a)).toBeNull()
    const raw = Buffer.from(a.slice(3), 'base64')
    raw[raw.length - 1]! ^= 1
    expect(decryptSecret(key, 'v1:' + raw.toString('base64'))).toBeNull()
  })
})
