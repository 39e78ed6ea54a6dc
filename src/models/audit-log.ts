import type { Db } from '../db/client.ts'
import type { AuditEvent } from '../db/schema.ts'

export type AuditFilter = { actor: string; target: string; event: string; ip: string; from: string; to: string; before: number | null }

export const AUDIT_PAGE_SIZE = 100

export function parseAuditFilter(q: Record<string, string | undefined>): AuditFilter {
  const clean = (v: string | undefined) => (v ?? '').trim().slice(0, 200)
  const before = Number(q.before)
  return { actor: clean(q.actor), target: clean(q.target), event: clean(q.event), ip: clean(q.ip), from: clean(q.from), to: clean(q.to), before: Number.isInteger(before) && before > 0 ? before : null }
}

/** True when both days are valid and the end day is before the start day (such a filter matches nothing). */
export function isReversedRange(f: Pick<AuditFilter, 'from' | 'to'>): boolean {
  const from = dayStart(f.from)
  const to = dayStart(f.to)
  return from !== null && to !== null && to < from
}

/** Milliseconds at the start of a YYYY-MM-DD day (UTC), or null. */
function dayStart(value: string): number | null {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return null
  const ms = Date.parse(`${value}T00:00:00Z`)
  return Number.isNaN(ms) ? null : ms
}

/** The WHERE clause and its parameters for a filter (raw SQL: it also feeds the streaming CSV). */
function where(f: AuditFilter): { clause: string; params: unknown[] } {
  const parts = ['1 = 1']
  const params: unknown[] = []
  const add = (clause: string, ...values: unknown[]) => {
    parts.push(clause)
    params.push(...values)
  }
  if (f.actor) add('actor_email like ?', `%${f.actor.toLowerCase()}%`)
  if (f.target) {
    const [type, id] = f.target.split(/\s+/, 2)
    if (id) add('target_type = ? and target_id = ?', type, id)
    else add('(target_type = ? or target_id = ?)', type, type)
  }
  if (f.event) {
    if (f.event.includes('.') && !f.event.endsWith('.')) add('event = ?', f.event)
    else add('event like ?', `${f.event.replace(/\.$/, '')}.%`)
  }
  if (f.ip) add('ip = ?', f.ip)
  const from = dayStart(f.from)
  if (from !== null) add('at >= ?', from)
  const to = dayStart(f.to)
  if (to !== null) add('at < ?', to + 86_400_000)
  return { clause: parts.join(' and '), params }
}

/** Newest first, a page at a time: `before` is the id the next page starts below (keyset paging). */
export function listAuditEvents(db: Db, f: AuditFilter): { events: AuditEvent[]; nextBefore: number | null } {
  const w = where(f)
  const keyset = f.before ? ' and id < ?' : ''
  const rows = db.$client.prepare(`select * from audit_events where ${w.clause}${keyset} order by id desc limit ?`).all(...w.params, ...(f.before ? [f.before] : []), AUDIT_PAGE_SIZE + 1) as Record<string, unknown>[]
  const events = rows.slice(0, AUDIT_PAGE_SIZE).map(toEvent)
  return { events, nextBefore: rows.length > AUDIT_PAGE_SIZE ? events.at(-1)!.id : null }
}

/**
 * Every matching event, oldest first, in chunks of 1,000 read by keyset: memory stays constant,
 * and no statement stays open between chunks (the connection is shared with other requests).
 */
export function* iterateAuditEvents(db: Db, f: AuditFilter, chunk = 1000): Generator<AuditEvent[]> {
  const w = where(f)
  const statement = db.$client.prepare(`select * from audit_events where ${w.clause} and id > ? order by id asc limit ?`)
  let after = 0
  for (;;) {
    const rows = statement.all(...w.params, after, chunk) as Record<string, unknown>[]
    if (rows.length === 0) return
    yield rows.map(toEvent)
    after = rows.at(-1)!.id as number
  }
}

function toEvent(r: Record<string, unknown>): AuditEvent {
  return {
    id: r.id as number,
    at: r.at as number,
    event: r.event as string,
    actorId: r.actor_id as number | null,
    actorEmail: r.actor_email as string | null,
    targetType: r.target_type as string | null,
    targetId: r.target_id as string | null,
    ip: r.ip as string | null,
    details: r.details as string,
    hash: r.hash as string | null,
  }
}

/** The name each target type shows (and for a model, its project) in one SELECT per type, combined below. */
const TARGET_NAMES: Record<string, string> = {
  user: 'select id, email as name, null as project_id from users',
  project: 'select id, name, null as project_id from projects',
  group: 'select id, name, null as project_id from groups',
  site: 'select id, name, null as project_id from sites',
  role: 'select id, name, null as project_id from roles',
  invitation: 'select id, email as name, null as project_id from invitations',
  model: 'select id, name, project_id from models',
  email: 'select id, subject as name, null as project_id from outbox',
  identity_provider: 'select id, name, null as project_id from identity_providers',
}

export type AuditTargetName = { name: string; projectId: number | null }

/** Detail keys that hold the id (or a list of ids) of a record, and the record's target type: shown by name and linked. */
export const AUDIT_DETAIL_REFERENCES: Readonly<Record<string, string>> = {
  user_id: 'user',
  owner_id: 'user',
  project_id: 'project',
  project_ids: 'project',
  group_id: 'group',
  group_ids: 'group',
  site_id: 'site',
  site_ids: 'site',
  role_id: 'role',
  role_ids: 'role',
}

/** The ids a detail value refers to: a positive integer, or a list of them (anything else refers to nothing). */
export function detailReferenceIds(value: unknown): number[] {
  const one = (v: unknown) => (typeof v === 'number' && Number.isSafeInteger(v) && v > 0 ? [v] : typeof v === 'string' && /^[1-9][0-9]{0,14}$/.test(v) ? [Number(v)] : [])
  return Array.isArray(value) ? value.flatMap(one) : one(value)
}

function parseDetails(json: string | undefined): Record<string, unknown> | null {
  if (!json) return null
  try {
    const value: unknown = JSON.parse(json)
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null
  } catch {
    return null
  }
}

/**
 * `${type} ${id}` → the current name, for the targets of one page's events and the records their
 * details refer to (AUDIT_DETAIL_REFERENCES), in one query; records that no longer exist are absent.
 */
export function resolveAuditTargets(db: Db, events: readonly (Pick<AuditEvent, 'targetType' | 'targetId'> & { details?: string })[]): Map<string, AuditTargetName> {
  const ids = new Map<string, Set<number>>()
  const add = (type: string, id: number) => {
    const set = ids.get(type) ?? new Set<number>()
    set.add(id)
    ids.set(type, set)
  }
  for (const e of events) {
    const details = parseDetails(e.details)
    if (details) for (const [key, type] of Object.entries(AUDIT_DETAIL_REFERENCES)) for (const id of detailReferenceIds(details[key])) add(type, id)
    if (!e.targetType || !(e.targetType in TARGET_NAMES) || !e.targetId || !/^[1-9][0-9]{0,14}$/.test(e.targetId)) continue
    add(e.targetType, Number(e.targetId))
  }
  const names = new Map<string, AuditTargetName>()
  if (ids.size === 0) return names
  const parts: string[] = []
  const params: unknown[] = []
  for (const [type, set] of ids) {
    parts.push(`select ? as type, * from (${TARGET_NAMES[type]} where id in (${[...set].map(() => '?').join(', ')}))`)
    params.push(type, ...set)
  }
  const rows = db.$client.prepare(parts.join(' union all ')).all(...params) as { type: string; id: number; name: string; project_id: number | null }[]
  for (const r of rows) names.set(`${r.type} ${r.id}`, { name: r.name, projectId: r.project_id })
  return names
}