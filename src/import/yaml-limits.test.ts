import { describe, expect, it } from 'vitest'
import { parseUserDirectory } from './directory.ts'
import { parseUserDirectoryInParallel } from './directory-parallel.ts'
import { parseAuthorizationMap } from './authorization-map.ts'
import { parseDomainConfig } from './domains.ts'
import { parseStructureFile } from './structure-file.ts'
import type { ConsortiumStructure } from './structure.ts'

const structure: ConsortiumStructure = {
  studies: { adrc: 'primary' },
  dataTypes: ['form'],
  centres: { 1: { group: 'alpha-adrc', studies: ['adrc'] } },
  adminGroup: 'nacc',
}

const flow = (n: number) => '['.repeat(n) + ']'.repeat(n)
const flowMaps = (n: number) => '{a: '.repeat(n) + '1' + '}'.repeat(n)
/** n nested block lists: `-` then `  -` … */
const block = (n: number) => Array.from({ length: n }, (_, i) => `${'  '.repeat(i)}- `).join('\n') + 'x\n'

/** Every YAML reader of the import, answering with the messages of its errors. */
const readers: [string, (text: string) => Promise<string[]>][] = [
  ['user directory', async (t) => parseUserDirectory(t, structure).errors.map((e) => e.message)],
  ['user directory, whole', async (t) => parseUserDirectory(t, structure, { split: false }).errors.map((e) => e.message)],
  ['user directory, in parallel', async (t) => (await parseUserDirectoryInParallel(t, structure)).errors.map((e) => e.message)],
  ['authorization map', async (t) => parseAuthorizationMap(t, structure, ['read-only']).errors.map((e) => e.message)],
  ['domain config', async (t) => parseDomainConfig(t).errors.map((e) => e.message)],
  ['consortium structure', async (t) => {
    const r = parseStructureFile(t)
    return r.ok ? [] : r.errors.map((e) => e.message)
  }],
]

describe('import limits: nesting deeper than 64', () => {
  for (const [name, read] of readers) {
    it(`${name}: 65 and 10,000 levels (flow lists, flow maps, block lists) are refused with a clear error; 64 pass the limit`, async () => {
      for (const text of [flow(65), flow(10_000), flowMaps(65), flowMaps(10_000), block(65), `key:\n  ${flow(65)}\n`]) {
        const errors = await read(text)
        expect(errors, text.slice(0, 40)).toHaveLength(1)
        expect(errors[0]).toMatch(/nested deeper than 64 levels \(at line \d+\)/)
      }
      for (const text of [flow(64), flowMaps(64), block(64)]) expect((await read(text)).join(' '), text.slice(0, 40)).not.toMatch(/nested deeper/)
    })
  }

  it('a million nested brackets are refused quickly (the parser stops at the limit)', () => {
    const started = performance.now()
    expect(parseUserDirectory(flow(1_000_000), structure).errors[0]!.message).toMatch(/nested deeper than 64/)
    expect(performance.now() - started).toBeLessThan(3_000)
  })

  it('a deep node inside one entry of a large directory is refused on the pieces-and-worker path too', async () => {
    const entry = (i: number) => `- active: false\n  auth_email: null\n  email: u${i}@example.org\n  name: { first_name: A, last_name: B }\n`
    const entries = Array.from({ length: 3_000 }, (_, i) => entry(i))
    entries[2_500] = `- active: false\n  auth_email: null\n  email: deep@example.org\n  name: { first_name: A, last_name: ${flow(70)} }\n`
    const text = entries.join('')
    expect(text.length).toBeGreaterThan(64 * 1024)
    for (const r of [parseUserDirectory(text, structure), await parseUserDirectoryInParallel(text, structure)]) {
      expect(r.entries).toEqual([])
      expect(r.errors.map((e) => e.message)).toEqual([expect.stringMatching(/nested deeper than 64 levels \(at line 10004\)/)])
    }
  })
})

describe('import limits: at most 100,000 directory entries', () => {
  const minimal = (n: number) => '- {}\n'.repeat(n)
  it('100,001 entries are refused with one clear error on every path; 100,000 are read', async () => {
    const over = minimal(100_001)
    for (const r of [parseUserDirectory(over, structure), parseUserDirectory(over, structure, { split: false }), await parseUserDirectoryInParallel(over, structure), parseUserDirectory(`[${'{}, '.repeat(100_001)}]`, structure)]) {
      expect(r.entries).toEqual([])
      expect(r.errors).toEqual([{ entry: null, email: null, path: '', line: null, message: expect.stringMatching(/100,001 entries; at most 100,000 are allowed/) }])
    }
    const at = parseUserDirectory(minimal(100_000), structure)
    expect(at.count).toBe(100_000)
    expect(at.errors.some((e) => /at most 100,000/.test(e.message))).toBe(false)
  }, 120_000)
})
