import { describe, expect, it } from 'vitest'
import { and, eq } from 'drizzle-orm'
import { PERMISSION_LABELS, PROJECT_PERMISSIONS, SITE_PERMISSIONS, type ProjectPermission, type SitePermission } from './permissions.ts'
import { decideOnModel, decideProject, decideSite, deny, denyOnProject, explainProjectAccess, type Actor, type Decision, type ProjectAccess } from './policy.ts'
import { resolveActor } from '../models/roles.ts'
import { roles, users } from '../db/schema.ts'
import { testDb } from '../test/helpers.ts'

// The expectations below are written from SPEC §2 and §4 ("Who", "Lifecycle"), independently of
// the policy's code: every fixture says in plain words what the SPEC grants, and `expectProject`
// / `expectSite` turn those words into an expected answer. The actors themselves come from a real
// database (seeded system roles, custom roles inserted as an admin would), read by resolveActor.

const db = testDb()

function insertSiteRole(name: string, permissions: string[]) {
  db.insert(roles).values({ name, description: `custom site role ${name}`, scope: 'site', isSystem: false, permissions, createdAt: 0, updatedAt: 0 }).run()
}
function insertProjectRole(name: string, permissions: string[]) {
  db.insert(roles).values({ name, description: `custom project role ${name}`, scope: 'project', isSystem: false, permissions, createdAt: 0, updatedAt: 0 }).run()
}
function actorWithRole(role: string, disabled = false): Actor {
  const user = db
    .insert(users)
    .values({ email: `${role}-${Math.random().toString(36).slice(2, 10)}@example.org`, role, passwordHash: 'x', passwordChangedAt: 0, createdAt: 0, disabledAt: disabled ? 1 : null })
    .returning()
    .get()
  return resolveActor(db, user)
}
function projectRolePermissions(name: string): string[] {
  const row = db.select().from(roles).where(and(eq(roles.name, name), eq(roles.scope, 'project'))).get()
  if (!row) throw new Error(`project role ${name} not found`)
  return row.permissions
}

insertSiteRole('auditor', ['admin.access', 'audit.view'])
insertSiteRole('project-worker', ['projects.contribute'])
insertProjectRole('data-steward', ['project.view', 'results.delete', 'files.delete'])

// ---- What the SPEC says, in words -------------------------------------------------------------

/** SPEC §2.1/§2.3: only these three project permissions read; every other one writes. */
const READS: ReadonlySet<ProjectPermission> = new Set(['project.view', 'results.view', 'results.download'])

type ActorCase = {
  label: string
  actor: Actor | null
  /** "admins have every permission everywhere" (SPEC §2.3). */
  everything: boolean
  /** false: the site role is a read-only ceiling (observer, or a custom site role without projects.contribute). */
  mayWrite: boolean
  /** disabled accounts (and anonymous callers) get nothing. */
  nothing: boolean
}

const ACTORS: ActorCase[] = [
  { label: 'admin', actor: actorWithRole('admin'), everything: true, mayWrite: true, nothing: false },
  { label: 'researcher', actor: actorWithRole('researcher'), everything: false, mayWrite: true, nothing: false },
  { label: 'observer', actor: actorWithRole('observer'), everything: false, mayWrite: false, nothing: false },
  { label: 'custom site role "auditor" [admin.access, audit.view]', actor: actorWithRole('auditor'), everything: false, mayWrite: false, nothing: false },
  { label: 'custom site role "project-worker" [projects.contribute]', actor: actorWithRole('project-worker'), everything: false, mayWrite: true, nothing: false },
  { label: 'disabled admin', actor: actorWithRole('admin', true), everything: false, mayWrite: false, nothing: true },
  { label: 'disabled researcher', actor: actorWithRole('researcher', true), everything: false, mayWrite: false, nothing: true },
  { label: 'disabled observer', actor: actorWithRole('observer', true), everything: false, mayWrite: false, nothing: true },
  { label: 'no actor (null)', actor: null, everything: false, mayWrite: false, nothing: true },
]

const GROUP_ID = 7
const SOMEONE_ELSE = 999_999

type RelationCase = {
  label: string
  owner: boolean
  membership: { roles: { name: string; permissions: readonly string[] }[] } | null
  groupRole: 'group_admin' | 'member' | null
  /** What the SPEC says this relation grants, before the site-role ceiling and the state rules. */
  grants: ReadonlySet<ProjectPermission>
}

const RELATIONS: RelationCase[] = [
  // "The project owner has every project permission on their project."
  { label: 'owner', owner: true, membership: null, groupRole: null, grants: new Set(PROJECT_PERMISSIONS) },
  // "contributor (own models, uploads, training)" and reads everything in the project.
  {
    label: 'member with project role "contributor"',
    owner: false,
    membership: { roles: [{ name: 'contributor', permissions: projectRolePermissions('contributor') }] },
    groupRole: null,
    grants: new Set(['project.view', 'models.create', 'models.upload', 'models.train', 'results.view', 'results.download']),
  },
  // "observer member gets read-only": details, results, metrics, downloads.
  {
    label: 'member with project role "read-only"',
    owner: false,
    membership: { roles: [{ name: 'read-only', permissions: projectRolePermissions('read-only') }] },
    groupRole: null,
    grants: new Set(['project.view', 'results.view', 'results.download']),
  },
  {
    label: 'member with custom project role "data-steward" [project.view, results.delete, files.delete]',
    owner: false,
    membership: { roles: [{ name: 'data-steward', permissions: projectRolePermissions('data-steward') }] },
    groupRole: null,
    grants: new Set(['project.view', 'results.delete', 'files.delete']),
  },
  // "group admin: create and delete projects in the group, manage its members".
  { label: "group_admin of the project's group", owner: false, membership: null, groupRole: 'group_admin', grants: new Set(['project.view', 'project.delete', 'members.manage']) },
  { label: "plain member of the project's group", owner: false, membership: null, groupRole: 'member', grants: new Set() },
  // Grants add up: a read-only member who is also group admin holds both sets.
  {
    label: 'read-only member who is also group_admin',
    owner: false,
    membership: { roles: [{ name: 'read-only', permissions: projectRolePermissions('read-only') }] },
    groupRole: 'group_admin',
    grants: new Set(['project.view', 'results.view', 'results.download', 'project.delete', 'members.manage']),
  },
  { label: 'no relation to the project', owner: false, membership: null, groupRole: null, grants: new Set() },
]

type StateCase = { label: string; status: 'unstaged' | 'staged' | 'approved'; deleted: boolean }
const STATES: StateCase[] = [
  { label: 'unstaged', status: 'unstaged', deleted: false },
  { label: 'staged', status: 'staged', deleted: false },
  { label: 'approved', status: 'approved', deleted: false },
  // Deleted: "hidden everywhere afterwards", whatever status it had.
  { label: 'deleted (was unstaged)', status: 'unstaged', deleted: true },
  { label: 'deleted (was approved)', status: 'approved', deleted: true },
]

type Expected = { allowed: boolean; kind: Decision['kind'] }

function expectProject(a: ActorCase, r: RelationCase, p: ProjectPermission, s: StateCase): Expected {
  const refused = (kind: Decision['kind']): Expected => ({ allowed: false, kind })
  if (a.nothing) return refused('permission')
  // A deleted project is hidden from everyone: not even viewable, so a permission refusal (404).
  if (s.deleted) return refused('permission')
  const holds = a.everything || r.grants.has(p)
  if (!holds) return refused('permission')
  // The ceiling: an observer never writes, whatever project role — ownership included.
  if (!READS.has(p) && !a.mayWrite && !a.everything) return refused('permission')
  // Lifecycle: staged/approved projects are locked for editing; staging only from unstaged.
  if ((p === 'project.edit' || p === 'project.stage') && s.status !== 'unstaged') return refused('state')
  // Models exist only on approved projects.
  if ((p === 'models.create' || p === 'models.upload' || p === 'models.train') && s.status !== 'approved') return refused('state')
  return { allowed: true, kind: 'permission' }
}

function accessFor(a: ActorCase, r: RelationCase, s: StateCase): ProjectAccess {
  const actorId = a.actor?.id ?? 123_456
  return {
    project: { id: 42, ownerId: r.owner ? actorId : SOMEONE_ELSE, groupId: GROUP_ID, status: s.status, deletedAt: s.deleted ? 1_700_000_000_000 : null },
    membership: r.membership,
    groupRole: r.groupRole,
  }
}

function checkRule(d: Decision, s: StateCase, a: ActorCase) {
  expect(typeof d.rule).toBe('string')
  expect(d.rule.trim().length).toBeGreaterThanOrEqual(8)
  if (d.kind === 'state') expect(d.rule, 'a state refusal names the state (SPEC: "a message that says it is staged/approved")').toContain(s.status)
  if (a.actor?.disabledAt != null) expect(d.rule).toMatch(/disabled/i)
  if (a.actor && a.actor.disabledAt == null && s.deleted) expect(d.rule).toMatch(/deleted/i)
}

// ---- The table --------------------------------------------------------------------------------

type Row = { name: string; a: ActorCase; r: RelationCase; p: ProjectPermission; s: StateCase; want: Expected }

const ROWS: Row[] = []
for (const a of ACTORS)
  for (const r of RELATIONS)
    for (const s of STATES)
      for (const p of PROJECT_PERMISSIONS) {
        const want = expectProject(a, r, p, s)
        const verdict = want.allowed ? 'allowed' : `refused (${want.kind})`
        ROWS.push({ name: `${a.label} | ${r.label} | ${s.label} project | ${p} → ${verdict}`, a, r, p, s, want })
      }

describe('decideProject: site role × relation × project state × permission (SPEC §2, §4)', () => {
  it('covers every combination', () => {
    expect(ROWS.length).toBe(ACTORS.length * RELATIONS.length * STATES.length * PROJECT_PERMISSIONS.length)
    // Sanity of the expectations themselves: each outcome occurs.
    expect(ROWS.some((x) => x.want.allowed)).toBe(true)
    expect(ROWS.some((x) => !x.want.allowed && x.want.kind === 'state')).toBe(true)
    expect(ROWS.some((x) => !x.want.allowed && x.want.kind === 'permission')).toBe(true)
  })

  it.each(ROWS)('$name', ({ a, r, p, s, want }) => {
    const access = accessFor(a, r, s)
    const d = decideProject(a.actor, p, access)
    expect({ allowed: d.allowed, kind: d.kind }, `rule given: "${d.rule}"`).toEqual(want)
    expect(d.permission).toBe(p)
    checkRule(d, s, a)
    // deny*/can* are views of the same decision.
    const denial = denyOnProject(a.actor, p, access)
    if (want.allowed) expect(denial).toBeNull()
    else expect(denial).toEqual({ permission: p, label: PERMISSION_LABELS[p], rule: d.rule, kind: d.kind })
  })
})

describe('decideProject: spot checks of the SPEC sentences', () => {
  const find = (label: string) => ACTORS.find((x) => x.label === label)!
  const rel = (label: string) => RELATIONS.find((x) => x.label === label)!
  const st = (label: string) => STATES.find((x) => x.label === label)!

  it('an observer who owns the project (demoted owner) only reads', () => {
    const o = find('observer')
    const access = accessFor(o, rel('owner'), st('approved'))
    const allowed = PROJECT_PERMISSIONS.filter((p) => decideProject(o.actor, p, access).allowed)
    expect(allowed).toEqual(['project.view', 'results.view', 'results.download'])
  })

  it('a researcher member (contributor) may create models but not edit, stage or delete the project, nor touch others’ models', () => {
    const r = find('researcher')
    const approved = accessFor(r, rel('member with project role "contributor"'), st('approved'))
    const unstaged = accessFor(r, rel('member with project role "contributor"'), st('unstaged'))
    expect(decideProject(r.actor, 'models.create', approved).allowed).toBe(true)
    expect(decideProject(r.actor, 'models.train', approved).allowed).toBe(true)
    for (const p of ['project.edit', 'project.stage', 'project.delete', 'models.manage_any'] as const) {
      expect(decideProject(r.actor, p, unstaged), p).toMatchObject({ allowed: false, kind: 'permission' })
    }
  })

  it('an admin editing a staged project is refused for the state, with a message that says it is staged', () => {
    const ad = find('admin')
    const d = decideProject(ad.actor, 'project.edit', accessFor(ad, rel('no relation to the project'), st('staged')))
    expect(d).toMatchObject({ allowed: false, kind: 'state' })
    expect(d.rule).toMatch(/staged/)
  })

  it('the owner or an admin may delete the project in any status', () => {
    for (const label of ['admin', 'researcher'])
      for (const s of ['unstaged', 'staged', 'approved']) {
        const a = find(label)
        const r = label === 'admin' ? rel('no relation to the project') : rel('owner')
        expect(decideProject(a.actor, 'project.delete', accessFor(a, r, st(s))).allowed, `${label} ${s}`).toBe(true)
      }
  })
})

describe('explainProjectAccess', () => {
  const cases = ACTORS.filter((a) => a.actor !== null).flatMap((a) => RELATIONS.flatMap((r) => STATES.map((s) => ({ name: `${a.label} | ${r.label} | ${s.label}`, a, r, s }))))

  it.each(cases)('one decision per project permission, in catalog order: $name', ({ a, r, s }) => {
    const access = accessFor(a, r, s)
    const explained = explainProjectAccess(a.actor!, access)
    expect(explained.map((d) => d.permission)).toEqual([...PROJECT_PERMISSIONS])
    explained.forEach((d, i) => {
      const p = PROJECT_PERMISSIONS[i]!
      expect({ allowed: d.allowed, kind: d.kind }, `${p}: "${d.rule}"`).toEqual(expectProject(a, r, p, s))
      expect(d.rule.trim(), p).not.toBe('')
    })
  })
})

// ---- Site level -------------------------------------------------------------------------------

type SiteCase = { label: string; actor: Actor | null; grants: ReadonlySet<SitePermission> }

const SITE_ACTORS: SiteCase[] = [
  // "admin: everything: admin area, user management, project approval, unstaging, deleting any project, deployment mode, site banner, plus all researcher capabilities"
  { label: 'admin (seeded role)', actor: actorWithRole('admin'), grants: new Set(SITE_PERMISSIONS) },
  // "researcher: create projects" and works (writes) in projects.
  { label: 'researcher (seeded role)', actor: actorWithRole('researcher'), grants: new Set(['projects.create', 'projects.contribute']) },
  // "observer: read-only access to the projects they are a member of ... No writes anywhere": nothing at site level.
  { label: 'observer (seeded role)', actor: actorWithRole('observer'), grants: new Set() },
  { label: 'custom site role "auditor" [admin.access, audit.view]', actor: actorWithRole('auditor'), grants: new Set(['admin.access', 'audit.view']) },
  { label: 'custom site role "project-worker" [projects.contribute]', actor: actorWithRole('project-worker'), grants: new Set(['projects.contribute']) },
  { label: 'disabled admin', actor: actorWithRole('admin', true), grants: new Set() },
  { label: 'disabled auditor', actor: actorWithRole('auditor', true), grants: new Set() },
  { label: 'no actor (null)', actor: null, grants: new Set() },
]

const SITE_ROWS = SITE_ACTORS.flatMap((c) => SITE_PERMISSIONS.map((p) => ({ name: `${c.label} | ${p} → ${c.grants.has(p) ? 'allowed' : 'refused'}`, c, p })))

describe('decideSite: actor × every site permission (SPEC §2.1, §2.2)', () => {
  it.each(SITE_ROWS)('$name', ({ c, p }) => {
    const d = decideSite(c.actor, p)
    const want = c.grants.has(p)
    expect(d.allowed, `rule given: "${d.rule}"`).toBe(want)
    expect(d.permission).toBe(p)
    expect(d.kind).toBe('permission')
    expect(d.rule.trim().length).toBeGreaterThanOrEqual(8)
    if (c.actor?.disabledAt != null) expect(d.rule).toMatch(/disabled/i)
    const denial = deny(c.actor, p)
    if (want) expect(denial).toBeNull()
    else expect(denial).toEqual({ permission: p, label: PERMISSION_LABELS[p], rule: d.rule, kind: 'permission' })
  })

  it('permissions are read from the roles table at resolve time (seeded admin holds the whole site catalog)', () => {
    const admin = SITE_ACTORS[0]!.actor!
    expect([...admin.sitePermissions].sort()).toEqual([...SITE_PERMISSIONS].sort())
    expect(SITE_ACTORS[2]!.actor!.sitePermissions).toEqual([])
  })
})

describe('project roles limited to groups', () => {
  const actor = { id: 2, role: 'researcher', disabledAt: null, sitePermissions: ['projects.create', 'projects.contribute'] }
  const project = { id: 1, ownerId: 1, groupId: 7, status: 'approved', deletedAt: null }
  const role = { name: 'centre-uploader', permissions: ['project.view', 'models.create'] }

  it('grants the role in a project of a listed group', () => {
    expect(decideProject(actor, 'models.create', { project, groupRole: null, membership: { roles: [{ ...role, limitedToGroupIds: [7, 8] }] } }).allowed).toBe(true)
  })

  it('grants nothing through the role in a project of another group, or of no group, and says why', () => {
    const other = decideProject(actor, 'models.create', { project, groupRole: null, membership: { roles: [{ ...role, limitedToGroupIds: [8] }] } })
    expect(other.allowed).toBe(false)
    expect(other.rule).toContain('limited to other groups')
    expect(decideProject(actor, 'project.view', { project: { ...project, groupId: null }, groupRole: null, membership: { roles: [{ ...role, limitedToGroupIds: [8] }] } }).allowed).toBe(false)
  })
})

describe('project roles as sets (SPEC §2.3)', () => {
  const actor = { id: 2, role: 'researcher', disabledAt: null, sitePermissions: ['projects.create', 'projects.contribute'] }
  const project = { id: 1, ownerId: 1, groupId: 7, status: 'approved', deletedAt: null }
  const viewer = { name: 'viewer', permissions: ['project.view', 'results.view'] }
  const uploader = { name: 'uploader', permissions: ['project.view', 'models.create', 'models.upload'] }

  it('a membership with two roles grants the union of both sets, and the rule names the role that grants each', () => {
    const access: ProjectAccess = { project, groupRole: null, membership: { roles: [viewer, uploader] } }
    const granted = explainProjectAccess(actor, access).filter((d) => d.allowed)
    expect(granted.map((d) => d.permission).sort()).toEqual(['models.create', 'models.upload', 'project.view', 'results.view'])
    expect(decideProject(actor, 'results.view', access).rule).toBe('project role “viewer” grants it')
    expect(decideProject(actor, 'models.upload', access).rule).toBe('project role “uploader” grants it')
    const refused = decideProject(actor, 'project.edit', access)
    expect(refused.allowed).toBe(false)
    expect(refused.rule).toBe('project roles “viewer”, “uploader” do not grant it')
  })

  it('a role limited to other groups grants nothing here, while the membership’s other role still grants its own', () => {
    const access: ProjectAccess = { project, groupRole: null, membership: { roles: [viewer, { ...uploader, limitedToGroupIds: [8] }] } }
    expect(decideProject(actor, 'results.view', access)).toMatchObject({ allowed: true, rule: 'project role “viewer” grants it' })
    expect(decideProject(actor, 'project.view', access)).toMatchObject({ allowed: true, rule: 'project role “viewer” grants it' })
    const upload = decideProject(actor, 'models.upload', access)
    expect(upload.allowed).toBe(false)
    expect(upload.rule).toBe('project role “viewer” does not grant it; project role “uploader” is limited to other groups than this project\'s')
    // the same membership in a project of group 8: both roles apply
    expect(decideProject(actor, 'models.upload', { ...access, project: { ...project, groupId: 8 } })).toMatchObject({ allowed: true, rule: 'project role “uploader” grants it' })
  })

  it('the site role stays a ceiling over the union: an observer with two roles only reads', () => {
    const observer = { id: 2, role: 'observer', disabledAt: null, sitePermissions: [] }
    const access: ProjectAccess = { project, groupRole: null, membership: { roles: [viewer, uploader] } }
    expect(decideProject(observer, 'results.view', access).allowed).toBe(true)
    expect(decideProject(observer, 'models.upload', access).allowed).toBe(false)
  })
})

describe('permissions on one model', () => {
  const researcher = { id: 2, role: 'researcher', disabledAt: null, sitePermissions: ['projects.create', 'projects.contribute'] }
  const access = { project: { id: 1, ownerId: 1, groupId: null, status: 'approved', deletedAt: null }, groupRole: null, membership: { roles: [{ name: 'contributor', permissions: ['project.view', 'models.create', 'models.upload', 'models.train', 'results.view', 'results.download'] }] } }

  it('lets a contributor act on their own model', () => {
    expect(decideOnModel(researcher, 'models.upload', access, { ownerId: 2 }).allowed).toBe(true)
  })

  it("refuses a contributor on someone else's model, naming models.manage_any", () => {
    const d = decideOnModel(researcher, 'models.upload', access, { ownerId: 3 })
    expect(d.allowed).toBe(false)
    expect(d.permission).toBe('models.manage_any')
    expect(d.rule).toContain("someone else's")
  })

  it("lets the project owner act on anyone's model", () => {
    expect(decideOnModel({ ...researcher, id: 1 }, 'models.train', access, { ownerId: 3 }).allowed).toBe(true)
  })
})

describe('projects.delete_any', () => {
  const deleter = { id: 9, role: 'curator', disabledAt: null, sitePermissions: ['projects.delete_any'] }
  const access = { project: { id: 1, ownerId: 1, groupId: null, status: 'staged', deletedAt: null }, groupRole: null, membership: null }

  it('lets a site role with projects.delete_any delete a project it has no other relation to, and nothing else', () => {
    expect(decideProject(deleter, 'project.delete', access).allowed).toBe(true)
    expect(decideProject(deleter, 'project.view', access).allowed).toBe(false)
    expect(decideProject(deleter, 'project.edit', access).allowed).toBe(false)
  })
})
