import { describe, expect, it } from 'vitest'
import { checkDirectoryChunks, parseUserDirectory, splitTopLevelEntries } from './directory.ts'
import { checkInWorker, parseUserDirectoryInParallel } from './directory-parallel.ts'
import type { ConsortiumStructure } from './structure.ts'

// A large directory is parsed entry by entry (memory); the result must be exactly the one of
// parsing the whole document: entries, errors with their lines, warnings.

const STRUCTURE: ConsortiumStructure = { studies: { adrc: 'primary', dvcid: 'affiliated' }, dataTypes: ['form', 'enrollment-form'], centres: { 1: { group: 'alpha', studies: ['adrc'] } }, adminGroup: 'nacc' }

function entry(i: number): string {
  const odd = i % 97 === 5 ? '"true"' : 'true' // an ill-typed bool now and then
  const centre = i % 89 === 3 ? 999 : 1 // an unknown centre now and then
  return [
    `# person ${i}`,
    `- active: ${odd}`,
    `  adcid: ${centre}`,
    `  auth_email: p${i}@alpha.edu`,
    `  authorizations:`,
    `    approve_data: false`,
    `    audit_data: false`,
    `    view_reports: true`,
    `    study_id: ${i % 50 === 7 ? 'nope' : 'adrc'}`,
    `    submit: [form${i % 71 === 9 ? ', dicom' : ''}]`,
    `  email: person.${i}@alpha.edu`,
    `  name: { first_name: P${i}, last_name: "Smith" }`,
    `  org_name: Alpha`,
  ].join('\n')
}

const big = (n: number) => '# a directory\n\n' + Array.from({ length: n }, (_, i) => entry(i)).join('\n') + '\n'

describe('parsing a large directory entry by entry', () => {
  it('gives exactly the result of parsing the whole document', () => {
    const text = big(600)
    expect(text.length).toBeGreaterThan(64 * 1024)
    const chunks = splitTopLevelEntries(text)!
    expect(chunks.map((c) => c.entries)).toEqual([100, 100, 100, 100, 100, 100])
    expect(chunks[1]!.firstLine).toBe(4 + 100 * 13) // entry 100 starts a piece (its comment line stays with the piece before)
    const split = parseUserDirectory(text, STRUCTURE)
    const whole = parseUserDirectory(text, STRUCTURE, { split: false })
    expect(split).toEqual(whole)
    expect(split.entries.length).toBeGreaterThan(500)
    expect(split.errors.length).toBeGreaterThan(20)
    expect(split.errors.find((e) => e.path === '[5].active')).toMatchObject({ entry: 5, email: 'person.5@alpha.edu', line: 5 * 13 + 4 })
    expect(split.warnings.some((w) => w.code === 'unknown_center' && w.entry === 3)).toBe(true)
  })

  it('reports every syntax error with its line in the file, and nothing else', () => {
    const lines = big(600).split('\n')
    lines[3 + 100 * 13] = '  adcid: [1' // entry 100's adcid line: an unclosed flow list
    lines[3 + 400 * 13] = '  adcid: {1' // and entry 400's
    const split = parseUserDirectory(lines.join('\n'), STRUCTURE)
    expect(split.entries).toEqual([])
    expect(split.errors.length).toBeGreaterThanOrEqual(2)
    expect(split.errors.every((e) => e.entry === null && e.message.startsWith('YAML syntax error'))).toBe(true)
    const errorLines = split.errors.map((e) => e.line!)
    expect(errorLines.some((l) => l >= 4 + 100 * 13 && l <= 6 + 100 * 13)).toBe(true)
    expect(errorLines.some((l) => l >= 4 + 400 * 13 && l <= 6 + 400 * 13)).toBe(true)
    expect(split).toEqual(parseUserDirectory(lines.join('\n'), STRUCTURE, { split: false }))
  })

  it('reports an unclosed quote where it is, not where its piece ends', () => {
    const lines = big(600).split('\n')
    const at = 3 + 250 * 13 + 9 // entry 250's email line (0-based)
    lines[at] = '  email: "person.250@alpha.edu'
    const split = parseUserDirectory(lines.join('\n'), STRUCTURE)
    expect(split).toEqual(parseUserDirectory(lines.join('\n'), STRUCTURE, { split: false }))
    expect(split.errors[0]!.line).toBe(at + 1)
  })

  it('falls back to the whole document for anchors and aliases, directives or a top-level mapping', () => {
    const withAlias = big(600).replace('- active: true\n  adcid: 1\n  auth_email: p1@', '- active: &on true\n  adcid: 1\n  auth_email: p1@').replace('view_reports: true\n    study_id: adrc\n    submit: [form]\n  email: person.2@', 'view_reports: *on\n    study_id: adrc\n    submit: [form]\n  email: person.2@')
    expect(withAlias).toContain('*on')
    expect(splitTopLevelEntries(withAlias)).toBeNull()
    expect(parseUserDirectory(withAlias, STRUCTURE)).toEqual(parseUserDirectory(withAlias, STRUCTURE, { split: false }))
    expect(splitTopLevelEntries('%YAML 1.2\n---\n' + big(600))).toBeNull()
    expect(splitTopLevelEntries('people:\n' + big(600))).toBeNull()
    expect(splitTopLevelEntries(big(5))).toBeNull() // small files are parsed whole
  })
})

describe('parsing a large directory in two threads', () => {
  it('checks pieces in a worker thread exactly as in this one', async () => {
    const chunks = splitTopLevelEntries(big(600))!.slice(3)
    const inWorker = await checkInWorker(chunks, 300, STRUCTURE)
    expect(inWorker).not.toBeNull()
    expect(inWorker).toEqual(checkDirectoryChunks(chunks, 300, STRUCTURE))
    expect(inWorker!.keys[0]!.index).toBe(300)
  })

  it('gives exactly the result of the single-threaded parse, duplicates across the halves included', async () => {
    const lines = big(1_200).split('\n')
    // Entry 1,000 (second half) repeats the email of entry 10 (first half), and its auth_email too.
    const at = (i: number) => 3 + i * 13 - 1 // 0-based index of entry i's comment line
    lines[at(1_000) + 3] = '  auth_email: P10@alpha.edu'
    lines[at(1_000) + 10] = '  email: Person.10@alpha.edu'
    const text = lines.join('\n')
    const parallel = await parseUserDirectoryInParallel(text, STRUCTURE)
    expect(parallel).toEqual(parseUserDirectory(text, STRUCTURE, { split: false }))
    expect(parallel.count).toBe(1_200)
    expect(parallel.errors.filter((e) => e.entry === 1_000).map((e) => [e.path, e.line, e.message])).toEqual([
      ['[1000].email', at(1_000) + 11, 'Duplicate email Person.10@alpha.edu (also entry 10; emails are compared case-insensitively)'],
      ['[1000].auth_email', at(1_000) + 4, 'Duplicate auth_email P10@alpha.edu (also entry 10; compared case-insensitively)'],
    ])
    expect(parallel.entries.some((e) => e.index === 1_000)).toBe(false)
  })
})
