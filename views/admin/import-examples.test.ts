import { describe, expect, it } from 'vitest'
import { AUTHORIZATIONS_EXAMPLE, DIRECTORY_EXAMPLE, DOMAINS_EXAMPLE } from './import-examples.ts'
import { EXAMPLE as STRUCTURE_EXAMPLE } from './consortium.tsx'
import { parseStructureFile } from '../../src/import/structure-file.ts'
import { parseUserDirectory } from '../../src/import/directory.ts'
import { parseAuthorizationMap } from '../../src/import/authorization-map.ts'
import { parseDomainConfig } from '../../src/import/domains.ts'
import { SYSTEM_ROLES } from '../../src/authz/permissions.ts'

const PROJECT_ROLES = Object.entries(SYSTEM_ROLES)
  .filter(([, r]) => r.scope === 'project')
  .map(([name]) => name)

function structure() {
  const parsed = parseStructureFile(STRUCTURE_EXAMPLE)
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors))
  return parsed.structure
}

describe('the import page examples', () => {
  it('are valid files for the consortium page’s example structure: no error, no warning', () => {
    const s = structure()
    const directory = parseUserDirectory(DIRECTORY_EXAMPLE, s)
    expect(directory.errors).toEqual([])
    expect(directory.warnings).toEqual([])
    expect(directory.entries).toHaveLength(2)
    expect(parseAuthorizationMap(AUTHORIZATIONS_EXAMPLE, s, PROJECT_ROLES).errors).toEqual([])
    expect(parseDomainConfig(DOMAINS_EXAMPLE).errors).toEqual([])
  })
})
