import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
let cached: Set<string> | null = null

/**
 * The zxcvbn-ts common-password list (tens of thousands of entries), lower-cased. Loaded on first
 * use (setting a password), not at start: sign-in and page views never need it.
 */
export function commonPasswords(): ReadonlySet<string> {
  if (!cached) {
    const { dictionary } = require('@zxcvbn-ts/language-common') as typeof import('@zxcvbn-ts/language-common')
    cached = new Set(dictionary['passwords-common'].map((p) => p.toLowerCase()))
  }
  return cached
}
