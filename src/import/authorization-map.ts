// The authorization map of SPEC §6.3: `<project label>: { <authorization>: <role name> }`, and
// the lookup that turns a directory entry into roles per project label. Pure: no database.

import { isMap, isScalar } from 'yaml'
import {
  deref,
  fields,
  parseYaml,
  type DirectoryEntry,
  type Field,
  type ReportError,
} from './directory.ts'
import type { ConsortiumStructure } from './structure.ts'

/** label → (authorization → role name). Only valid labels and pairs are kept. */
export type AuthorizationMap = Map<string, Map<string, string>>

export type AuthorizationMapResult = { map: AuthorizationMap; errors: ReportError[] }

export type ParsedLabel =
  | { kind: 'metadata' }
  | { kind: 'accepted'; study: string | null }
  | { kind: 'ingest' | 'sandbox'; dataType: string; study: string | null }

const FIXED_AUTHORIZATIONS = ['approve-data', 'audit-data', 'view-reports'] as const

function affiliated(structure: ConsortiumStructure, study: string): boolean {
  return Object.hasOwn(structure.studies, study) && structure.studies[study] === 'affiliated'
}

/** Data types, longest name first (names may contain '-'). */
function dataTypesLongestFirst(structure: ConsortiumStructure): string[] {
  return [...structure.dataTypes].sort((a, b) => b.length - a.length || a.localeCompare(b))
}

/**
 * Parses a project label against the grammar of SPEC §6.1 (`accepted[-<study>]`, `metadata`,
 * `ingest-<datatype>[-<study>]`, `sandbox-<datatype>[-<study>]`); returns an error message when
 * it does not fit. Only affiliated studies may appear as a suffix.
 */
export function parseProjectLabel(label: string, structure: ConsortiumStructure): ParsedLabel | string {
  if (label === 'metadata') return { kind: 'metadata' }
  const suffixProblem = (study: string): string | null => {
    if (!Object.hasOwn(structure.studies, study)) return `unknown study "${study}"`
    if (!affiliated(structure, study)) return `study "${study}" is primary; its projects carry no suffix`
    return null
  }
  if (label === 'accepted') return { kind: 'accepted', study: null }
  if (label.startsWith('accepted-')) {
    const study = label.slice('accepted-'.length)
    const problem = suffixProblem(study)
    return problem ? `Invalid project label "${label}": ${problem}` : { kind: 'accepted', study }
  }
  for (const kind of ['ingest', 'sandbox'] as const) {
    if (!label.startsWith(`${kind}-`)) continue
    const rest = label.slice(kind.length + 1)
    let firstProblem: string | null = null
    for (const dataType of dataTypesLongestFirst(structure)) {
      if (rest === dataType) return { kind, dataType, study: null }
      if (rest.startsWith(`${dataType}-`)) {
        const study = rest.slice(dataType.length + 1)
        const problem = suffixProblem(study)
        if (!problem) return { kind, dataType, study }
        firstProblem ??= problem
      }
    }
    return `Invalid project label "${label}": ${
      firstProblem ?? `"${rest}" does not start with a known data type (known: ${structure.dataTypes.join(', ')})`
    }`
  }
  return `Invalid project label "${label}": expected accepted[-<study>], metadata, ingest-<datatype>[-<study>] or sandbox-<datatype>[-<study>]`
}

/** True when `name` is `approve-data`, `audit-data`, `view-reports` or `submit-<datatype>`. */
export function isAuthorizationName(name: string, structure: ConsortiumStructure): boolean {
  if ((FIXED_AUTHORIZATIONS as readonly string[]).includes(name)) return true
  return name.startsWith('submit-') && structure.dataTypes.includes(name.slice('submit-'.length))
}

export function parseAuthorizationMap(
  text: string,
  structure: ConsortiumStructure,
  projectRoleNames: string[],
): AuthorizationMapResult {
  const { doc, lineOf, syntaxErrors } = parseYaml(text)
  const errors: ReportError[] = [...syntaxErrors]
  const map: AuthorizationMap = new Map()
  if (syntaxErrors.length > 0) return { map, errors }
  const err = (path: string, node: unknown, message: string) =>
    errors.push({ entry: null, email: null, path, line: lineOf(node as never), message })

  const root = deref(doc, doc.contents)
  if (root === null || (isScalar(root) && root.value === null)) return { map, errors }
  if (!isMap(root)) {
    err('', root, 'The authorization map must be a mapping of project label to { authorization: role name }')
    return { map, errors }
  }
  const roles = new Set(projectRoleNames)

  const labels = fields(doc, root, (f) => err(f.key, f.keyNode, `Duplicate project label "${f.key}"`))
  for (const f of labels.values()) {
    const label = f.key
    const parsed = parseProjectLabel(label, structure)
    if (typeof parsed === 'string') {
      err(label, f.keyNode, parsed)
      continue
    }
    if (!isMap(f.value)) {
      err(label, f.value ?? f.keyNode, `Project label "${label}" must map authorizations to role names`)
      continue
    }
    const grants = new Map<string, string>()
    const pairs = fields(doc, f.value, (d: Field) =>
      err(`${label}.${d.key}`, d.keyNode, `Duplicate authorization "${d.key}" under "${label}"`),
    )
    for (const p of pairs.values()) {
      const path = `${label}.${p.key}`
      if (!isAuthorizationName(p.key, structure)) {
        err(
          path,
          p.keyNode,
          `Unknown authorization "${p.key}" under "${label}" (expected approve-data, audit-data, view-reports or submit-<datatype> with datatype one of ${structure.dataTypes.join(', ')})`,
        )
        continue
      }
      const role = isScalar(p.value) ? p.value.value : undefined
      if (typeof role !== 'string') {
        err(path, p.value ?? p.keyNode, `The role for "${p.key}" under "${label}" must be a project role name`)
        continue
      }
      if (!roles.has(role)) {
        const near = projectRoleNames.find((r) => r.toLowerCase() === role.toLowerCase())
        err(
          path,
          p.value,
          `Unknown project role "${role}" for "${p.key}" under "${label}"${near ? ` (role names are case-sensitive: did you mean "${near}"?)` : ''}`,
        )
        continue
      }
      grants.set(p.key, role)
    }
    map.set(label, grants)
  }
  return { map, errors }
}

/** The authorizations a directory entry grants (SPEC §6.3). */
export function grantedAuthorizations(entry: DirectoryEntry): string[] {
  const a = entry.authorizations
  if (!a) return []
  const out: string[] = []
  if (a.approveData) out.push('approve-data')
  if (a.auditData) out.push('audit-data')
  if (a.viewReports) out.push('view-reports')
  for (const dt of a.submit) out.push(`submit-${dt}`)
  return out
}

/** The project labels of the entry's centre for its study: `metadata`, `accepted[-s]`, `ingest-<dt>[-s]`, `sandbox-<dt>[-s]`. */
export function projectLabelsForStudy(study: string, structure: ConsortiumStructure): string[] {
  const suffix = affiliated(structure, study) ? `-${study}` : ''
  return [
    'metadata',
    `accepted${suffix}`,
    ...structure.dataTypes.map((dt) => `ingest-${dt}${suffix}`),
    ...structure.dataTypes.map((dt) => `sandbox-${dt}${suffix}`),
  ]
}

/**
 * The map entry used for a label: the exact label wins; otherwise one trailing `-<study>` (an
 * affiliated study, which may itself contain '-') is stripped and the generic entry is used. The two are never merged.
 */
export function lookupLabel(
  map: AuthorizationMap,
  label: string,
  structure: ConsortiumStructure,
): Map<string, string> | undefined {
  const exact = map.get(label)
  if (exact) return exact
  const parsed = parseProjectLabel(label, structure)
  if (typeof parsed === 'string' || parsed.kind === 'metadata' || parsed.study === null) return undefined
  return map.get(label.slice(0, label.length - parsed.study.length - 1))
}

/**
 * A user's roles per project label of their centre (SPEC §6.3): for each label of the entry's
 * study at its centre, the union of the roles mapped from the authorizations the entry grants.
 * Labels with no roles are left out; roles are sorted. Empty for inactive entries, unknown centres
 * and studies the centre does not take part in. (The read-only role on the admin group's
 * `metadata` project, SPEC §6.4, is the import plan's business, not the map's.)
 */
export function rolesForEntry(
  map: AuthorizationMap,
  entry: DirectoryEntry,
  structure: ConsortiumStructure,
): Map<string, string[]> {
  const out = new Map<string, string[]>()
  const a = entry.authorizations
  if (!entry.active || !a || entry.adcid === null) return out
  const centre = structure.centres[entry.adcid]
  if (!centre || !centre.studies.includes(a.studyId)) return out
  const granted = grantedAuthorizations(entry)
  for (const label of projectLabelsForStudy(a.studyId, structure)) {
    const grants = lookupLabel(map, label, structure)
    if (!grants) continue
    const set = new Set<string>()
    for (const auth of granted) {
      const role = grants.get(auth)
      if (role !== undefined) set.add(role)
    }
    if (set.size > 0) out.set(label, [...set].sort())
  }
  return out
}
