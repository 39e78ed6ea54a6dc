import { readFileSync } from 'node:fs'
import { parseYamlWithinLimits } from './yaml-limits.ts'
import { LineCounter, isAlias, isMap, isScalar, isSeq, type Node, type Pair, type YAMLMap, type YAMLSeq } from 'yaml'
import type { ConsortiumStructure, StudyKind } from './structure.ts'

// The consortium structure file (SPEC §6.1; README "Consortium structure"):
//
//   admin_group: NACC
//   studies: [{ id: adrc, kind: primary }, { id: dvcid, kind: affiliated }]
//   data_types: [form, dicom, enrollment-form]
//   centres: [{ adcid: 1, name: "Alpha ADRC", studies: [adrc, dvcid] }]
//
// YAML 1.2 (`yes` is a string; duplicate keys are errors), strict types (no "1" for 1). Every
// problem is reported at once, with its path (`centres[0].studies[1]`) and line number.

export type StructureFileError = { path: string; line: number | null; message: string }
export type StructureFileResult = { ok: true; structure: ConsortiumStructure } | { ok: false; errors: StructureFileError[] }

/** Study ids: lower-case letters, digits and `_` (no `-`: it separates a label's study suffix). */
export const STUDY_ID_PATTERN = /^[a-z0-9][a-z0-9_]*$/
/** Data type names: lower-case words joined by single `-`. */
export const DATA_TYPE_PATTERN = /^[a-z0-9]+(?:-[a-z0-9]+)*$/
const GROUP_NAME_MIN = 2
const GROUP_NAME_MAX = 80

const TOP_KEYS = ['admin_group', 'studies', 'data_types', 'centres'] as const
const STUDY_KEYS = ['id', 'kind'] as const
const CENTRE_KEYS = ['adcid', 'name', 'studies'] as const

export function readStructureFile(file: string): StructureFileResult {
  return parseStructureFile(readFileSync(file, 'utf8'))
}

export function parseStructureFile(text: string): StructureFileResult {
  const lineCounter = new LineCounter()
  const parsed = parseYamlWithinLimits(text, { lineCounter, version: '1.2', uniqueKeys: true, prettyErrors: false })
  if (parsed.doc === null) return { ok: false, errors: [{ path: '', line: parsed.tooDeep?.line ?? null, message: parsed.tooDeep?.message ?? 'The file could not be read.' }] }
  const doc = parsed.doc
  const errors: StructureFileError[] = []
  const lineOf = (node: { range?: [number, number, number] | null } | null | undefined): number | null => (node?.range ? lineCounter.linePos(node.range[0]).line : null)
  const add = (path: string, node: { range?: [number, number, number] | null } | null | undefined, message: string) => errors.push({ path, line: lineOf(node), message })

  if (doc.errors.length > 0) {
    for (const e of doc.errors) errors.push({ path: '', line: lineCounter.linePos(e.pos[0]).line, message: `YAML: ${e.message.split('\n')[0]}` })
    return { ok: false, errors }
  }
  const root = doc.contents
  if (root === null || (isScalar(root) && root.value === null)) {
    return { ok: false, errors: [{ path: '', line: null, message: `The file is empty: ${TOP_KEYS.join(', ')} are required.` }] }
  }

  /** The map's pairs by key; reports non-string and unknown keys, and missing required ones. */
  const fields = <K extends string>(node: unknown, path: string, keys: readonly K[], what: string): Partial<Record<K, Pair<unknown, unknown>>> | null => {
    if (!isMap(node)) {
      add(path, node as Node, `${what} must be a mapping with ${keys.join(', ')}.`)
      return null
    }
    const out: Partial<Record<K, Pair<unknown, unknown>>> = {}
    for (const pair of (node as YAMLMap<unknown, unknown>).items) {
      const key = isScalar(pair.key) ? pair.key.value : null
      const at = (pair.key ?? node) as Node
      if (typeof key !== 'string') add(path, at, `Keys must be strings.`)
      else if (!(keys as readonly string[]).includes(key)) add(join(path, key), at, `Unknown key "${key}" (expected ${keys.join(', ')}).`)
      else out[key as K] = pair
    }
    for (const k of keys) if (!out[k]) add(join(path, k), node as Node, `${k} is required.`)
    return out
  }
  const valueNode = (pair: Pair<unknown, unknown>): Node | null => (pair.value ?? null) as Node | null
  const at = (pair: Pair<unknown, unknown>): Node => (valueNode(pair) ?? pair.key) as Node
  const string = (pair: Pair<unknown, unknown>, path: string): string | null => {
    const v = valueNode(pair)
    if (isAlias(v)) return add(path, v, 'Aliases are not supported.'), null
    if (!isScalar(v) || typeof v.value !== 'string') return add(path, at(pair), `Must be a string, got ${describe(v)}.`), null
    return v.value
  }
  const sequence = (pair: Pair<unknown, unknown>, path: string): Node[] | null => {
    const v = valueNode(pair)
    if (!isSeq(v)) return add(path, at(pair), `Must be a list, got ${describe(v)}.`), null
    return (v as YAMLSeq<Node>).items
  }

  const top = fields(root, '', TOP_KEYS, 'The file')
  if (!top) return { ok: false, errors }

  // admin_group
  let adminGroup = ''
  if (top.admin_group) {
    const v = string(top.admin_group, 'admin_group')
    if (v !== null) {
      adminGroup = v.trim()
      const n = [...adminGroup].length
      if (n < GROUP_NAME_MIN || n > GROUP_NAME_MAX) add('admin_group', at(top.admin_group), `A group name has between ${GROUP_NAME_MIN} and ${GROUP_NAME_MAX} characters.`)
    }
  }

  // studies
  const studies: Record<string, StudyKind> = {}
  const studyLines = new Map<string, number | null>()
  if (top.studies) {
    for (const [i, item] of (sequence(top.studies, 'studies') ?? []).entries()) {
      const path = `studies[${i}]`
      const f = fields(item, path, STUDY_KEYS, 'A study')
      if (!f) continue
      const id = f.id ? string(f.id, `${path}.id`) : null
      if (id !== null && !STUDY_ID_PATTERN.test(id)) {
        add(`${path}.id`, at(f.id!), `"${id}" is not a valid study id (lower-case letters, digits and _; no -).`)
      } else if (id !== null && studyLines.has(id)) {
        add(`${path}.id`, at(f.id!), `Duplicate study id "${id}" (first at line ${studyLines.get(id)}).`)
      } else if (id !== null) {
        studyLines.set(id, lineOf(at(f.id!)))
      }
      const kind = f.kind ? string(f.kind, `${path}.kind`) : null
      if (kind !== null && kind !== 'primary' && kind !== 'affiliated') add(`${path}.kind`, at(f.kind!), `kind is primary or affiliated, got "${kind}".`)
      else if (kind !== null && id !== null && !(id in studies) && STUDY_ID_PATTERN.test(id)) {
        if (kind === 'primary') {
          const other = Object.entries(studies).find(([, k]) => k === 'primary')
          if (other) add(`${path}.kind`, at(f.kind!), `Only one study may be primary ("${other[0]}" is).`)
        }
        studies[id] = kind
      }
    }
  }

  // data_types
  const dataTypes: string[] = []
  const typeLines = new Map<string, number | null>()
  if (top.data_types) {
    for (const [i, item] of (sequence(top.data_types, 'data_types') ?? []).entries()) {
      const path = `data_types[${i}]`
      if (!isScalar(item) || typeof item.value !== 'string') {
        add(path, item, `Must be a string, got ${describe(item)}.`)
        continue
      }
      const name = item.value
      if (!DATA_TYPE_PATTERN.test(name)) add(path, item, `"${name}" is not a valid data type name (lower-case words joined by -).`)
      else if (typeLines.has(name)) add(path, item, `Duplicate data type "${name}" (first at line ${typeLines.get(name)}).`)
      else {
        const clash = Object.keys(studies).find((s) => name.endsWith(`-${s}`))
        if (clash) add(path, item, `"${name}" ends in "-${clash}", which would read as the study suffix of a project label.`)
        typeLines.set(name, lineOf(item))
        dataTypes.push(name)
      }
    }
  }

  // centres
  const centres: ConsortiumStructure['centres'] = {}
  const idLines = new Map<number, number | null>()
  const nameLines = new Map<string, number | null>()
  if (top.centres) {
    for (const [i, item] of (sequence(top.centres, 'centres') ?? []).entries()) {
      const path = `centres[${i}]`
      const f = fields(item, path, CENTRE_KEYS, 'A centre')
      if (!f) continue
      let adcid: number | null = null
      if (f.adcid) {
        const v = valueNode(f.adcid)
        const source = v?.range ? text.slice(v.range[0], v.range[1]) : ''
        if (!isScalar(v) || typeof v.value !== 'number' || !/^\d+$/.test(source.trim()) || !Number.isSafeInteger(v.value)) {
          add(`${path}.adcid`, at(f.adcid), `Must be a whole number ≥ 0, got ${isScalar(v) && typeof v.value === 'number' ? source.trim() : describe(v)}.`)
        } else if (idLines.has(v.value)) {
          add(`${path}.adcid`, v, `Duplicate adcid ${v.value} (first at line ${idLines.get(v.value)}).`)
        } else {
          adcid = v.value
          idLines.set(adcid, lineOf(v))
        }
      }
      let name: string | null = null
      if (f.name) {
        const v = string(f.name, `${path}.name`)
        if (v !== null) {
          const trimmed = v.trim()
          const n = [...trimmed].length
          const key = trimmed.toLowerCase()
          if (n < GROUP_NAME_MIN || n > GROUP_NAME_MAX) add(`${path}.name`, at(f.name), `A group name has between ${GROUP_NAME_MIN} and ${GROUP_NAME_MAX} characters.`)
          else if (nameLines.has(key)) add(`${path}.name`, at(f.name), `Duplicate centre name "${trimmed}" (first at line ${nameLines.get(key)}).`)
          else if (adminGroup && key === adminGroup.toLowerCase()) add(`${path}.name`, at(f.name), `"${trimmed}" is the admin group; a centre needs a group of its own.`)
          else {
            name = trimmed
            nameLines.set(key, lineOf(at(f.name)))
          }
        }
      }
      const centreStudies: string[] = []
      if (f.studies) {
        for (const [j, s] of (sequence(f.studies, `${path}.studies`) ?? []).entries()) {
          const spath = `${path}.studies[${j}]`
          if (!isScalar(s) || typeof s.value !== 'string') add(spath, s, `Must be a study id, got ${describe(s)}.`)
          else if (!studyLines.has(s.value)) add(spath, s, `Unknown study "${s.value}" (not in studies).`)
          else if (centreStudies.includes(s.value)) add(spath, s, `Study "${s.value}" is listed twice.`)
          else centreStudies.push(s.value)
        }
      }
      if (adcid !== null && name !== null) centres[adcid] = { group: name, studies: centreStudies }
    }
  }

  if (errors.length > 0) return { ok: false, errors: errors.sort((a, b) => (a.line ?? 0) - (b.line ?? 0)) }
  return { ok: true, structure: { studies, dataTypes, centres, adminGroup } }
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key
}

function describe(node: unknown): string {
  if (node === null || node === undefined) return 'nothing'
  if (isAlias(node)) return 'an alias'
  if (isMap(node)) return 'a mapping'
  if (isSeq(node)) return 'a list'
  if (isScalar(node)) {
    const v = node.value
    if (v === null) return 'null'
    if (typeof v === 'string') return `the string ${JSON.stringify(v)}`
    return `${typeof v} ${String(v)}`
  }
  return 'something else'
}
