import { describe, expect, it } from 'vitest'
import { eq } from 'drizzle-orm'
import { testDb } from '../test/helpers.ts'
import { invitations } from '../db/schema.ts'
import { hashToken, keyedTokenHash } from '../auth/tokens.ts'
import { getInvitationByToken, invitationToken, upgradeInvitationTokenHashes } from './invitations.ts'

const KEY = Buffer.alloc(32, 3)

function insert(db: ReturnType<typeof testDb>, salt: string, status: 'sent' | 'accepted', tokenHash: string) {
  return db.insert(invitations).values({ email: `${salt}@example.org`, role: 'researcher', tokenSalt: salt, tokenHash, status, createdAt: 0, sentAt: 0, expiresAt: 1e13 }).returning().get()
}

describe('invitation link hashes', () => {
  it('a link stored under its bare SHA-256 (before keyed hashes) is found only after the start-up upgrade, which keys open invitations once', () => {
    const db = testDb()
    const open = insert(db, 'open', 'sent', hashToken(invitationToken(KEY, 'open')))
    const closed = insert(db, 'closed', 'accepted', hashToken(invitationToken(KEY, 'closed')))
    const keyed = insert(db, 'keyed', 'sent', keyedTokenHash(KEY, invitationToken(KEY, 'keyed')))
    expect(getInvitationByToken(db, KEY, invitationToken(KEY, 'open'))).toBeNull()
    expect(upgradeInvitationTokenHashes(db, KEY)).toBe(1)
    expect(getInvitationByToken(db, KEY, invitationToken(KEY, 'open'))?.id).toBe(open.id)
    expect(getInvitationByToken(db, KEY, invitationToken(KEY, 'keyed'))?.id).toBe(keyed.id)
    expect(db.select().from(invitations).where(eq(invitations.id, closed.id)).get()!.tokenHash).toBe(hashToken(invitationToken(KEY, 'closed')))
    expect(upgradeInvitationTokenHashes(db, KEY)).toBe(0)
    // a token derived with another key finds nothing
    expect(getInvitationByToken(db, Buffer.alloc(32, 4), invitationToken(Buffer.alloc(32, 4), 'open'))).toBeNull()
  })
})
