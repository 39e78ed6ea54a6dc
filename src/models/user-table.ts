import { sql, type SQL } from 'drizzle-orm'
import type { Db } from '../db/client.ts'

// The admin user table (SPEC §3.6): filter, sort and pagination all happen in SQL, so a page
// costs the same at 100,000 users as at 100.

export const USER_TABLE_SORTS = ['first_name', 'last_name', 'username', 'email', 'organization', 'role', 'projects', 'last_sign_in', 'status'] as const
export type UserTableSort = (typeof USER_TABLE_SORTS)[number]
export const USER_TABLE_PAGE_SIZE = 50

export type UserTableQuery = { q: string; sort: UserTableSort; dir: 'asc' | 'desc'; page: number }

export type UserStatus =
  | 'Account disabled'
  | 'Account locked out'
  | 'Must change password'
  | 'Password expired'
  | 'MFA not enrolled'
  | 'inactive'

export type UserTableRow = {
  id: number
  firstName: string
  lastName: string
  username: string | null
  email: string
  organization: string
  role: string
  lastSignInAt: number | null
  statuses: string[]
  projects: string[]
  moreProjects: number
}

export type UserTablePage = { rows: UserTableRow[]; total: number; page: number; pages: number; query: UserTableQuery }

export type StatusPolicy = { now: number; inactiveDays: number; passwordMaxAgeDays: number }

/** Reads q/sort/dir/page from a query string, falling back to defaults for anything unexpected. */
export function parseUserTableQuery(params: Record<string, string | undefined>): UserTableQuery {
  const sort = (USER_TABLE_SORTS as readonly string[]).includes(params.sort ?? '') ? (params.sort as UserTableSort) : 'last_name'
  const page = Math.max(1, Math.min(100_000, Number.parseInt(params.page ?? '1', 10) || 1))
  return { q: (params.q ?? '').trim().slice(0, 100), sort, dir: params.dir === 'desc' ? 'desc' : 'asc', page }
}

function statusRank(p: StatusPolicy): SQL {
  return sql`case
    when u.disabled_at is not null then 0
    when t.locked_until > ${p.now} then 1
    when u.must_change_password = 1 then 2
    when ${p.passwordMaxAgeDays} > 0 and u.password_changed_at < ${p.now - p.passwordMaxAgeDays * 86_400_000} then 3
    when u.totp_secret is null then 4
    when coalesce(u.last_sign_in_at, u.created_at) < ${p.now - p.inactiveDays * 86_400_000} then 5
    else 6 end`
}

function orderBy(query: UserTableQuery, p: StatusPolicy): SQL {
  const dir = query.dir === 'desc' ? sql.raw('desc') : sql.raw('asc')
  switch (query.sort) {
    case 'first_name':
      return sql`u.first_name collate nocase ${dir}, u.id ${dir}`
    case 'last_name':
      return sql`u.last_name collate nocase ${dir}, u.id ${dir}`
    case 'username':
      return sql`u.username collate nocase ${dir}, u.id ${dir}`
    case 'email':
      return sql`u.email ${dir}`
    case 'organization':
      return sql`u.organization collate nocase ${dir}, u.id ${dir}`
    case 'role':
      return sql`u.role ${dir}, u.id ${dir}`
    case 'last_sign_in':
      return sql`u.last_sign_in_at ${dir}, u.id ${dir}`
    case 'projects':
      return sql`((select count(distinct pm.project_id) from project_members pm join projects p on p.id = pm.project_id and p.deleted_at is null where pm.user_id = u.id)
        + (select count(*) from projects p where p.owner_id = u.id and p.deleted_at is null)) ${dir}, u.id ${dir}`
    case 'status':
      return sql`${statusRank(p)} ${dir}, u.id ${dir}`
  }
}

function filter(q: string): SQL {
  if (q === '') return sql`1 = 1`
  // Trigram index for 3+ characters; shorter filters scan (they match most rows anyway).
  if ([...q].length >= 3) return sql`u.id in (select rowid from users_search where users_search match ${'"' + q.replaceAll('"', '""') + '"'})`
  const like = `%${q.replace(/[\\%_]/g, (ch) => '\\' + ch)}%`
  return sql`(u.first_name like ${like} escape '\\' or u.last_name like ${like} escape '\\' or u.username like ${like} escape '\\' or u.email like ${like} escape '\\' or u.organization like ${like} escape '\\')`
}

export function statusesOf(row: { disabled_at: number | null; locked_until: number | null; must_change_password: number; password_changed_at: number; totp_secret: string | null; last_sign_in_at: number | null; created_at: number }, p: StatusPolicy): string[] {
  const statuses: string[] = []
  if (row.disabled_at !== null) statuses.push('Account disabled')
  if (row.locked_until !== null && row.locked_until > p.now) statuses.push('Account locked out')
  if (row.must_change_password) statuses.push('Must change password')
  else if (p.passwordMaxAgeDays > 0 && row.password_changed_at < p.now - p.passwordMaxAgeDays * 86_400_000) statuses.push('Password expired')
  if (row.totp_secret === null) statuses.push('MFA not enrolled')
  if ((row.last_sign_in_at ?? row.created_at) < p.now - p.inactiveDays * 86_400_000) statuses.push(`${p.inactiveDays}+ days inactive`)
  return statuses
}

type RawRow = {
  id: number
  first_name: string
  last_name: string
  username: string | null
  email: string
  organization: string
  role: string
  last_sign_in_at: number | null
  disabled_at: number | null
  locked_until: number | null
  must_change_password: number
  password_changed_at: number
  totp_secret: string | null
  created_at: number
}

const COLUMNS = sql`u.id, u.first_name, u.last_name, u.username, u.email, u.organization, u.role, u.last_sign_in_at,
  u.disabled_at, t.locked_until, u.must_change_password, u.password_changed_at,
  case when u.totp_secret is null then null else 1 end as totp_secret, u.created_at`

export function listUsersForTable(db: Db, query: UserTableQuery, p: StatusPolicy): UserTablePage {
  const where = filter(query.q)
  let raw: RawRow[]
  let total: number
  let page: number
  if ([...query.q].length >= 3) {
    // Filtered: the full-text match runs once. Its ids come back sorted; their number is the
    // total, and the page is a slice (a filter matches thousands at most, never the directory).
    const ids = db.all<{ id: number }>(sql`select u.id from users u left join sign_in_throttles t on t.email = u.email where ${where} order by ${orderBy(query, p)}`).map((r) => r.id)
    total = ids.length
    page = Math.min(query.page, Math.max(1, Math.ceil(total / USER_TABLE_PAGE_SIZE)))
    const pageIds = ids.slice((page - 1) * USER_TABLE_PAGE_SIZE, page * USER_TABLE_PAGE_SIZE)
    const byId = new Map(
      (pageIds.length === 0 ? [] : db.all<RawRow>(sql`select ${COLUMNS} from users u left join sign_in_throttles t on t.email = u.email where u.id in (${sql.join(pageIds.map((id) => sql`${id}`), sql`, `)})`)).map((r) => [r.id, r]),
    )
    raw = pageIds.map((id) => byId.get(id)!).filter(Boolean)
  } else {
    total = db.get<{ n: number }>(sql`select count(*) as n from users u where ${where}`).n
    page = Math.min(query.page, Math.max(1, Math.ceil(total / USER_TABLE_PAGE_SIZE)))
    raw = db.all<RawRow>(sql`
      select ${COLUMNS}
      from users u left join sign_in_throttles t on t.email = u.email
      where ${where}
      order by ${orderBy(query, p)}
      limit ${USER_TABLE_PAGE_SIZE} offset ${(page - 1) * USER_TABLE_PAGE_SIZE}`)
  }
  const pages = Math.max(1, Math.ceil(total / USER_TABLE_PAGE_SIZE))
  const projects = projectNamesByUser(db, raw.map((r) => r.id))
  const rows = raw.map((r) => {
    const names = projects.get(r.id) ?? []
    return {
      id: r.id,
      firstName: r.first_name,
      lastName: r.last_name,
      username: r.username,
      email: r.email,
      organization: r.organization,
      role: r.role,
      lastSignInAt: r.last_sign_in_at,
      statuses: statusesOf(r, p),
      projects: names.slice(0, 3),
      moreProjects: Math.max(0, names.length - 3),
    }
  })
  return { rows, total, page, pages, query: { ...query, page } }
}

function projectNamesByUser(db: Db, userIds: number[]): Map<number, string[]> {
  const byUser = new Map<number, string[]>()
  if (userIds.length === 0) return byUser
  const ids = sql.join(userIds.map((id) => sql`${id}`), sql`, `)
  const rows = db.all<{ user_id: number; name: string }>(sql`
    select pm.user_id, p.name from project_members pm join projects p on p.id = pm.project_id and p.deleted_at is null where pm.user_id in (${ids})
    union
    select p.owner_id as user_id, p.name from projects p where p.owner_id in (${ids}) and p.deleted_at is null
    order by 2 collate nocase`)
  for (const row of rows) byUser.set(row.user_id, [...(byUser.get(row.user_id) ?? []), row.name])
  return byUser
}

export type UserExportRow = Omit<UserTableRow, 'projects' | 'moreProjects'> & { projects: string[] }

/**
 * Every user the table's filter and sort select (SPEC §3.6), in chunks of `chunk`, for the CSV
 * export: the ordered ids are read once, then each chunk's rows and project names by id, so no
 * statement stays open between chunks (the export is streamed and awaits a slow client).
 */
export function* iterateUsersForExport(db: Db, query: Pick<UserTableQuery, 'q' | 'sort' | 'dir'>, p: StatusPolicy, chunk = 1000): Generator<UserExportRow[]> {
  const full: UserTableQuery = { ...query, page: 1 }
  const ids = db.all<{ id: number }>(sql`select u.id from users u left join sign_in_throttles t on t.email = u.email where ${filter(full.q)} order by ${orderBy(full, p)}`).map((r) => r.id)
  for (let i = 0; i < ids.length; i += chunk) {
    const slice = ids.slice(i, i + chunk)
    const byId = new Map(db.all<RawRow>(sql`select ${COLUMNS} from users u left join sign_in_throttles t on t.email = u.email where u.id in (${sql.join(slice.map((id) => sql`${id}`), sql`, `)})`).map((r) => [r.id, r]))
    const projects = projectNamesByUser(db, slice)
    yield slice.flatMap((id) => {
      const r = byId.get(id)
      if (!r) return []
      return [{ id: r.id, firstName: r.first_name, lastName: r.last_name, username: r.username, email: r.email, organization: r.organization, role: r.role, lastSignInAt: r.last_sign_in_at, statuses: statusesOf(r, p), projects: projects.get(r.id) ?? [] }]
    })
  }
}
