import { afterEach, describe, expect, it, vi } from 'vitest'
import { eq } from 'drizzle-orm'
import * as crypto from 'node:crypto'
import { createTestEnv, createTestUser } from '../test/helpers.ts'
import { recoveryCodes } from '../db/schema.ts'
import { issueFirstRecoveryCodes, consumeRecoveryCode, countUnusedRecoveryCodes, generateRecoveryCodes, hashRecoveryCode, issueRecoveryCodes, normalizeRecoveryCode } from './recovery-codes.ts'

afterEach(() => vi.restoreAllMocks())

describe('recovery codes', () => {
  it('generates 10 distinct codes of 10 Crockford base32 characters, grouped XXXXX-XXXXX', () => {
    const codes = generateRecoveryCodes()
    expect(codes).toHaveLength(10)
    expect(new Set(codes).size).toBe(10)
    for (const code of codes) expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}$/)
    // 1000 sets: never a repeat across sets either (50 bits each)
    const all = new Set(Array.from({ length: 100 }, generateRecoveryCodes).flat())
    expect(all.size).toBe(1000)
  })

  it('draws from the CSPRNG, never Math.random', () => {
    const random = vi.spyOn(Math, 'random')
    generateRecoveryCodes()
    expect(random).not.toHaveBeenCalled()
  })

  it('normalises case, spaces, hyphens and the Crockford aliases O, I, L; refuses other shapes', () => {
    expect(normalizeRecoveryCode(' abcde-fghjk ')).toBe('ABCDEFGHJK')
    expect(normalizeRecoveryCode('o1il0 - 23456')).toBe('01110' + '23456')
    expect(normalizeRecoveryCode('ABCDE-FGHJ')).toBeNull()
    expect(normalizeRecoveryCode('ABCDE-FGHJKM')).toBeNull()
    expect(normalizeRecoveryCode('ABCDE-FGHJU')).toBeNull() // U is not in the alphabet
    expect(normalizeRecoveryCode('')).toBeNull()
  })

  it('stores only SHA-256 hashes of the normalised codes, never the codes', async () => {
    const t = createTestEnv()
    const u = await createTestUser(t)
    const codes = issueRecoveryCodes(t.db, u.user.id, t.clock.now())
    const rows = t.db.select().from(recoveryCodes).where(eq(recoveryCodes.userId, u.user.id)).all()
    expect(rows).toHaveLength(10)
    const stored = JSON.stringify(rows)
    for (const code of codes) {
      expect(stored).not.toContain(code)
      expect(stored).not.toContain(code.replace('-', ''))
    }
    expect(rows.map((r) => r.codeHash).sort()).toEqual(codes.map((c) => crypto.createHash('sha256').update(c.replace('-', '')).digest('hex')).sort())
    expect(hashRecoveryCode('ABCDEFGHJK')).toMatch(/^[0-9a-f]{64}$/)
  })

  it('consumes a code once, for its own user only; a new set kills the old one', async () => {
    const t = createTestEnv()
    const u = await createTestUser(t)
    const other = await createTestUser(t)
    const codes = issueRecoveryCodes(t.db, u.user.id, t.clock.now())
    expect(consumeRecoveryCode(t.db, other.user.id, codes[0]!, t.clock.now())).toBe(false)
    expect(consumeRecoveryCode(t.db, u.user.id, codes[0]!.toLowerCase(), t.clock.now())).toBe(true)
    expect(consumeRecoveryCode(t.db, u.user.id, codes[0]!, t.clock.now())).toBe(false)
    expect(countUnusedRecoveryCodes(t.db, u.user.id)).toBe(9)
    issueRecoveryCodes(t.db, u.user.id, t.clock.now())
    expect(consumeRecoveryCode(t.db, u.user.id, codes[1]!, t.clock.now())).toBe(false)
    expect(countUnusedRecoveryCodes(t.db, u.user.id)).toBe(10)
  })

  it('issues the first set only while the user has none (the chain step cannot hand out two sets)', async () => {
    const t = createTestEnv()
    const u = await createTestUser(t, { recoveryCodesIssued: false })
    const first = issueFirstRecoveryCodes(t.db, u.user.id, t.clock.now())
    expect(first).toHaveLength(10)
    expect(issueFirstRecoveryCodes(t.db, u.user.id, t.clock.now())).toBeNull()
    expect(consumeRecoveryCode(t.db, u.user.id, first![0]!, t.clock.now())).toBe(true)
  })
})
