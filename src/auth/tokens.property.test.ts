import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { generateToken, hashToken } from './tokens.ts'
import { generateTotpSecret } from './totp.ts'
import { checkPasswordPolicy } from './password.ts'
import { generateTemporaryPassword } from '../models/users.ts'
import { invitationToken } from '../models/invitations.ts'

// Property tests (fast-check) of the token generators: shape, alphabet and entropy hold for every
// size and input, and two draws never collide.

describe('token generators (property-based)', () => {
  it('generateToken(n): ceil(8n/5) base32 lower-case characters, a fresh value each call', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 64 }), (bytes) => {
        const a = generateToken(bytes)
        const b = generateToken(bytes)
        expect(a).toMatch(/^[a-z2-7]+$/)
        expect(a).toHaveLength(Math.ceil((bytes * 8) / 5))
        if (bytes >= 10) expect(a).not.toBe(b) // 80 bits or more: a collision means a broken source
      }),
      { numRuns: 300 },
    )
    expect(generateToken()).toHaveLength(32) // 160 bits by default (SPEC §3.4)
  })

  it('hashToken: 64 lower-case hex characters, the same for the same token, different for different tokens', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 200 }), fc.string({ unit: 'grapheme', maxLength: 200 }), (a, b) => {
        expect(hashToken(a)).toMatch(/^[0-9a-f]{64}$/)
        expect(hashToken(a)).toBe(hashToken(a))
        if (a !== b) expect(hashToken(a)).not.toBe(hashToken(b))
      }),
      { numRuns: 500 },
    )
  })

  it('invitationToken(key, salt): 32 base32 characters (160 bits), deterministic, different per salt and per key', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.string({ maxLength: 64 }), fc.string({ maxLength: 64 }), (k1, k2, s1, s2) => {
        const key = Buffer.from(k1)
        const t = invitationToken(key, s1)
        expect(t).toMatch(/^[a-z2-7]{32}$/)
        expect(invitationToken(key, s1)).toBe(t)
        if (s1 !== s2) expect(invitationToken(key, s2)).not.toBe(t)
        if (!Buffer.from(k2).equals(key)) expect(invitationToken(Buffer.from(k2), s1)).not.toBe(t)
      }),
      { numRuns: 300 },
    )
  })

  it('generateTemporaryPassword: 20 characters of the unambiguous alphabet, meeting the password policy, never repeated', () => {
    const seen = new Set<string>()
    fc.assert(
      fc.property(fc.integer({ min: 8, max: 20 }), (minLength) => {
        const p = generateTemporaryPassword()
        expect(p).toMatch(/^[abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789]{20}$/)
        expect(checkPasswordPolicy(p, { minLength, email: 'person@example.org', username: null, forbiddenWords: ['gatehouse'] })).toBeNull()
        expect(seen.has(p)).toBe(false)
        seen.add(p)
      }),
      { numRuns: 500 },
    )
  })

  it('generateTotpSecret: 32 base32 characters (20 bytes), never repeated', () => {
    const seen = new Set<string>()
    fc.assert(
      fc.property(fc.constant(null), () => {
        const s = generateTotpSecret()
        expect(s).toMatch(/^[A-Z2-7]{32}$/)
        expect(seen.has(s)).toBe(false)
        seen.add(s)
      }),
      { numRuns: 500 },
    )
  })
})
