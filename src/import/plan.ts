// The import plan of SPEC §6.4: what the user directory and the authorization map would do to
// the stored accounts, invitations and project memberships, as the report of SPEC §6.6. Reads
// only; applying is src/import/apply.ts.
//
// A membership is a set of project roles (SPEC §2.3, §6.3): when an entry's authorizations map
// to several roles on one project, every one of them is granted (one grant action per role, in
// name order). Import only ever adds roles: a role a member holds is never removed or changed.

import { eq } from 'drizzle-orm'
import { roles, NOTIFY_MODES, type Invitation, type User } from '../db/schema.ts'
import type { Db } from '../db/client.ts'
import { getAdminGroup, getConsortiumStructure, labelledProjectIds } from '../models/consortium.ts'
import { countEnabledAdmins, findAccountByAnyEmail, getUserByEmail } from '../models/users.ts'
import { getBlockingInvitation, getOpenInvitationFor } from '../models/invitations.ts'
import { parseUserDirectory, type DirectoryEntry, type DirectoryResult, type ReportError, type ReportWarning } from './directory.ts'
import { parseUserDirectoryInParallel } from './directory-parallel.ts'
import { parseAuthorizationMap, rolesForEntry } from './authorization-map.ts'
import { collectGarbage } from './memory.ts'
import { domainsRelated, emailDomain, expectedIdp, normalizePersonName, parseDomainConfig, type DomainConfig } from './domains.ts'

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
  /** For invites: the name from the directory (prefills the acceptance form; duplicate checks). */
  first_name?: string
  last_name?: string
  /** For disables: the account is an outstanding invitation, withdrawn (no email). */
  invitation?: true
  /** For follow-ups: which one (1, 2, 3 in 'date' mode; beyond with 'force'). */
  follow_up?: number
  /** For skips: why. */
  reason?: string
}

/** A flag of SPEC §6.5: advisory (wrong_idp) or blocking the entry (possible_duplicate). */
export type ImportFlag = {
  entry: number
  email: string
  type: 'possible_duplicate' | 'wrong_idp'
  kind?: 'combined' | 'name_only'
  matches: string[]
  message: string
}

export type ImportWarning = Omit<ReportWarning, 'code'> & { code: ReportWarning['code'] | 'project_missing' | 'inactive_is_active' }

export type ImportReport = {
  ok: boolean
  applied: boolean
  errors: ReportError[]
  warnings: ImportWarning[]
  actions: ImportAction[]
  flags: ImportFlag[]
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

export type NotifyMode = (typeof NOTIFY_MODES)[number]

export type PlanInput = {
  usersYaml: string
  /** The user directory already parsed from usersYaml (planImportAsync parses it in parallel). */
  directory?: DirectoryResult
  authYaml: string
  /** The domain config of SPEC §6.5; without it, no domain checks run. */
  domainsYaml?: string | null
  /** Follow-ups for outstanding invitations (SPEC §6.4); default 'none'. */
  notify?: NotifyMode
  now: number
  /** Who will apply it: their own account is never disabled by it. */
  actorId?: number | null
}

/** Where a plan is: reading the files, then planning entry by entry. */
export type PlanProgress = { phase: 'reading' | 'planning'; done: number; total: number }

/** Steps every this many entries (the admin page's progress bar, and a turn of the event loop). */
const PROGRESS_EVERY = 250
/** Entries between two garbage collections (see memory.ts); a multiple of PROGRESS_EVERY. */
const GC_EVERY_ENTRIES = 5_000

/** A plan, and how many entries the directory has (valid or not). */
export type PlannedImport = { report: ImportReport; entries: number }

/** The plan, computed at once (tests and callers without progress; the CLI and the admin page use planImportAsync). */
export function planImport(db: Db, input: PlanInput): ImportReport {
  const steps = planSteps(db, input)
  for (;;) {
    const step = steps.next()
    if (step.done) return step.value.report
  }
}

/** The plan, yielding to the event loop between steps and reporting progress (the admin page). */
export async function planImportAsync(db: Db, input: PlanInput, onProgress: (p: PlanProgress) => void = () => {}): Promise<PlannedImport> {
  onProgress({ phase: 'reading', done: 0, total: 0 })
  const directory = input.directory ?? (await parseUserDirectoryInParallel(input.usersYaml, getConsortiumStructure(db)))
  const steps = planSteps(db, { ...input, directory })
  for (;;) {
    const step = steps.next()
    if (step.done) return step.value
    onProgress(step.value)
    await new Promise<void>((resolve) => setImmediate(resolve))
  }
}

/** A label for errors that are not about one entry, naming their file. */
function inFile(file: string, errors: ReportError[]): ReportError[] {
  return errors.map((e) => (e.entry === null ? { ...e, message: `${file}: ${e.message}` } : e))
}

function* planSteps(db: Db, input: PlanInput): Generator<PlanProgress, PlannedImport> {
  const notify = input.notify ?? 'none'
  yield { phase: 'reading', done: 0, total: 0 }
  const structure = getConsortiumStructure(db)
  const allRoles = projectRoles(db)
  const dir = input.directory ?? parseUserDirectory(input.usersYaml, structure)
  const auth = parseAuthorizationMap(input.authYaml, structure, allRoles.map((r) => r.name))
  const domains = input.domainsYaml === undefined || input.domainsYaml === null ? null : parseDomainConfig(input.domainsYaml)
  const errors = [...inFile('authorization map', auth.errors), ...(domains ? inFile('domain config', domains.errors) : []), ...inFile('user directory', dir.errors)]
  const warnings: ImportWarning[] = [...dir.warnings]
  const actions: ImportAction[] = []
  const flags: ImportFlag[] = []
  const adminGroup = getAdminGroup(db)
  const projectIds = labelledProjectIds(db)
  const adminMeta = adminGroup ? (projectIds.get(`${adminGroup.name}/metadata`) ?? null) : null
  const holds = db.$client.prepare('select 1 from project_members where project_id = ? and user_id = ? and role_id = ?').pluck()
  const roleIds = new Map(allRoles.map((r) => [r.name, r.id]))
  const people = domains ? new PeopleIndex(db, domains.config) : null
  const total = dir.entries.length
  // Sign-in addresses claimed by active entries, and the enabled admins left after the disables planned so far.
  const activeAccounts = new Map<string, number>()
  for (const e of dir.entries) if (e.active && e.authEmail !== null && !activeAccounts.has(e.authEmail.toLowerCase())) activeAccounts.set(e.authEmail.toLowerCase(), e.index)
  let enabledAdmins = countEnabledAdmins(db)

  for (const [i, entry] of dir.entries.entries()) {
    if (i % PROGRESS_EVERY === 0) {
      if (i % GC_EVERY_ENTRIES === 0) collectGarbage()
      yield { phase: 'planning', done: i, total }
    }
    const base = { entry: entry.index, email: entry.email }
    if (!entry.active) {
      const user = findAccountByAnyEmail(db, entry.email)
      const invitation = user ? null : getOpenInvitationFor(db, entry.email)
      const target = user?.email ?? invitation?.email
      if (target === undefined || user?.disabledAt) continue
      const claimedBy = activeAccounts.get(target)
      if (claimedBy !== undefined) {
        // The same person, active in another entry: disabling here and enabling there would flip on every run.
        warnings.push({ ...base, code: 'inactive_is_active', message: `${target} is also the account of active entry ${claimedBy}: not disabled` })
        actions.push({ ...base, action: 'skip', account: target, reason: `also active as entry ${claimedBy}` })
      } else if (invitation) actions.push({ ...base, action: 'disable', account: invitation.email, invitation: true })
      else if (user!.id === input.actorId) actions.push({ ...base, action: 'skip', account: target, reason: 'your own account is never disabled by your import' })
      else if (user!.role === 'admin' && enabledAdmins <= 1) actions.push({ ...base, action: 'skip', account: target, reason: 'the last enabled admin is never disabled' })
      else {
        if (user!.role === 'admin') enabledAdmins--
        actions.push({ ...base, action: 'disable', account: target })
      }
      continue
    }
    if (entry.authEmail === null) continue
    const account = entry.authEmail.toLowerCase()

    // The wanted project roles: every role of the entry on each project (the union).
    const wanted: { projectId: number; key: string; role: string }[] = []
    const want = (projectId: number, key: string, role: string) => {
      if (!wanted.some((w) => w.projectId === projectId && w.role === role)) wanted.push({ projectId, key, role })
    }
    if (entry.group !== null) {
      for (const [label, names] of rolesForEntry(auth.map, entry, structure)) {
        const projectId = projectIds.get(`${entry.group}/${label}`)
        if (projectId === undefined) {
          warnings.push({ ...base, code: 'project_missing', message: `Project ${entry.group}/${label} does not exist (import the structure first): not granted` })
          continue
        }
        for (const role of [...new Set(names)].sort()) want(projectId, `${entry.group}/${label}`, role)
      }
      if (adminGroup && adminMeta !== null) want(adminMeta, `${adminGroup.name}/metadata`, ADMIN_METADATA_ROLE)
      else if (adminGroup) warnings.push({ ...base, code: 'project_missing', message: `Project ${adminGroup.name}/metadata does not exist (import the structure first): not granted` })
    }

    const user = getUserByEmail(db, account)
    if (user) {
      if (domains) {
        const wrong = wrongIdp(domains.config, user)
        if (wrong) flags.push({ ...base, ...wrong })
      }
      if (user.disabledAt !== null) actions.push({ ...base, action: 'enable', account: user.email })
      for (const w of wanted) {
        if (!holds.get(w.projectId, user.id, roleIds.get(w.role) ?? null)) actions.push({ ...base, action: 'grant', account: user.email, project: w.key, role: w.role })
      }
      people?.addEntry(entry)
      continue
    }
    const invitation = getBlockingInvitation(db, account)
    if (invitation) {
      people?.addEntry(entry)
      const number = notify === 'force' ? invitation.followUpsSent + 1 : notify === 'date' ? dueFollowUp(invitation, input.now) : null
      if (number !== null) actions.push({ ...base, action: 'follow_up', account, follow_up: number })
      else actions.push({ ...base, action: 'skip', account, reason: notify === 'date' ? 'invitation outstanding; no follow-up due' : 'invitation outstanding' })
      continue
    }
    if (people) {
      const duplicate = people.possibleDuplicate(entry)
      people.addEntry(entry)
      if (duplicate) {
        flags.push({ ...base, ...duplicate })
        actions.push({ ...base, action: 'skip', account, reason: 'possible duplicate person (see flags): not provisioned' })
        continue
      }
    }
    actions.push({ ...base, action: 'invite', account, organization: entry.orgName ?? '', first_name: entry.firstName, last_name: entry.lastName })
    for (const w of wanted) actions.push({ ...base, action: 'grant', account, project: w.key, role: w.role, on_accept: true })
  }
  yield { phase: 'planning', done: total, total }

  errors.sort((a, b) => (a.entry ?? -1) - (b.entry ?? -1))
  return { report: { ok: errors.length === 0, applied: false, errors, warnings, actions, flags }, entries: dir.count }
}

// ---------------------------------------------------------------------------------------------
// Domain checks (SPEC §6.5).

function wrongIdp(config: DomainConfig, user: User): Omit<ImportFlag, 'entry' | 'email'> | null {
  if (user.claimedVia === 'local') return null
  const domain = emailDomain(user.email)
  const expected = expectedIdp(config, domain)
  if (expected === null || expected === user.claimedVia) return null
  return {
    type: 'wrong_idp',
    matches: [user.email],
    message: `${user.email} was claimed through ${user.claimedVia}, but ${domain} expects ${expected}`,
  }
}

type Person = { label: string; domains: string[] }

/**
 * Everybody an entry could duplicate, by normalised name: existing accounts, outstanding
 * invitations that carry a name, and the earlier entries of the file.
 */
class PeopleIndex {
  private byName = new Map<string, Person[]>()
  /** The sign-in address of everybody indexed: a person is listed once (an account, else an invitation, else an entry). */
  private addresses = new Set<string>()
  constructor(
    db: Db,
    private config: DomainConfig,
  ) {
    const rows = db.$client.prepare('select email, contact_email as contactEmail, first_name as firstName, last_name as lastName from users').all() as { email: string; contactEmail: string | null; firstName: string; lastName: string }[]
    for (const r of rows) this.add(r.email, r.firstName, r.lastName, { label: r.email, domains: [r.email, r.contactEmail].filter((e): e is string => e !== null).map(emailDomain) })
    const open = db.$client
      .prepare("select email, contact_email as contactEmail, first_name as firstName, last_name as lastName from invitations where status in ('sent', 'link visited') and first_name is not null")
      .all() as { email: string; contactEmail: string | null; firstName: string; lastName: string }[]
    for (const r of open) this.add(r.email, r.firstName, r.lastName, { label: `${r.email} (invited)`, domains: [r.email, r.contactEmail].filter((e): e is string => e !== null).map(emailDomain) })
  }

  private add(address: string, first: string, last: string, person: Person) {
    const name = normalizePersonName(first, last)
    const key = address.toLowerCase()
    if (name === '' || this.addresses.has(key)) return
    this.addresses.add(key)
    const list = this.byName.get(name)
    if (list) list.push(person)
    else this.byName.set(name, [person])
  }

  addEntry(entry: DirectoryEntry) {
    this.add(entry.authEmail ?? entry.email, entry.firstName, entry.lastName, { label: `entry [${entry.index}] ${entry.authEmail ?? entry.email}`, domains: entryDomains(entry) })
  }

  possibleDuplicate(entry: DirectoryEntry): Omit<ImportFlag, 'entry' | 'email'> | null {
    const matches = this.byName.get(normalizePersonName(entry.firstName, entry.lastName))
    if (!matches || matches.length === 0) return null
    const mine = entryDomains(entry)
    const related = matches.filter((m) => m.domains.some((d) => mine.some((e) => domainsRelated(this.config, d, e))))
    const kind = related.length > 0 ? 'combined' : 'name_only'
    const shown = (related.length > 0 ? related : matches).map((m) => m.label)
    return {
      type: 'possible_duplicate',
      kind,
      matches: shown,
      message:
        kind === 'combined'
          ? `${entry.firstName} ${entry.lastName} has the name and a related email domain of ${shown.join(', ')}: possibly the same person; not provisioned`
          : `${entry.firstName} ${entry.lastName} has the name of ${shown.join(', ')} (unrelated domains): possibly the same person; not provisioned`,
    }
  }
}

function entryDomains(entry: DirectoryEntry): string[] {
  return [...new Set([entry.email, entry.authEmail].filter((e): e is string => e !== null).map(emailDomain))]
}

// ---------------------------------------------------------------------------------------------
// Follow-ups (SPEC §6.4).

export const FOLLOW_UP_DAYS = [7, 14, 21] as const
const DAY_MS = 86_400_000

/**
 * The follow-up due for an unclaimed invitation in 'date' mode as of `now`: the number (1…3) of
 * the latest of days 7, 14 and 21 after the first claim email that has been reached and not yet
 * sent, or null. A missed day is not made up: one email, numbered for the latest day reached.
 */
export function dueFollowUp(invitation: Pick<Invitation, 'createdAt' | 'followUpsSent'>, now: number): number | null {
  const reached = FOLLOW_UP_DAYS.filter((d) => invitation.createdAt + d * DAY_MS <= now).length
  return reached > invitation.followUpsSent ? reached : null
}
