// The user directory of SPEC §6.2: a YAML 1.2 list of people, parsed and validated against the
// consortium structure. Pure: no database. Every problem is reported at once; entries that carry
// an error of their own are left out of `entries` (the plan shows what the valid ones would do).

import {
  LineCounter,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  parseDocument,
  type Document,
  type Node,
  type YAMLMap,
  type YAMLSeq,
} from 'yaml'
import { normalizeEmail } from '../http/forms.ts'
import { MAX_DIRECTORY_ENTRIES, parseYamlWithinLimits, tooManyEntriesMessage } from './yaml-limits.ts'
import type { ConsortiumStructure } from './structure.ts'

/** One error of the report (SPEC §6.6). `entry` is null when the error is not about one entry. */
export type ReportError = {
  entry: number | null
  email: string | null
  path: string
  line: number | null
  message: string
}

export type WarningCode = 'unknown_center' | 'study_not_at_center' | 'no_auth_email'

/** One warning of the report (SPEC §6.6). */
export type ReportWarning = {
  entry: number
  email: string | null
  code: WarningCode
  message: string
}

export type DirectoryAuthorizations = {
  approveData: boolean
  auditData: boolean
  viewReports: boolean
  studyId: string
  /** Data types, as written (duplicates removed). */
  submit: string[]
}

/** A valid directory entry. Active entries carry adcid, orgName and authorizations. */
export type DirectoryEntry = {
  /** Index in the file's list (the `entry` of the report). */
  index: number
  /** 1-based line where the entry starts. */
  line: number
  active: boolean
  /** Trimmed, as written (compare case-insensitively). */
  email: string
  /** Trimmed, as written, or null. */
  authEmail: string | null
  firstName: string
  lastName: string
  adcid: number | null
  orgName: string | null
  authorizations: DirectoryAuthorizations | null
  /** The centre's group when adcid names a known centre, else null (warning `unknown_center`). */
  group: string | null
  /** True when the centre is known and takes part in the entry's (known) study. */
  studyAtCentre: boolean
}

export type DirectoryResult = {
  /** How many entries the list has, valid or not. */
  count: number
  entries: DirectoryEntry[]
  errors: ReportError[]
  warnings: ReportWarning[]
}

// ---------------------------------------------------------------------------------------------
// Shared YAML plumbing (also used by the authorization map).

export const YAML_OPTIONS = { version: '1.2', uniqueKeys: true, prettyErrors: true } as const

export type ParsedYaml = {
  doc: Document.Parsed
  lineOf: (node: Node | null | undefined) => number | null
  /** Syntax errors (everything but duplicate keys, which the validators report themselves). */
  syntaxErrors: ReportError[]
}

/** Parses one YAML file within the import's limits (yaml-limits.ts): a file past them comes back empty with one syntax error saying why. */
export function parseYaml(text: string, options: { maxRootItems?: number } = {}): ParsedYaml {
  const lineCounter = new LineCounter()
  const parsed = parseYamlWithinLimits(text, { ...YAML_OPTIONS, lineCounter, ...options })
  if (parsed.doc === null) {
    const error: ReportError = parsed.tooDeep
      ? { entry: null, email: null, path: '', line: parsed.tooDeep.line, message: parsed.tooDeep.message }
      : { entry: null, email: null, path: '', line: null, message: tooManyEntriesMessage(parsed.tooMany ?? 0) }
    return { doc: parseDocument(''), lineOf: () => null, syntaxErrors: [error] }
  }
  const doc = parsed.doc
  const lineOf = (node: Node | null | undefined): number | null => {
    const start = node?.range?.[0]
    return start === undefined ? null : lineCounter.linePos(start).line
  }
  const syntaxErrors: ReportError[] = doc.errors
    .filter((e) => e.code !== 'DUPLICATE_KEY')
    .map((e) => ({
      entry: null,
      email: null,
      path: '',
      line: e.linePos?.[0].line ?? lineCounter.linePos(e.pos[0]).line,
      message: `YAML syntax error: ${e.message.split('\n')[0]}`,
    }))
  return { doc, lineOf, syntaxErrors }
}

/** Resolves an alias to its anchored node. */
export function deref(doc: Document.Parsed, node: unknown): Node | null {
  if (node === null || node === undefined) return null
  if (isAlias(node)) return (node.resolve(doc) as Node | undefined) ?? null
  return node as Node
}

/** The text of a map key, as written (non-scalar keys are shown as YAML). */
export function keyText(key: unknown): string {
  if (isScalar(key)) return String(key.value)
  return String(key)
}

export type Field = { key: string; keyNode: Node; value: Node | null }

/** The pairs of a map, each key once (later duplicates reported through `onDuplicate`). */
export function fields(
  doc: Document.Parsed,
  map: YAMLMap,
  onDuplicate: (f: Field) => void,
): Map<string, Field> {
  const out = new Map<string, Field>()
  for (const pair of map.items) {
    const key = keyText(pair.key)
    const f: Field = { key, keyNode: pair.key as Node, value: deref(doc, pair.value) }
    if (out.has(key)) onDuplicate(f)
    else out.set(key, f)
  }
  return out
}

/** A scalar's value, or undefined for a collection. */
function scalarValue(node: Node | null): unknown {
  if (node === null) return null
  if (isScalar(node)) return node.value
  return undefined
}

function describe(node: Node | null): string {
  if (node === null) return 'null'
  if (isMap(node)) return 'a mapping'
  if (isSeq(node)) return 'a list'
  const v = scalarValue(node)
  if (v === null) return 'null'
  if (typeof v === 'string') return `the string ${JSON.stringify(v)}`
  if (typeof v === 'number') return `the number ${v}`
  if (typeof v === 'boolean') return `the boolean ${v}`
  return String(v)
}

// ---------------------------------------------------------------------------------------------

const ENTRY_KEYS = ['active', 'adcid', 'auth_email', 'authorizations', 'email', 'name', 'org_name']
const NAME_KEYS = ['first_name', 'last_name']
const AUTH_KEYS = ['approve_data', 'audit_data', 'view_reports', 'study_id', 'submit']

/**
 * What one piece of the directory yields before the checks across entries (duplicate addresses):
 * its entries, errors and warnings, and each entry's addresses for those checks.
 */
export type DirectoryPart = {
  count: number
  entries: DirectoryEntry[]
  errors: ReportError[]
  warnings: ReportWarning[]
  keys: EntryKeys[]
  syntaxErrors: ReportError[]
}

/** An entry's valid addresses and where a duplicate error about them goes among its own errors. */
type EntryKeys = {
  index: number
  entryEmail: string | null
  email: { value: string; line: number; at: number } | null
  authEmail: { value: string; line: number; at: number } | null
  /** Where the entry's errors start in its part's errors. */
  errorStart: number
}

export function parseUserDirectory(text: string, structure: ConsortiumStructure, options: { split?: boolean } = {}): DirectoryResult {
  // A large directory is parsed 100 top-level entries at a time: a YAML document of 10,000 entries
  // takes about 80 bytes of syntax tree per byte of text; each piece's tree is dropped once checked.
  const chunks = options.split === false ? null : splitTopLevelEntries(text)
  if (chunks !== null) {
    const count = chunks.reduce((n, c) => n + c.entries, 0)
    if (count > MAX_DIRECTORY_ENTRIES) return tooManyEntries(count)
  }
  const part = chunks === null ? null : checkDirectoryChunks(chunks, 0, structure)
  return finishDirectory([part ?? checkWholeDirectory(text, structure)])
}

/** Checks pieces cut by splitTopLevelEntries, numbering entries from `startIndex`; null when a piece does not parse as its entries, or has a syntax error (then parse the whole text). */
export function checkDirectoryChunks(chunks: TopLevelChunk[], startIndex: number, structure: ConsortiumStructure): DirectoryPart | null {
  const part = emptyPart()
  let index = startIndex
  for (const chunk of chunks) {
    const yaml = parseYaml(chunk.text)
    const root = yaml.doc.contents
    if (yaml.syntaxErrors.length === 0 && !(isSeq(root) && root.items.length === chunk.entries)) return null
    // A syntax error is reported as the whole document's parse reports it (an unclosed quote runs past the piece).
    if (yaml.syntaxErrors.length > 0) return null
    const offsetLineOf = (node: Node | null | undefined) => {
      const line = yaml.lineOf(node)
      return line === null ? null : line + chunk.firstLine - 1
    }
    for (const item of (root as YAMLSeq).items) checkEntry(part, structure, yaml.doc, offsetLineOf, chunk.text, item, index++)
  }
  part.count = index - startIndex
  return part
}

function emptyPart(): DirectoryPart {
  return { count: 0, entries: [], errors: [], warnings: [], keys: [], syntaxErrors: [] }
}

function checkWholeDirectory(text: string, structure: ConsortiumStructure): DirectoryPart {
  const part = emptyPart()
  const { doc, lineOf, syntaxErrors } = parseYaml(text, { maxRootItems: MAX_DIRECTORY_ENTRIES })
  if (syntaxErrors.length > 0) return { ...part, syntaxErrors }
  const root = deref(doc, doc.contents)
  if (root === null || (isScalar(root) && root.value === null)) return part
  if (!isSeq(root)) {
    part.errors.push({ entry: null, email: null, path: '', line: lineOf(root), message: `The user directory must be a YAML list of entries, not ${describe(root)}` })
    return part
  }
  if (root.items.length > MAX_DIRECTORY_ENTRIES) return { ...part, syntaxErrors: tooManyEntries(root.items.length).errors }
  root.items.forEach((rawItem, index) => checkEntry(part, structure, doc, lineOf, text, rawItem, index))
  part.count = root.items.length
  return part
}

/** The result for a directory past MAX_DIRECTORY_ENTRIES: one error, nothing read (so nothing applied). */
export function tooManyEntries(count: number): DirectoryResult {
  return { count: 0, entries: [], errors: [{ entry: null, email: null, path: '', line: null, message: tooManyEntriesMessage(count) }], warnings: [] }
}

/**
 * Joins the parts in order and checks across entries: `email` and a non-null `auth_email` are
 * unique in the file (case-insensitively); a later duplicate is an error of its entry, placed
 * among that entry's errors where its field is checked, and leaves the entry out.
 */
export function finishDirectory(parts: DirectoryPart[]): DirectoryResult {
  const syntaxErrors = parts.flatMap((p) => p.syntaxErrors)
  if (syntaxErrors.length > 0) return { count: 0, entries: [], errors: syntaxErrors, warnings: [] }
  const seenEmail = new Map<string, number>()
  const seenAuthEmail = new Map<string, number>()
  const errors: ReportError[] = []
  const entries: DirectoryEntry[] = []
  for (const part of parts) {
    const dropped = new Set<number>()
    // Duplicate errors to insert, by position in part.errors (before the error at that position).
    const inserts = new Map<number, ReportError[]>()
    const insert = (at: number, e: ReportError) => inserts.set(at, [...(inserts.get(at) ?? []), e])
    for (const k of part.keys) {
      if (k.email) {
        const norm = k.email.value.toLowerCase()
        const first = seenEmail.get(norm)
        if (first !== undefined) {
          insert(k.errorStart + k.email.at, { entry: k.index, email: k.entryEmail, path: `[${k.index}].email`, line: k.email.line, message: `Duplicate email ${k.email.value} (also entry ${first}; emails are compared case-insensitively)` })
          dropped.add(k.index)
        } else seenEmail.set(norm, k.index)
      }
      if (k.authEmail) {
        const norm = k.authEmail.value.toLowerCase()
        const first = seenAuthEmail.get(norm)
        if (first !== undefined) {
          insert(k.errorStart + k.authEmail.at, { entry: k.index, email: k.entryEmail, path: `[${k.index}].auth_email`, line: k.authEmail.line, message: `Duplicate auth_email ${k.authEmail.value} (also entry ${first}; compared case-insensitively)` })
          dropped.add(k.index)
        } else seenAuthEmail.set(norm, k.index)
      }
    }
    for (let i = 0; i <= part.errors.length; i++) {
      for (const e of inserts.get(i) ?? []) errors.push(e)
      if (i < part.errors.length) errors.push(part.errors[i]!)
    }
    for (const e of part.entries) if (!dropped.has(e.index)) entries.push(e)
  }
  return { count: parts.reduce((n, p) => n + p.count, 0), entries, errors, warnings: parts.flatMap((p) => p.warnings) }
}

function checkEntry(part: DirectoryPart, structure: ConsortiumStructure, doc: Document.Parsed, lineOf: ParsedYaml['lineOf'], text: string, rawItem: unknown, index: number): void {
  const knownDataTypes = new Set(structure.dataTypes)
  const keys: EntryKeys = { index, entryEmail: null, email: null, authEmail: null, errorStart: part.errors.length }
  const item = deref(doc, rawItem)
  const entryLine = lineOf(item) ?? lineOf(rawItem as Node) ?? 0
  let entryEmail: string | null = null
  const entryErrors: ReportError[] = []
  const err = (path: string, node: Node | null | undefined, message: string) => {
    entryErrors.push({ entry: index, email: null, path: `[${index}]${path}`, line: lineOf(node) ?? entryLine, message })
  }

  if (!isMap(item)) {
    err('', item, `Entry ${index} must be a mapping, not ${describe(item)}`)
    part.errors.push(...entryErrors)
    part.keys.push(keys)
    return
  }

  const dup = (prefix: string) => (f: Field) => err(`${prefix}.${f.key}`, f.keyNode, `Duplicate key "${f.key}"`)
  const unknown = (prefix: string, fs: Map<string, Field>, allowed: string[]) => {
    for (const f of fs.values()) {
      if (!allowed.includes(f.key)) err(`${prefix}.${f.key}`, f.keyNode, `Unknown key "${f.key}"`)
    }
  }
  const top = fields(doc, item, dup(''))
  unknown('', top, ENTRY_KEYS)

  const missingField = (path: string, node: Node | null, message: string) => err(path, node, message)
  const missing = missingField

  // Typed readers: return undefined (after reporting) when the field is absent or ill-typed.
  const readBool = (prefix: string, fs: Map<string, Field>, key: string, parent: Node): boolean | undefined => {
    const f = fs.get(key)
    if (!f) return missing(`${prefix}.${key}`, parent, `Missing required field "${key}"`), undefined
    const v = scalarValue(f.value)
    if (typeof v === 'boolean') return v
    err(`${prefix}.${key}`, f.value ?? f.keyNode, `"${key}" must be true or false, not ${describe(f.value)}`)
    return undefined
  }
  const readString = (
    prefix: string,
    fs: Map<string, Field>,
    key: string,
    parent: Node,
    required: boolean,
  ): string | undefined => {
    const f = fs.get(key)
    if (!f) {
      if (required) missing(`${prefix}.${key}`, parent, `Missing required field "${key}"`)
      return undefined
    }
    const v = scalarValue(f.value)
    if (typeof v === 'string' && v.trim() !== '') return v.trim()
    err(
      `${prefix}.${key}`,
      f.value ?? f.keyNode,
      typeof v === 'string'
        ? `"${key}" must not be empty`
        : `"${key}" must be a string, not ${describe(f.value)}`,
    )
    return undefined
  }

  // email
  const email = readString('', top, 'email', item, true)
  if (email !== undefined) {
    const f = top.get('email')!
    if (normalizeEmail(email) === null) err('.email', f.value, `"email" is not a valid email address: ${JSON.stringify(email)}`)
    else {
      entryEmail = email.normalize('NFC') // NFC like every form (issue 11, finding 7)
      keys.email = { value: entryEmail, line: lineOf(f.value) ?? entryLine, at: entryErrors.length }
    }
  }

  // auth_email: required key, an email or null
  let authEmail: string | null | undefined
  const af = top.get('auth_email')
  if (!af) missing('.auth_email', item, 'Missing required field "auth_email" (an email or null)')
  else {
    const v = scalarValue(af.value)
    if (v === null) authEmail = null
    else if (typeof v === 'string' && normalizeEmail(v) !== null) {
      authEmail = v.trim().normalize('NFC')
      keys.authEmail = { value: authEmail, line: lineOf(af.value) ?? entryLine, at: entryErrors.length }
    } else {
      err('.auth_email', af.value ?? af.keyNode, `"auth_email" must be an email address or null, not ${describe(af.value)}`)
    }
  }

  // name
  let firstName: string | undefined
  let lastName: string | undefined
  const nf = top.get('name')
  if (!nf) missing('.name', item, 'Missing required field "name" (with first_name and last_name)')
  else if (!isMap(nf.value)) err('.name', nf.value ?? nf.keyNode, `"name" must be a mapping with first_name and last_name, not ${describe(nf.value)}`)
  else {
    const nameFields = fields(doc, nf.value, dup('.name'))
    unknown('.name', nameFields, NAME_KEYS)
    firstName = readString('.name', nameFields, 'first_name', nf.value, true)
    lastName = readString('.name', nameFields, 'last_name', nf.value, true)
  }

  // active
  const active = readBool('', top, 'active', item)

  // centre-specific fields
  let adcid: number | null = null
  let orgName: string | null = null
  let auths: DirectoryAuthorizations | null = null
  let group: string | null = null
  let studyAtCentre = false
  const entryWarnings: ReportWarning[] = []
  const warnActive = (code: WarningCode, message: string) => entryWarnings.push({ entry: index, email: null, code, message })

  if (active === false) {
    for (const key of ['adcid', 'org_name', 'authorizations']) {
      const f = top.get(key)
      if (f && scalarValue(f.value) !== null) err(`.${key}`, f.keyNode, `An inactive entry must not carry "${key}"`)
    }
  } else {
    // Active, or `active` missing or ill-typed: the centre fields are still checked (every problem at once),
    // but only an active entry requires them and gets warnings.
    const required = active === true
    const warn = required ? warnActive : () => {}
    const missing = required ? missingField : () => {}
    // adcid
    const cf = top.get('adcid')
    if (!cf) missing('.adcid', item, 'Missing required field "adcid" (an active entry needs a centre)')
    else {
      const v = scalarValue(cf.value)
      const src = cf.value?.range ? text.slice(cf.value.range[0], cf.value.range[1]).trim() : ''
      if (typeof v === 'number' && Number.isInteger(v) && /^[-+]?[0-9]+$/.test(src)) {
        adcid = v
        const centre = structure.centres[v]
        if (centre) group = centre.group
        else warn('unknown_center', `Centre ${v} is not in the consortium structure: the user is invited but gets no roles`)
      } else err('.adcid', cf.value ?? cf.keyNode, `"adcid" must be an integer, not ${describe(cf.value)}`)
    }
    // org_name
    orgName = readString('', top, 'org_name', item, required) ?? null

    // authorizations
    const zf = top.get('authorizations')
    if (!zf) missing('.authorizations', item, 'Missing required field "authorizations" (an active entry needs them)')
    else if (!isMap(zf.value)) err('.authorizations', zf.value ?? zf.keyNode, `"authorizations" must be a mapping, not ${describe(zf.value)}`)
    else {
      const az = fields(doc, zf.value, dup('.authorizations'))
      unknown('.authorizations', az, AUTH_KEYS)
      const approveData = readBool('.authorizations', az, 'approve_data', zf.value)
      const auditData = readBool('.authorizations', az, 'audit_data', zf.value)
      const viewReports = readBool('.authorizations', az, 'view_reports', zf.value)
      let studyId = readString('.authorizations', az, 'study_id', zf.value, true)
      if (studyId !== undefined && !Object.hasOwn(structure.studies, studyId)) {
        err('.authorizations.study_id', az.get('study_id')!.value, `Unknown study "${studyId}" (known: ${Object.keys(structure.studies).join(', ')})`)
        studyId = undefined
      }
      let submit: string[] | undefined
      const sf = az.get('submit')
      if (!sf) missing('.authorizations.submit', zf.value, 'Missing required field "submit" (a list of data types, may be empty)')
      else if (!isSeq(sf.value)) err('.authorizations.submit', sf.value ?? sf.keyNode, `"submit" must be a list of data types, not ${describe(sf.value)}`)
      else {
        const list: string[] = []
        let ok = true
        sf.value.items.forEach((raw, i) => {
          const node = deref(doc, raw)
          const v = scalarValue(node)
          if (typeof v !== 'string') {
            ok = false
            err(`.authorizations.submit[${i}]`, node, `"submit" items must be data type names, not ${describe(node)}`)
          } else if (!knownDataTypes.has(v)) {
            ok = false
            err(`.authorizations.submit[${i}]`, node, `Unknown data type "${v}" (known: ${structure.dataTypes.join(', ')})`)
          } else if (!list.includes(v)) list.push(v)
        })
        if (ok) submit = list
      }
      if (
        approveData !== undefined &&
        auditData !== undefined &&
        viewReports !== undefined &&
        studyId !== undefined &&
        submit !== undefined
      ) {
        auths = { approveData, auditData, viewReports, studyId, submit }
      }
      if (studyId !== undefined && group !== null && adcid !== null) {
        studyAtCentre = structure.centres[adcid]!.studies.includes(studyId)
        if (!studyAtCentre) {
          warn('study_not_at_center', `Centre ${adcid} (${group}) does not take part in study "${studyId}": only the admin metadata role is granted`)
        }
      }
    }
    if (authEmail === null && required) warn('no_auth_email', 'Active entry without auth_email: nothing is provisioned')
  }

  for (const e of entryErrors) e.email = entryEmail
  for (const w of entryWarnings) w.email = entryEmail
  keys.entryEmail = entryEmail
  part.errors.push(...entryErrors)
  part.warnings.push(...entryWarnings)
  part.keys.push(keys)

  if (
    entryErrors.length === 0 &&
    active !== undefined &&
    email !== undefined &&
    authEmail !== undefined &&
    firstName !== undefined &&
    lastName !== undefined
  ) {
    part.entries.push({
      index,
      line: entryLine,
      active,
      email: email.normalize('NFC'),
      authEmail,
      firstName,
      lastName,
      adcid: active ? adcid : null,
      orgName: active ? orgName : null,
      authorizations: active ? auths : null,
      group,
      studyAtCentre,
    })
  }
}

export type TopLevelChunk = { text: string; firstLine: number; entries: number }

/** Entries per parsed piece: small enough to drop each syntax tree soon, large enough that a document's setup does not count. */
const ENTRIES_PER_CHUNK = 100

/**
 * The top-level entries of a block list written at column 0 (`- active: …`), each with the text of
 * its lines, or null when the text is anything else, or uses what does not survive splitting:
 * several documents or directives, anchors and aliases, a flow list. Then the whole text is parsed
 * as one document (same result, more memory).
 */
export function splitTopLevelEntries(text: string): TopLevelChunk[] | null {
  if (text.length < 64 * 1024) return null // small: not worth it
  if (/(^|[\s,[{])[&*][^\s,[\]{}]/.test(text)) return null
  const lines = text.split('\n')
  const starts: number[] = []
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!
    const c = line.charCodeAt(0)
    if (line === '' || c === 32 /* space */ || c === 35 /* # */ || c === 13 /* \r */) continue
    if (c === 45 /* - */ && (line.length === 1 || line[1] === ' ' || line[1] === '\r')) {
      if (starts.length === 0 && lines.slice(0, i).some((l) => /^\s+\S/.test(l) && !/^\s*#/.test(l))) return null // indented content before the list
      starts.push(i)
      continue
    }
    return null // top-level content other than a list item: directives, ---, a mapping, a flow list…
  }
  if (starts.length === 0) return null
  const chunks: TopLevelChunk[] = []
  for (let k = 0; k < starts.length; k += ENTRIES_PER_CHUNK) {
    const from = starts[k]!
    const to = starts[k + ENTRIES_PER_CHUNK] ?? lines.length
    chunks.push({ text: lines.slice(from, to).join('\n'), firstLine: from + 1, entries: Math.min(ENTRIES_PER_CHUNK, starts.length - k) })
  }
  return chunks
}
