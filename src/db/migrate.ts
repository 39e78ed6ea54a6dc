import { join } from 'node:path'
import { PROJECT_ROOT } from '../paths.ts'
import { migrate } from 'drizzle-orm/better-sqlite3/migrator'
import type { Db } from './client.ts'
import { backfillAuditHashes } from '../models/audit-chain.ts'

export const migrationsFolder = join(PROJECT_ROOT, 'drizzle')

export class MigrationError extends Error {}

/** Applies the committed migrations in drizzle/; throws MigrationError naming the cause. */
export function applyMigrations(db: Db): void {
  try {
    migrate(db, { migrationsFolder })
  } catch (error) {
    const cause = error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error)
    throw new MigrationError(`Database migration failed: ${cause}`)
  }
  backfillAuditHashes(db)
}
