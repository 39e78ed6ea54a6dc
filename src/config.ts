import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { privateDir, privateFile } from './db/file-modes.ts'
import { randomBytes } from 'node:crypto'
import { join, resolve } from 'node:path'

export type Config = Readonly<{
  port: number
  host: string
  dataDir: string
  baseUrl: string
  /** Origin accepted for unsafe requests, derived from baseUrl. */
  origin: string
  secureCookies: boolean
  smtpUrl: string | null
  mailFrom: string
  adminEmail: string | null
  sessionIdleMinutes: number
  sessionMaxHours: number
  lockoutThreshold: number
  lockoutMinutes: number
  inactiveDays: number
  passwordMaxAgeDays: number
  passwordMinLength: number
  uploadMaxMb: number
  invitationTtlHours: number
  ipBurst: number
  ipRefillPerSecond: number
  trustProxy: boolean
  siteName: string
  /** 32-byte key for encrypting secrets at rest (TOTP). */
  encryptionKey: Buffer
}>

type Env = Record<string, string | undefined>

export class ConfigError extends Error {}

function integer(env: Env, name: string, fallback: number, min = 0): number {
  const raw = env[name]
  if (raw === undefined || raw.trim() === '') return fallback
  const value = Number(raw)
  if (!Number.isInteger(value) || value < min) {
    throw new ConfigError(`${name} must be a whole number ≥ ${min}, got "${raw}"`)
  }
  return value
}

function flag(env: Env, name: string): boolean {
  return ['1', 'true', 'yes', 'on'].includes((env[name] ?? '').toLowerCase())
}

/** Reads DATA_DIR/secret.key, creating it (mode 0600) on first start, unless SECRET_KEY is set. */
function loadEncryptionKey(env: Env, dataDir: string): Buffer {
  const configured = env.SECRET_KEY
  if (configured !== undefined && configured !== '') {
    const key = Buffer.from(configured, 'hex')
    if (key.length !== 32) throw new ConfigError('SECRET_KEY must be 64 hex characters (32 bytes)')
    return key
  }
  const file = join(dataDir, 'secret.key')
  if (!existsSync(file)) {
    writeFileSync(file, randomBytes(32).toString('hex') + '\n', { mode: 0o600, flag: 'wx' })
  }
  privateFile(file)
  const key = Buffer.from(readFileSync(file, 'utf8').trim(), 'hex')
  if (key.length !== 32) throw new ConfigError(`${file} must hold 64 hex characters (32 bytes)`)
  return key
}

export function loadConfig(env: Env = process.env): Config {
  const port = integer(env, 'PORT', 3000, 0)
  const dataDir = resolve(env.DATA_DIR || './data')
  privateDir(dataDir)
  const baseUrl = (env.BASE_URL || `http://localhost:${port}`).replace(/\/+$/, '')
  let url: URL
  try {
    url = new URL(baseUrl)
  } catch {
    throw new ConfigError(`BASE_URL must be an absolute URL, got "${baseUrl}"`)
  }
  return Object.freeze({
    port,
    host: env.HOST || '0.0.0.0',
    dataDir,
    baseUrl,
    origin: url.origin,
    secureCookies: url.protocol === 'https:',
    smtpUrl: env.SMTP_URL || null,
    mailFrom: env.MAIL_FROM || `Gatehouse <no-reply@${url.hostname}>`,
    adminEmail: env.ADMIN_EMAIL?.trim().toLowerCase() || null,
    sessionIdleMinutes: integer(env, 'SESSION_IDLE_MINUTES', 30, 1),
    sessionMaxHours: integer(env, 'SESSION_MAX_HOURS', 12, 1),
    lockoutThreshold: integer(env, 'LOCKOUT_THRESHOLD', 10, 1),
    lockoutMinutes: integer(env, 'LOCKOUT_MINUTES', 15, 1),
    inactiveDays: integer(env, 'INACTIVE_DAYS', 250, 1),
    passwordMaxAgeDays: integer(env, 'PASSWORD_MAX_AGE_DAYS', 0, 0),
    passwordMinLength: integer(env, 'PASSWORD_MIN_LENGTH', 12, 12),
    uploadMaxMb: integer(env, 'UPLOAD_MAX_MB', 100, 1),
    invitationTtlHours: integer(env, 'INVITATION_TTL_HOURS', 48, 1),
    ipBurst: integer(env, 'IP_RATE_BURST', 20, 1),
    ipRefillPerSecond: integer(env, 'IP_RATE_PER_SECOND', 1, 1),
    trustProxy: flag(env, 'TRUST_PROXY'),
    siteName: env.SITE_NAME || 'Gatehouse',
    encryptionKey: loadEncryptionKey(env, dataDir),
  })
}
