import { and, asc, eq, isNull, sql } from 'drizzle-orm'
import { sites, type Site } from '../db/schema.ts'
import { writeTransaction, type Db } from '../db/client.ts'
import { generateToken, hashToken } from '../auth/tokens.ts'
import { recordAuditEvent } from './audit.ts'

// Sites (Trusts) and their API keys (SPEC §4). A key is shown once, when it is created or
// rotated; only its SHA-256 and a short prefix (to recognise it in lists) are stored.

export type SiteCtx = { actor: { id: number; email: string }; now: number; ip: string }

export const SITE_KEY_PREFIX = 'gh_site_'
/** Characters of a key kept in clear: `gh_site_` and 6 of its 52 random characters. */
const SHOWN_KEY_LENGTH = SITE_KEY_PREFIX.length + 6

export const SITE_CODE_PATTERN = /^[A-Za-z0-9_-]{2,20}$/
export const SITE_NAME_MAX_LENGTH = 120

function newSiteKey(): { apiKey: string; apiKeyHash: string; apiKeyPrefix: string } {
  const apiKey = SITE_KEY_PREFIX + generateToken(32)
  return { apiKey, apiKeyHash: hashToken(apiKey), apiKeyPrefix: apiKey.slice(0, SHOWN_KEY_LENGTH) }
}

function audit(db: Db, ctx: SiteCtx, event: string, site: Site, details: Record<string, unknown> = {}) {
  recordAuditEvent(db, { event, at: ctx.now, actor: ctx.actor, targetType: 'site', targetId: site.id, ip: ctx.ip, details: { code: site.code, ...details } })
}

export function getSiteById(db: Db, id: number): Site | null {
  return db.select().from(sites).where(eq(sites.id, id)).get() ?? null
}

/** Codes are unique regardless of case ("LEEDS" and "leeds" are the same site). */
export function getSiteByCode(db: Db, code: string): Site | null {
  return db.select().from(sites).where(sql`${sites.code} = ${code} collate nocase`).get() ?? null
}

export function listSitesByName(db: Db): Site[] {
  return db.select().from(sites).orderBy(asc(sites.name), asc(sites.id)).all()
}

/** The site a bearer key belongs to, found by the key's hash; null for an unknown key. */
export function getSiteByApiKey(db: Db, apiKey: string): Site | null {
  if (!apiKey.startsWith(SITE_KEY_PREFIX) || apiKey.length > 200) return null
  // Note: the lookup compares SHA-256 digests, so its timing says nothing useful about the key.
  return db.select().from(sites).where(eq(sites.apiKeyHash, hashToken(apiKey))).get() ?? null
}

/** Registers a site; the returned key is the only time it exists in clear. */
export function createSite(db: Db, input: { name: string; code: string; contactEmail: string }, ctx: SiteCtx): { site: Site; apiKey: string } {
  const { apiKey, apiKeyHash, apiKeyPrefix } = newSiteKey()
  return writeTransaction(db, () => {
    const site = db.insert(sites).values({ ...input, apiKeyHash, apiKeyPrefix, createdAt: ctx.now, keyRotatedAt: ctx.now }).returning().get()
    audit(db, ctx, 'site.created', site, { name: site.name, contact_email: site.contactEmail, key_prefix: apiKeyPrefix })
    return { site, apiKey }
  })
}

/** Name and contact only: the code is how sites and tasks are recognised, so it never changes. */
export function updateSite(db: Db, site: Site, input: { name: string; contactEmail: string }, ctx: SiteCtx): Site {
  return writeTransaction(db, () => {
    const updated = db.update(sites).set(input).where(eq(sites.id, site.id)).returning().get()
    audit(db, ctx, 'site.updated', site, { before: { name: site.name, contact_email: site.contactEmail }, after: { name: input.name, contact_email: input.contactEmail } })
    return updated
  })
}

/** Replaces the key: the old one stops working with this commit; the new one is returned once. */
export function rotateSiteKey(db: Db, site: Site, ctx: SiteCtx): { site: Site; apiKey: string } {
  const { apiKey, apiKeyHash, apiKeyPrefix } = newSiteKey()
  return writeTransaction(db, () => {
    const updated = db.update(sites).set({ apiKeyHash, apiKeyPrefix, keyRotatedAt: ctx.now }).where(eq(sites.id, site.id)).returning().get()
    audit(db, ctx, 'site.key_rotated', site, { old_key_prefix: site.apiKeyPrefix, new_key_prefix: apiKeyPrefix })
    return { site: updated, apiKey }
  })
}

/**
 * Disables an active site: from this commit its key is refused and no tasks are handed to it;
 * nothing is deleted. 'conflict' when it is disabled already (checked inside the transaction).
 */
export function disableSite(db: Db, site: Site, ctx: SiteCtx): Site | 'conflict' {
  return writeTransaction(db, () => {
    const updated = db.update(sites).set({ disabledAt: ctx.now }).where(and(eq(sites.id, site.id), isNull(sites.disabledAt))).returning().get()
    if (!updated) return 'conflict'
    audit(db, ctx, 'site.disabled', updated, { key_prefix: updated.apiKeyPrefix })
    return updated
  })
}

/** Enables a disabled site: its unchanged key works again. 'conflict' when it is active already. */
export function enableSite(db: Db, site: Site, ctx: SiteCtx): Site | 'conflict' {
  return writeTransaction(db, () => {
    const before = db.select().from(sites).where(eq(sites.id, site.id)).get()
    if (!before || before.disabledAt === null) return 'conflict'
    const updated = db.update(sites).set({ disabledAt: null }).where(eq(sites.id, site.id)).returning().get()!
    audit(db, ctx, 'site.enabled', updated, { disabled_at: before.disabledAt })
    return updated
  })
}
