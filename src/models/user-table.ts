import { inArray, sql, type SQL } from 'drizzle-orm'
import type { Db } from '../db/client.ts'
import { invitations, type Invitation } from '../db/schema.ts'
import { invitationStatus, type InvitationStatus } from './invitations.ts'

// The admin user table (SPEC §3.6): filter, sort and pagination all happen in SQL, so a page
// costs the same at 100,000 users as at 100.

export const USER_TABLE_SORTS = ['first_name', 'last_name', 'username', 'email', 'organization', 'role', 'projects', 'last_sign_in', 'status'] as const
export type UserTableSort = (typeof USER_TABLE_SORTS)[number]
export const USER_TABLE_PAGE_SIZE = 50
export const USER_TABLE_PAGE_SIZES = [25, 50, 100] as const
/** The status facets, in the order the list shows them; '' is everything (accounts and open invitations). */
export const USER_FACETS = ['active', 'admins', 'disabled', 'locked', 'mfa_not_enrolled', 'must_change_password', 'inactive', 'invitations'] as const
export type UserFacet = (typeof USER_FACETS)[number]

export type UserTableQuery = { q: string; sort: UserTableSort; dir: 'asc' | 'desc'; page: number; status: UserFacet | ''; perPage: number }

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

export type InvitationTableRow = Omit<Invitation, 'status'> & { status: InvitationStatus }
/** One row of the list: an account or an open invitation, sorted together by the same key. */
export type UserTableEntry = { kind: 'user'; user: UserTableRow } | { kind: 'invitation'; invitation: InvitationTableRow }
/** Count per facet for the current text filter; `all` counts accounts and open invitations. */
export type UserFacetCounts = Record<UserFacet | 'all', number>

export type UserTablePage = { entries: UserTableEntry[]; rows: UserTableRow[]; total: number; page: number; pages: number; query: UserTableQuery; facets: UserFacetCounts }

export type StatusPolicy = { now: number; inactiveDays: number; passwordMaxAgeDays: number }

/** Reads q/sort/dir/page/status/per_page from a query string, falling back to defaults for anything unexpected. */
export function parseUserTableQuery(params: Record<string, string | undefined>): UserTableQuery {
  const sort = (USER_TABLE_SORTS as readonly string[]).includes(params.sort ?? '') ? (params.sort as UserTableSort) : 'last_name'
  const page = Math.max(1, Math.min(100_000, Number.parseInt(params.page ?? '1', 10) || 1))
  const status = (USER_FACETS as readonly string[]).includes(params.status ?? '') ? (params.status as UserFacet) : ''
  const perPage = (USER_TABLE_PAGE_SIZES as readonly number[]).includes(Number(params.per_page)) ? Number(params.per_page) : USER_TABLE_PAGE_SIZE
  return { q: (params.q ?? '').trim().slice(0, 100), sort, dir: params.dir === 'desc' ? 'desc' : 'asc', page, status, perPage }
}

const DAY = 86_400_000

/** The SQL condition of an account facet (u = users); the same rules as statusesOf. */
function facetCondition(facet: Exclude<UserFacet, 'invitations'>, p: StatusPolicy): SQL {
  switch (facet) {
    case 'active':
      return sql`u.disabled_at is null`
    case 'admins':
      return sql`u.role = 'admin'`
    case 'disabled':
      return sql`u.disabled_at is not null`
    case 'locked':
      // a list subquery over the few lock rows (sign_in_throttles_locked_idx), not a join per account
      return sql`u.email in (select email from sign_in_throttles where locked_until is not null and locked_until > ${p.now})`
    case 'mfa_not_enrolled':
      return sql`u.totp_secret is null`
    case 'must_change_password':
      return sql`u.must_change_password = 1`
    case 'inactive':
      return sql`coalesce(u.last_sign_in_at, u.created_at) < ${p.now - p.inactiveDays * DAY}`
  }
}

function accountWhere(query: Pick<UserTableQuery, 'q' | 'status'>, p: StatusPolicy): SQL {
  if (query.status === '' || query.status === 'invitations') return filter(query.q)
  return sql`${filter(query.q)} and ${facetCondition(query.status, p)}`
}

/** Open invitations matching the text filter (names, email, organisation); i = invitations. */
function invitationWhere(q: string): SQL {
  const open = sql`i.status in ('sent', 'link visited')`
  if (q === '') return open
  const like = `%${q.toLowerCase().replace(/[\\%_]/g, (ch) => '\\' + ch)}%`
  return sql`${open} and (lower(i.email) like ${like} escape '\\' or lower(i.organization) like ${like} escape '\\' or lower(coalesce(i.first_name, '')) like ${like} escape '\\' or lower(coalesce(i.last_name, '')) like ${like} escape '\\')`
}

/**
 * Every facet's count for the text filter: in one statement (one pass over the matching accounts)
 * when there is a filter; without one, one count per facet, each read from its own index, so the
 * unfiltered list never scans every account (SPEC §8: 100,000 users).
 */
export function countUserFacets(db: Db, q: string, p: StatusPolicy): UserFacetCounts {
  if (q === '') return countUnfilteredFacets(db, p)
  // total() of a condition (0 or 1, never null here) counts the rows that meet it: fewer steps per row than sum(case …).
  const sum = (facet: Exclude<UserFacet, 'invitations'>) => sql`total(${facetCondition(facet, p)})`
  const row = db.get<Record<string, number>>(sql`
    select count(*) as accounts, ${sum('active')} as active, ${sum('admins')} as admins, ${sum('disabled')} as disabled, ${sum('locked')} as locked,
      ${sum('mfa_not_enrolled')} as mfa_not_enrolled, ${sum('must_change_password')} as must_change_password, ${sum('inactive')} as inactive,
      (select count(*) from invitations i where ${invitationWhere(q)}) as invitations
    from users u
    where ${filter(q)}`)
  const counts = { all: row.accounts! + row.invitations! } as UserFacetCounts
  for (const facet of USER_FACETS) counts[facet] = row[facet]!
  return counts
}

function countUnfilteredFacets(db: Db, p: StatusPolicy): UserFacetCounts {
  const count = (where: SQL) => db.get<{ n: number }>(sql`select count(*) as n from users u where ${where}`)!.n
  const accounts = count(sql`1 = 1`)
  const disabled = count(facetCondition('disabled', p))
  const invitations = db.get<{ n: number }>(sql`select count(*) as n from invitations i where ${invitationWhere('')}`)!.n
  return {
    all: accounts + invitations,
    active: accounts - disabled,
    admins: count(facetCondition('admins', p)),
    disabled,
    locked: count(facetCondition('locked', p)),
    mfa_not_enrolled: count(facetCondition('mfa_not_enrolled', p)),
    must_change_password: count(facetCondition('must_change_password', p)),
    inactive: count(facetCondition('inactive', p)),
    invitations,
  }
}

/** The sort key of a row in the account/invitation union: accounts by `u`, invitations by `i` (no username, projects, sign-in; status after every account's). */
function sortKeys(query: UserTableQuery, p: StatusPolicy): { account: SQL; invitation: SQL; text: boolean } {
  switch (query.sort) {
    case 'first_name':
      return { account: sql`u.first_name`, invitation: sql`coalesce(i.first_name, '')`, text: true }
    case 'last_name':
      return { account: sql`u.last_name`, invitation: sql`coalesce(i.last_name, '')`, text: true }
    case 'username':
      return { account: sql`u.username`, invitation: sql`null`, text: true }
    case 'email':
      return { account: sql`u.email`, invitation: sql`i.email`, text: false }
    case 'organization':
      return { account: sql`u.organization`, invitation: sql`i.organization`, text: true }
    case 'role':
      return { account: sql`u.role`, invitation: sql`i.role`, text: false }
    case 'last_sign_in':
      return { account: sql`u.last_sign_in_at`, invitation: sql`null`, text: false }
    case 'projects':
      return {
        account: sql`((select count(distinct pm.project_id) from project_members pm join projects p on p.id = pm.project_id and p.deleted_at is null where pm.user_id = u.id)
        + (select count(*) from projects p where p.owner_id = u.id and p.deleted_at is null))`,
        invitation: sql`0`,
        text: false,
      }
    case 'status':
      return { account: statusRank(p), invitation: sql`7`, text: false }
  }
}

/**
 * The SQL of isPasswordExpired (src/auth/sign-in-chain.ts): only a local password (an argon2 PHC
 * string, see hasLocalPassword) ever expires; an account claimed through a provider has none.
 */
function passwordExpired(p: StatusPolicy): SQL {
  return sql`(${p.passwordMaxAgeDays} > 0 and u.password_hash like '$argon2%' and u.password_changed_at < ${p.now - p.passwordMaxAgeDays * 86_400_000})`
}

function statusRank(p: StatusPolicy): SQL {
  return sql`case
    when u.disabled_at is not null then 0
    when t.locked_until > ${p.now} then 1
    when u.must_change_password = 1 then 2
    when ${passwordExpired(p)} then 3
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

/** `has_local_password` is 1 for an argon2 password_hash (the sentinel of a password-less account is 0): only a local password expires. */
export function statusesOf(row: { disabled_at: number | null; locked_until: number | null; must_change_password: number; password_changed_at: number; has_local_password: number; totp_secret: string | null; last_sign_in_at: number | null; created_at: number }, p: StatusPolicy): string[] {
  const statuses: string[] = []
  if (row.disabled_at !== null) statuses.push('Account disabled')
  if (row.locked_until !== null && row.locked_until > p.now) statuses.push('Account locked out')
  if (row.must_change_password) statuses.push('Must change password')
  else if (p.passwordMaxAgeDays > 0 && row.has_local_password === 1 && row.password_changed_at < p.now - p.passwordMaxAgeDays * 86_400_000) statuses.push('Password expired')
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
  has_local_password: number
  totp_secret: string | null
  created_at: number
}

const COLUMNS = sql`u.id, u.first_name, u.last_name, u.username, u.email, u.organization, u.role, u.last_sign_in_at,
  u.disabled_at, t.locked_until, u.must_change_password, u.password_changed_at,
  case when u.password_hash like '$argon2%' then 1 else 0 end as has_local_password,
  case when u.totp_secret is null then null else 1 end as totp_secret, u.created_at`

/**
 * One page of the list: accounts and (with no facet or the invitations facet) open invitations,
 * sorted together by one key in one SQL union, counted by the facet query, paged with limit/offset.
 */
export function listUsersForTable(db: Db, query: UserTableQuery, p: StatusPolicy): UserTablePage {
  const facets = countUserFacets(db, query.q, p)
  const total = query.status === '' ? facets.all : facets[query.status]
  const pages = Math.max(1, Math.ceil(total / query.perPage))
  const page = Math.min(query.page, pages)
  const keys = sortKeys(query, p)
  const dir = query.dir === 'desc' ? sql.raw('desc') : sql.raw('asc')
  // Each side is sorted and cut to the rows this page could need (so an index on the sort column
  // serves it), then the union is sorted once more and paged.
  const needed = page * query.perPage
  const throttles = query.sort === 'status' ? sql`left join sign_in_throttles t on t.email = u.email` : sql``
  const accounts = sql`select * from (select 'user' as kind, u.id as id, ${keys.account} as k from users u ${throttles} where ${accountWhere(query, p)} order by ${orderBy(query, p)} limit ${needed})`
  const open = sql`select * from (select 'invitation' as kind, i.id as id, ${keys.invitation} as k from invitations i where ${invitationWhere(query.q)} order by k ${keys.text ? sql`collate nocase` : sql``} ${dir}, i.id ${dir} limit ${needed})`
  const union = query.status === '' ? sql`${accounts} union all ${open}` : query.status === 'invitations' ? open : accounts
  const order = keys.text ? sql`k collate nocase ${dir}, kind ${dir}, id ${dir}` : sql`k ${dir}, kind ${dir}, id ${dir}`
  const slice = db.all<{ kind: 'user' | 'invitation'; id: number }>(sql`select kind, id from (${union}) order by ${order} limit ${query.perPage} offset ${(page - 1) * query.perPage}`)
  const rows = loadUserRows(db, slice.filter((r) => r.kind === 'user').map((r) => r.id), p)
  const inviteIds = slice.filter((r) => r.kind === 'invitation').map((r) => r.id)
  const invites = new Map((inviteIds.length === 0 ? [] : db.select().from(invitations).where(inArray(invitations.id, inviteIds)).all()).map((i) => [i.id, { ...i, status: invitationStatus(i, p.now) }]))
  const byId = new Map(rows.map((r) => [r.id, r]))
  const entries: UserTableEntry[] = slice.flatMap((r): UserTableEntry[] => {
    if (r.kind === 'user') {
      const user = byId.get(r.id)
      return user ? [{ kind: 'user', user }] : []
    }
    const invitation = invites.get(r.id)
    return invitation ? [{ kind: 'invitation', invitation }] : []
  })
  return { entries, rows: entries.flatMap((e) => (e.kind === 'user' ? [e.user] : [])), total, page, pages, query: { ...query, page }, facets }
}

function loadUserRows(db: Db, ids: number[], p: StatusPolicy): UserTableRow[] {
  if (ids.length === 0) return []
  const raw = db.all<RawRow>(sql`select ${COLUMNS} from users u left join sign_in_throttles t on t.email = u.email where u.id in (${sql.join(ids.map((id) => sql`${id}`), sql`, `)})`)
  const projects = projectNamesByUser(db, ids)
  return raw.map((r) => {
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
export function* iterateUsersForExport(db: Db, query: Pick<UserTableQuery, 'q' | 'sort' | 'dir' | 'status'>, p: StatusPolicy, chunk = 1000): Generator<UserExportRow[]> {
  if (query.status === 'invitations') return
  const full: UserTableQuery = { ...query, page: 1, perPage: USER_TABLE_PAGE_SIZE }
  const ids = db.all<{ id: number }>(sql`select u.id from users u left join sign_in_throttles t on t.email = u.email where ${accountWhere(full, p)} order by ${orderBy(full, p)}`).map((r) => r.id)
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
