import { inArray } from 'drizzle-orm'
import { settings } from '../db/schema.ts'
import { writeTransaction, type Db } from '../db/client.ts'
import { recordAuditEvent } from './audit.ts'

export const BANNER_LEVELS = ['info', 'warning', 'critical'] as const
export type BannerLevel = (typeof BANNER_LEVELS)[number]

export type SiteSettings = {
  deploymentMode: boolean
  banner: { enabled: boolean; message: string; link: string; level: BannerLevel }
}

const DEFAULTS: SiteSettings = { deploymentMode: false, banner: { enabled: false, message: '', link: '', level: 'info' } }
const KEYS = ['deployment_mode', 'banner'] as const

// Read on every page, written rarely: cached per database, dropped on every write.
const cache = new WeakMap<Db, SiteSettings>()

export function getSiteSettings(db: Db): SiteSettings {
  const hit = cache.get(db)
  if (hit) return hit
  const rows = new Map(db.select().from(settings).where(inArray(settings.key, [...KEYS])).all().map((r) => [r.key, r.value]))
  const value: SiteSettings = {
    deploymentMode: rows.get('deployment_mode') === 'on',
    banner: rows.has('banner') ? { ...DEFAULTS.banner, ...(JSON.parse(rows.get('banner')!) as Partial<SiteSettings['banner']>) } : DEFAULTS.banner,
  }
  cache.set(db, value)
  return value
}

/** Saves the settings with one audit event per thing that changed, in one transaction. */
export function saveSiteSettings(db: Db, next: SiteSettings, audit: { at: number; actor: { id: number; email: string }; ip: string }): string[] {
  const before = getSiteSettings(db)
  const changed: string[] = []
  writeTransaction(db, () => {
    const put = (key: string, value: string) =>
      db.insert(settings).values({ key, value }).onConflictDoUpdate({ target: settings.key, set: { value } }).run()
    if (before.deploymentMode !== next.deploymentMode) {
      put('deployment_mode', next.deploymentMode ? 'on' : 'off')
      recordAuditEvent(db, { ...audit, event: next.deploymentMode ? 'deployment_mode.on' : 'deployment_mode.off', targetType: 'settings', targetId: 'deployment_mode' })
      changed.push('deployment mode')
    }
    if (JSON.stringify(before.banner) !== JSON.stringify(next.banner)) {
      put('banner', JSON.stringify(next.banner))
      recordAuditEvent(db, { ...audit, event: 'banner.updated', targetType: 'settings', targetId: 'banner', details: { before: before.banner, after: next.banner } })
      changed.push('banner')
    }
  })
  cache.delete(db)
  return changed
}
