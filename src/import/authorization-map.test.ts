import { describe, expect, it } from 'vitest'
import {
  parseAuthorizationMap,
  parseProjectLabel,
  rolesForEntry,
  type AuthorizationMap,
} from './authorization-map.ts'
import { parseUserDirectory, type DirectoryEntry } from './directory.ts'
import type { ConsortiumStructure } from './structure.ts'

const structure: ConsortiumStructure = {
  studies: { adrc: 'primary', dvcid: 'affiliated', 'leads-x': 'affiliated' },
  dataTypes: ['form', 'enrollment', 'enrollment-form', 'dicom'],
  centres: { 1: { group: 'alpha-adrc', studies: ['adrc', 'dvcid'] }, 2: { group: 'beta-adrc', studies: ['adrc'] } },
  adminGroup: 'nacc',
}
const ROLES = ['Reader', 'Submitter', 'Approver', 'Auditor', 'Upload']

const MAP = `# the consortium's authorization map
metadata:
  view-reports: Reader
accepted:
  approve-data: Approver
  view-reports: Reader
accepted-dvcid:
  audit-data: Auditor
ingest-form:
  submit-form: Submitter
  approve-data: Approver
ingest-enrollment-form:
  submit-enrollment-form: Upload
  submit-form: Submitter
sandbox-form:
  submit-form: Submitter
`

function parseOk(text: string): AuthorizationMap {
  const r = parseAuthorizationMap(text, structure, ROLES)
  expect(r.errors).toEqual([])
  return r.map
}

function entry(study: string, auth: Partial<{ approve: boolean; audit: boolean; view: boolean; submit: string[] }>, adcid = 1): DirectoryEntry {
  const text = `- active: true
  adcid: ${adcid}
  auth_email: a@alpha.edu
  authorizations:
    approve_data: ${auth.approve ?? false}
    audit_data: ${auth.audit ?? false}
    view_reports: ${auth.view ?? false}
    study_id: ${study}
    submit: [${(auth.submit ?? []).join(', ')}]
  email: a@alpha.edu
  name: { first_name: A, last_name: B }
  org_name: Alpha
`
  const r = parseUserDirectory(text, structure)
  expect(r.errors).toEqual([])
  return r.entries[0]!
}

describe('parseProjectLabel', () => {
  it('accepts the grammar, longest data type first, affiliated studies only as suffix', () => {
    expect(parseProjectLabel('metadata', structure)).toEqual({ kind: 'metadata' })
    expect(parseProjectLabel('accepted', structure)).toEqual({ kind: 'accepted', study: null })
    expect(parseProjectLabel('accepted-dvcid', structure)).toEqual({ kind: 'accepted', study: 'dvcid' })
    expect(parseProjectLabel('ingest-enrollment-form', structure)).toEqual({ kind: 'ingest', dataType: 'enrollment-form', study: null })
    expect(parseProjectLabel('ingest-enrollment', structure)).toEqual({ kind: 'ingest', dataType: 'enrollment', study: null })
    expect(parseProjectLabel('sandbox-enrollment-form-leads-x', structure)).toEqual({ kind: 'sandbox', dataType: 'enrollment-form', study: 'leads-x' })
    expect(parseProjectLabel('ingest-form-dvcid', structure)).toEqual({ kind: 'ingest', dataType: 'form', study: 'dvcid' })
  })

  it('rejects labels outside the grammar', () => {
    for (const bad of ['accepted-adrc', 'accepted-nope', 'metadata-dvcid', 'ingest-mri', 'ingest-form-adrc', 'ingest-', 'upload-form', 'ingest-form-dvcid-dvcid']) {
      expect(parseProjectLabel(bad, structure), bad).toEqual(expect.stringContaining(`"${bad}"`))
    }
    expect(parseProjectLabel('accepted-adrc', structure)).toMatch(/primary/)
  })
})

describe('parseAuthorizationMap', () => {
  it('parses a valid map', () => {
    const map = parseOk(MAP)
    expect([...map.keys()]).toEqual(['metadata', 'accepted', 'accepted-dvcid', 'ingest-form', 'ingest-enrollment-form', 'sandbox-form'])
    expect(map.get('ingest-enrollment-form')).toEqual(
      new Map([
        ['submit-enrollment-form', 'Upload'],
        ['submit-form', 'Submitter'],
      ]),
    )
  })

  it('treats an empty file as an empty map', () => {
    for (const text of ['', '# nothing\n', '{}\n']) {
      const r = parseAuthorizationMap(text, structure, ROLES)
      expect(r.errors).toEqual([])
      expect(r.map.size).toBe(0)
    }
  })

  it('reports bad labels, bad authorization names and unknown roles, naming the key with its line', () => {
    const text = `accepted-adrc:
  view-reports: Reader
ingest-mri:
  submit-mri: Submitter
ingest-form:
  submit-mri: Submitter
  approve_data: Approver
  view-reports: reader
  audit-data: Nobody
  submit-form: [Submitter]
sandbox-form:
  submit-form: Submitter
metadata: Reader
`
    const r = parseAuthorizationMap(text, structure, ROLES)
    expect(r.errors.map((e) => [e.entry, e.path, e.line])).toEqual([
      [null, 'accepted-adrc', 1],
      [null, 'ingest-mri', 3],
      [null, 'ingest-form.submit-mri', 6],
      [null, 'ingest-form.approve_data', 7],
      [null, 'ingest-form.view-reports', 8],
      [null, 'ingest-form.audit-data', 9],
      [null, 'ingest-form.submit-form', 10],
      [null, 'metadata', 13],
    ])
    for (const e of r.errors) expect(e.message).toContain(e.path.split('.').pop()!)
    expect(r.errors[4]!.message).toMatch(/case-sensitive.*"Reader"/)
    expect(r.errors[5]!.message).toMatch(/Unknown project role "Nobody"/)
    // the valid parts are kept
    expect(r.map.get('sandbox-form')).toEqual(new Map([['submit-form', 'Submitter']]))
    expect(r.map.get('ingest-form')).toEqual(new Map())
  })

  it('reports duplicate labels and authorizations, and syntax errors with entry null', () => {
    const dup = parseAuthorizationMap('accepted:\n  view-reports: Reader\n  view-reports: Approver\naccepted:\n  approve-data: Approver\n', structure, ROLES)
    expect(dup.errors.map((e) => [e.path, e.line])).toEqual([
      ['accepted', 4],
      ['accepted.view-reports', 3],
    ])
    const syntax = parseAuthorizationMap('accepted: [\n', structure, ROLES)
    expect(syntax.errors.length).toBeGreaterThan(0)
    expect(syntax.errors[0]).toMatchObject({ entry: null, email: null })
    expect(parseAuthorizationMap('- accepted\n', structure, ROLES).errors).toHaveLength(1)
  })
})

describe('rolesForEntry', () => {
  const map = parseOk(MAP)

  it('takes the union of roles over the authorizations the entry grants', () => {
    const roles = rolesForEntry(map, entry('adrc', { approve: true, view: true, submit: ['form', 'enrollment-form'] }), structure)
    expect(roles).toEqual(
      new Map([
        ['metadata', ['Reader']],
        ['accepted', ['Approver', 'Reader']],
        ['ingest-form', ['Approver', 'Submitter']],
        ['ingest-enrollment-form', ['Submitter', 'Upload']],
        ['sandbox-form', ['Submitter']],
      ]),
    )
  })

  it('uses the exact label when present, never merged with the generic one', () => {
    const roles = rolesForEntry(map, entry('dvcid', { approve: true, audit: true, view: true }), structure)
    // accepted-dvcid exists: only its Auditor, not the generic accepted's Approver/Reader.
    expect(roles.get('accepted-dvcid')).toEqual(['Auditor'])
    expect(roles.has('accepted')).toBe(false)
    // ingest-form-dvcid has no exact entry: the generic ingest-form applies.
    expect(roles.get('ingest-form-dvcid')).toEqual(['Approver'])
    expect(roles.get('metadata')).toEqual(['Reader'])
  })

  it('strips a study suffix that itself contains a dash', () => {
    const withLeads: ConsortiumStructure = { ...structure, centres: { 3: { group: 'gamma', studies: ['leads-x'] } } }
    const e = { ...entry('dvcid', { approve: true }), adcid: 3, authorizations: { ...entry('dvcid', { approve: true }).authorizations!, studyId: 'leads-x' } }
    const roles = rolesForEntry(map, e, withLeads)
    expect(roles.get('accepted-leads-x')).toEqual(['Approver'])
    expect(roles.get('ingest-enrollment-form-leads-x')).toBeUndefined()
    expect(roles.get('ingest-form-leads-x')).toEqual(['Approver'])
  })

  it('an exact label that grants nothing to the entry does not fall back to the generic', () => {
    const roles = rolesForEntry(map, entry('dvcid', { approve: true }), structure)
    expect(roles.has('accepted-dvcid')).toBe(false)
    expect(roles.get('ingest-form-dvcid')).toEqual(['Approver'])
  })

  it('gives nothing when no authorization is granted, the centre is unknown, or the study is not at the centre', () => {
    expect(rolesForEntry(map, entry('adrc', {}), structure).size).toBe(0)
    expect(rolesForEntry(map, entry('adrc', { view: true }, 99), structure).size).toBe(0)
    expect(rolesForEntry(map, entry('dvcid', { view: true }, 2), structure).size).toBe(0)
  })
})
