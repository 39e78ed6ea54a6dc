import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import {
  EMPTY_DOMAIN_CONFIG,
  domainsRelated,
  emailDomain,
  expectedIdp,
  isValidDomain,
  normalizeDomain,
  normalizePersonName,
  parseDomainConfig,
  resolveParent,
  type DomainConfig,
  type DomainConfigResult,
} from './domains.ts'

function parseFixture(name: string): DomainConfigResult {
  return parseDomainConfig(readFileSync(new URL(`./fixtures/domains/${name}`, import.meta.url), 'utf8'))
}

function validConfig(): DomainConfig {
  const r = parseFixture('valid.yaml')
  expect(r.errors).toEqual([])
  return r.config
}

/** One expected error: exact path and line, message matched by its key words. */
function error(path: string, line: number, message: RegExp) {
  return { entry: null, email: null, path, line, message: expect.stringMatching(message) }
}

describe('parseDomainConfig: valid files', () => {
  it('reads a full config into normalised maps with no errors', () => {
    const config = validConfig()
    expect(config.parentOf).toEqual(new Map([['jhmi.edu', 'jhu.edu'], ['med.nyu.edu', 'nyumc.org']]))
    expect(config.affiliatedGroups).toEqual([
      { name: 'UC system', domains: ['ucsf.edu', 'ucla.edu', 'ucsd.edu'] },
      { name: 'Hopkins', domains: ['jhu.edu', 'jh.edu'] },
    ])
    expect(config.groupOf).toEqual(
      new Map([
        ['ucsf.edu', 'UC system'],
        ['ucla.edu', 'UC system'],
        ['ucsd.edu', 'UC system'],
        ['jhu.edu', 'Hopkins'],
        ['jh.edu', 'Hopkins'],
      ]),
    )
    expect(config.institutionalIdp).toEqual(
      new Map([
        ['umich.edu', 'University of Michigan'],
        ['jhu.edu', 'Johns Hopkins'],
        ['med.umich.edu', 'Michigan Medicine'],
      ]),
    )
    expect(config.fallbackDomains).toEqual(new Set(['gmail.com', 'outlook.com']))
    expect(config.fallbackIdp).toBe('Login.gov')
  })

  it.each(['empty.yaml', 'comments-only.yaml', 'empty-sections.yaml'])('%s is a valid config with no relationships', (name) => {
    const r = parseFixture(name)
    expect(r.errors).toEqual([])
    expect(r.config).toEqual(EMPTY_DOMAIN_CONFIG)
    expect(r.config.fallbackIdp).toBe('ORCID')
  })

  it('defaults fallback_idp to ORCID', () => {
    const r = parseFixture('default-idp.yaml')
    expect(r.errors).toEqual([])
    expect(r.config.fallbackDomains).toEqual(new Set(['gmail.com']))
    expect(r.config.fallbackIdp).toBe('ORCID')
  })

  it('returns a fresh config: EMPTY_DOMAIN_CONFIG stays empty', () => {
    validConfig()
    expect(EMPTY_DOMAIN_CONFIG.parentOf.size).toBe(0)
    expect(EMPTY_DOMAIN_CONFIG.institutionalIdp.size).toBe(0)
    expect(EMPTY_DOMAIN_CONFIG.affiliatedGroups).toEqual([])
  })
})

describe('parseDomainConfig: YAML and structure errors', () => {
  it('reports a YAML syntax error with its line', () => {
    expect(parseFixture('syntax-error.yaml').errors).toEqual([error('', 5, /^YAML syntax error: Flow sequence/)])
  })

  it('refuses a file that is not a mapping', () => {
    expect(parseFixture('not-a-mapping.yaml').errors).toEqual([error('', 1, /must be a mapping .*not a list/)])
  })

  it('reports duplicate keys at every level', () => {
    expect(parseFixture('duplicate-key.yaml').errors).toEqual([
      error('idp_domain.fallback_idp', 3, /^Duplicate key "fallback_idp"$/),
      error('domain_relationship.parent_child[0].parent', 8, /^Duplicate key "parent"$/),
    ])
  })

  it('reports unknown keys at every level, naming the key', () => {
    expect(parseFixture('unknown-key.yaml').errors).toEqual([
      error('domain_relationship.parent_child[0].note', 5, /^Unknown key "note" \(expected child, parent\)/),
      error('domain_relationship.aliases', 6, /^Unknown key "aliases" \(expected parent_child, affiliated_groups\)/),
      error('idp_domain.institutional_idp[0].idp_url', 11, /^Unknown key "idp_url" \(expected domain, idp_name\)/),
      error('default_idp', 12, /^Unknown key "default_idp" \(expected domain_relationship, idp_domain\)/),
    ])
  })

  it('is strict about types', () => {
    expect(parseFixture('wrong-types.yaml').errors).toEqual([
      error('domain_relationship.parent_child', 3, /"parent_child" must be a list .*not a mapping/),
      error('domain_relationship.affiliated_groups[0].domains', 7, /"domains" must be a list .*not the string "ucsf\.edu"/),
      error('domain_relationship.affiliated_groups[1].name', 8, /"name" must be a string, not the number 42/),
      error('domain_relationship.affiliated_groups[1].domains[0]', 9, /"domains" must be a domain name, not the number 1\.5/),
      error('idp_domain.institutional_idp[0]', 12, /must be a mapping with domain and idp_name, not the string "umich\.edu"/),
      error('idp_domain.fallback_domains', 13, /"fallback_domains" must be a list .*not the string "gmail\.com"/),
    ])
  })

  it('refuses values that are not domain names, naming them', () => {
    expect(parseFixture('bad-domain.yaml').errors).toEqual([
      error('domain_relationship.parent_child[0].child', 3, /"localhost" is not a valid domain name/),
      error('domain_relationship.parent_child[1].child', 5, /"jhmi_med\.edu" is not a valid domain name/),
      error('domain_relationship.parent_child[1].parent', 6, /"-jhu\.edu" is not a valid domain name/),
      error('idp_domain.institutional_idp[0].domain', 9, /"umich\.\.edu" is not a valid domain name/),
      error('idp_domain.fallback_domains[1]', 11, /"outlook-\.com" is not a valid domain name/),
      error('idp_domain.fallback_domains[2]', 11, /"exa mple\.com" is not a valid domain name/),
    ])
  })
})

describe('parseDomainConfig: parent_child', () => {
  it('reports a missing child or parent', () => {
    expect(parseFixture('missing-child-parent.yaml').errors).toEqual([
      error('domain_relationship.parent_child[0].child', 3, /Missing required field "child"/),
      error('domain_relationship.parent_child[1].parent', 4, /Missing required field "parent"/),
    ])
  })

  it('refuses a child that is its own parent (compared normalised)', () => {
    const r = parseFixture('child-equals-parent.yaml')
    expect(r.errors).toEqual([error('domain_relationship.parent_child[0].parent', 4, /"jhu\.edu" cannot be its own parent/)])
    expect(r.config.parentOf.size).toBe(0)
  })

  it('refuses a child listed twice (compared normalised) and keeps the first', () => {
    const r = parseFixture('duplicate-child.yaml')
    expect(r.errors).toEqual([
      error('domain_relationship.parent_child[2].child', 7, /Child "jhmi\.edu" is listed more than once \(first at domain_relationship\.parent_child\[0\]\)/),
    ])
    expect(r.config.parentOf).toEqual(new Map([['jhmi.edu', 'jhu.edu'], ['med.umich.edu', 'umich.edu']]))
  })

  it('refuses a chain: a parent that is itself a child', () => {
    expect(parseFixture('chain.yaml').errors).toEqual([
      error(
        'domain_relationship.parent_child[0].parent',
        4,
        /Parent "med\.example\.edu" of "a\.med\.example\.edu" is itself listed as a child \(at domain_relationship\.parent_child\[1\]\); resolution is one hop, so chains are not allowed/,
      ),
    ])
  })
})

describe('parseDomainConfig: affiliated_groups', () => {
  it('reports a missing or empty group name', () => {
    expect(parseFixture('group-missing-name.yaml').errors).toEqual([
      error('domain_relationship.affiliated_groups[0].name', 3, /Missing required field "name"/),
      error('domain_relationship.affiliated_groups[1].name', 4, /"name" must not be empty/),
    ])
  })

  it('reports a duplicate group name', () => {
    expect(parseFixture('group-duplicate-name.yaml').errors).toEqual([
      error(
        'domain_relationship.affiliated_groups[1].name',
        5,
        /Duplicate affiliated group name "UC system" \(first at domain_relationship\.affiliated_groups\[0\]\)/,
      ),
    ])
  })

  it('needs at least 2 distinct domains per group', () => {
    expect(parseFixture('group-one-domain.yaml').errors).toEqual([
      error('domain_relationship.affiliated_groups[0].domains', 4, /group "Alone" needs at least 2 distinct domains, has 1/),
      error('domain_relationship.affiliated_groups[1].domains', 6, /group "Same twice" needs at least 2 distinct domains, has 1/),
      error('domain_relationship.affiliated_groups[2].domains', 8, /group "Nothing" needs at least 2 distinct domains, has 0/),
    ])
  })

  it('refuses a domain in two groups, naming both', () => {
    const r = parseFixture('domain-in-two-groups.yaml')
    expect(r.errors).toEqual([
      error(
        'domain_relationship.affiliated_groups[1].domains[1]',
        8,
        /Domain "ucsf\.edu" is in affiliated groups "UC system" and "Bay Area"; a domain may be in at most one group/,
      ),
    ])
    expect(r.config.groupOf.get('ucsf.edu')).toBe('UC system')
  })
})

describe('parseDomainConfig: idp_domain', () => {
  it('reports a missing domain, a missing idp_name and an empty idp_name', () => {
    expect(parseFixture('idp-missing-fields.yaml').errors).toEqual([
      error('idp_domain.institutional_idp[0].domain', 3, /Missing required field "domain"/),
      error('idp_domain.institutional_idp[1].idp_name', 4, /Missing required field "idp_name"/),
      error('idp_domain.institutional_idp[2].idp_name', 6, /"idp_name" must not be empty/),
    ])
  })

  it('refuses an institutional domain listed twice and keeps the first', () => {
    const r = parseFixture('idp-duplicate-domain.yaml')
    expect(r.errors).toEqual([
      error(
        'idp_domain.institutional_idp[2].domain',
        7,
        /Domain "umich\.edu" is listed more than once in institutional_idp \(first at idp_domain\.institutional_idp\[0\]\)/,
      ),
    ])
    expect(r.config.institutionalIdp.get('umich.edu')).toBe('University of Michigan')
  })

  it('refuses a repeated fallback domain (compared normalised)', () => {
    expect(parseFixture('fallback-repeated.yaml').errors).toEqual([
      error('idp_domain.fallback_domains[2]', 5, /Fallback domain "gmail\.com" is listed more than once \(first at idp_domain\.fallback_domains\[0\]\)/),
    ])
  })

  it('refuses a domain that is both institutional and fallback', () => {
    expect(parseFixture('institutional-and-fallback.yaml').errors).toEqual([
      error('idp_domain.fallback_domains[1]', 5, /Domain "umich\.edu" is both institutional \(at idp_domain\.institutional_idp\[0\]\) and fallback/),
    ])
  })

  it.each([
    ['fallback-idp-empty.yaml', /"fallback_idp" must be a non-empty string, not the string " {2}"/],
    ['fallback-idp-not-string.yaml', /"fallback_idp" must be a non-empty string, not a list/],
  ])('refuses a fallback_idp that is not a non-empty string (%s)', (name, message) => {
    const r = parseFixture(name)
    expect(r.errors).toEqual([error('idp_domain.fallback_idp', 2, message)])
    expect(r.config.fallbackIdp).toBe('ORCID')
  })
})

describe('parseDomainConfig: all problems at once', () => {
  it('reports every violation in file order and keeps what is valid', () => {
    const r = parseFixture('many-errors.yaml')
    expect(r.errors.map((e) => [e.line, e.path])).toEqual([
      [4, 'domain_relationship.parent_child[0].parent'],
      [7, 'domain_relationship.parent_child[2].child'],
      [11, 'domain_relationship.affiliated_groups[0].domains'],
      [15, 'domain_relationship.affiliated_groups[2].domains[0]'],
      [19, 'idp_domain.institutional_idp[0].idp_name'],
      [20, 'idp_domain.fallback_domains[0]'],
      [20, 'idp_domain.fallback_domains[1]'],
      [21, 'idp_domain.fallback_idp'],
      [22, 'idp_domain.extra'],
    ])
    expect(r.errors.map((e) => e.message)).toEqual([
      expect.stringMatching(/chains are not allowed/),
      expect.stringMatching(/listed more than once/),
      expect.stringMatching(/at least 2 distinct domains/),
      expect.stringMatching(/"Two" and "Three"/),
      expect.stringMatching(/"idp_name" must not be empty/),
      expect.stringMatching(/both institutional .* and fallback/),
      expect.stringMatching(/"bad" is not a valid domain name/),
      expect.stringMatching(/"fallback_idp" must be a non-empty string/),
      expect.stringMatching(/Unknown key "extra"/),
    ])
    expect(r.config.groupOf).toEqual(
      new Map([
        ['x.edu', 'One'],
        ['y.edu', 'Two'],
        ['z.edu', 'Two'],
        ['w.edu', 'Three'],
      ]),
    )
    expect(r.config.fallbackDomains).toEqual(new Set(['umich.edu']))
  })
})

describe('domain helpers', () => {
  it('normalizeDomain trims, lower-cases and strips one trailing dot', () => {
    expect(normalizeDomain('  UMICH.EDU. ')).toBe('umich.edu')
    expect(normalizeDomain('a.edu..')).toBe('a.edu.')
  })

  it('isValidDomain checks labels and lengths', () => {
    const label63 = 'a'.repeat(63)
    expect(isValidDomain('umich.edu')).toBe(true)
    expect(isValidDomain('x-1.med.umich.edu')).toBe(true)
    expect(isValidDomain(`${label63}.edu`)).toBe(true)
    expect(isValidDomain(`${label63}a.edu`)).toBe(false)
    const d253 = `${label63}.${label63}.${label63}.${'b'.repeat(61)}`
    expect(d253).toHaveLength(253)
    expect(isValidDomain(d253)).toBe(true)
    expect(isValidDomain(`${d253}c`)).toBe(false)
    for (const bad of ['', 'edu', 'a..edu', '-a.edu', 'a-.edu', 'a_b.edu', 'a.edu.', 'a b.edu']) {
      expect(isValidDomain(bad), bad).toBe(false)
    }
  })

  it('emailDomain takes the normalised part after the last @', () => {
    expect(emailDomain('ada@Example.ORG.')).toBe('example.org')
    expect(emailDomain('"a@b"@host.edu')).toBe('host.edu')
    expect(emailDomain(' ada@umich.edu ')).toBe('umich.edu')
    expect(emailDomain('no-at-sign.edu')).toBe('')
  })

  it('resolveParent: a listed child, an alias, an unlisted domain, normalisation', () => {
    const config = validConfig()
    expect(resolveParent(config, 'med.nyu.edu')).toBe('nyumc.org')
    expect(resolveParent(config, 'jhmi.edu')).toBe('jhu.edu')
    expect(resolveParent(config, 'JHMI.edu.')).toBe('jhu.edu')
    expect(resolveParent(config, 'med.umich.edu')).toBe('umich.edu')
    expect(resolveParent(config, 'UMICH.EDU.')).toBe('umich.edu')
    expect(resolveParent(config, 'a.b.umich.edu')).toBe('umich.edu')
    // One hop: an unlisted subdomain of a listed child resolves to the child, not further.
    expect(resolveParent(config, 'lab.jhmi.edu')).toBe('jhmi.edu')
    expect(resolveParent(EMPTY_DOMAIN_CONFIG, 'jhmi.edu')).toBe('jhmi.edu')
  })

  it('domainsRelated: same parent, via parent_child, via an affiliated group, unrelated', () => {
    const config = validConfig()
    expect(domainsRelated(config, 'med.umich.edu', 'UMICH.edu')).toBe(true)
    expect(domainsRelated(config, 'a.umich.edu', 'b.umich.edu')).toBe(true)
    expect(domainsRelated(config, 'jhmi.edu', 'jhu.edu')).toBe(true)
    expect(domainsRelated(config, 'JHMI.edu', 'cs.jhu.edu')).toBe(true)
    expect(domainsRelated(config, 'ucsf.edu', 'ucla.edu')).toBe(true)
    expect(domainsRelated(config, 'med.ucsf.edu', 'ucsd.edu')).toBe(true)
    expect(domainsRelated(config, 'jhmi.edu', 'jh.edu')).toBe(true)
    expect(domainsRelated(EMPTY_DOMAIN_CONFIG, 'ucsf.edu', 'ucla.edu')).toBe(false)
    expect(domainsRelated(EMPTY_DOMAIN_CONFIG, 'jhmi.edu', 'jhu.edu')).toBe(false)
    expect(domainsRelated(config, 'umich.edu', 'ucla.edu')).toBe(false)
    expect(domainsRelated(config, 'ucsf.edu', 'jhu.edu')).toBe(false)
    expect(domainsRelated(config, 'gmail.com', 'umich.edu')).toBe(false)
    expect(domainsRelated(config, '', '')).toBe(false)
  })

  it('expectedIdp: own domain, via the parent, fallback and unknown give null', () => {
    const config = validConfig()
    expect(expectedIdp(config, 'UMich.edu.')).toBe('University of Michigan')
    expect(expectedIdp(config, 'med.umich.edu')).toBe('Michigan Medicine')
    expect(expectedIdp(config, 'cs.umich.edu')).toBe('University of Michigan')
    expect(expectedIdp(config, 'jhmi.edu')).toBe('Johns Hopkins')
    expect(expectedIdp(config, 'gmail.com')).toBeNull()
    expect(expectedIdp(config, 'OUTLOOK.com')).toBeNull()
    expect(expectedIdp(config, 'eu.outlook.com')).toBeNull()
    expect(expectedIdp(config, 'ucla.edu')).toBeNull()
    expect(expectedIdp(EMPTY_DOMAIN_CONFIG, 'umich.edu')).toBeNull()
  })

  it('expectedIdp: a fallback domain wins over an institutional parent', () => {
    const r = parseDomainConfig(`
idp_domain:
  institutional_idp: [{ domain: example.edu, idp_name: Example }]
  fallback_domains: [alumni.example.edu]
`)
    expect(r.errors).toEqual([])
    expect(expectedIdp(r.config, 'staff.example.edu')).toBe('Example')
    expect(expectedIdp(r.config, 'alumni.example.edu')).toBeNull()
  })

  it('normalizePersonName folds case, width and whitespace', () => {
    expect(normalizePersonName('  Ada ', '  LOVELACE ')).toBe('ada lovelace')
    expect(normalizePersonName('Ada\u00a0Byron', 'King\t\nLovelace')).toBe('ada byron king lovelace')
    expect(normalizePersonName('Ａｄａ', 'Ｌｏｖｅｌａｃｅ')).toBe('ada lovelace')
    expect(normalizePersonName('Jose\u0301', 'Núñez')).toBe(normalizePersonName('JOS\u00c9', 'NU\u0301N\u0303EZ'))
    expect(normalizePersonName('', 'Lovelace')).toBe('lovelace')
    expect(normalizePersonName('Ada', 'Lovelace')).not.toBe(normalizePersonName('Ada', 'Byron'))
  })
})
