import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { stringify } from 'yaml'
import { parseUserDirectory } from './directory.ts'
import { parseAuthorizationMap } from './authorization-map.ts'
import { parseDomainConfig } from './domains.ts'
import { parseStructureFile } from './structure-file.ts'
import type { ConsortiumStructure } from './structure.ts'

// Property tests (fast-check) of the import's YAML readers: whatever the text, a reader returns
// its result with reported errors (each with a message); it never throws.

const structure: ConsortiumStructure = {
  studies: { adrc: 'primary', dvcid: 'affiliated' },
  dataTypes: ['form', 'enrollment-form'],
  centres: { 1: { group: 'alpha-adrc', studies: ['adrc', 'dvcid'] } },
  adminGroup: 'nacc',
}

type Report = { errors: { message: string; line?: number | null }[] }

const readers: [string, (text: string) => Report][] = [
  ['user directory', (t) => parseUserDirectory(t, structure)],
  ['authorization map', (t) => parseAuthorizationMap(t, structure, ['read-only', 'contributor'])],
  ['domain config', (t) => parseDomainConfig(t)],
  ['consortium structure', (t) => {
    const r = parseStructureFile(t)
    return { errors: r.ok ? [] : r.errors }
  }],
]

/** Text made of YAML's own punctuation, keys of the real formats and odd characters: it reaches the parser's corners. */
const yamlish = fc
  .array(
    fc.oneof(
      fc.constantFrom('-', ' ', '  ', '\n', ':', ': ', '? ', '[', ']', '{', '}', ',', '&a', '*a', '!!str', '!tag', '#', '"', "'", '|', '>', '---', '...', '%YAML 1.2', '\t', '\r\n', '\u0000', '\uFEFF', 'é', '😀'),
      fc.constantFrom('active', 'adcid', 'auth_email', 'email', 'name', 'first_name', 'authorizations', 'submit', 'study_id', 'true', 'null', '42', 'yes', 'accepted', 'view-reports', 'studies', 'centres', 'data_types', 'domain_relationship', 'parent_child', 'child', 'parent', 'a@b.org'),
      fc.string({ maxLength: 8 }),
    ),
    { maxLength: 120 },
  )
  .map((parts) => parts.join(''))

/** Well-formed YAML of any shape (what stringify makes of arbitrary JSON values). */
const wellFormed = fc.jsonValue({ maxDepth: 6 }).map((v) => stringify(v))

/** Nested lists and maps up to 90 levels, around the 64-level limit. */
const nested = fc.tuple(fc.integer({ min: 1, max: 90 }), fc.array(fc.constantFrom('[', '{k: ', '- '), { minLength: 1, maxLength: 3 })).map(([depth, kinds]) => {
  let open = ''
  let close = ''
  for (let i = 0; i < depth; i++) {
    const kind = kinds[i % kinds.length]!
    if (kind === '- ') open += '\n' + '  '.repeat(i) + '- '
    else {
      open += kind
      close = (kind === '[' ? ']' : '}') + close
    }
  }
  return open + 'x' + close + '\n'
})

describe('YAML readers never throw (property-based)', () => {
  for (const [name, read] of readers) {
    it(`${name}: any text gives a result with reported errors, never an exception`, () => {
      fc.assert(
        fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 300 }), yamlish, wellFormed, nested, fc.integer({ min: 1_000, max: 20_000 }).map((n) => 'k: ' + '['.repeat(n) + ']'.repeat(n))), (text) => {
          let report: Report
          expect(() => (report = read(text))).not.toThrow()
          expect(Array.isArray(report!.errors)).toBe(true)
          for (const e of report!.errors) expect(typeof e.message === 'string' && e.message.length > 0).toBe(true)
        }),
        { numRuns: 400 },
      )
    })
  }
})
