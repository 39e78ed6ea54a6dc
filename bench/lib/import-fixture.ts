// A generated consortium for the import figure (SPEC §6, §9): the structure file, the
// authorization map, a user directory of N entries, a domain config, the accounts that exist
// before the import, and what the import must do with them. Deterministic (seeded PRNG): the
// same options give the same files byte for byte. Pure: no database, no files.
//
// The expected actions are computed here from the map's rules (SPEC §6.3: the exact label wins,
// else one `-<study>` suffix is stripped; the union of the roles reached on each project),
// not by the import's own code, so a wrong import fails the figure.
import { prng } from '../seed-directory.ts'

export type ImportFixtureOptions = {
  entries: number
  /** Member centres (default 40). */
  centres?: number
  seed?: number
}

/** An account created before the import (the directory's existing people). */
export type ExistingAccount = {
  email: string
  firstName: string
  lastName: string
  organization: string
  disabled: boolean
  /** The directory entry's `active`: after the import, exactly the inactive ones are disabled. */
  active: boolean
}

export type ImportExpectation = {
  entries: number
  active: number
  inactive: number
  /** Actions of the first run, by kind; `grantOnAccept` are the invitations' roles. */
  invite: number
  grantOnAccept: number
  grant: number
  enable: number
  disable: number
  skip: number
  /** All grants (on acceptance or direct) by role. */
  roles: Record<RoleName, number>
  warnings: { no_auth_email: number; unknown_center: number; study_not_at_center: number }
  /** Projects the structure import creates (centre projects and the admin group's metadata). */
  structureProjects: number
}

export type ImportFixture = {
  structureYaml: string
  authYaml: string
  usersYaml: string
  /** SPEC §6.5; names are unique, so it must flag nobody. */
  domainsYaml: string
  accounts: ExistingAccount[]
  expected: ImportExpectation
}

const CITIES = [
  'Aberdeen', 'Albany', 'Ann Arbor', 'Atlanta', 'Baltimore', 'Birmingham', 'Boston', 'Bristol', 'Chapel Hill', 'Chicago',
  'Cleveland', 'Dallas', 'Davis', 'Denver', 'Durham', 'Edinburgh', 'Gainesville', 'Houston', 'Indianapolis', 'Irvine',
  'Kansas City', 'Lexington', 'Los Angeles', 'Madison', 'Miami', 'Minneapolis', 'Nashville', 'New Haven', 'New York', 'Oxford',
  'Philadelphia', 'Phoenix', 'Pittsburgh', 'Portland', 'Rochester', 'Sacramento', 'San Diego', 'San Francisco', 'Seattle', 'St. Louis',
]
// 100 × 104 name pairs: every person in the file has a different name (so the domain config's
// duplicate check flags nobody), with accents, apostrophes and hyphens as real directories have.
const FIRST = [
  'Aaliyah', 'Abdul', 'Ada', 'Adaeze', 'Aiko', 'Alan', 'Alejandro', 'Amara', 'Amir', 'Ana', 'Anders', 'Aoife', 'Arjun', 'Astrid', 'Ayesha', 'Bea', 'Bjørn', 'Bongani',
  'Camille', 'Carlos', 'Chen', 'Chiara', 'Chloé', 'Dara', 'David', 'Deepa', 'Diego', 'Dmitri', 'Eitan', 'Elena', 'Eli', 'Emeka', 'Emma', 'Eun-ji', 'Fatima', 'Felix',
  'Freya', 'Gabriel', 'Grace', 'Hana', 'Hannah', 'Hiro', 'Ibrahim', 'Ines', 'Ingrid', 'Isaac', 'Jamal', 'Jana', 'Jin', 'Jonas', 'José', 'Julia', 'Kaito', 'Kavya',
  'Kemal', 'Kofi', 'Lars', 'Leila', 'Lena', 'Liam', 'Lucía', 'Mads', 'Marek', 'Maria', 'Mateo', 'Maya', 'Mei', 'Mohammed', 'Nadia', 'Nia', 'Noah', 'Nour',
  'Olga', 'Omar', 'Oscar', 'Paolo', 'Priya', 'Quinn', 'Rafael', 'Ravi', 'Rosa', 'Ruth', 'Sade', 'Samir', 'Sara', 'Siddharth', 'Sofia', 'Sven', 'Tariq', 'Thandiwe',
  'Tomás', 'Uma', 'Valentina', 'Viktor', 'Wen', 'Xavier', 'Yara', 'Yusuf', 'Zainab', 'Zoë',
]
const LAST = [
  'Abara', 'Adeyemi', 'Ahmed', 'Alvarez', 'Andersen', 'Baker', 'Banerjee', 'Becker', 'Bianchi', 'Brennan', 'Campbell', 'Castillo', 'Chowdhury', 'Cohen', 'Costa', 'da Silva',
  'Dubois', 'Dvořák', 'Eriksson', 'Evans', 'Fernández', 'Fischer', 'Fitzgerald', 'Garcia', 'Gupta', 'Haddad', 'Hansen', 'Hughes', 'Ibrahim', 'Ivanova', 'Jackson', 'Jensen',
  'Johansson', 'Jones', 'Kaur', 'Khan', 'Kim', 'Kowalski', 'Kumar', 'Larsen', 'Lee', 'Lindqvist', 'Lopez', 'MacLeod', 'Mahlangu', 'Martin', 'Mendoza', 'Mensah',
  'Morgan', 'Müller', 'Murphy', 'Nakamura', 'Nguyen', 'Novak', 'Nowak', "O'Brien", "O'Connor", 'Okafor', 'Olsen', 'Osei', 'Park', 'Patel', 'Pereira', 'Petrov',
  'Quigley', 'Rahman', 'Reddy', 'Reyes', 'Rossi', 'Russo', 'Saito', 'Sánchez', 'Schmidt', 'Schneider', 'Shah', 'Silva', 'Singh', 'Smith', 'Sørensen', 'Suzuki',
  'Tanaka', 'Taylor', 'Thompson', 'Torres', 'Tran', 'Usman', 'van Dijk', 'Varga', 'Wagner', 'Walsh', 'Wang', 'Weber', 'Williams', 'Wilson', 'Wong', 'Xu',
  'Yamamoto', 'Yilmaz', 'Young', 'Zhang', 'Zhou', 'Zielinski', 'Ó Súilleabháin', 'Lefèvre-Martin',
]

const ADMIN_GROUP = 'NACC'
const DATA_TYPES = ['form', 'dicom', 'enrollment-form', 'apoe'] as const
type Study = 'adrc' | 'dvcid' | 'leads'
const STUDIES: { id: Study; kind: 'primary' | 'affiliated' }[] = [
  { id: 'adrc', kind: 'primary' },
  { id: 'dvcid', kind: 'affiliated' },
  { id: 'leads', kind: 'affiliated' },
]
/** Personal mailboxes (the fallback identity provider's domain in the domain config). */
const PERSONAL_DOMAIN = 'mailbox.example'
const UNKNOWN_ADCIDS = [901, 902, 903, 904, 905]

type Auth = `approve-data` | `audit-data` | `view-reports` | `submit-${(typeof DATA_TYPES)[number]}`
type RoleName = 'contributor' | 'read-only'

/** Generic labels (every study) and a few exact study-suffixed ones that replace them for that study. */
const AUTH_MAP: Record<string, Partial<Record<Auth, RoleName>>> = {
  metadata: { 'view-reports': 'read-only', 'approve-data': 'read-only' },
  accepted: { 'approve-data': 'contributor', 'audit-data': 'read-only', 'view-reports': 'read-only' },
  'ingest-form': { 'submit-form': 'contributor', 'audit-data': 'read-only' },
  'ingest-dicom': { 'submit-dicom': 'contributor', 'audit-data': 'read-only' },
  'ingest-enrollment-form': { 'submit-enrollment-form': 'contributor', 'audit-data': 'read-only' },
  'ingest-apoe': { 'submit-apoe': 'contributor' },
  'sandbox-form': { 'submit-form': 'contributor', 'view-reports': 'read-only' },
  'sandbox-dicom': { 'submit-dicom': 'contributor' },
  'sandbox-enrollment-form': { 'submit-enrollment-form': 'contributor' },
  'sandbox-apoe': { 'submit-apoe': 'contributor' },
  'accepted-leads': { 'approve-data': 'contributor' },
  'ingest-dicom-dvcid': { 'submit-dicom': 'read-only' },
  'sandbox-enrollment-form-dvcid': { 'submit-enrollment-form': 'contributor', 'audit-data': 'read-only' },
}

type Centre = { adcid: number; name: string; slug: string; studies: Study[] }

/** A YAML 1.2 scalar: plain when that reads back as the same string, else double-quoted (JSON is valid YAML). */
function scalar(s: string): string {
  const plain = /^\p{L}[\p{L}0-9 .@_'-]*$/u.test(s) && !/^(null|true|false)$/i.test(s) && !s.endsWith(' ') && !s.includes(' #') && !s.includes(': ')
  return plain ? s : JSON.stringify(s)
}

/** Lower-case ASCII letters only (for email local parts and domains). */
function ascii(s: string): string {
  return s
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/ø/gi, 'o')
    .toLowerCase()
    .replace(/[^a-z]/g, '')
}

function labelsOf(study: Study): { base: string; label: string }[] {
  const suffix = study === 'adrc' ? '' : `-${study}`
  return [
    { base: 'metadata', label: 'metadata' },
    { base: 'accepted', label: `accepted${suffix}` },
    ...DATA_TYPES.map((dt) => ({ base: `ingest-${dt}`, label: `ingest-${dt}${suffix}` })),
    ...DATA_TYPES.map((dt) => ({ base: `sandbox-${dt}`, label: `sandbox-${dt}${suffix}` })),
  ]
}

/**
 * The roles on each of the entry's centre projects that its authorizations reach (SPEC §6.3):
 * the exact label's entry, else the generic one; their union (each distinct role once per project).
 */
function centreRoles(study: Study, granted: Auth[]): RoleName[] {
  const out: RoleName[] = []
  for (const { base, label } of labelsOf(study)) {
    const map = AUTH_MAP[label] ?? AUTH_MAP[base]
    const roles = new Set(granted.map((a) => map?.[a]).filter((role): role is RoleName => role !== undefined))
    out.push(...[...roles].sort())
  }
  return out
}

export function generateImportFixture(options: ImportFixtureOptions): ImportFixture {
  const random = prng(options.seed ?? 7)
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!
  const shuffle = <T>(list: T[]): T[] => {
    for (let i = list.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1))
      ;[list[i], list[j]] = [list[j]!, list[i]!]
    }
    return list
  }
  const n = options.entries
  const centreCount = options.centres ?? 40
  if (centreCount > CITIES.length) throw new Error(`at most ${CITIES.length} centres`)
  if (n > FIRST.length * LAST.length) throw new Error(`at most ${FIRST.length * LAST.length} entries (unique names)`)

  // Structure: every centre takes part in the primary study, half in dvcid, a third in leads.
  const centres: Centre[] = CITIES.slice(0, centreCount).map((city, i) => ({
    adcid: 2 + 3 * i,
    name: `${city} ADRC`,
    slug: ascii(city),
    studies: ['adrc', ...(i % 2 === 0 ? ['dvcid' as const] : []), ...(i % 3 === 0 ? ['leads' as const] : [])],
  }))
  const structureProjects = 1 + centres.reduce((sum, c) => sum + 1 + c.studies.length * (1 + 2 * DATA_TYPES.length), 0)
  const structureYaml = [
    `# Generated by bench/lib/import-fixture.ts: ${centreCount} centres.`,
    `admin_group: ${ADMIN_GROUP}`,
    'studies:',
    ...STUDIES.map((s) => `  - { id: ${s.id}, kind: ${s.kind} }`),
    `data_types: [${DATA_TYPES.join(', ')}]`,
    'centres:',
    ...centres.map((c) => `  - { adcid: ${c.adcid}, name: ${scalar(c.name)}, studies: [${c.studies.join(', ')}] }`),
    '',
  ].join('\n')

  const authYaml = [
    '# Generated by bench/lib/import-fixture.ts. Generic labels apply to every study; a',
    '# study-suffixed label replaces the generic one for that study.',
    ...Object.entries(AUTH_MAP).flatMap(([label, grants]) => [`${label}:`, ...Object.entries(grants).map(([auth, role]) => `  ${auth}: ${role}`)]),
    '',
  ].join('\n')

  // Who is who: exact counts, in shuffled order.
  type Kind = 'new' | 'existing' | 'existing-disabled' | 'no-auth-email' | 'unknown-centre' | 'study-not-at-centre' | 'gone' | 'gone-disabled' | 'gone-unknown'
  const inactive = Math.round(n * 0.1)
  const counts: [Kind, number][] = [
    ['gone', Math.round(inactive * 0.8)], // left; their account is disabled
    ['gone-disabled', Math.round(inactive * 0.05)], // left; already disabled
    ['no-auth-email', Math.round(n * 0.03)],
    ['existing', Math.round(n * 0.036)],
    ['existing-disabled', Math.round(n * 0.004)], // re-enabled
    ['unknown-centre', Math.round(n * 0.01)],
    ['study-not-at-centre', Math.round(n * 0.01)],
  ]
  const gone = counts.slice(0, 2).reduce((s, [, c]) => s + c, 0)
  counts.push(['gone-unknown', inactive - gone]) // left; never had an account
  const fixed = counts.reduce((s, [, c]) => s + c, 0)
  if (fixed > n) throw new Error('too few entries')
  counts.push(['new', n - fixed])
  const kinds = shuffle(counts.flatMap(([kind, c]) => Array<Kind>(c).fill(kind)))

  const names = shuffle(Array.from({ length: FIRST.length * LAST.length }, (_, i) => i)).slice(0, n)
  const usedLocal = new Set<string>()
  const expected: ImportExpectation = {
    entries: n,
    active: 0,
    inactive: 0,
    invite: 0,
    grantOnAccept: 0,
    grant: 0,
    enable: 0,
    disable: 0,
    skip: 0,
    roles: { contributor: 0, 'read-only': 0 },
    warnings: { no_auth_email: 0, unknown_center: 0, study_not_at_center: 0 },
    structureProjects,
  }
  const accounts: ExistingAccount[] = []
  const lines: string[] = [`# Generated by bench/lib/import-fixture.ts: ${n} entries.`]

  for (let i = 0; i < n; i++) {
    const kind = kinds[i]!
    const first = FIRST[names[i]! % FIRST.length]!
    const last = LAST[Math.floor(names[i]! / FIRST.length)]!
    let local = `${ascii(first)}.${ascii(last)}`
    for (let k = 2; usedLocal.has(local); k++) local = `${ascii(first)}.${ascii(last)}${k}`
    usedLocal.add(local)
    const leaver = kind === 'gone' || kind === 'gone-disabled' || kind === 'gone-unknown'

    // The study first, then a centre that takes part in it (or, on purpose, one that does not, or none).
    const r = random()
    let study: Study = r < 0.7 ? 'adrc' : r < 0.9 ? 'dvcid' : 'leads'
    let home: Centre | null = pick(centres.filter((c) => c.studies.includes(study)))
    let adcid = home.adcid
    if (kind === 'study-not-at-centre') {
      study = random() < 0.5 ? 'dvcid' : 'leads'
      home = pick(centres.filter((c) => !c.studies.includes(study)))
      adcid = home.adcid
    } else if (kind === 'unknown-centre') {
      home = null
      adcid = pick(UNKNOWN_ADCIDS)
    }
    const institution = home ?? pick(centres)
    const email = `${local}@${random() < 0.2 ? 'med.' : ''}${institution.slug}.example`
    const org = `${institution.name.replace(/ ADRC$/, '')} University`
    const name = ['  name:', `    first_name: ${scalar(first)}`, `    last_name: ${scalar(last)}`]

    if (leaver) {
      expected.inactive++
      // Most leavers still list their sign-in address; some directories blank it.
      lines.push('- active: false', `  auth_email: ${random() < 0.9 ? email : 'null'}`, `  email: ${email}`, ...name)
      if (kind !== 'gone-unknown') accounts.push({ email, firstName: first, lastName: last, organization: org, disabled: kind === 'gone-disabled', active: false })
      if (kind === 'gone') expected.disable++
      continue
    }

    expected.active++
    // Sign-in address: mostly the directory email, else a personal mailbox or the institution's main domain.
    const a = random()
    let authEmail: string | null = a < 0.65 ? email : a < 0.85 ? `${local}@${PERSONAL_DOMAIN}` : `${local}@${institution.slug}.example`
    if (kind === 'no-auth-email') authEmail = null
    // Some directories keep capitals; the import compares case-insensitively.
    const written = authEmail !== null && random() < 0.05 ? authEmail.replace(/^./, (c) => c.toUpperCase()) : authEmail
    const submit = DATA_TYPES.filter(() => random() < 0.3)
    const approve = random() < 0.15
    const audit = random() < 0.2
    const reports = random() < 0.5
    lines.push(
      '- active: true',
      `  adcid: ${adcid}`,
      `  auth_email: ${written ?? 'null'}`,
      '  authorizations:',
      `    approve_data: ${approve}`,
      `    audit_data: ${audit}`,
      `    study_id: ${study}`,
      `    submit: [${submit.join(', ')}]`,
      `    view_reports: ${reports}`,
      `  email: ${email}`,
      ...name,
      `  org_name: ${scalar(org)}`,
    )
    if (home === null) expected.warnings.unknown_center++
    else if (!home.studies.includes(study)) expected.warnings.study_not_at_center++
    if (authEmail === null) {
      expected.warnings.no_auth_email++
      continue
    }
    const granted: Auth[] = [
      ...(approve ? (['approve-data'] as const) : []),
      ...(audit ? (['audit-data'] as const) : []),
      ...(reports ? (['view-reports'] as const) : []),
      ...submit.map((dt) => `submit-${dt}` as const),
    ]
    // The centre's projects for the study when the centre takes part in it, and the admin
    // group's metadata (read-only) for every known centre.
    const roles: RoleName[] = home === null ? [] : [...(home.studies.includes(study) ? centreRoles(study, granted) : []), 'read-only']
    for (const role of roles) expected.roles[role]++
    const grants = roles.length
    if (kind === 'existing' || kind === 'existing-disabled') {
      accounts.push({ email: authEmail.toLowerCase(), firstName: first, lastName: last, organization: org, disabled: kind === 'existing-disabled', active: true })
      if (kind === 'existing-disabled') expected.enable++
      expected.grant += grants
    } else {
      expected.invite++
      expected.grantOnAccept += grants
    }
  }
  lines.push('')

  const parentChild = centres.filter((_, i) => i % 4 === 0).map((c) => `    - { child: med.${c.slug}.example, parent: ${c.slug}.example }`)
  const groupsOfThree = centres.slice(0, 12)
  const domainsYaml = [
    '# Generated by bench/lib/import-fixture.ts (SPEC §6.5).',
    'domain_relationship:',
    '  parent_child:',
    ...parentChild,
    '  affiliated_groups:',
    ...[0, 1, 2, 3].map((g) => `    - { name: ${scalar(`Alliance ${g + 1}`)}, domains: [${groupsOfThree.slice(g * 3, g * 3 + 3).map((c) => `${c.slug}.example`).join(', ')}] }`),
    'idp_domain:',
    '  institutional_idp:',
    ...centres.filter((_, i) => i % 2 === 1).map((c) => `    - { domain: ${c.slug}.example, idp_name: ${scalar(`${c.name.replace(/ ADRC$/, '')} University`)} }`),
    `  fallback_domains: [${PERSONAL_DOMAIN}]`,
    '  fallback_idp: ORCID',
    '',
  ].join('\n')

  return { structureYaml, authYaml, usersYaml: lines.join('\n'), domainsYaml, accounts, expected }
}
