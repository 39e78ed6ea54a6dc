import { generateSecret, generateURI, verifySync } from 'otplib'

// TOTP per RFC 6238 as authenticator apps expect it: SHA-1, 6 digits, 30-second steps.
export const TOTP_PERIOD_SECONDS = 30

/** A new base32 secret of 20 random bytes (160 bits). */
export function generateTotpSecret(): string {
  return generateSecret({ length: 20 })
}

export function createTotpUri(secret: string, accountName: string, issuer: string): string {
  return generateURI({ issuer, label: accountName, secret, algorithm: 'sha1', digits: 6, period: TOTP_PERIOD_SECONDS })
}

export type TotpCheck = { ok: true; step: number } | { ok: false; reason: 'invalid' | 'replayed' }

/**
 * Checks a code at time `nowMs`, accepting the current step and one either side. A code whose
 * step is not after `lastUsedStep` is refused as a replay, so each code works once.
 */
export function verifyTotpCode(secret: string, code: string, nowMs: number, lastUsedStep: number | null): TotpCheck {
  const token = code.replace(/\s+/g, '')
  if (!/^\d{6}$/.test(token)) return { ok: false, reason: 'invalid' }
  const epoch = Math.floor(nowMs / 1000)
  const result = verifySync({ secret, token, epoch, epochTolerance: TOTP_PERIOD_SECONDS, period: TOTP_PERIOD_SECONDS })
  if (!result.valid) return { ok: false, reason: 'invalid' }
  const step = 'timeStep' in result ? result.timeStep : Math.floor(epoch / TOTP_PERIOD_SECONDS) + (result.delta ?? 0)
  if (lastUsedStep !== null && step <= lastUsedStep) return { ok: false, reason: 'replayed' }
  return { ok: true, step }
}
