import { describe, expect, it } from 'vitest'
import { parseStructureFile, type StructureFileError } from './structure-file.ts'

// The structure file format (README "Consortium structure"): strict YAML 1.2, every problem
// reported at once with its path and line.

const EXAMPLE = `admin_group: NACC
studies: [{ id: adrc, kind: primary }, { id: dvcid, kind: affiliated }]
data_types: [form, dicom, enrollment-form]
centres: [{ adcid: 1, name: "Alpha ADRC", studies: [adrc, dvcid] }]
`

function errorsOf(text: string): StructureFileError[] {
  const result = parseStructureFile(text)
  if (result.ok) throw new Error('expected errors')
  return result.errors
}

const find = (errors: StructureFileError[], path: string) => errors.find((e) => e.path === path)

describe('parseStructureFile', () => {
  it('reads the README example', () => {
    expect(parseStructureFile(EXAMPLE)).toEqual({
      ok: true,
      structure: {
        adminGroup: 'NACC',
        studies: { adrc: 'primary', dvcid: 'affiliated' },
        dataTypes: ['form', 'dicom', 'enrollment-form'],
        centres: { 1: { group: 'Alpha ADRC', studies: ['adrc', 'dvcid'] } },
      },
    })
  })

  it('reads block style and a centre with no studies', () => {
    const result = parseStructureFile('admin_group: " NACC "\nstudies:\n  - id: adrc\n    kind: primary\ndata_types: []\ncentres:\n  - adcid: 0\n    name: Zero\n    studies: []\n')
    expect(result).toEqual({ ok: true, structure: { adminGroup: 'NACC', studies: { adrc: 'primary' }, dataTypes: [], centres: { 0: { group: 'Zero', studies: [] } } } })
  })

  it('reports unknown keys with their lines', () => {
    const errors = errorsOf(EXAMPLE + 'extra: 1\n' + 'more:\n  nested: true\n')
    expect(find(errors, 'extra')).toMatchObject({ line: 5, message: expect.stringMatching(/Unknown key "extra"/) })
    expect(find(errors, 'more')).toMatchObject({ line: 6 })
    const inStudy = errorsOf(EXAMPLE.replace('{ id: adrc, kind: primary }', '{ id: adrc, kind: primary, label: x }'))
    expect(find(inStudy, 'studies[0].label')).toMatchObject({ line: 2 })
    const inCentre = errorsOf(EXAMPLE.replace('adcid: 1,', 'adcid: 1, center: 1,'))
    expect(find(inCentre, 'centres[0].center')).toMatchObject({ line: 4 })
  })

  it('reports wrong types strictly (no "1" for 1, no 1.0, no numbers for names)', () => {
    const text = `admin_group: 42
studies:
  - id: 7
    kind: primary
data_types: form
centres:
  - adcid: "1"
    name: Alpha
    studies: [7]
  - adcid: 2.0
    name: true
    studies: adrc
  - adcid: -3
    name: Gamma
    studies: []
`
    const errors = errorsOf(text)
    expect(find(errors, 'admin_group')).toMatchObject({ line: 1, message: 'Must be a string, got number 42.' })
    expect(find(errors, 'studies[0].id')).toMatchObject({ line: 3 })
    expect(find(errors, 'data_types')).toMatchObject({ line: 5, message: expect.stringMatching(/Must be a list/) })
    expect(find(errors, 'centres[0].adcid')).toMatchObject({ line: 7, message: expect.stringMatching(/whole number.*"1"/) })
    expect(find(errors, 'centres[0].studies[0]')).toMatchObject({ line: 9 })
    expect(find(errors, 'centres[1].adcid')).toMatchObject({ line: 10, message: expect.stringMatching(/2\.0/) })
    expect(find(errors, 'centres[1].name')).toMatchObject({ line: 11 })
    expect(find(errors, 'centres[1].studies')).toMatchObject({ line: 12 })
    expect(find(errors, 'centres[2].adcid')).toMatchObject({ line: 13 })
    // Sorted by line.
    expect(errors.map((e) => e.line ?? 0)).toEqual([...errors.map((e) => e.line ?? 0)].sort((a, b) => a - b))
  })

  it('reports a bad study kind, a second primary study, bad names, and missing keys', () => {
    const text = `admin_group: NACC
studies:
  - id: adrc
    kind: main
  - id: leads
    kind: primary
  - id: ftld
    kind: primary
  - id: Bad-Id
    kind: affiliated
data_types: [Form, form-leads]
centres:
  - name: Alpha
`
    const errors = errorsOf(text)
    expect(find(errors, 'studies[0].kind')).toMatchObject({ line: 4, message: expect.stringMatching(/primary or affiliated/) })
    expect(find(errors, 'studies[2].kind')).toMatchObject({ line: 8, message: expect.stringMatching(/Only one study may be primary/) })
    expect(find(errors, 'studies[3].id')).toMatchObject({ line: 9 })
    expect(find(errors, 'data_types[0]')).toMatchObject({ line: 11 })
    expect(find(errors, 'data_types[1]')).toMatchObject({ line: 11, message: expect.stringMatching(/study suffix/) })
    expect(find(errors, 'centres[0].adcid')).toMatchObject({ line: 13, message: 'adcid is required.' })
    expect(find(errors, 'centres[0].studies')).toMatchObject({ message: 'studies is required.' })
  })

  it('reports duplicate ids, names and data types, and a centre named like the admin group', () => {
    const text = `admin_group: NACC
studies: [{ id: adrc, kind: primary }, { id: adrc, kind: affiliated }]
data_types: [form, dicom, form]
centres:
  - { adcid: 1, name: Alpha, studies: [adrc, adrc] }
  - { adcid: 1, name: Beta, studies: [] }
  - { adcid: 2, name: alpha, studies: [] }
  - { adcid: 3, name: nacc, studies: [] }
`
    const errors = errorsOf(text)
    expect(find(errors, 'studies[1].id')).toMatchObject({ line: 2, message: 'Duplicate study id "adrc" (first at line 2).' })
    expect(find(errors, 'data_types[2]')).toMatchObject({ line: 3, message: expect.stringMatching(/Duplicate data type "form"/) })
    expect(find(errors, 'centres[0].studies[1]')).toMatchObject({ line: 5, message: expect.stringMatching(/listed twice/) })
    expect(find(errors, 'centres[1].adcid')).toMatchObject({ line: 6, message: 'Duplicate adcid 1 (first at line 5).' })
    expect(find(errors, 'centres[2].name')).toMatchObject({ line: 7, message: expect.stringMatching(/Duplicate centre name/) })
    expect(find(errors, 'centres[3].name')).toMatchObject({ line: 8, message: expect.stringMatching(/admin group/) })
  })

  it('reports a study a centre names that is not in studies', () => {
    const errors = errorsOf(EXAMPLE.replace('studies: [adrc, dvcid]', 'studies: [adrc, leads]'))
    expect(errors).toEqual([{ path: 'centres[0].studies[1]', line: 4, message: 'Unknown study "leads" (not in studies).' }])
  })

  it('reports YAML problems: syntax, duplicate keys, an empty file, a list at the top', () => {
    expect(errorsOf('admin_group: [\n')[0]).toMatchObject({ path: '', message: expect.stringMatching(/^YAML: /) })
    expect(errorsOf('admin_group: A\nadmin_group: B\n')[0]).toMatchObject({ line: 2, message: expect.stringMatching(/unique/) })
    expect(errorsOf('')[0]!.message).toMatch(/empty/)
    expect(errorsOf('- 1\n')[0]).toMatchObject({ line: 1, message: expect.stringMatching(/must be a mapping/) })
    // YAML 1.2: `yes` is a string, so it is a fine group name but not a number.
    expect(find(errorsOf(EXAMPLE.replace('adcid: 1', 'adcid: yes')), 'centres[0].adcid')).toBeDefined()
  })
})
