import { join } from 'node:path'
import { existsSync } from 'node:fs'
import { backupDatabase } from './db/backup.ts'
import { loadConfig } from './config.ts'
import { openDatabase, writeTransaction } from './db/client.ts'
import { migrateWithBackup, MigrationError } from './db/migrate.ts'
import { runAuditCheck } from './models/audit-chain.ts'
import { getUserByEmail, registerUserWithTemporaryPassword, resetUserMfa } from './models/users.ts'
import { normalizeEmail } from './http/forms.ts'
import { OutboxDeliverer } from './mail/outbox.ts'
import { importStructureCommand } from './import/structure-cli.ts'
import { followUpsCommand, importCommand } from './import/import-cli.ts'

const USAGE = `Usage: npm run cli -- <command> [arguments]

Commands:
  create-admin EMAIL   create an admin; a one-time password is emailed (printed when no SMTP_URL)
  reset-mfa EMAIL      clear a user's authenticator, passkeys and codes and end their sessions (recovery for a locked-out admin)
  backup FILE          online backup of the database to FILE (safe while the server runs), integrity-checked
  import-structure FILE [--dry-run] [--owner EMAIL]
                       create or update the consortium structure (studies, data types, centres, projects)
                       from a YAML file; projects are owned by --owner (default: the first admin)
  import USERS.yaml AUTH.yaml [--domains DOMAINS.yaml] [--dry-run] [--json] [--notify none|date|force] [--now ISO-DATE]
                       invite, grant, enable and disable from the user directory and authorization map;
                       exit 1 (nothing applied) when the files have errors; --now only with --dry-run
  follow-ups [--dry-run] [--now ISO-DATE]
                       send the follow-ups due for unclaimed imported invitations ('date' mode: days 7, 14, 21),
                       as the server does every hour
  audit-verify         recompute the audit log's hash chain; exit 1 naming the first event that does not
                       match, 0 with the number of events checked (the result is shown on /admin/audit)
  help                 show this text
`

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv
  if (!command || command === 'help' || command === '--help') {
    process.stdout.write(USAGE)
    return command ? 0 : 2
  }
  const config = loadConfig()
  const db = openDatabase(join(config.dataDir, 'gatehouse.sqlite'))
  try {
    const backup = await migrateWithBackup(db, { now: Date.now() })
    if (backup) process.stderr.write(`Backed up the database to ${backup} before migrating.\n`)
  } catch (error) {
    db.$client.close()
    if (error instanceof MigrationError) return failure(`Gatehouse cannot use this database: ${error.message}\nThe database was left as it was.`)
    throw error
  }
  const now = Date.now()
  const actor = { id: 0, email: `cli:${process.env.USER ?? 'operator'}` }
  const deliverNow = async () => {
    const mailer = new OutboxDeliverer({ db, now: () => Date.now(), from: config.mailFrom, smtpUrl: config.smtpUrl, print: (t) => process.stdout.write(t + '\n') })
    await mailer.deliverDue()
    await mailer.stop()
  }
  const importIo = { now, actor, baseUrl: config.baseUrl, key: config.encryptionKey, ttlMs: config.invitationTtlHours * 3_600_000, inviter: 'Gatehouse import', out: (t: string) => process.stdout.write(t), err: (t: string) => process.stderr.write(t), usageError }
  try {
    switch (command) {
      case 'create-admin': {
        const email = normalizeEmail(args[0] ?? '')
        if (!email) return usageError('create-admin needs a valid EMAIL')
        if (getUserByEmail(db, email)) return failure(`an account for ${email} already exists`)
        await registerUserWithTemporaryPassword(db, { email, role: 'admin', now, actor: null, ip: null, baseUrl: config.baseUrl })
        process.stdout.write(`Created admin ${email}. The one-time password has been emailed${config.smtpUrl ? '' : ' (printed below; no SMTP_URL is set)'}.\n`)
        await deliverNow()
        return 0
      }
      case 'reset-mfa': {
        const email = normalizeEmail(args[0] ?? '')
        if (!email) return usageError('reset-mfa needs a valid EMAIL')
        const user = getUserByEmail(db, email)
        if (!user) return failure(`no account for ${email}`)
        writeTransaction(db, () => resetUserMfa(db, { userId: user.id, email: user.email, now, actor, ip: null, via: 'cli', baseUrl: config.baseUrl }))
        process.stdout.write(`Cleared the authenticator of ${email} and ended their sessions. They will enrol again at their next sign-in.\n`)
        await deliverNow()
        return 0
      }
      case 'backup': {
        const file = args[0]
        if (!file) return usageError('backup needs a destination FILE')
        if (existsSync(file)) return failure(`${file} exists already; choose a new file name`)
        const started = performance.now()
        const { pages } = await backupDatabase(db, file)
        process.stdout.write(`Backed up ${pages} pages to ${file} in ${Math.round(performance.now() - started)} ms; integrity check ok.\nKeep ${join(config.dataDir, 'secret.key')} with it: TOTP secrets cannot be read without it.\n`)
        return 0
      }
      case 'import-structure': {
        return importStructureCommand(db, args, { now, actor, out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t), usageError })
      }
      case 'import': {
        return await importCommand(db, args, importIo)
      }
      case 'follow-ups': {
        return followUpsCommand(db, args, importIo)
      }
      case 'audit-verify': {
        const started = performance.now()
        const { result } = runAuditCheck(db, Date.now())
        const ms = Math.round(performance.now() - started)
        if (!result.ok) return failure(`Audit log check FAILED at event ${result.firstBad.id} (${result.firstBad.event}): ${result.firstBad.reason}.\n${result.count} events before it are intact.`)
        process.stdout.write(`Audit log intact: ${result.count} events checked in ${ms} ms${result.lastId === null ? '' : `; last event ${result.lastId}, hash ${result.headHash}`}.\n`)
        return 0
      }
      default:
        return usageError(`unknown command "${command}"`)
    }
  } finally {
    db.$client.close()
  }
}

function usageError(message: string): number {
  process.stderr.write(`${message}\n\n${USAGE}`)
  return 2
}

function failure(message: string): number {
  process.stderr.write(`${message}\n`)
  return 1
}

process.exitCode = await main(process.argv.slice(2))
