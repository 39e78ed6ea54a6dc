import type { AuthenticationResponseJSON, PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON, RegistrationResponseJSON } from '@simplewebauthn/server'
import type { Config } from '../config.ts'
import type { Db } from '../db/client.ts'
import type { Passkey, User } from '../db/schema.ts'
import { CHALLENGE_TTL_MS, consumeChallenge, getPasskeyByCredentialId, listPasskeys, recordPasskeyUse, storeChallenge, type ChallengePurpose } from '../models/passkeys.ts'

/**
 * The library is loaded on the first ceremony, not at start: it and its ASN.1/CBOR dependencies hold
 * about 15 MB of memory that a site whose people use no passkeys never needs (SPEC §9's 150 MB).
 */
let library: Promise<typeof import('@simplewebauthn/server')> | null = null
const webauthn = () => (library ??= import('@simplewebauthn/server'))

// WebAuthn ceremonies through @simplewebauthn/server (never verified by hand). The relying party
// is BASE_URL: its host name is the RP id, its origin the only origin accepted.

export function relyingParty(config: Config): { rpID: string; origin: string; rpName: string } {
  return { rpID: new URL(config.baseUrl).hostname, origin: config.origin, rpName: config.siteName }
}

/** The WebAuthn user handle of a Gatehouse account: its id, as decimal text. */
export function userHandleOf(userId: number): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(String(userId))
}

function sessionBinding(sessionId: string): string {
  return `session:${sessionId}`
}

export function bindingFor(where: { sessionId: string } | { preauthHash: string }): string {
  return 'sessionId' in where ? sessionBinding(where.sessionId) : `preauth:${where.preauthHash}`
}

/** Registration options for a signed-in user; the challenge is stored bound to their session. */
export async function startPasskeyRegistration(db: Db, config: Config, input: { user: User; sessionId: string; now: number }): Promise<PublicKeyCredentialCreationOptionsJSON> {
  const { rpID, rpName } = relyingParty(config)
  const { user } = input
  const options = await (await webauthn()).generateRegistrationOptions({
    rpName,
    rpID,
    userName: user.email,
    userID: userHandleOf(user.id),
    userDisplayName: [user.firstName, user.lastName].filter(Boolean).join(' ') || user.email,
    timeout: CHALLENGE_TTL_MS,
    attestationType: 'none',
    excludeCredentials: listPasskeys(db, user.id).map((p) => ({ id: p.credentialId, transports: splitTransports(p.transports) })),
    authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' },
  })
  storeChallenge(db, { challenge: options.challenge, purpose: 'register', binding: sessionBinding(input.sessionId), userId: user.id, now: input.now })
  return options
}

export type VerifiedRegistration = {
  credential: { id: string; publicKey: Uint8Array; counter: number; transports?: string[] }
  deviceType: string
  backedUp: boolean
  /** User verification at registration as a (possibly) discoverable credential: may sign in alone. */
  userVerifiedAtRegistration: boolean
}

/** Verifies a registration response against a live challenge of this session (used up by the attempt); null when refused. */
export async function finishPasskeyRegistration(db: Db, config: Config, input: { response: unknown; sessionId: string; now: number }): Promise<VerifiedRegistration | null> {
  if (!isCredentialJson(input.response)) return null
  const response = input.response as RegistrationResponseJSON
  const { rpID, origin } = relyingParty(config)
  try {
    const result = await (await webauthn()).verifyRegistrationResponse({
      response,
      expectedChallenge: (challenge) => consumeChallenge(db, { challenge, purpose: 'register', binding: sessionBinding(input.sessionId), now: input.now }),
      expectedOrigin: origin,
      expectedRPID: rpID,
      requireUserVerification: false,
    })
    if (!result.verified) return null
    const info = result.registrationInfo
    // credProps is the browser's report; a credential that is not discoverable can never be
    // found by the passwordless ceremony anyway, so an absent report does not matter.
    const residentKey = response.clientExtensionResults?.credProps?.rk
    return {
      credential: { id: info.credential.id, publicKey: info.credential.publicKey, counter: info.credential.counter, transports: response.response.transports ?? info.credential.transports },
      deviceType: info.credentialDeviceType,
      backedUp: info.credentialBackedUp,
      userVerifiedAtRegistration: info.userVerified && residentKey !== false,
    }
  } catch {
    return null
  }
}

/**
 * Authentication options. With a user: their passkeys are allowed (second factor, re-authentication);
 * without: a discoverable credential with user verification (passwordless sign-in).
 */
export async function startPasskeyAssertion(
  db: Db,
  config: Config,
  input: { purpose: Exclude<ChallengePurpose, 'register'>; binding: string; user: User | null; now: number },
): Promise<PublicKeyCredentialRequestOptionsJSON> {
  const { rpID } = relyingParty(config)
  const options = await (await webauthn()).generateAuthenticationOptions({
    rpID,
    timeout: CHALLENGE_TTL_MS,
    userVerification: input.user === null ? 'required' : 'preferred',
    allowCredentials: input.user === null ? [] : listPasskeys(db, input.user.id).map((p) => ({ id: p.credentialId, transports: splitTransports(p.transports) })),
  })
  storeChallenge(db, { challenge: options.challenge, purpose: input.purpose, binding: input.binding, userId: input.user?.id ?? null, now: input.now })
  return options
}

/** The stored passkey an assertion names, or null (malformed, unknown, removed). */
export function findAssertedPasskey(db: Db, response: unknown): Passkey | null {
  if (!isCredentialJson(response)) return null
  return getPasskeyByCredentialId(db, (response as { id: string }).id)
}

export type AssertionOutcome = { ok: true } | { ok: false; reason: 'invalid' | 'replayed' }

/**
 * Verifies an assertion by `passkey` (its owner `user`) against a live challenge of this purpose
 * and binding (taken by the attempt, whatever its outcome), then moves the counter forward: a
 * counter that does not move, or a second use of the assertion, is refused.
 */
export async function verifyPasskeyAssertion(
  db: Db,
  config: Config,
  input: { response: unknown; passkey: Passkey; user: User; purpose: Exclude<ChallengePurpose, 'register'>; binding: string; requireUserVerification: boolean; now: number; ip: string },
): Promise<AssertionOutcome> {
  if (!isCredentialJson(input.response)) return { ok: false, reason: 'invalid' }
  const response = input.response as AuthenticationResponseJSON
  const { rpID, origin } = relyingParty(config)
  const { passkey } = input
  if (response.response?.userHandle && response.response.userHandle !== Buffer.from(userHandleOf(passkey.userId)).toString('base64url')) return { ok: false, reason: 'invalid' }
  let newCounter: number
  try {
    const result = await (await webauthn()).verifyAuthenticationResponse({
      response,
      expectedChallenge: (challenge) => consumeChallenge(db, { challenge, purpose: input.purpose, binding: input.binding, now: input.now }),
      expectedOrigin: origin,
      expectedRPID: rpID,
      credential: { id: passkey.credentialId, publicKey: new Uint8Array(passkey.publicKey), counter: passkey.counter, transports: splitTransports(passkey.transports) },
      requireUserVerification: input.requireUserVerification,
    })
    if (!result.verified) return { ok: false, reason: 'invalid' }
    newCounter = result.authenticationInfo.newCounter
  } catch (error) {
    return { ok: false, reason: error instanceof Error && /counter/i.test(error.message) ? 'replayed' : 'invalid' }
  }
  return recordPasskeyUse(db, { passkey, user: input.user, newCounter, purpose: input.purpose, now: input.now, ip: input.ip }) ? { ok: true } : { ok: false, reason: 'replayed' }
}

function splitTransports(stored: string): string[] | undefined {
  return stored === '' ? undefined : stored.split(',')
}

function isCredentialJson(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false
  const v = value as Record<string, unknown>
  return typeof v.id === 'string' && v.id.length > 0 && v.id.length <= 1024 && typeof v.rawId === 'string' && v.type === 'public-key' && typeof v.response === 'object' && v.response !== null
}
