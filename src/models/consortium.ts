import { and, asc, eq, isNotNull, isNull, sql } from 'drizzle-orm'
import { consortiumCentreStudies, consortiumDataTypes, consortiumStudies, groups, projects, settings, type Group } from '../db/schema.ts'
import { writeTransaction, type Db } from '../db/client.ts'
import { recordAuditEvent } from './audit.ts'
import type { Ctx } from './projects.ts'
import type { ConsortiumStructure, StudyKind } from '../import/structure.ts'

// The consortium structure of SPEC §6.1, stored in the database: studies, data types, centre
// groups (groups with a centre id) and the studies each takes part in, the admin group (a settings
// row), and each centre's labelled projects. Applying a structure only ever creates or updates.

/** The settings key holding the admin group's id. */
export const ADMIN_GROUP_SETTING = 'consortium_admin_group_id'

/** The structure as stored. With nothing configured: no studies, data types or centres, and adminGroup ''. */
export function getConsortiumStructure(db: Db): ConsortiumStructure {
  const studies: Record<string, StudyKind> = {}
  for (const s of db.select().from(consortiumStudies).orderBy(asc(consortiumStudies.id)).all()) studies[s.id] = s.kind
  const dataTypes = db.select().from(consortiumDataTypes).orderBy(asc(consortiumDataTypes.name)).all().map((d) => d.name)
  const centres: ConsortiumStructure['centres'] = {}
  for (const g of db.select().from(groups).where(isNotNull(groups.centreId)).orderBy(asc(groups.centreId)).all()) centres[g.centreId!] = { group: g.name, studies: [] }
  const links = db
    .select({ centreId: groups.centreId, studyId: consortiumCentreStudies.studyId })
    .from(consortiumCentreStudies)
    .innerJoin(groups, eq(groups.id, consortiumCentreStudies.groupId))
    .orderBy(asc(consortiumCentreStudies.studyId))
    .all()
  for (const l of links) if (l.centreId !== null) centres[l.centreId]?.studies.push(l.studyId)
  return { studies, dataTypes, centres, adminGroup: getAdminGroup(db)?.name ?? '' }
}

export function getAdminGroup(db: Db): Group | null {
  const row = db.select().from(settings).where(eq(settings.key, ADMIN_GROUP_SETTING)).get()
  if (!row) return null
  return db.select().from(groups).where(eq(groups.id, Number(row.value))).get() ?? null
}

/**
 * The project labels of a centre (SPEC §6.1): `metadata`, and for each of its studies
 * `accepted`, `ingest-<datatype>`, `sandbox-<datatype>`, suffixed `-<study>` for an affiliated study.
 */
export function centreProjectLabels(structure: Pick<ConsortiumStructure, 'studies' | 'dataTypes'>, centreStudies: string[]): string[] {
  const labels = ['metadata']
  for (const study of centreStudies) {
    const kind = structure.studies[study]
    if (!kind) continue
    const suffix = kind === 'primary' ? '' : `-${study}`
    labels.push(`accepted${suffix}`)
    for (const dt of structure.dataTypes) labels.push(`ingest-${dt}${suffix}`, `sandbox-${dt}${suffix}`)
  }
  return [...new Set(labels)]
}

/** `groupId/label` of every live labelled project, in one query. */
export function listLiveProjectLabels(db: Db): Set<string> {
  const rows = db.select({ groupId: projects.groupId, label: projects.label }).from(projects).where(and(isNotNull(projects.label), isNull(projects.deletedAt))).all()
  return new Set(rows.map((r) => `${r.groupId}/${r.label}`))
}

/** Every live labelled project's id by `group name/label`, in one query (an import resolves thousands of grants). */
export function labelledProjectIds(db: Db): Map<string, number> {
  const rows = db
    .select({ id: projects.id, group: groups.name, label: projects.label })
    .from(projects)
    .innerJoin(groups, eq(groups.id, projects.groupId))
    .where(and(isNotNull(projects.label), isNull(projects.deletedAt)))
    .all()
  return new Map(rows.map((r) => [`${r.group}/${r.label}`, r.id]))
}

/** The live (not deleted) project with this label in the group, if any. */
export function getProjectByLabel(db: Db, groupId: number, label: string) {
  return db.select().from(projects).where(and(eq(projects.groupId, groupId), eq(projects.label, label), isNull(projects.deletedAt))).get() ?? null
}

export type StructureCounts = { studies: number; dataTypes: number; groups: number; centreStudies: number; projects: number }

export type ApplyStructureResult =
  | {
      ok: true
      /** False for a dry run: the changes were computed, then rolled back. */
      applied: boolean
      /** Whether anything was (or, in a dry run, would be) created or updated. */
      changed: boolean
      created: StructureCounts
      updated: { studies: number; groups: number; adminGroup: boolean }
      /** `group/label` of each project created. */
      createdProjects: string[]
    }
  | { ok: false; errors: string[] }

class DryRunRollback extends Error {
  constructor(readonly result: ApplyStructureResult) {
    super('dry run')
  }
}

/**
 * Creates or updates (never deletes) the studies, data types, centre groups (matched by centre id;
 * a group without a centre id but with the centre's name is adopted), the admin group, the studies
 * each centre takes part in, and the labelled projects, owned by `ownerId` (default ctx.actor.id). One transaction and one
 * audit event `consortium.structure_applied` (none when nothing changed: a re-run is a no-op).
 * Conflicts with what is stored (a name held by another group, two primary studies) are returned
 * as errors and nothing is changed. `dryRun` computes the same result and rolls back.
 */
export function applyConsortiumStructure(db: Db, parsed: ConsortiumStructure, ctx: Ctx, options: { dryRun?: boolean; ownerId?: number } = {}): ApplyStructureResult {
  try {
    return writeTransaction(db, () => {
      const result = applyInTransaction(db, parsed, ctx, options.ownerId ?? ctx.actor.id)
      if (options.dryRun || !result.ok) throw new DryRunRollback(result.ok ? { ...result, applied: false } : result)
      return result
    })
  } catch (error) {
    if (error instanceof DryRunRollback) return error.result
    throw error
  }
}

function groupByNameNocase(db: Db, name: string): Group | null {
  return db.select().from(groups).where(sql`${groups.name} = ${name} collate nocase`).get() ?? null
}

function applyInTransaction(db: Db, parsed: ConsortiumStructure, ctx: Ctx, ownerId: number): ApplyStructureResult {
  const errors: string[] = []
  const created: StructureCounts = { studies: 0, dataTypes: 0, groups: 0, centreStudies: 0, projects: 0 }
  const updated = { studies: 0, groups: 0, adminGroup: false }
  const createdProjects: string[] = []

  // Studies and data types.
  for (const [id, kind] of Object.entries(parsed.studies)) {
    const existing = db.select().from(consortiumStudies).where(eq(consortiumStudies.id, id)).get()
    if (!existing) {
      db.insert(consortiumStudies).values({ id, kind }).run()
      created.studies++
    } else if (existing.kind !== kind) {
      db.update(consortiumStudies).set({ kind }).where(eq(consortiumStudies.id, id)).run()
      updated.studies++
    }
  }
  const primaries = db.select().from(consortiumStudies).where(eq(consortiumStudies.kind, 'primary')).all()
  if (primaries.length > 1) errors.push(`studies: at most one study may be primary; with this file it would be ${primaries.map((s) => s.id).join(', ')}`)
  for (const name of parsed.dataTypes) {
    if (db.insert(consortiumDataTypes).values({ name }).onConflictDoNothing().run().changes > 0) created.dataTypes++
  }
  // Labels are computed from everything stored (a study or data type configured earlier still counts).
  const stored = { studies: Object.fromEntries(db.select().from(consortiumStudies).all().map((s) => [s.id, s.kind])) as Record<string, StudyKind>, dataTypes: db.select().from(consortiumDataTypes).orderBy(asc(consortiumDataTypes.name)).all().map((d) => d.name) }

  const present = listLiveProjectLabels(db)
  const ensureProjects = (group: Group, labels: string[]) => {
    for (const label of labels) {
      if (present.has(`${group.id}/${label}`)) continue
      db.insert(projects).values({ name: `${group.name}/${label}`, description: `Consortium project ${label} of ${group.name}.`, ownerId, groupId: group.id, label, status: 'unstaged', createdAt: ctx.now, updatedAt: ctx.now }).run()
      created.projects++
      createdProjects.push(`${group.name}/${label}`)
    }
  }

  // The admin group.
  const adminName = parsed.adminGroup.trim()
  let admin = groupByNameNocase(db, adminName)
  if (admin && admin.centreId !== null) errors.push(`admin_group: "${adminName}" is the group of centre ${admin.centreId}`)
  if (Object.values(parsed.centres).some((c) => c.group.trim().toLowerCase() === adminName.toLowerCase())) errors.push(`admin_group: "${adminName}" is also the name of a centre`)

  // Centres.
  const centreGroups: { group: Group; studies: string[] }[] = []
  for (const [key, centre] of Object.entries(parsed.centres)) {
    const adcid = Number(key)
    const name = centre.group.trim()
    const byId = db.select().from(groups).where(eq(groups.centreId, adcid)).get() ?? null
    const byName = groupByNameNocase(db, name)
    let group: Group
    if (byId) {
      if (byName && byName.id !== byId.id) {
        errors.push(`centre ${adcid}: the name "${name}" belongs to another group (the centre's group is "${byId.name}")`)
        continue
      }
      group = byId
      if (byId.name !== name) {
        db.update(groups).set({ name }).where(eq(groups.id, byId.id)).run()
        group = { ...byId, name }
        updated.groups++
      }
    } else if (byName) {
      if (byName.centreId !== null) {
        errors.push(`centre ${adcid}: the group "${byName.name}" is centre ${byName.centreId} already`)
        continue
      }
      if (admin && byName.id === admin.id) continue // reported above
      db.update(groups).set({ centreId: adcid, name }).where(eq(groups.id, byName.id)).run()
      group = { ...byName, centreId: adcid, name }
      updated.groups++
    } else {
      group = db.insert(groups).values({ name, description: `Consortium centre ${adcid}.`, centreId: adcid, createdAt: ctx.now }).returning().get()
      created.groups++
    }
    for (const studyId of centre.studies) {
      if (db.insert(consortiumCentreStudies).values({ groupId: group.id, studyId }).onConflictDoNothing().run().changes > 0) created.centreStudies++
    }
    centreGroups.push({ group, studies: centre.studies })
  }
  if (errors.length > 0) return { ok: false, errors }

  if (!admin) {
    admin = db.insert(groups).values({ name: adminName, description: 'Consortium administration.', createdAt: ctx.now }).returning().get()
    created.groups++
  }
  const current = db.select().from(settings).where(eq(settings.key, ADMIN_GROUP_SETTING)).get()
  const adminSettingChanged = current?.value !== String(admin.id)
  if (adminSettingChanged) {
    db.insert(settings).values({ key: ADMIN_GROUP_SETTING, value: String(admin.id) }).onConflictDoUpdate({ target: settings.key, set: { value: String(admin.id) } }).run()
    updated.adminGroup = current !== undefined
  }

  ensureProjects(admin, ['metadata'])
  for (const { group } of centreGroups) {
    const all = db.select({ studyId: consortiumCentreStudies.studyId }).from(consortiumCentreStudies).where(eq(consortiumCentreStudies.groupId, group.id)).orderBy(asc(consortiumCentreStudies.studyId)).all().map((r) => r.studyId)
    ensureProjects(group, centreProjectLabels(stored, all))
  }

  const changed = Object.values(created).some((n) => n > 0) || updated.studies > 0 || updated.groups > 0 || adminSettingChanged
  if (changed) {
    recordAuditEvent(db, {
      event: 'consortium.structure_applied',
      at: ctx.now,
      actor: ctx.actor,
      targetType: 'group',
      targetId: admin.id,
      ip: ctx.ip,
      details: { admin_group: admin.name, owner_id: ownerId, created: { studies: created.studies, data_types: created.dataTypes, groups: created.groups, centre_studies: created.centreStudies, projects: created.projects }, updated: { studies: updated.studies, groups: updated.groups, admin_group: updated.adminGroup } },
    })
  }
  return { ok: true, applied: true, changed, created, updated, createdProjects }
}
