import { describe, expect, it } from 'vitest'
import { eq } from 'drizzle-orm'
import { createTestEnv, createTestUser, signIn } from '../../test/helpers.ts'
import { recoveryCodes } from '../../db/schema.ts'
import { issueRecoveryCodes } from '../../auth/recovery-codes.ts'

// The admin user page's summary of an account's second factors (issue 14 item 6).

function factsOf(html: string): string {
  const facts = /<dt>Authenticator app<\/dt>[\s\S]*?<dd id="factor-recovery-codes-left">[^<]*<\/dd>/.exec(html)?.[0]
  expect(facts, 'the factors summary').toBeTruthy()
  return facts!.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim()
}

describe('the factors on /admin/users/:id', () => {
  it('shows the authenticator and the recovery codes left, and after "reset MFA" neither (codes cleared)', async () => {
    const t = createTestEnv()
    const admin = await createTestUser(t, { role: 'admin' })
    const target = await createTestUser(t)
    const codes = issueRecoveryCodes(t.db, target.user.id, t.clock.now())
    const [first] = t.db.select().from(recoveryCodes).where(eq(recoveryCodes.userId, target.user.id)).all()
    t.db.update(recoveryCodes).set({ usedAt: t.clock.now() }).where(eq(recoveryCodes.id, first!.id)).run()
    const client = await signIn(t, admin)
    const before = factsOf(await (await client.get(`/admin/users/${target.user.id}`)).text())
    expect(before).toMatch(/^Authenticator app Yes, since 2026-11-02 09:00 UTC Passkeys None Recovery codes 9 left$/)
    expect(codes).toHaveLength(10)
    expect((await client.post(`/admin/users/${target.user.id}/reset-mfa`, { confirm: 'yes' })).status).toBe(303)
    const after = factsOf(await (await client.get(`/admin/users/${target.user.id}`)).text())
    expect(after).toBe('Authenticator app No Passkeys None Recovery codes None issued')
    expect(t.db.select().from(recoveryCodes).where(eq(recoveryCodes.userId, target.user.id)).all()).toEqual([])
  })
})
