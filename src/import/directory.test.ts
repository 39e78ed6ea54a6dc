import { describe, expect, it } from 'vitest'
import { parseUserDirectory } from './directory.ts'
import type { ConsortiumStructure } from './structure.ts'

const structure: ConsortiumStructure = {
  studies: { adrc: 'primary', dvcid: 'affiliated', leads: 'affiliated' },
  dataTypes: ['form', 'dicom', 'enrollment-form'],
  centres: { 1: { group: 'alpha-adrc', studies: ['adrc', 'dvcid'] }, 2: { group: 'beta-adrc', studies: ['adrc'] } },
  adminGroup: 'nacc',
}

const VALID = `# two people
- active: true
  adcid: 1
  auth_email: ann@alpha.edu
  authorizations:
    approve_data: true
    audit_data: false
    view_reports: true
    study_id: adrc
    submit: [form, enrollment-form]
  email: Ann.Smith@alpha.edu
  name:
    first_name: " Ann "
    last_name: Smith
  org_name: Alpha ADRC
- active: false
  auth_email: null
  email: bob@beta.edu
  name: { first_name: Bob, last_name: Jones }
`

function active(overrides: Record<string, string> = {}): string {
  const f: Record<string, string> = {
    active: 'true',
    adcid: '1',
    auth_email: 'x@alpha.edu',
    email: 'x@alpha.edu',
    org_name: 'Alpha',
    ...overrides,
  }
  const auth = overrides.authorizations ??
    `\n    approve_data: false\n    audit_data: false\n    view_reports: false\n    study_id: ${overrides.study_id ?? 'adrc'}\n    submit: ${overrides.submit ?? '[]'}`
  const lines = [`- active: ${f.active}`]
  if (f.adcid !== '-') lines.push(`  adcid: ${f.adcid}`)
  lines.push(`  auth_email: ${f.auth_email}`)
  lines.push(`  authorizations:${auth}`)
  lines.push(`  email: ${f.email}`)
  lines.push(`  name: { first_name: ${overrides.first_name ?? 'X'}, last_name: Y }`)
  lines.push(`  org_name: ${f.org_name}`)
  if (overrides.extra) lines.push(overrides.extra)
  return lines.join('\n') + '\n'
}

describe('parseUserDirectory', () => {
  it('parses a valid file', () => {
    const r = parseUserDirectory(VALID, structure)
    expect(r.errors).toEqual([])
    expect(r.warnings).toEqual([])
    expect(r.entries).toEqual([
      {
        index: 0,
        line: 2,
        active: true,
        email: 'Ann.Smith@alpha.edu',
        authEmail: 'ann@alpha.edu',
        firstName: 'Ann',
        lastName: 'Smith',
        adcid: 1,
        orgName: 'Alpha ADRC',
        authorizations: {
          approveData: true,
          auditData: false,
          viewReports: true,
          studyId: 'adrc',
          submit: ['form', 'enrollment-form'],
        },
        group: 'alpha-adrc',
        studyAtCentre: true,
      },
      {
        index: 1,
        line: 16,
        active: false,
        email: 'bob@beta.edu',
        authEmail: null,
        firstName: 'Bob',
        lastName: 'Jones',
        adcid: null,
        orgName: null,
        authorizations: null,
        group: null,
        studyAtCentre: false,
      },
    ])
  })

  it('treats an empty file (or only comments) as a valid no-op', () => {
    for (const text of ['', '\n', '# nothing\n', '[]\n']) {
      expect(parseUserDirectory(text, structure)).toEqual({ count: 0, entries: [], errors: [], warnings: [] })
    }
  })

  it('reports a YAML syntax error with entry null', () => {
    const r = parseUserDirectory('- active: true\n  name: [unclosed\n- email: x\n', structure)
    expect(r.entries).toEqual([])
    expect(r.errors.length).toBeGreaterThan(0)
    for (const e of r.errors) {
      expect(e.entry).toBeNull()
      expect(e.email).toBeNull()
      expect(typeof e.line).toBe('number')
      expect(e.message).toMatch(/YAML syntax error/)
    }
  })

  it('requires a list at the top level', () => {
    const r = parseUserDirectory('email: a@b.org\n', structure)
    expect(r.errors).toEqual([expect.objectContaining({ entry: null, line: 1, message: expect.stringMatching(/list/) })])
  })

  it('is strict about types: "true", "42", yes', () => {
    const text = active({ active: '"true"' }) + active({ adcid: '"42"', email: 'b@alpha.edu', auth_email: 'b@alpha.edu' }) +
      active({ active: 'yes', email: 'c@alpha.edu', auth_email: 'c@alpha.edu' }) +
      active({ adcid: '1.5', email: 'd@alpha.edu', auth_email: 'd@alpha.edu' }) +
      active({ adcid: '1.0', email: 'e@alpha.edu', auth_email: 'e@alpha.edu' })
    const r = parseUserDirectory(text, structure)
    expect(r.entries).toEqual([])
    const paths = r.errors.map((e) => [e.entry, e.path])
    expect(paths).toEqual([
      [0, '[0].active'],
      [1, '[1].adcid'],
      [2, '[2].active'],
      [3, '[3].adcid'],
      [4, '[4].adcid'],
    ])
    expect(r.errors[0]!.message).toMatch(/true or false.*string "true"/)
    expect(r.errors[1]!.message).toMatch(/integer.*string "42"/)
    expect(r.errors[2]!.message).toMatch(/string "yes"/)
    expect(r.errors[0]!.email).toBe('x@alpha.edu')
  })

  it('is strict about authorization booleans and strings', () => {
    const text = active({
      authorizations: '\n    approve_data: "true"\n    audit_data: no\n    view_reports: 1\n    study_id: 42\n    submit: form',
    })
    const r = parseUserDirectory(text, structure)
    expect(r.errors.map((e) => e.path)).toEqual([
      '[0].authorizations.approve_data',
      '[0].authorizations.audit_data',
      '[0].authorizations.view_reports',
      '[0].authorizations.study_id',
      '[0].authorizations.submit',
    ])
  })

  it('rejects inactive entries carrying adcid, org_name or authorizations', () => {
    const text = `- active: false
  adcid: 1
  auth_email: null
  authorizations: { approve_data: false, audit_data: false, view_reports: false, study_id: adrc, submit: [] }
  email: old@alpha.edu
  name: { first_name: Old, last_name: Timer }
  org_name: Alpha
`
    const r = parseUserDirectory(text, structure)
    expect(r.errors.map((e) => [e.path, e.line])).toEqual([
      ['[0].adcid', 2],
      ['[0].org_name', 7],
      ['[0].authorizations', 4],
    ])
    expect(r.errors[2]!.message).toMatch(/inactive.*authorizations/)
    expect(r.entries).toEqual([])
  })

  it('requires adcid, org_name and all five authorization fields on active entries', () => {
    const text = `- active: true
  auth_email: a@alpha.edu
  authorizations:
    approve_data: true
    study_id: adrc
  email: a@alpha.edu
  name: { first_name: A, last_name: B }
`
    const r = parseUserDirectory(text, structure)
    expect(r.errors.map((e) => [e.path, e.line])).toEqual([
      ['[0].adcid', 1],
      ['[0].org_name', 1],
      ['[0].authorizations.audit_data', 4],
      ['[0].authorizations.view_reports', 4],
      ['[0].authorizations.submit', 4],
    ])
  })

  it('reports missing required fields and blank names', () => {
    const text = `- adcid: 1
  name: { first_name: "  ", }
- active: true
  adcid: 1
  authorizations: { approve_data: false, audit_data: false, view_reports: false, study_id: adrc, submit: [] }
  email: z@alpha.edu
  org_name: Alpha
`
    const r = parseUserDirectory(text, structure)
    expect(r.errors.map((e) => e.path)).toEqual([
      '[0].email',
      '[0].auth_email',
      '[0].name.first_name',
      '[0].name.last_name',
      '[0].active',
      '[1].auth_email',
      '[1].name',
    ])
    expect(r.errors[2]!.message).toMatch(/empty/)
    expect(r.errors[0]!.email).toBeNull()
    expect(r.errors[5]!.email).toBe('z@alpha.edu')
  })

  it('reports unknown keys by name, at every level', () => {
    const text = active({ extra: '  phone: 555' }).replace('last_name: Y', 'last_name: Y, middle: Q').replace(
      'submit: []',
      'submit: []\n    admin: true',
    )
    const r = parseUserDirectory(text, structure)
    expect(r.errors.map((e) => [e.path, e.message])).toEqual([
      ['[0].phone', 'Unknown key "phone"'],
      ['[0].name.middle', 'Unknown key "middle"'],
      ['[0].authorizations.admin', 'Unknown key "admin"'],
    ])
    expect(r.errors[0]!.line).toBe(14)
    expect(r.errors[1]!.line).toBe(12)
    expect(r.errors[2]!.line).toBe(10)
  })

  it('rejects duplicate emails and auth_emails case-insensitively, and duplicate keys', () => {
    const text =
      active({ email: 'Same@Alpha.edu', auth_email: 'one@alpha.edu' }) +
      active({ email: 'same@alpha.EDU', auth_email: 'ONE@alpha.edu' }) +
      active({ email: 'other@alpha.edu', auth_email: 'null' }) +
      `- active: false
  active: true
  auth_email: null
  email: dup@alpha.edu
  name: { first_name: D, last_name: K }
`
    const r = parseUserDirectory(text, structure)
    expect(r.errors.map((e) => [e.entry, e.path, e.line])).toEqual([
      [1, '[1].email', 22],
      [1, '[1].auth_email', 15],
      [3, '[3].active', 38],
    ])
    expect(r.errors[0]!.message).toMatch(/Duplicate email.*entry 0/)
    expect(r.errors[2]!.message).toBe('Duplicate key "active"')
    expect(r.entries.map((e) => e.index)).toEqual([0, 2])
  })

  it('treats an unknown study as an error and an unknown centre as a warning', () => {
    const text = active({ study_id: 'nope' }) + active({ adcid: '99', email: 'b@alpha.edu', auth_email: 'b@alpha.edu' })
    const r = parseUserDirectory(text, structure)
    expect(r.errors).toEqual([
      {
        entry: 0,
        email: 'x@alpha.edu',
        path: '[0].authorizations.study_id',
        line: 8,
        message: expect.stringMatching(/Unknown study "nope"/),
      },
    ])
    expect(r.warnings).toEqual([
      { entry: 1, email: 'b@alpha.edu', code: 'unknown_center', message: expect.stringMatching(/99/) },
    ])
    expect(r.entries.map((e) => [e.index, e.group])).toEqual([[1, null]])
  })

  it('warns when the centre does not take part in the study, and on a null auth_email', () => {
    const text = `${active({ adcid: '2', study_id: 'dvcid' })}${active({ auth_email: 'null', email: 'b@alpha.edu' })}`
    const r = parseUserDirectory(text, structure)
    expect(r.errors).toEqual([])
    expect(r.warnings.map((w) => [w.entry, w.code])).toEqual([
      [0, 'study_not_at_center'],
      [1, 'no_auth_email'],
    ])
    expect(r.entries.map((e) => [e.group, e.studyAtCentre, e.authEmail])).toEqual([
      ['beta-adrc', false, 'x@alpha.edu'],
      ['alpha-adrc', true, null],
    ])
  })

  it('rejects unknown data types in submit, with the item path and line', () => {
    const text = active({ submit: '\n      - form\n      - mri\n      - 7' })
    const r = parseUserDirectory(text, structure)
    expect(r.errors.map((e) => [e.path, e.line])).toEqual([
      ['[0].authorizations.submit[1]', 11],
      ['[0].authorizations.submit[2]', 12],
    ])
    expect(r.errors[0]!.message).toMatch(/Unknown data type "mri"/)
  })

  it('reports every problem at once across entries', () => {
    const text = active({ active: '"true"' }) + active({ study_id: 'nope', email: 'b@alpha.edu', auth_email: 'b@alpha.edu' }) + active({ adcid: '99', email: 'c@alpha.edu', auth_email: 'null' })
    const r = parseUserDirectory(text, structure)
    expect(r.errors.map((e) => e.entry)).toEqual([0, 1])
    expect(r.warnings.map((w) => [w.entry, w.code])).toEqual([
      [2, 'unknown_center'],
      [2, 'no_auth_email'],
    ])
  })

  it('rejects invalid email addresses and non-mapping entries', () => {
    const r = parseUserDirectory(`- just a string\n${active({ email: 'not-an-email', auth_email: '42' }).replace(/^/, '')}`, structure)
    expect(r.errors.map((e) => [e.entry, e.path, e.line])).toEqual([
      [0, '[0]', 1],
      [1, '[1].email', 11],
      [1, '[1].auth_email', 4],
    ])
  })
})
