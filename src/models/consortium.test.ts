import { describe, expect, it } from 'vitest'
import { and, asc, eq, isNull } from 'drizzle-orm'
import { createTestEnv, createTestUser, type TestEnv, type TestUser } from '../test/helpers.ts'
import { auditEvents, groups, projects } from '../db/schema.ts'
import { applyConsortiumStructure, centreProjectLabels, getConsortiumStructure } from './consortium.ts'
import { createGroup } from './groups.ts'
import { deleteProject, type Ctx } from './projects.ts'
import type { ConsortiumStructure } from '../import/structure.ts'

// The consortium structure of SPEC §6.1 in the database: apply creates studies, data types, centre
// groups and their labelled projects exactly, never deletes, and a re-run changes nothing.

const STRUCTURE: ConsortiumStructure = {
  adminGroup: 'NACC',
  studies: { adrc: 'primary', dvcid: 'affiliated' },
  dataTypes: ['form', 'dicom', 'enrollment-form'],
  centres: { 1: { group: 'Alpha ADRC', studies: ['adrc', 'dvcid'] }, 2: { group: 'Beta ADRC', studies: ['adrc'] }, 3: { group: 'Gamma DVCID', studies: ['dvcid'] } },
}

async function fixture(): Promise<{ t: TestEnv; admin: TestUser; ctx: () => Ctx }> {
  const t = createTestEnv()
  const admin = await createTestUser(t, { role: 'admin', email: 'admin@example.org' })
  return { t, admin, ctx: () => ({ actor: { id: admin.user.id, email: admin.user.email }, now: t.clock.now(), ip: '192.0.2.9' }) }
}

function labelsOf(t: TestEnv, groupName: string): string[] {
  const group = t.db.select().from(groups).where(eq(groups.name, groupName)).get()!
  return t.db
    .select({ label: projects.label })
    .from(projects)
    .where(and(eq(projects.groupId, group.id), isNull(projects.deletedAt)))
    .orderBy(asc(projects.label))
    .all()
    .map((p) => p.label!)
}

const structureEvents = (t: TestEnv) => t.db.select().from(auditEvents).where(eq(auditEvents.event, 'consortium.structure_applied')).all()

describe('applyConsortiumStructure', () => {
  it('creates each centre’s labelled projects exactly, and the admin group’s metadata project', async () => {
    const { t, admin, ctx } = await fixture()
    const result = applyConsortiumStructure(t.db, STRUCTURE, ctx())
    expect(result.ok).toBe(true)

    const dts = ['dicom', 'enrollment-form', 'form']
    const forStudy = (suffix: string) => [`accepted${suffix}`, ...dts.flatMap((d) => [`ingest-${d}${suffix}`, `sandbox-${d}${suffix}`])]
    expect(labelsOf(t, 'Alpha ADRC')).toEqual(['metadata', ...forStudy(''), ...forStudy('-dvcid')].sort())
    expect(labelsOf(t, 'Beta ADRC')).toEqual(['metadata', ...forStudy('')].sort())
    expect(labelsOf(t, 'Gamma DVCID')).toEqual(['metadata', ...forStudy('-dvcid')].sort())
    expect(labelsOf(t, 'NACC')).toEqual(['metadata'])

    const all = t.db.select().from(projects).all()
    expect(all).toHaveLength(1 + 15 + 8 + 8)
    expect(all.every((p) => p.ownerId === admin.user.id && p.status === 'unstaged')).toBe(true)
    expect(all.find((p) => p.label === 'ingest-form-dvcid')!.name).toBe('Alpha ADRC/ingest-form-dvcid')

    const alpha = t.db.select().from(groups).where(eq(groups.name, 'Alpha ADRC')).get()!
    expect(alpha.centreId).toBe(1)
    expect(t.db.select().from(groups).where(eq(groups.name, 'NACC')).get()!.centreId).toBeNull()

    expect(getConsortiumStructure(t.db)).toEqual({ ...STRUCTURE, dataTypes: [...STRUCTURE.dataTypes].sort() })
  })

  it('records one audit event with the counts created', async () => {
    const { t, admin, ctx } = await fixture()
    applyConsortiumStructure(t.db, STRUCTURE, ctx())
    const events = structureEvents(t)
    expect(events).toHaveLength(1)
    expect(events[0]!.actorId).toBe(admin.user.id)
    expect(JSON.parse(events[0]!.details)).toMatchObject({ admin_group: 'NACC', created: { studies: 2, data_types: 3, groups: 4, centre_studies: 4, projects: 32 } })
    // Nothing else was audited (no per-project events).
    expect(t.db.select().from(auditEvents).all()).toHaveLength(1)
  })

  it('is idempotent: a second run changes nothing and records nothing', async () => {
    const { t, ctx } = await fixture()
    applyConsortiumStructure(t.db, STRUCTURE, ctx())
    const before = { projects: t.db.select().from(projects).all(), groups: t.db.select().from(groups).all() }
    t.clock.advance(60_000)
    const again = applyConsortiumStructure(t.db, STRUCTURE, ctx())
    expect(again).toMatchObject({ ok: true, changed: false, created: { studies: 0, dataTypes: 0, groups: 0, centreStudies: 0, projects: 0 } })
    expect(t.db.select().from(projects).all()).toEqual(before.projects)
    expect(t.db.select().from(groups).all()).toEqual(before.groups)
    expect(structureEvents(t)).toHaveLength(1)
  })

  it('adds without deleting: a new study or data type adds projects; a centre left out keeps its own', async () => {
    const { t, ctx } = await fixture()
    applyConsortiumStructure(t.db, STRUCTURE, ctx())
    const next: ConsortiumStructure = { adminGroup: 'NACC', studies: { adrc: 'primary', leads: 'affiliated' }, dataTypes: ['apoe'], centres: { 2: { group: 'Beta ADRC', studies: ['leads'] } } }
    const result = applyConsortiumStructure(t.db, next, ctx())
    expect(result).toMatchObject({ ok: true, changed: true, created: { studies: 1, dataTypes: 1, groups: 0, centreStudies: 1 } })
    const beta = labelsOf(t, 'Beta ADRC')
    for (const l of ['ingest-apoe', 'sandbox-apoe', 'accepted-leads', 'ingest-form-leads', 'ingest-apoe-leads']) expect(beta).toContain(l)
    expect(labelsOf(t, 'Alpha ADRC')).toHaveLength(15) // untouched
    const stored = getConsortiumStructure(t.db)
    expect(Object.keys(stored.studies).sort()).toEqual(['adrc', 'dvcid', 'leads'])
    expect(stored.centres[2]!.studies).toEqual(['adrc', 'leads'])
    expect(stored.centres[1]).toBeDefined()
  })

  it('recreates a labelled project that was deleted', async () => {
    const { t, ctx } = await fixture()
    applyConsortiumStructure(t.db, STRUCTURE, ctx())
    const p = t.db.select().from(projects).where(eq(projects.label, 'accepted')).get()!
    deleteProject(t.db, p, ctx())
    const again = applyConsortiumStructure(t.db, STRUCTURE, ctx())
    expect(again).toMatchObject({ ok: true, created: { projects: 1 } })
    expect(again.ok && again.createdProjects).toEqual([`${t.db.select().from(groups).where(eq(groups.id, p.groupId!)).get()!.name}/accepted`])
  })

  it('renames a centre’s group by centre id, and adopts an existing group of the same name', async () => {
    const { t, ctx } = await fixture()
    createGroup(t.db, { name: 'beta adrc', description: 'made by hand' }, { at: t.clock.now(), actor: ctx().actor, ip: '' })
    applyConsortiumStructure(t.db, STRUCTURE, ctx())
    const beta = t.db.select().from(groups).where(eq(groups.centreId, 2)).get()!
    expect(beta.description).toBe('made by hand')
    expect(beta.name).toBe('Beta ADRC')
    const renamed = applyConsortiumStructure(t.db, { ...STRUCTURE, centres: { ...STRUCTURE.centres, 2: { group: 'Beta Centre', studies: ['adrc'] } } }, ctx())
    expect(renamed).toMatchObject({ ok: true, updated: { groups: 1 }, created: { groups: 0, projects: 0 } })
    expect(t.db.select().from(groups).where(eq(groups.centreId, 2)).get()!.name).toBe('Beta Centre')
  })

  it('refuses conflicts with what is stored, changing nothing', async () => {
    const { t, ctx } = await fixture()
    applyConsortiumStructure(t.db, STRUCTURE, ctx())
    const clash = applyConsortiumStructure(t.db, { ...STRUCTURE, centres: { 4: { group: 'Alpha ADRC', studies: [] } } }, ctx())
    expect(clash.ok).toBe(false)
    expect(!clash.ok && clash.errors.join('\n')).toMatch(/centre 4: the group "Alpha ADRC" is centre 1/)
    const twoPrimaries = applyConsortiumStructure(t.db, { ...STRUCTURE, studies: { ...STRUCTURE.studies, other: 'primary' }, centres: {} }, ctx())
    expect(!twoPrimaries.ok && twoPrimaries.errors.join('\n')).toMatch(/at most one study may be primary/)
    const adminIsCentre = applyConsortiumStructure(t.db, { ...STRUCTURE, adminGroup: 'Alpha ADRC', centres: {} }, ctx())
    expect(!adminIsCentre.ok && adminIsCentre.errors.join('\n')).toMatch(/admin_group: "Alpha ADRC" is the group of centre 1/)
    expect(getConsortiumStructure(t.db).studies).toEqual(STRUCTURE.studies)
    expect(structureEvents(t)).toHaveLength(1)
  })

  it('dry run computes the same result and stores nothing', async () => {
    const { t, ctx } = await fixture()
    const dry = applyConsortiumStructure(t.db, STRUCTURE, ctx(), { dryRun: true })
    expect(dry).toMatchObject({ ok: true, applied: false, changed: true, created: { projects: 32, groups: 4 } })
    expect(t.db.select().from(projects).all()).toHaveLength(0)
    expect(t.db.select().from(auditEvents).all()).toHaveLength(0)
    expect(getConsortiumStructure(t.db)).toEqual({ studies: {}, dataTypes: [], centres: {}, adminGroup: '' })
  })

  it('enforces one live project per label in a group', async () => {
    const { t, admin, ctx } = await fixture()
    applyConsortiumStructure(t.db, STRUCTURE, ctx())
    const nacc = t.db.select().from(groups).where(eq(groups.name, 'NACC')).get()!
    const row = { name: 'x', ownerId: admin.user.id, groupId: nacc.id, label: 'metadata', createdAt: 0, updatedAt: 0 }
    expect(() => t.db.insert(projects).values(row).run()).toThrow(/UNIQUE/)
    expect(() => t.db.insert(projects).values({ ...row, deletedAt: 1 }).run()).not.toThrow()
    expect(() => t.db.insert(projects).values({ ...row, label: null }).run()).not.toThrow()
  })
})

describe('centreProjectLabels', () => {
  it('suffixes affiliated studies only', () => {
    expect(centreProjectLabels({ studies: { adrc: 'primary', leads: 'affiliated' }, dataTypes: ['form'] }, ['adrc', 'leads'])).toEqual([
      'metadata',
      'accepted',
      'ingest-form',
      'sandbox-form',
      'accepted-leads',
      'ingest-form-leads',
      'sandbox-form-leads',
    ])
  })
})
