// The domain config of SPEC §6.5: which email domains belong together (parent_child, affiliated
// groups) and which identity provider a domain expects. Pure: no database. Every problem is
// reported at once; the returned config holds whatever was valid (best effort).

import { isMap, isScalar, isSeq, type Node, type YAMLMap } from 'yaml'
import { deref, fields, parseYaml, type Field, type ParsedYaml, type ReportError } from './directory.ts'

export type DomainConfig = {
  /** child → parent, both normalised (one hop). */
  parentOf: Map<string, string>
  affiliatedGroups: { name: string; domains: string[] }[]
  /** domain → affiliated group name. */
  groupOf: Map<string, string>
  /** domain → idp_name. */
  institutionalIdp: Map<string, string>
  fallbackDomains: Set<string>
  fallbackIdp: string
}

/** `config` is usable (best effort) even when there are errors. */
export type DomainConfigResult = { config: DomainConfig; errors: ReportError[] }

export const DEFAULT_FALLBACK_IDP = 'ORCID'

function emptyDomainConfig(): DomainConfig {
  return {
    parentOf: new Map(),
    affiliatedGroups: [],
    groupOf: new Map(),
    institutionalIdp: new Map(),
    fallbackDomains: new Set(),
    fallbackIdp: DEFAULT_FALLBACK_IDP,
  }
}

/** The config used when there is no domain file (SPEC §6.5: then none of its checks run). */
export const EMPTY_DOMAIN_CONFIG: DomainConfig = Object.freeze(emptyDomainConfig())

/** Trimmed, lower-cased, one trailing dot removed. */
export function normalizeDomain(domain: string): string {
  const d = domain.trim().toLowerCase()
  return d.endsWith('.') ? d.slice(0, -1) : d
}

/** The normalised part after the last '@', or '' when there is none. */
export function emailDomain(email: string): string {
  const at = email.lastIndexOf('@')
  return at === -1 ? '' : normalizeDomain(email.slice(at + 1))
}

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/

/** At least two labels of letters, digits and inner hyphens (≤63 each), ≤253 characters; expects a normalised domain. */
export function isValidDomain(normalized: string): boolean {
  if (normalized.length === 0 || normalized.length > 253) return false
  const labels = normalized.split('.')
  return labels.length >= 2 && labels.every((l) => LABEL.test(l))
}

/** The listed parent (one hop), or else the last two labels. */
export function resolveParent(config: DomainConfig, domain: string): string {
  const d = normalizeDomain(domain)
  const listed = config.parentOf.get(d)
  if (listed !== undefined) return listed
  return d.split('.').slice(-2).join('.')
}

function groupsOf(config: DomainConfig, domain: string): Set<string> {
  const out = new Set<string>()
  for (const d of [normalizeDomain(domain), resolveParent(config, domain)]) {
    const g = config.groupOf.get(d)
    if (g !== undefined) out.add(g)
  }
  return out
}

/** Same resolved parent, or the domain (or its resolved parent) of each in one affiliated group. */
export function domainsRelated(config: DomainConfig, a: string, b: string): boolean {
  const pa = resolveParent(config, a)
  if (pa !== '' && pa === resolveParent(config, b)) return true
  const gb = groupsOf(config, b)
  for (const g of groupsOf(config, a)) if (gb.has(g)) return true
  return false
}

/** The institutional idp of the domain, else of its resolved parent; null for a fallback domain (or parent) or when none is configured. */
export function expectedIdp(config: DomainConfig, domain: string): string | null {
  const d = normalizeDomain(domain)
  const p = resolveParent(config, d)
  if (config.fallbackDomains.has(d) || config.fallbackDomains.has(p)) return null
  return config.institutionalIdp.get(d) ?? config.institutionalIdp.get(p) ?? null
}

/** NFKC, lower-cased, whitespace runs folded to one space, trimmed: "  Ada   LOVELACE " → "ada lovelace". */
export function normalizePersonName(first: string, last: string): string {
  return `${first} ${last}`.normalize('NFKC').toLowerCase().replace(/\s+/gu, ' ').trim()
}

// ---------------------------------------------------------------------------------------------

const ROOT_KEYS = ['domain_relationship', 'idp_domain']
const RELATIONSHIP_KEYS = ['parent_child', 'affiliated_groups']
const IDP_KEYS = ['institutional_idp', 'fallback_domains', 'fallback_idp']
const PARENT_CHILD_KEYS = ['child', 'parent']
const GROUP_KEYS = ['name', 'domains']
const INSTITUTIONAL_KEYS = ['domain', 'idp_name']

function describe(node: Node | null): string {
  if (node === null) return 'null'
  if (isMap(node)) return 'a mapping'
  if (isSeq(node)) return 'a list'
  const v = isScalar(node) ? node.value : undefined
  if (v === null) return 'null'
  if (typeof v === 'string') return `the string ${JSON.stringify(v)}`
  return `the ${typeof v} ${String(v)}`
}

function isNull(node: Node | null): boolean {
  return node === null || (isScalar(node) && node.value === null)
}

type Where = { path: string; node: Node | null }

class Validator {
  readonly errors: ReportError[]
  readonly config = emptyDomainConfig()
  private readonly yaml: ParsedYaml

  constructor(yaml: ParsedYaml) {
    this.yaml = yaml
    this.errors = [...yaml.syntaxErrors]
  }

  err(path: string, node: Node | null | undefined, message: string): void {
    this.errors.push({ entry: null, email: null, path, line: this.yaml.lineOf(node), message })
  }

  /** The fields of a mapping, with duplicate and unknown keys reported. */
  mapping(prefix: string, map: YAMLMap, allowed: string[]): Map<string, Field> {
    const at = (key: string) => (prefix === '' ? key : `${prefix}.${key}`)
    const fs = fields(this.yaml.doc, map, (f) => this.err(at(f.key), f.keyNode, `Duplicate key "${f.key}"`))
    for (const f of fs.values()) {
      if (!allowed.includes(f.key)) {
        this.err(at(f.key), f.keyNode, `Unknown key "${f.key}" (expected ${allowed.join(', ')})`)
      }
    }
    return fs
  }

  /** A section's mapping; null (the key written with nothing under it) counts as empty. */
  section(path: string, f: Field | undefined, allowed: string[]): Map<string, Field> | null {
    if (!f || isNull(f.value)) return null
    if (!isMap(f.value)) {
      this.err(path, f.value ?? f.keyNode, `"${f.key}" must be a mapping (of ${allowed.join(', ')}), not ${describe(f.value)}`)
      return null
    }
    return this.mapping(path, f.value, allowed)
  }

  /** A list's items with their paths; null counts as an empty list. */
  list(path: string, f: Field | undefined, what: string): Where[] {
    if (!f || isNull(f.value)) return []
    if (!isSeq(f.value)) {
      this.err(path, f.value ?? f.keyNode, `"${f.key}" must be a list of ${what}, not ${describe(f.value)}`)
      return []
    }
    return f.value.items.map((raw, i) => ({ path: `${path}[${i}]`, node: deref(this.yaml.doc, raw) }))
  }

  /** A list item that must be a mapping. */
  item(w: Where, allowed: string[], what: string): Map<string, Field> | null {
    if (!isMap(w.node)) {
      this.err(w.path, w.node, `Each item of ${w.path.replace(/\[\d+\]$/, '')} must be a mapping with ${what}, not ${describe(w.node)}`)
      return null
    }
    return this.mapping(w.path, w.node, allowed)
  }

  /** A required, normalised, valid domain name from a value node. */
  domainValue(path: string, node: Node | null, key: string): string | null {
    const v = isScalar(node) ? node.value : undefined
    if (typeof v !== 'string') {
      this.err(path, node, `"${key}" must be a domain name, not ${describe(node)}`)
      return null
    }
    const d = normalizeDomain(v)
    if (!isValidDomain(d)) {
      this.err(path, node, `"${key}": ${JSON.stringify(v)} is not a valid domain name (at least two labels of letters, digits and inner hyphens)`)
      return null
    }
    return d
  }

  /** A required domain field of a mapping item. */
  domainField(prefix: string, item: Node | null, fs: Map<string, Field>, key: string): { domain: string; node: Node } | null {
    const f = fs.get(key)
    if (!f) {
      this.err(`${prefix}.${key}`, item, `Missing required field "${key}"`)
      return null
    }
    const domain = this.domainValue(`${prefix}.${key}`, f.value, key)
    return domain === null ? null : { domain, node: f.value ?? f.keyNode }
  }

  /** A required non-empty string field (trimmed). */
  stringField(prefix: string, item: Node | null, fs: Map<string, Field>, key: string): string | null {
    const f = fs.get(key)
    if (!f) {
      this.err(`${prefix}.${key}`, item, `Missing required field "${key}"`)
      return null
    }
    const v = isScalar(f.value) ? f.value.value : undefined
    if (typeof v === 'string' && v.trim() !== '') return v.trim()
    this.err(
      `${prefix}.${key}`,
      f.value ?? f.keyNode,
      typeof v === 'string' ? `"${key}" must not be empty` : `"${key}" must be a string, not ${describe(f.value)}`,
    )
    return null
  }

  parentChild(path: string, f: Field | undefined): void {
    type Pair = { path: string; child: string; parent: string; parentNode: Node }
    const pairs: Pair[] = []
    const childAt = new Map<string, string>()
    for (const w of this.list(path, f, '{child, parent} mappings')) {
      const fs = this.item(w, PARENT_CHILD_KEYS, 'child and parent')
      if (fs === null) continue
      const child = this.domainField(w.path, w.node, fs, 'child')
      const parent = this.domainField(w.path, w.node, fs, 'parent')
      if (child !== null) {
        const first = childAt.get(child.domain)
        if (first !== undefined) {
          this.err(`${w.path}.child`, child.node, `Child "${child.domain}" is listed more than once (first at ${first})`)
          continue
        }
        childAt.set(child.domain, w.path)
      }
      if (child === null || parent === null) continue
      if (child.domain === parent.domain) {
        this.err(`${w.path}.parent`, parent.node, `Child "${child.domain}" cannot be its own parent`)
        continue
      }
      pairs.push({ path: w.path, child: child.domain, parent: parent.domain, parentNode: parent.node })
    }
    for (const p of pairs) {
      const asChild = childAt.get(p.parent)
      if (asChild !== undefined) {
        this.err(
          `${p.path}.parent`,
          p.parentNode,
          `Parent "${p.parent}" of "${p.child}" is itself listed as a child (at ${asChild}); resolution is one hop, so chains are not allowed: point "${p.child}" at the final parent`,
        )
      }
      this.config.parentOf.set(p.child, p.parent)
    }
  }

  affiliatedGroups(path: string, f: Field | undefined): void {
    const nameAt = new Map<string, string>()
    for (const w of this.list(path, f, '{name, domains} mappings')) {
      const fs = this.item(w, GROUP_KEYS, 'name and domains')
      if (fs === null) continue
      let name = this.stringField(w.path, w.node, fs, 'name')
      if (name !== null) {
        const first = nameAt.get(name)
        if (first !== undefined) {
          this.err(`${w.path}.name`, fs.get('name')!.value, `Duplicate affiliated group name "${name}" (first at ${first})`)
          name = null
        } else nameAt.set(name, w.path)
      }
      const label = name === null ? `at ${w.path}` : `"${name}"`
      const df = fs.get('domains')
      if (!df) {
        this.err(`${w.path}.domains`, w.node, 'Missing required field "domains" (a list of at least 2 domains)')
        continue
      }
      if (!isSeq(df.value) && !isNull(df.value)) {
        this.list(`${w.path}.domains`, df, 'domain names')
        continue
      }
      // A domain repeated within one group counts once; invalid items are reported and counted.
      const listed = new Set<string>()
      let invalid = 0
      const domains: string[] = []
      for (const d of this.list(`${w.path}.domains`, df, 'domain names')) {
        const domain = this.domainValue(d.path, d.node, 'domains')
        if (domain === null) {
          invalid += 1
          continue
        }
        if (listed.has(domain)) continue
        listed.add(domain)
        const other = this.config.groupOf.get(domain)
        if (other !== undefined) {
          this.err(d.path, d.node, `Domain "${domain}" is in affiliated groups "${other}" and ${label}; a domain may be in at most one group`)
          continue
        }
        domains.push(domain)
      }
      if (listed.size + invalid < 2) {
        this.err(
          `${w.path}.domains`,
          df.value ?? df.keyNode,
          `Affiliated group ${label} needs at least 2 distinct domains, has ${listed.size + invalid}`,
        )
      }
      if (name === null || domains.length === 0) continue
      for (const d of domains) this.config.groupOf.set(d, name)
      this.config.affiliatedGroups.push({ name, domains })
    }
  }

  institutionalIdp(path: string, f: Field | undefined): Map<string, string> {
    const domainAt = new Map<string, string>()
    for (const w of this.list(path, f, '{domain, idp_name} mappings')) {
      const fs = this.item(w, INSTITUTIONAL_KEYS, 'domain and idp_name')
      if (fs === null) continue
      const domain = this.domainField(w.path, w.node, fs, 'domain')
      const idpName = this.stringField(w.path, w.node, fs, 'idp_name')
      if (domain === null) continue
      const first = domainAt.get(domain.domain)
      if (first !== undefined) {
        this.err(`${w.path}.domain`, domain.node, `Domain "${domain.domain}" is listed more than once in institutional_idp (first at ${first})`)
        continue
      }
      domainAt.set(domain.domain, w.path)
      if (idpName !== null) this.config.institutionalIdp.set(domain.domain, idpName)
    }
    return domainAt
  }

  fallbackDomains(path: string, f: Field | undefined, institutionalAt: Map<string, string>): void {
    const seenAt = new Map<string, string>()
    for (const w of this.list(path, f, 'domain names')) {
      const domain = this.domainValue(w.path, w.node, 'fallback_domains')
      if (domain === null) continue
      const first = seenAt.get(domain)
      if (first !== undefined) {
        this.err(w.path, w.node, `Fallback domain "${domain}" is listed more than once (first at ${first})`)
        continue
      }
      seenAt.set(domain, w.path)
      const institutional = institutionalAt.get(domain)
      if (institutional !== undefined) {
        this.err(w.path, w.node, `Domain "${domain}" is both institutional (at ${institutional}) and fallback; it may be only one`)
      }
      this.config.fallbackDomains.add(domain)
    }
  }

  fallbackIdp(path: string, f: Field | undefined): void {
    if (!f) return
    const v = isScalar(f.value) ? f.value.value : undefined
    if (typeof v === 'string' && v.trim() !== '') {
      this.config.fallbackIdp = v.trim()
      return
    }
    this.err(path, f.value ?? f.keyNode, `"fallback_idp" must be a non-empty string, not ${describe(f.value)}`)
  }
}

export function parseDomainConfig(text: string): DomainConfigResult {
  const yaml = parseYaml(text)
  const v = new Validator(yaml)
  // Errors in file order (sections are walked one after the other).
  const result = (): DomainConfigResult => ({
    config: v.config,
    errors: v.errors.sort((a, b) => (a.line ?? 0) - (b.line ?? 0)),
  })
  if (yaml.syntaxErrors.length > 0) return result()

  const root = deref(yaml.doc, yaml.doc.contents)
  if (isNull(root)) return result()
  if (!isMap(root)) {
    v.err('', root, `The domain config must be a mapping (of ${ROOT_KEYS.join(', ')}), not ${describe(root)}`)
    return result()
  }
  const top = v.mapping('', root, ROOT_KEYS)

  const rel = v.section('domain_relationship', top.get('domain_relationship'), RELATIONSHIP_KEYS)
  if (rel !== null) {
    v.parentChild('domain_relationship.parent_child', rel.get('parent_child'))
    v.affiliatedGroups('domain_relationship.affiliated_groups', rel.get('affiliated_groups'))
  }
  const idp = v.section('idp_domain', top.get('idp_domain'), IDP_KEYS)
  if (idp !== null) {
    const institutionalAt = v.institutionalIdp('idp_domain.institutional_idp', idp.get('institutional_idp'))
    v.fallbackDomains('idp_domain.fallback_domains', idp.get('fallback_domains'), institutionalAt)
    v.fallbackIdp('idp_domain.fallback_idp', idp.get('fallback_idp'))
  }
  return result()
}
