import { randomBytes } from 'node:crypto'
import { sha256 } from '@oslojs/crypto/sha2'
import { encodeBase32LowerCaseNoPadding, encodeHexLowerCase } from '@oslojs/encoding'

/** A random bearer token of `bytes` bytes (160 bits by default), base32 lower-case. */
export function generateToken(bytes = 20): string {
  return encodeBase32LowerCaseNoPadding(randomBytes(bytes))
}

/** SHA-256 of a bearer token, hex: the only form in which tokens are stored. */
export function hashToken(token: string): string {
  return encodeHexLowerCase(sha256(new TextEncoder().encode(token)))
}
