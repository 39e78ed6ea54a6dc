import { describe, expect, it } from 'vitest'
import { TokenBucketLimiter, checkSignInThrottle, recordSignInFailure, failureDelayMs, clearSignInFailures, beginSignInAttempt, concludeFailedAttempt, concludeSucceededAttempt } from './rate-limit.ts'
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

describe('attempts counted before they are verified', () => {
  const policy = { threshold: 3, lockMs: 15 * 60_000 }

  it('counts attempts in flight towards the threshold, gives a success back, and locks when the failures reach it', () => {
    const db = testDb()
    const email = 'a@example.org'
    // three in flight at once: the fourth is refused before anything is verified
    for (let i = 0; i < 3; i++) expect(beginSignInAttempt(db, email, 0, policy)).toEqual({ allowed: true })
    expect(beginSignInAttempt(db, email, 0, policy)).toMatchObject({ allowed: false, locked: true })
    // one was right: given back; the two others failed, below the threshold: no lock
    expect(concludeSucceededAttempt(db, email, 0)).toEqual({ allowed: true })
    expect(concludeFailedAttempt(db, email, 0, policy)).toBe(false)
    expect(concludeFailedAttempt(db, email, 0, policy)).toBe(false)
    expect(checkSignInThrottle(db, email, 0)).toEqual({ allowed: true })
    // the third failure locks; a right attempt verified meanwhile is refused afterwards
    expect(beginSignInAttempt(db, email, 0, policy)).toEqual({ allowed: true })
    expect(beginSignInAttempt(db, email, 0, policy)).toMatchObject({ allowed: false })
    expect(concludeFailedAttempt(db, email, 0, policy)).toBe(true)
    expect(concludeSucceededAttempt(db, email, 1_000)).toMatchObject({ allowed: false, locked: true })
    expect(beginSignInAttempt(db, email, 60_000, policy)).toMatchObject({ allowed: false, locked: true, retryAfterSeconds: 14 * 60 })
    // the lock served, counting starts again from one
    expect(beginSignInAttempt(db, email, 15 * 60_000, policy)).toEqual({ allowed: true })
    expect(concludeFailedAttempt(db, email, 15 * 60_000, policy)).toBe(false)
  })

  it('keeps the growing wait between failures', () => {
    const db = testDb()
    const email = 'b@example.org'
    const wide = { threshold: 10, lockMs: 60_000 }
    let now = 0
    for (let i = 0; i < 3; i++) {
      expect(beginSignInAttempt(db, email, now, wide)).toEqual({ allowed: true })
      concludeFailedAttempt(db, email, now, wide)
    }
    expect(beginSignInAttempt(db, email, now + 999, wide)).toEqual({ allowed: false, locked: false, retryAfterSeconds: 1 })
    now += 1_000
    expect(beginSignInAttempt(db, email, now, wide)).toEqual({ allowed: true })
  })
})
