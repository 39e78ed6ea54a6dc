import { createHmac, randomBytes } from 'node:crypto'
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

/** The key for keyedTokenHash, derived from the server's secret key (never the key itself). */
function tokenHashKey(secretKey: Buffer): Buffer {
  return createHmac('sha256', secretKey).update('gatehouse security token hash v1').digest()
}

/**
 * HMAC-SHA-256 of a security token (password reset link) under a key derived from the server
 * key, hex: a copy of the database alone does not let anyone test guesses against it.
 */
export function keyedTokenHash(secretKey: Buffer, token: string): string {
  return createHmac('sha256', tokenHashKey(secretKey)).update(token, 'utf8').digest('hex')
}
