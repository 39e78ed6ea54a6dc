// The import plan of SPEC §6.4: what the user directory and the authorization map would do to
// the stored accounts, invitations and project memberships, as the report of SPEC §6.6. Reads
// only; applying is src/import/apply.ts.
//
// One project role per user and project (project_members' primary key): when an entry's
// authorizations map to several roles on one project, the role with the most permissions is
// granted (ties: the first name in alphabetical order). An existing membership is never changed
// (import only adds).

import { and, eq } from 'drizzle-orm'
import { projectMembers, roles } from '../db/schema.ts'
import type { Db } from '../db/client.ts'
import { getAdminGroup, getConsortiumStructure, getProjectByLabel } from '../models/consortium.ts'
import { getBlockingInvitation } from '../models/invitations.ts'
import { countEnabledAdmins, getUserByEmail } from '../models/users.ts'
import { parseUserDirectory, type ReportError, type ReportWarning } from './directory.ts'
import { parseAuthorizationMap, rolesForEntry } from './authorization-map.ts'
import { groups } from '../db/schema.ts'

export type ImportActionKind = 'invite' | 'grant' | 'enable' | 'disable' | 'follow_up' | 'skip'

export type ImportAction = {
  entry: number
  email: string
  action: ImportActionKind
  /** The account (or invitation) the action is about: auth_email for active entries, email for inactive ones. */
  account: string
  /** `group/label`, for grants. */
  project?: string
  /** A project role name, for grants. */
  role?: string
  /** A grant carried by an invitation, made when it is accepted. */
  on_accept?: true
  /** For invites: the organisation (org_name). */
  organization?: string
  /** For skips: why. */
  reason?: string
}

export type ImportWarning = Omit<ReportWarning, 'code'> & { code: ReportWarning['code'] | 'project_missing' }

export type ImportReport = {
  ok: boolean
  applied: boolean
  errors: ReportError[]
  warnings: ImportWarning[]
  actions: ImportAction[]
  flags: never[]
}

/** The metadata project of the admin group: every entry with a known centre reads it. */
export const ADMIN_METADATA_ROLE = 'read-only'

/** The site role of invited people. */
export const INVITED_SITE_ROLE = 'researcher'

type ProjectRole = { id: number; name: string; permissions: string[] }

export function projectRoles(db: Db): ProjectRole[] {
  return db
    .select({ id: roles.id, name: roles.name, permissions: roles.permissions })
    .from(roles)
    .where(eq(roles.scope, 'project'))
    .all()
    .sort((a, b) => a.name.localeCompare(b.name))
}

/** The one role granted when several apply: most permissions, then the first name alphabetically. */
export function chooseRole(names: string[], all: ProjectRole[]): string {
  const perms = (n: string) => all.find((r) => r.name === n)?.permissions.length ?? 0
  return [...names].sort((a, b) => perms(b) - perms(a) || (a < b ? -1 : a > b ? 1 : 0))[0]!
}

/** Splits `group/label` (labels never contain '/'). */
export function splitProjectKey(key: string): { group: string; label: string } {
  const i = key.lastIndexOf('/')
  return { group: key.slice(0, i), label: key.slice(i + 1) }
}

export function planImport(db: Db, input: { usersYaml: string; authYaml: string; now: number }): ImportReport {
  const structure = getConsortiumStructure(db)
  const allRoles = projectRoles(db)
  const dir = parseUserDirectory(input.usersYaml, structure)
  const auth = parseAuthorizationMap(input.authYaml, structure, allRoles.map((r) => r.name))
  const errors = [...auth.errors, ...dir.errors]
  const warnings: ImportWarning[] = [...dir.warnings]
  const actions: ImportAction[] = []
  const adminGroup = getAdminGroup(db)
  const groupByName = (name: string) => db.select().from(groups).where(eq(groups.name, name)).get() ?? null

  for (const entry of dir.entries) {
    const base = { entry: entry.index, email: entry.email }
    if (!entry.active) {
      const user = getUserByEmail(db, entry.email)
      if (user && user.disabledAt === null) {
        if (user.role === 'admin' && countEnabledAdmins(db) <= 1) actions.push({ ...base, action: 'skip', account: user.email, reason: 'the last enabled admin is never disabled' })
        else actions.push({ ...base, action: 'disable', account: user.email })
      }
      continue
    }
    if (entry.authEmail === null) continue
    const account = entry.authEmail.toLowerCase()

    // The wanted memberships: project id → { key, role }.
    const wanted: { projectId: number; key: string; role: string }[] = []
    if (entry.group !== null) {
      const centre = groupByName(entry.group)
      for (const [label, names] of rolesForEntry(auth.map, entry, structure)) {
        const project = centre ? getProjectByLabel(db, centre.id, label) : null
        if (!project) {
          warnings.push({ ...base, code: 'project_missing', message: `Project ${entry.group}/${label} does not exist (import the structure first): not granted` })
          continue
        }
        wanted.push({ projectId: project.id, key: `${entry.group}/${label}`, role: chooseRole(names, allRoles) })
      }
      if (adminGroup) {
        const meta = getProjectByLabel(db, adminGroup.id, 'metadata')
        if (meta) wanted.push({ projectId: meta.id, key: `${adminGroup.name}/metadata`, role: ADMIN_METADATA_ROLE })
        else warnings.push({ ...base, code: 'project_missing', message: `Project ${adminGroup.name}/metadata does not exist (import the structure first): not granted` })
      }
    }

    const user = getUserByEmail(db, account)
    if (user) {
      if (user.disabledAt !== null) actions.push({ ...base, action: 'enable', account: user.email })
      for (const w of wanted) {
        const member = db.select().from(projectMembers).where(and(eq(projectMembers.projectId, w.projectId), eq(projectMembers.userId, user.id))).get()
        if (!member) actions.push({ ...base, action: 'grant', account: user.email, project: w.key, role: w.role })
      }
      continue
    }
    if (getBlockingInvitation(db, account)) {
      actions.push({ ...base, action: 'skip', account, reason: 'invitation outstanding' })
      continue
    }
    actions.push({ ...base, action: 'invite', account, organization: entry.orgName ?? '' })
    for (const w of wanted) actions.push({ ...base, action: 'grant', account, project: w.key, role: w.role, on_accept: true })
  }

  errors.sort((a, b) => (a.entry ?? -1) - (b.entry ?? -1))
  return { ok: errors.length === 0, applied: false, errors, warnings, actions, flags: [] }
}
