import { describe, expect, it } from 'vitest'
import { TokenBucketLimiter, checkSignInThrottle, recordSignInFailure, failureDelayMs, clearSignInFailures } from './rate-limit.ts'
import { testDb } from '../test/helpers.ts'

describe('per-IP token bucket', () => {
  it('allows the burst, then one per second, per key', () => {
    const limiter = new TokenBucketLimiter(20, 1)
    for (let i = 0; i < 20; i++) expect(limiter.consume('a', 0)).toBe(0)
    expect(limiter.consume('a', 0)).toBe(1)
    expect(limiter.consume('b', 0)).toBe(0)
    expect(limiter.consume('a', 999)).toBe(1)
    expect(limiter.consume('a', 1000)).toBe(0)
  })
})

describe('per-account throttle', () => {
  const policy = { threshold: 10, lockMs: 15 * 60_000 }

  it('grows the wait with each failure, capped at a minute', () => {
    expect([1, 2, 3, 4, 5, 6, 9, 20].map(failureDelayMs)).toEqual([0, 0, 1000, 2000, 4000, 8000, 60000, 60000])
  })

  it('locks at the threshold for the lock time, then counts afresh', () => {
    const db = testDb()
    let now = 0
    for (let i = 1; i < 10; i++) {
      expect(recordSignInFailure(db, 'a@example.org', now, policy)).toBe(false)
      now += 60_000
    }
    expect(checkSignInThrottle(db, 'a@example.org', now)).toEqual({ allowed: true })
    expect(recordSignInFailure(db, 'a@example.org', now, policy)).toBe(true)
    expect(checkSignInThrottle(db, 'a@example.org', now + 60_000)).toEqual({ allowed: false, locked: true, retryAfterSeconds: 14 * 60 })
    now += 15 * 60_000
    expect(checkSignInThrottle(db, 'a@example.org', now)).toEqual({ allowed: true })
    expect(recordSignInFailure(db, 'a@example.org', now, policy)).toBe(false)
    expect(checkSignInThrottle(db, 'a@example.org', now)).toEqual({ allowed: true }) // one failure: no wait
    clearSignInFailures(db, 'a@example.org')
    expect(checkSignInThrottle(db, 'a@example.org', now)).toEqual({ allowed: true })
  })
})
