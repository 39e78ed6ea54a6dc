import { dictionary } from '@zxcvbn-ts/language-common'

let cached: Set<string> | null = null

/** The zxcvbn-ts common-password list (tens of thousands of entries), lower-cased, loaded once. */
export function commonPasswords(): ReadonlySet<string> {
  cached ??= new Set(dictionary['passwords-common'].map((p) => p.toLowerCase()))
  return cached
}
