import { describe, expect, it } from 'vitest'
import { checkPasswordPolicy, hashPassword, verifyPasswordHash } from './password.ts'
import { commonPasswords } from './common-passwords.ts'

const ctx = { minLength: 12, email: 'ada.lovelace@example.org', username: 'ada_l', forbiddenWords: ['gatehouse', 'St Elsewhere'] }

describe('password policy', () => {
  it('ships a common-password list of tens of thousands of entries', () => {
    expect(commonPasswords().size).toBeGreaterThan(30_000)
  })

  it.each([
    ['short-pass', 'at least 12'],
    ['x'.repeat(257), 'at most 256'],
    ['1q2w3e4r5t6y', 'too common'],
    ['Password1234', 'too common'],
    ['football2026!', 'common password'],
    ['!!sunshine2025!!', 'common password'],
    ['aaaaaaaaaaaaaa', 'repeats'],
    ['abcabcabcabcabc', 'repeats'],
    ['345678901234', 'sequence'],
    ['lmnopqrstuvw', 'sequence'],
    ['zyxwvutsrqpon', 'sequence'],
    ['my ada.lovelace secret', 'email'],
    ['hello-ADA_L-world', 'username'],
    ['GateHouse-2026-winter', 'gatehouse'],
    ['st elsewhere rocks!', 'St Elsewhere'],
  ])('refuses %s (%s)', (password, reason) => {
    expect(checkPasswordPolicy(password, ctx)?.toLowerCase()).toContain(reason.toLowerCase())
  })

  it.each(['correct horse battery staple', 'violet-harbour-lantern-42', 'Zebra!crossing#1987', '💙'.repeat(6) + 'blue-moon'])('accepts %s', (password) => {
    expect(checkPasswordPolicy(password, ctx)).toBeNull()
  })

  it('counts characters, not bytes, for the length limits', () => {
    expect(checkPasswordPolicy('ü'.repeat(11) + 'x', ctx)).toBeNull()
    expect(checkPasswordPolicy('ü'.repeat(11), ctx)).toContain('at least 12')
  })

  it('hashes with argon2id at the OWASP parameters and verifies', async () => {
    const hash = await hashPassword('violet-harbour-lantern-42')
    expect(hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/)
    expect(await verifyPasswordHash(hash, 'violet-harbour-lantern-42')).toBe(true)
    expect(await verifyPasswordHash(hash, 'violet-harbour-lantern-43')).toBe(false)
    expect(await verifyPasswordHash('not a hash', 'x')).toBe(false)
  })
})
