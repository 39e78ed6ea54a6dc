import { existsSync } from 'node:fs'
import { and, asc, eq, isNull } from 'drizzle-orm'
import { users } from '../db/schema.ts'
import type { Db } from '../db/client.ts'
import { normalizeEmail } from '../http/forms.ts'
import { getUserByEmail } from '../models/users.ts'
import { applyConsortiumStructure } from '../models/consortium.ts'
import { readStructureFile } from './structure-file.ts'

// `npm run cli -- import-structure FILE [--dry-run] [--owner EMAIL]`: exit 0 when applied (or, with
// --dry-run, when it would apply), 1 when the file has errors or conflicts with what is stored
// (nothing applied; every problem printed), 2 on a usage error.

export type StructureCliIo = {
  now: number
  actor: { id: number; email: string }
  out: (text: string) => void
  err: (text: string) => void
  usageError: (message: string) => number
}

export function importStructureCommand(db: Db, args: string[], io: StructureCliIo): number {
  let file: string | null = null
  let dryRun = false
  let ownerEmail: string | null = null
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    if (arg === '--dry-run') dryRun = true
    else if (arg === '--owner') {
      const value = args[++i]
      if (value === undefined) return io.usageError('import-structure: --owner needs an EMAIL')
      ownerEmail = value
    } else if (arg.startsWith('-')) return io.usageError(`import-structure: unknown option "${arg}"`)
    else if (file === null) file = arg
    else return io.usageError('import-structure takes one FILE')
  }
  if (file === null) return io.usageError('import-structure needs a FILE')
  if (!existsSync(file)) {
    io.err(`${file}: no such file\n`)
    return 1
  }

  const parsed = readStructureFile(file)
  if (!parsed.ok) {
    io.err(`${file}: ${parsed.errors.length} error${parsed.errors.length === 1 ? '' : 's'}; nothing applied.\n`)
    for (const e of parsed.errors) io.err(`  ${e.line === null ? '' : `line ${e.line}: `}${e.path ? `${e.path}: ` : ''}${e.message}\n`)
    return 1
  }

  // Projects need an owner account: the named one, else the first enabled admin.
  let owner: { id: number; email: string } | null
  if (ownerEmail !== null) {
    const email = normalizeEmail(ownerEmail)
    owner = email ? getUserByEmail(db, email) : null
    if (!owner) {
      io.err(`--owner: no account for ${ownerEmail}\n`)
      return 1
    }
  } else {
    owner = db.select({ id: users.id, email: users.email }).from(users).where(and(eq(users.role, 'admin'), isNull(users.disabledAt))).orderBy(asc(users.id)).limit(1).get() ?? null
    if (!owner) {
      io.err('There is no admin account to own the projects: create one first (npm run cli -- create-admin EMAIL) or pass --owner EMAIL.\n')
      return 1
    }
  }

  const result = applyConsortiumStructure(db, parsed.structure, { actor: io.actor, now: io.now, ip: '' }, { dryRun, ownerId: owner.id })
  if (!result.ok) {
    io.err(`${file} conflicts with the stored structure; nothing applied.\n`)
    for (const e of result.errors) io.err(`  ${e}\n`)
    return 1
  }
  const c = result.created
  const verb = dryRun ? 'Would create' : 'Created'
  if (!result.changed) io.out(`${dryRun ? 'Dry run: ' : ''}The structure is up to date; nothing to change.\n`)
  else {
    io.out(
      `${dryRun ? 'Dry run, nothing applied. ' : ''}${verb} ${c.studies} studies, ${c.dataTypes} data types, ${c.groups} groups, ${c.centreStudies} centre studies and ${c.projects} projects (owner ${owner.email}); ` +
        `${dryRun ? 'would update' : 'updated'} ${result.updated.studies} studies and ${result.updated.groups} groups${result.updated.adminGroup ? ', and the admin group' : ''}.\n`,
    )
    for (const p of result.createdProjects) io.out(`  + ${p}\n`)
  }
  return 0
}
