import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { dockerfileFlags, startScriptFlags } from './start-flags.ts'

const REPO_ROOT = join(import.meta.dirname, '..', '..')

describe('the server start flags', () => {
  it('are the same in npm start and the container, and bound the heap growth (SPEC §9: ≤ 150 MB under sign-in load)', () => {
    const flags = startScriptFlags(REPO_ROOT)
    expect(dockerfileFlags(REPO_ROOT)).toEqual(flags)
    expect(flags).toContain('--max-semi-space-size=4')
    // Without it V8 lets the old generation grow to about four times the live heap between
    // collections under load (25 MB live, 90 MB collected at once: a 194 MB peak).
    expect(flags).toContain('--heap-growing-percent=30')
  })
})
