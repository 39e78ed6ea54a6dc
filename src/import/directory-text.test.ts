// Finding 7 of issue 11: the import reads emails NFC-normalised, like every form and the CLI.
import { describe, expect, it } from 'vitest'
import { parseUserDirectory } from './directory.ts'
import type { ConsortiumStructure } from './structure.ts'

const structure: ConsortiumStructure = {
  studies: { adrc: 'primary' },
  dataTypes: ['form'],
  centres: { 1: { group: 'alpha-adrc', studies: ['adrc'] } },
  adminGroup: 'nacc',
}

describe('user directory emails', () => {
  it('are NFC-normalised: an address typed decomposed is the same account as the composed one', () => {
    const nfd = 'jose\u0301@alpha.edu'
    const text = `- active: true
  adcid: 1
  auth_email: "${nfd}"
  authorizations: { approve_data: false, audit_data: false, view_reports: true, study_id: adrc, submit: [form] }
  email: "Jose\u0301.Garcia@alpha.edu"
  name: { first_name: Jose, last_name: Garcia }
  org_name: Alpha ADRC
`
    const r = parseUserDirectory(text, structure)
    expect(r.errors).toEqual([])
    expect(r.entries[0]!.authEmail).toBe('jos\u00e9@alpha.edu')
    expect(r.entries[0]!.email).toBe('Jos\u00e9.Garcia@alpha.edu')
  })
})
