import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'

// AES-256-GCM with a random 96-bit IV per message; stored as "v1:" + base64(iv | tag | ciphertext).

export function encryptSecret(key: Buffer, plaintext: string): string {
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', key, iv)
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
  return 'v1:' + Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString('base64')
}

/** Returns the plaintext, or null when the value was not encrypted with this key (or was altered). */
export function decryptSecret(key: Buffer, stored: string): string | null {
  if (!stored.startsWith('v1:')) return null
  const raw = Buffer.from(stored.slice(3), 'base64')
  if (raw.length < 28) return null
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12))
    decipher.setAuthTag(raw.subarray(12, 28))
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8')
  } catch {
    return null
  }
}
