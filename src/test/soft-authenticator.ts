// Test support only: a software WebAuthn authenticator (ES256 on P-256, attestation "none") that
// answers the server's real options, so tests drive the real verification in @simplewebauthn/server.
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto'
import { isoCBOR } from '@simplewebauthn/server/helpers'
import type { AuthenticationResponseJSON, PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON, RegistrationResponseJSON } from '@simplewebauthn/server'

const b64url = (bytes: Uint8Array | Buffer) => Buffer.from(bytes).toString('base64url')
const sha256 = (data: Uint8Array | Buffer | string) => createHash('sha256').update(data).digest()

export type CeremonyOverrides = { origin?: string; rpId?: string; userVerified?: boolean; counter?: number; challenge?: string; type?: string }

export class SoftAuthenticator {
  readonly credentialId = randomBytes(32)
  private readonly privateKey: KeyObject
  private readonly publicJwk: { x: string; y: string }
  /** The next assertion's counter is this plus one (set it back to replay an old count). */
  counter = 0
  userHandle: string | null = null

  constructor(
    readonly defaults: { origin: string; rpId: string; userVerified?: boolean; discoverable?: boolean },
  ) {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    this.privateKey = privateKey
    const jwk = publicKey.export({ format: 'jwk' })
    this.publicJwk = { x: jwk.x!, y: jwk.y! }
  }

  get id(): string {
    return b64url(this.credentialId)
  }

  private flags(userVerified: boolean, attested: boolean): number {
    return 0x01 | (userVerified ? 0x04 : 0) | (attested ? 0x40 : 0)
  }

  private clientData(type: string, challenge: string, origin: string): Buffer {
    return Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin: false }), 'utf8')
  }

  /** A registration response to the server's creation options. */
  register(options: PublicKeyCredentialCreationOptionsJSON, overrides: CeremonyOverrides = {}): RegistrationResponseJSON {
    const userVerified = overrides.userVerified ?? this.defaults.userVerified ?? true
    const rpId = overrides.rpId ?? this.defaults.rpId
    this.userHandle = options.user.id
    const coseKey = new Map<number, number | Uint8Array>([
      [1, 2],
      [3, -7],
      [-1, 1],
      [-2, new Uint8Array(Buffer.from(this.publicJwk.x, 'base64url'))],
      [-3, new Uint8Array(Buffer.from(this.publicJwk.y, 'base64url'))],
    ])
    const idLength = Buffer.alloc(2)
    idLength.writeUInt16BE(this.credentialId.length)
    const counter = Buffer.alloc(4)
    counter.writeUInt32BE(this.counter)
    const authData = Buffer.concat([sha256(rpId), Buffer.from([this.flags(userVerified, true)]), counter, Buffer.alloc(16), idLength, this.credentialId, Buffer.from(isoCBOR.encode(coseKey))])
    const attestationObject = isoCBOR.encode(
      new Map<string, string | Uint8Array | Map<string, string>>([
        ['fmt', 'none'],
        ['attStmt', new Map<string, string>()],
        ['authData', new Uint8Array(authData)],
      ]),
    )
    const clientDataJSON = this.clientData(overrides.type ?? 'webauthn.create', overrides.challenge ?? options.challenge, overrides.origin ?? this.defaults.origin)
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key',
      response: { clientDataJSON: b64url(clientDataJSON), attestationObject: b64url(attestationObject), transports: ['internal'] },
      clientExtensionResults: { credProps: { rk: this.defaults.discoverable ?? true } },
      authenticatorAttachment: 'platform',
    }
  }

  /** An assertion for the server's request options (the counter moves forward by one unless given). */
  assert(options: PublicKeyCredentialRequestOptionsJSON, overrides: CeremonyOverrides = {}): AuthenticationResponseJSON {
    const userVerified = overrides.userVerified ?? this.defaults.userVerified ?? true
    const rpId = overrides.rpId ?? options.rpId ?? this.defaults.rpId
    this.counter = overrides.counter ?? this.counter + 1
    const counter = Buffer.alloc(4)
    counter.writeUInt32BE(this.counter)
    const authenticatorData = Buffer.concat([sha256(rpId), Buffer.from([this.flags(userVerified, false)]), counter])
    const clientDataJSON = this.clientData(overrides.type ?? 'webauthn.get', overrides.challenge ?? options.challenge, overrides.origin ?? this.defaults.origin)
    const signature = sign('sha256', Buffer.concat([authenticatorData, sha256(clientDataJSON)]), this.privateKey)
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key',
      response: { clientDataJSON: b64url(clientDataJSON), authenticatorData: b64url(authenticatorData), signature: b64url(signature), userHandle: this.userHandle ?? undefined },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    }
  }
}
