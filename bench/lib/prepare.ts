// A fresh DATA_DIR with a migrated database holding the bench's users, written directly
// (no HTTP), before the server starts.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { generateSecret } from 'otplib'
import { loadConfig } from '../../src/config.ts'
import { openDatabase, writeTransaction, type Db } from '../../src/db/client.ts'
import { applyMigrations, migrationsFolder } from '../../src/db/migrate.ts'
import { seedDirectory, type SeedCounts } from '../seed-directory.ts'
import { users } from '../../src/db/schema.ts'
import { hashPassword } from '../../src/auth/password.ts'
import { encryptSecret } from '../../src/auth/encryption.ts'
import type { SystemRoleName } from '../../src/authz/permissions.ts'

/** The password of every bench account. */
export const BENCH_PASSWORD = 'bench-Passw0rd-for-sign-in-load'

export type BenchUser = {
  id: number
  email: string
  /** Base32 TOTP secret (the server holds it encrypted). */
  totpSecret: string
}

export type PreparedData = {
  dataDir: string
  admin: BenchUser
  /** The account whose session loads the authenticated page; it never signs in under load. */
  pageUser: BenchUser
  /** Accounts for the sign-in load. */
  signInUsers: BenchUser[]
}

/** SPEC §9's generated database: 100,000 users, 1,000 groups, 10,000 projects, 50,000 memberships. */
export const SPEC_DIRECTORY: SeedCounts = { users: 100_000, groups: 1_000, projects: 10_000, memberships: 50_000 }

const CACHE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'results', 'cache')

/**
 * A migrated database holding the seeded directory (bench/seed-directory.ts), built once and
 * kept in bench/results/cache/ (gitignored) under a key of the migrations, the seeding code and
 * the counts, so later runs only copy it. Returns its path.
 */
async function seededTemplate(counts: SeedCounts, log: (message: string) => void): Promise<string> {
  const hash = createHash('sha256')
  for (const name of readdirSync(migrationsFolder, { recursive: true }).map(String).sort()) {
    const path = join(migrationsFolder, name)
    if (/\.(sql|json)$/.test(name)) hash.update(name).update(readFileSync(path))
  }
  hash.update(readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', 'seed-directory.ts')))
  hash.update(JSON.stringify(counts))
  const key = hash.digest('hex').slice(0, 16)
  const file = join(CACHE_DIR, `directory-${key}.sqlite`)
  if (existsSync(file)) return file
  mkdirSync(CACHE_DIR, { recursive: true })
  for (const old of readdirSync(CACHE_DIR)) if (old.startsWith('directory-')) rmSync(join(CACHE_DIR, old), { force: true })
  log(`seeding the directory (${JSON.stringify(counts)}) once into ${CACHE_DIR}; later runs reuse it`)
  const started = performance.now()
  const building = join(CACHE_DIR, `building-${process.pid}.sqlite`)
  const db = openDatabase(building)
  try {
    applyMigrations(db)
    await seedDirectory(db, counts)
    db.$client.pragma('wal_checkpoint(TRUNCATE)')
  } finally {
    db.$client.close()
  }
  for (const suffix of ['-wal', '-shm']) rmSync(building + suffix, { force: true })
  renameSync(building, file)
  log(`seeded in ${((performance.now() - started) / 1000).toFixed(1)} s`)
  return file
}

/**
 * One bench account: password BENCH_PASSWORD (its hash given, to hash once for many), an enrolled
 * TOTP secret encrypted with the data dir's key, recovery codes issued (no sign-in step left).
 * Figures that need an account of their own (the approver of `approvals`) use it on the running
 * server's database.
 */
export function insertBenchUser(db: Db, key: Buffer, passwordHash: string, email: string, role: SystemRoleName): BenchUser {
  const now = Date.now()
  const totpSecret = generateSecret({ length: 20 })
  const row = db
    .insert(users)
    .values({
      email,
      role,
      firstName: 'Bench',
      lastName: email.split('@')[0]!,
      passwordHash,
      passwordChangedAt: now,
      mustChangePassword: false,
      totpSecret: encryptSecret(key, totpSecret),
      mfaEnrolledAt: now,
      recoveryCodesIssuedAt: now,
      createdAt: now,
    })
    .returning({ id: users.id })
    .get()
  return { id: row.id, email, totpSecret }
}

export async function prepareDataDir(options: { signInUsers: number; directory: SeedCounts | null; log: (message: string) => void }): Promise<PreparedData> {
  const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-'))
  // loadConfig creates DATA_DIR/secret.key, which the server will read in turn.
  const config = loadConfig({ DATA_DIR: dataDir })
  const databaseFile = join(dataDir, 'gatehouse.sqlite')
  if (options.directory) copyFileSync(await seededTemplate(options.directory, options.log), databaseFile)
  const db = openDatabase(databaseFile)
  try {
    applyMigrations(db)
    const passwordHash = await hashPassword(BENCH_PASSWORD)
    const make = (email: string, role: SystemRoleName) => insertBenchUser(db, config.encryptionKey, passwordHash, email, role)
    return writeTransaction(db, () => {
      const admin = make('bench-admin@bench.example', 'admin')
      const pageUser = make('bench-page@bench.example', 'researcher')
      const signInUsers = Array.from({ length: options.signInUsers }, (_, i) => make(`bench-signin-${i}@bench.example`, 'researcher'))
      return { dataDir, admin, pageUser, signInUsers }
    })
  } finally {
    db.$client.close()
  }
}
