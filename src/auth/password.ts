import { hash, verify } from '@node-rs/argon2'
import { availableParallelism } from 'node:os'
import { commonPasswords } from './common-passwords.ts'

// OWASP's argon2id recommendation: m = 19 MiB, t = 2, p = 1. @node-rs/argon2 hashes on the
// libuv thread pool, so hashing never blocks the event loop.
const ARGON2_OPTIONS = { algorithm: 2 /* Algorithm.Argon2id */, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const

export const PASSWORD_MAX_LENGTH = 256

// Note: at most (cores − 1) hashes run at once, so one core always stays free for the event
// loop and the pages of everyone else; each hash also holds 19 MiB, so this caps memory too.
// Further sign-ins queue here (their wait is part of their own response time, nobody else's).
export const HASH_CONCURRENCY = Math.max(1, Number(process.env.HASH_CONCURRENCY) || availableParallelism() - 1)

/**
 * A FIFO queue that runs at most `limit` tasks at once; each caller gets its own task's result
 * (or error). `highWater` is the most that ever ran at once.
 */
export function concurrencyLimit(limit: number) {
  let running = 0
  const waiting: (() => void)[] = []
  const stats = { highWater: 0, get running() { return running }, get waiting() { return waiting.length } }
  async function run<T>(work: () => Promise<T>): Promise<T> {
    if (running >= limit) await new Promise<void>((resolve) => waiting.push(resolve))
    running++
    stats.highWater = Math.max(stats.highWater, running)
    try {
      return await work()
    } finally {
      running--
      waiting.shift()?.()
    }
  }
  return { run, stats }
}

const hashSlots = concurrencyLimit(HASH_CONCURRENCY)
const withHashSlot = hashSlots.run
/** The hash queue's counters (tests, diagnosis). */
export const hashQueue = hashSlots.stats

export function hashPassword(password: string): Promise<string> {
  return withHashSlot(() => hash(password, ARGON2_OPTIONS))
}

export async function verifyPasswordHash(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await withHashSlot(() => verify(passwordHash, password))
  } catch {
    return false
  }
}

// A valid hash of a random string: verifying against it makes an unknown email cost as much
// time as a known one, so response times do not tell whether an account exists.
let dummyHash: Promise<string> | null = null
export function getDummyPasswordHash(): Promise<string> {
  dummyHash ??= hashPassword(crypto.randomUUID())
  return dummyHash
}

export type PasswordContext = {
  minLength: number
  email?: string | null
  username?: string | null
  /** Further words the password may not contain (product and site names). */
  forbiddenWords?: readonly string[]
}

/** Returns why the password is refused, or null when it meets the policy of SPEC §3.2. */
export function checkPasswordPolicy(password: string, context: PasswordContext): string | null {
  const length = [...password].length
  if (length < context.minLength) return `Use at least ${context.minLength} characters.`
  if (length > PASSWORD_MAX_LENGTH) return `Use at most ${PASSWORD_MAX_LENGTH} characters.`
  const folded = password.toLowerCase()
  if (commonPasswords().has(folded)) return 'This password is too common; choose another.'
  // "password123!", "!!monkey2024": a common password dressed up with digits and symbols
  const core = folded.replace(/^[\d\W_]+|[\d\W_]+$/gu, '')
  if (core.length >= 4 && core.length * 2 >= length && commonPasswords().has(core)) {
    return 'This password is a common password with a few characters added; choose another.'
  }
  if (isRepetition(folded)) return 'This password repeats itself; choose another.'
  if (isSequence(folded)) return 'This password is a simple sequence; choose another.'
  const localPart = context.email?.split('@')[0]?.toLowerCase()
  if (localPart && localPart.length >= 3 && folded.includes(localPart)) {
    return 'The password may not contain your email address.'
  }
  const username = context.username?.toLowerCase()
  if (username && username.length >= 3 && folded.includes(username)) {
    return 'The password may not contain your username.'
  }
  for (const word of context.forbiddenWords ?? []) {
    const w = word.toLowerCase()
    if (w.length >= 3 && folded.includes(w)) return `The password may not contain "${word}".`
  }
  return null
}

/** "aaaaaaaaaaaa", "abcabcabcabc", "passwordpassword": one unit repeated. */
function isRepetition(password: string): boolean {
  return /^(.+?)\1+$/su.test(password)
}

/** "123456789012", "abcdefghijkl", "zyxwvutsrqpo": every step is the same +1 or −1. */
function isSequence(password: string): boolean {
  const codes = [...password].map((ch) => ch.codePointAt(0) ?? 0)
  const step = (codes[1] ?? 0) - (codes[0] ?? 0)
  if (step !== 1 && step !== -1) return false
  for (let i = 2; i < codes.length; i++) {
    const diff = (codes[i] ?? 0) - (codes[i - 1] ?? 0)
    // digits wrap around: 7890123…
    if (diff !== step && !(diff === -9 * step && codes[i - 1]! >= 48 && codes[i - 1]! <= 57)) return false
  }
  return true
}
