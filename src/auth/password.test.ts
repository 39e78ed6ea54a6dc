import { describe, expect, it } from 'vitest'
import { checkPasswordPolicy, concurrencyLimit, HASH_CONCURRENCY, hashPassword, hashQueue, verifyPasswordHash } from './password.ts'
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

describe('the hash queue', () => {
  it('never runs more than its limit at once, in arrival order, and gives each caller its own result or error', async () => {
    const limit = concurrencyLimit(2)
    let now = 0
    let most = 0
    const started: number[] = []
    const task = (i: number) => async () => {
      started.push(i)
      now++
      most = Math.max(most, now)
      await new Promise((r) => setTimeout(r, 5 + ((i * 7) % 11)))
      now--
      if (i === 3) throw new Error('task 3 fails')
      return i * 10
    }
    const results = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => limit.run(task(i))))
    expect(most).toBe(2)
    expect(limit.stats.highWater).toBe(2)
    expect(started).toEqual([...Array(12).keys()])
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual([0, 10, 20, 'task 3 fails', 40, 50, 60, 70, 80, 90, 100, 110])
    expect([limit.stats.running, limit.stats.waiting]).toEqual([0, 0])
  })

  it('hashes and verifies through it: many at once never exceed HASH_CONCURRENCY, and every result is right', async () => {
    const hashes = await Promise.all(['violet-harbour-lantern-1', 'violet-harbour-lantern-2', 'violet-harbour-lantern-3'].map((p) => hashPassword(p)))
    const checks = await Promise.all(hashes.flatMap((h, i) => [verifyPasswordHash(h, `violet-harbour-lantern-${i + 1}`), verifyPasswordHash(h, 'wrong-password-here')]))
    expect(checks).toEqual([true, false, true, false, true, false])
    expect(hashQueue.highWater).toBeGreaterThanOrEqual(1)
    expect(hashQueue.highWater).toBeLessThanOrEqual(HASH_CONCURRENCY)
    expect([hashQueue.running, hashQueue.waiting]).toEqual([0, 0])
  })
})
