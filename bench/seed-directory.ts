import type { Db } from '../src/db/client.ts'
import { hashPassword } from '../src/auth/password.ts'

const FIRST = ['Ada', 'Alan', 'Amara', 'Bea', 'Chen', 'Dara', 'Eli', 'Fatima', 'Grace', 'Hiro', 'Ines', 'Jonas', 'Kofi', 'Lena', 'Maya', 'Nia', 'Omar', 'Priya', 'Quinn', 'Rosa', 'Sven', 'Tariq', 'Uma', 'Viktor', 'Wen', 'Xavier', 'Yara', 'Zoe']
const LAST = ['Adeyemi', 'Baker', 'Chowdhury', 'Dubois', 'Evans', 'Fischer', 'Garcia', 'Hughes', 'Ivanova', 'Jones', 'Khan', 'Lindqvist', 'Morgan', 'Nakamura', 'Okafor', 'Patel', 'Quigley', 'Rossi', 'Smith', 'Taylor', 'Usman', 'Varga', 'Williams', 'Xu', 'Young', 'Zielinski']
const ORGS = ['Leeds Teaching Hospitals', "Guy's and St Thomas'", 'University College London Hospitals', 'Manchester University NHS FT', 'Oxford University Hospitals', 'Cambridge University Hospitals', 'NHS Greater Glasgow', 'Cardiff and Vale UHB', 'Imperial College', 'Newcastle upon Tyne Hospitals']

/** Deterministic PRNG (mulberry32), so every seeded database is the same. */
export function prng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export type SeedCounts = { users: number; groups: number; projects: number; memberships: number }

/** Inserts users (user00001@seed.example …, all with password "seeded-directory-password"), groups, projects and memberships. */
export async function seedDirectory(db: Db, counts: SeedCounts, seed = 42): Promise<SeedCounts> {
  const random = prng(seed)
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!
  const sqlite = db.$client
  const hash = await hashPassword('seeded-directory-password')
  const now = Date.now()
  const day = 86_400_000
  const roleIds = new Map((sqlite.prepare('select id, name from roles').all() as { id: number; name: string }[]).map((r) => [r.name, r.id]))
  const firstUserId = ((sqlite.prepare('select coalesce(max(id), 0) as m from users').get() as { m: number }).m) + 1

  const insertUser = sqlite.prepare(`insert into users (email, first_name, last_name, username, organization, role, password_hash, password_changed_at, must_change_password, totp_secret, mfa_enrolled_at, disabled_at, last_sign_in_at, created_at)
    values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
  const insertGroup = sqlite.prepare('insert into groups (name, description, created_at) values (?, ?, ?)')
  const insertProject = sqlite.prepare('insert into projects (name, description, owner_id, group_id, status, created_at, updated_at) values (?, ?, ?, ?, ?, ?, ?)')
  const insertMember = sqlite.prepare('insert or ignore into project_members (project_id, user_id, role_id, created_at) values (?, ?, ?, ?)')

  let memberships = 0
  sqlite.transaction(() => {
    for (let i = 1; i <= counts.users; i++) {
      const first = pick(FIRST)
      const last = pick(LAST)
      const r = random()
      const role = i === 1 ? 'admin' : r < 0.01 ? 'admin' : r < 0.7 ? 'researcher' : 'observer'
      const created = now - Math.floor(random() * 900) * day
      const lastSignIn = random() < 0.9 ? created + Math.floor(random() * (now - created)) : null
      insertUser.run(
        `user${String(i).padStart(6, '0')}@seed.example`,
        first,
        last,
        `${first.toLowerCase()}_${i}`,
        pick(ORGS),
        role,
        hash,
        created,
        random() < 0.02 ? 1 : 0,
        random() < 0.95 ? 'v1:seeded-not-a-real-secret' : null,
        created,
        random() < 0.03 ? now - day : null,
        lastSignIn,
        created,
      )
    }
    const firstGroupId = ((sqlite.prepare('select coalesce(max(id), 0) as m from groups').get() as { m: number }).m) + 1
    for (let g = 0; g < counts.groups; g++) insertGroup.run(`Centre ${String(g + 1).padStart(4, '0')}`, `Seeded group ${g + 1}`, now)
    const firstProjectId = ((sqlite.prepare('select coalesce(max(id), 0) as m from projects').get() as { m: number }).m) + 1
    const statuses = ['unstaged', 'unstaged', 'staged', 'approved'] as const
    for (let p = 0; p < counts.projects; p++) {
      const owner = firstUserId + Math.floor(random() * counts.users)
      const group = counts.groups > 0 ? firstGroupId + Math.floor(random() * counts.groups) : null
      insertProject.run(`Project ${String(p + 1).padStart(5, '0')} ${pick(LAST)} cohort`, 'Seeded project', owner, group, pick(statuses), now, now)
    }
    const contributor = roleIds.get('contributor')!
    const readOnly = roleIds.get('read-only')!
    while (memberships < counts.memberships && counts.projects > 0) {
      const project = firstProjectId + Math.floor(random() * counts.projects)
      const user = firstUserId + Math.floor(random() * counts.users)
      memberships += insertMember.run(project, user, random() < 0.7 ? contributor : readOnly, now).changes
    }
  }).immediate()
  return { ...counts, memberships }
}
