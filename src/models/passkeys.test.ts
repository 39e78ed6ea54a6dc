import { describe, expect, it } from 'vitest'
import { createTestEnv, createTestUser } from '../test/helpers.ts'
import { webauthnChallenges } from '../db/schema.ts'
import { CHALLENGE_TTL_MS, consumeChallenge, countSecondFactors, passkeyNameError, storeChallenge } from './passkeys.ts'

describe('WebAuthn challenges', () => {
  it('are taken once, only for their purpose and binding, and only within 5 minutes', () => {
    const t = createTestEnv()
    const now = t.clock.now()
    storeChallenge(t.db, { challenge: 'c1', purpose: 'second-factor', binding: 'session:a', userId: null, now })
    expect(consumeChallenge(t.db, { challenge: 'c1', purpose: 'sign-in', binding: 'session:a', now })).toBe(false)
    expect(consumeChallenge(t.db, { challenge: 'c1', purpose: 'second-factor', binding: 'session:b', now })).toBe(false)
    expect(consumeChallenge(t.db, { challenge: 'c1', purpose: 'second-factor', binding: 'session:a', now })).toBe(true)
    expect(consumeChallenge(t.db, { challenge: 'c1', purpose: 'second-factor', binding: 'session:a', now })).toBe(false)

    storeChallenge(t.db, { challenge: 'c2', purpose: 'register', binding: 'session:a', userId: null, now })
    expect(consumeChallenge(t.db, { challenge: 'c2', purpose: 'register', binding: 'session:a', now: now + CHALLENGE_TTL_MS })).toBe(false)
    storeChallenge(t.db, { challenge: 'c3', purpose: 'register', binding: 'session:a', userId: null, now })
    expect(consumeChallenge(t.db, { challenge: 'c3', purpose: 'register', binding: 'session:a', now: now + CHALLENGE_TTL_MS - 1 })).toBe(true)
  })

  it('sweeps expired challenges when a new one is stored', () => {
    const t = createTestEnv()
    const now = t.clock.now()
    storeChallenge(t.db, { challenge: 'old', purpose: 'sign-in', binding: 'preauth:x', userId: null, now })
    storeChallenge(t.db, { challenge: 'new', purpose: 'sign-in', binding: 'preauth:x', userId: null, now: now + CHALLENGE_TTL_MS })
    expect(t.db.select().from(webauthnChallenges).all().map((r) => r.challenge)).toEqual(['new'])
  })
})

describe('second factors and names', () => {
  it('counts the authenticator app and each passkey, not recovery codes', async () => {
    const t = createTestEnv()
    const enrolled = await createTestUser(t)
    const none = await createTestUser(t, { enrolled: false })
    expect(countSecondFactors(t.db, enrolled.user.id)).toBe(1)
    expect(countSecondFactors(t.db, none.user.id)).toBe(0)
  })

  it('refuses empty, long and control-character names', () => {
    expect(passkeyNameError('')).toBeDefined()
    expect(passkeyNameError('x'.repeat(61))).toBeDefined()
    expect(passkeyNameError('a\u0000b')).toBeDefined()
    expect(passkeyNameError('a\u2028b')).toBeDefined()
    expect(passkeyNameError('Work laptop')).toBeUndefined()
  })
})
