// First: hono/jsx's first render, which decides that renders use no AsyncLocalStorage (see the module).
import './http/jsx-render-context.ts'
import { serve } from '@hono/node-server'
import { join } from 'node:path'
import { loadConfig, ConfigError } from './config.ts'
import { openDatabase, SERVER_PAGE_CACHE_KIB } from './db/client.ts'
import { migrateWithBackup, MigrationError } from './db/migrate.ts'
import { upgradeInvitationTokenHashes } from './models/invitations.ts'
import { createApp } from './app.ts'
import { OutboxDeliverer } from './mail/outbox.ts'
import { TokenBucketLimiter } from './auth/rate-limit.ts'
import { countEnabledAdmins, registerUserWithTemporaryPassword } from './models/users.ts'
import { startHousekeeping } from './models/housekeeping.ts'
import { startApprovalExpiry } from './models/approval-expiry.ts'
import { startFollowUpScheduler } from './import/follow-ups.ts'
import { startAuditVerification } from './models/audit-chain.ts'
import { markInterruptedRuns, settleImportJobs } from './import/runs.ts'
import type { AppDeps, Logger } from './http/context.ts'

// Info lines are gathered and written once per event-loop turn (one write instead of one per
// request); errors go out at once. Note: a hard crash can lose the last turn's info lines.
let pending: string[] = []
function flushLog() {
  if (pending.length === 0) return
  process.stdout.write(pending.join(''))
  pending = []
}
const log: Logger = {
  info: (record) => {
    if (pending.length === 0) setImmediate(flushLog)
    pending.push(JSON.stringify({ time: new Date().toISOString(), level: 'info', ...record }) + '\n')
  },
  error: (record) => {
    flushLog()
    process.stderr.write(JSON.stringify({ time: new Date().toISOString(), level: 'error', ...record }) + '\n')
  },
}
process.on('exit', flushLog)

function fail(message: string): never {
  process.stderr.write(`\nGatehouse cannot start: ${message}\n\n`)
  process.exit(1)
}

async function main() {
  let config
  try {
    config = loadConfig()
  } catch (error) {
    if (error instanceof ConfigError) fail(error.message)
    throw error
  }
  const db = openDatabase(join(config.dataDir, 'gatehouse.sqlite'), { pageCacheKiB: SERVER_PAGE_CACHE_KIB })
  try {
    const backup = await migrateWithBackup(db, { now: Date.now() })
    if (backup) log.info({ msg: 'backed up the database before migrating', backup })
    const upgraded = upgradeInvitationTokenHashes(db, config.encryptionKey)
    if (upgraded > 0) log.info({ msg: 'stored the link hashes of open invitations keyed', invitations: upgraded })
  } catch (error) {
    if (error instanceof MigrationError) fail(`${error.message}\nThe database was left as it was. Restore it from a backup or fix the cause, then start again.`)
    throw error
  }
  const clock = { now: () => Date.now() }
  const mailer = new OutboxDeliverer({
    db,
    now: clock.now,
    from: config.mailFrom,
    smtpUrl: config.smtpUrl,
    print: (text) => process.stdout.write(text + '\n'),
    onError: (error) => log.error({ msg: 'outbox delivery failed', error: String(error) }),
  })
  const lifecycle = { shuttingDown: false }
  const deps: AppDeps = {
    lifecycle,
    config,
    db,
    clock,
    log,
    ipLimiter: new TokenBucketLimiter(config.ipBurst, config.ipRefillPerSecond),
    onEmailQueued: () => void mailer.deliverDue().catch(() => undefined),
  }

  if (countEnabledAdmins(db) === 0) {
    const email = config.adminEmail ?? 'admin@gatehouse.localhost'
    await registerUserWithTemporaryPassword(db, { email, role: 'admin', now: clock.now(), actor: null, ip: null, baseUrl: config.baseUrl })
    process.stdout.write(
      `\nNo admin existed, so Gatehouse created one: ${email}\n` +
        `Its one-time password is in the email printed below (and in the outbox). It is valid for 7 days.\n` +
        (config.adminEmail ? '' : `To use your own address instead, set ADMIN_EMAIL before the first start, or run:\n    npm run cli -- create-admin you@example.org\n`) +
        '\n',
    )
  }

  mailer.start()
  const housekeeping = startHousekeeping(db, clock)
  const interrupted = markInterruptedRuns(db)
  if (interrupted > 0) log.info({ msg: 'import runs interrupted by the last stop marked failed', count: interrupted })
  const followUps = startFollowUpScheduler(db, clock, { baseUrl: config.baseUrl, key: config.encryptionKey, ttlMs: config.invitationTtlHours * 3_600_000 }, {
    onSent: (count) => {
      log.info({ msg: 'invitation follow-ups queued', count })
      deps.onEmailQueued?.()
    },
    onError: (error) => log.error({ msg: 'follow-ups failed', error: String(error) }),
  })
  const approvalExpiry = startApprovalExpiry(db, clock, config.baseUrl, {
    onRun: (run) => {
      if (run.lapsed.length + run.reminded.length === 0) return
      log.info({ msg: 'approval expiry processed', lapsed: run.lapsed.length, reminders: run.reminded.length })
      deps.onEmailQueued?.()
    },
    onError: (error) => log.error({ msg: 'approval expiry failed', error: String(error) }),
  })
  const auditCheck = startAuditVerification(db, clock, {
    onResult: ({ result }) =>
      result.ok ? log.info({ msg: 'audit chain verified', events: result.count }) : log.error({ msg: 'audit chain BROKEN', id: result.firstBad.id, event: result.firstBad.event, reason: result.firstBad.reason, intact: result.count }),
    onError: (error) => log.error({ msg: 'audit chain verification failed', error: String(error) }),
  })
  const app = createApp(deps)
  const server = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, (info) => {
    log.info({ msg: 'listening', url: config.baseUrl, port: info.port, dataDir: config.dataDir, smtp: config.smtpUrl ? 'configured' : 'none (outbox printed to console)' })
  })

  let stopping = false
  const shutdown = (signal: string) => {
    if (stopping) return
    stopping = true
    lifecycle.shuttingDown = true
    log.info({ msg: 'shutting down', signal })
    const force = setTimeout(() => {
      log.error({ msg: 'in-flight requests did not finish in 10 s; closing anyway' })
      process.exit(1)
    }, 10_000)
    force.unref()
    // Stop accepting, let in-flight requests finish, then stop mail and close the database.
    server.close(async () => {
      clearInterval(housekeeping)
      followUps.stop()
      auditCheck.stop()
      approvalExpiry.stop()
      await settleImportJobs()
      await mailer.stop()
      db.$client.close()
      log.info({ msg: 'stopped' })
      process.exit(0)
    })
    if ('closeIdleConnections' in server) (server as { closeIdleConnections(): void }).closeIdleConnections()
  }
  process.on('SIGTERM', () => shutdown('SIGTERM'))
  process.on('SIGINT', () => shutdown('SIGINT'))
}

await main()
