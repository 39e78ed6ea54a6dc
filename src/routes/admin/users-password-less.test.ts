import { describe, expect, it } from 'vitest'
import { eq } from 'drizzle-orm'
import { createTestEnv, createTestUser, signIn, type TestEnv } from '../../test/helpers.ts'
import { users } from '../../db/schema.ts'
import { NO_LOCAL_PASSWORD } from '../../auth/local-password.ts'
import { listUsersForTable, parseUserTableQuery, statusesOf } from '../../models/user-table.ts'
import { isPasswordExpired } from '../../auth/sign-in-chain.ts'

// PASSWORD_MAX_AGE_DAYS and accounts claimed through a provider (no local password): the user
// table's badge, its status sort (SQL) and the sign-in chain agree that only a local password expires.

const DAY = 86_400_000

async function world(t: TestEnv) {
  const admin = await createTestUser(t, { role: 'admin', email: 'root@example.org' })
  const local = await createTestUser(t, { email: 'local@example.org' })
  const federated = await createTestUser(t, { email: 'federated@example.org' })
  const old = t.clock.now() - 120 * DAY
  t.db.update(users).set({ passwordChangedAt: old }).where(eq(users.id, local.user.id)).run()
  t.db.update(users).set({ passwordChangedAt: old, passwordHash: NO_LOCAL_PASSWORD, claimedVia: 'Hospital' }).where(eq(users.id, federated.user.id)).run()
  return { admin, local, federated }
}

function badgesOf(html: string, email: string): string[] {
  const row = html.split("<tr>").find((tr) => tr.replaceAll("<wbr/>", "").includes(`>${email}</a>`)) // BreakableEmail adds <wbr/>
  if (!row) throw new Error(`no row for ${email}`)
  return [...row.matchAll(/<span class="badge">([^<]+)<\/span>/g)].map((m) => m[1]!)
}

describe('password expiry (PASSWORD_MAX_AGE_DAYS) and accounts without a local password', () => {
  it('the list shows “Password expired” for the old local password only, not for the password-less account', async () => {
    const t = createTestEnv({ PASSWORD_MAX_AGE_DAYS: '90' })
    const { admin } = await world(t)
    const client = await signIn(t, admin)
    const html = await (await client.get('/admin/users')).text()
    expect(badgesOf(html, 'local@example.org')).toEqual(['Password expired'])
    expect(badgesOf(html, 'federated@example.org')).toEqual([])
    const csv = await (await client.get('/admin/users.csv?sort=email')).text()
    expect(csv).toMatch(/local@example\.org,.*Password expired/)
    expect(csv).not.toMatch(/federated@example\.org,.*Password expired/)
  })

  it('the status sort (SQL) ranks the password-less account with the accounts that have no status, as statusesOf does', async () => {
    const t = createTestEnv({ PASSWORD_MAX_AGE_DAYS: '90' })
    await world(t)
    const policy = { now: t.clock.now(), inactiveDays: t.config.inactiveDays, passwordMaxAgeDays: 90 }
    const order = (dir: string) => listUsersForTable(t.db, parseUserTableQuery({ sort: 'status', dir }), policy).rows.map((r) => r.email)
    // rank 3 (password expired) before rank 6 (nothing); root and federated share rank 6, ordered by id
    expect(order('asc')).toEqual(['local@example.org', 'root@example.org', 'federated@example.org'])
    expect(order('desc')).toEqual(['federated@example.org', 'root@example.org', 'local@example.org'])
    // without a maximum age nothing expires, and the sort is by id alone
    const none = listUsersForTable(t.db, parseUserTableQuery({ sort: 'status' }), { ...policy, passwordMaxAgeDays: 0 }).rows
    expect(none.map((r) => r.email)).toEqual(['root@example.org', 'local@example.org', 'federated@example.org'])
    expect(none.flatMap((r) => r.statuses)).toEqual([])
  })

  it('statusesOf and isPasswordExpired agree on every combination', async () => {
    const t = createTestEnv({ PASSWORD_MAX_AGE_DAYS: '90' })
    const { local, federated } = await world(t)
    const now = t.clock.now()
    const policy = { now, inactiveDays: 365, passwordMaxAgeDays: 90 }
    for (const u of [local, federated]) {
      const user = t.db.select().from(users).where(eq(users.id, u.user.id)).get()!
      for (const changedAt of [now - 120 * DAY, now - 10 * DAY]) {
        const row = { disabled_at: null, locked_until: null, must_change_password: 0, password_changed_at: changedAt, has_local_password: user.passwordHash.startsWith('$argon2') ? 1 : 0, totp_secret: 'x', last_sign_in_at: now, created_at: now }
        const expired = isPasswordExpired({ ...user, passwordChangedAt: changedAt }, now, 90)
        expect(statusesOf(row, policy).includes('Password expired'), `${user.email} ${changedAt}`).toBe(expired)
      }
    }
    expect(isPasswordExpired({ ...local.user, passwordChangedAt: now - 120 * DAY }, now, 90)).toBe(true)
  })
})
