import { describe, expect, it } from 'vitest'
import { countIn, runCli, tempDataDir } from './test/cli.ts'

// `npm run cli -- reset-mfa EMAIL` tells the user, like an admin's reset in the UI (SPEC §12).

describe('cli reset-mfa', () => {
  it('queues the security notice with the reset and delivers it (printed without SMTP_URL)', () => {
    const { dataDir } = tempDataDir('cli-reset-mfa')
    expect(runCli(dataDir, 'create-admin', 'ops.admin@example.org').code).toBe(0)
    const run = runCli(dataDir, 'reset-mfa', 'ops.admin@example.org')
    expect(run.code, run.stderr).toBe(0)
    expect(run.stdout).toContain('Gatehouse security: Your second factors were reset by an administrator')
    expect(countIn(dataDir, `select count(*) from outbox where recipient = 'ops.admin@example.org' and subject = 'Gatehouse security: Your second factors were reset by an administrator'`)).toBe(1)
    expect(countIn(dataDir, `select count(*) from audit_events where event = 'mfa.reset'`)).toBe(1)
  })
})
