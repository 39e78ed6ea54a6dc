import { describe, expect, it } from 'vitest'
import { join } from 'node:path'
import { openDatabase } from '../db/client.ts'
import { applyMigrations } from '../db/migrate.ts'
import { countIn, runCli, tempDataDir } from '../test/cli.ts'

// `npm run cli -- import-structure FILE [--dry-run]` as an operator runs it: a real process on a
// temporary DATA_DIR. Exit 0 applied, 1 file errors (listed), 2 usage.

const GOOD = `admin_group: NACC
studies: [{ id: adrc, kind: primary }, { id: dvcid, kind: affiliated }]
data_types: [form, dicom, enrollment-form]
centres: [{ adcid: 1, name: "Alpha ADRC", studies: [adrc, dvcid] }]
`

const setup = () => tempDataDir('structure-cli')
const cli = (dataDir: string, ...args: string[]) => runCli(dataDir, 'import-structure', ...args)
const count = countIn

function addAdmin(dataDir: string): void {
  const db = openDatabase(join(dataDir, 'gatehouse.sqlite'))
  applyMigrations(db)
  db.$client.prepare("insert into users (email, role, password_hash, password_changed_at, created_at) values ('admin@example.org', 'admin', 'x', 0, 0)").run()
  db.$client.close()
}

describe('cli import-structure', () => {
  it('exits 2 on a usage error', () => {
    const { dataDir } = setup()
    expect(cli(dataDir).code).toBe(2)
    expect(cli(dataDir, 'a.yaml', 'b.yaml').code).toBe(2)
    const unknown = cli(dataDir, 'a.yaml', '--force')
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toMatch(/unknown option "--force"/)
  }, 60_000)

  it('exits 1 with every error listed when the file has errors, and applies nothing', () => {
    const { dataDir, file } = setup()
    addAdmin(dataDir)
    const bad = file('bad.yaml', GOOD.replace('[adrc, dvcid]', '[adrc, leads]') + 'extra: 1\n')
    const r = cli(dataDir, bad)
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/2 errors; nothing applied/)
    expect(r.stderr).toMatch(/line 4: centres\[0\]\.studies\[1\]: Unknown study "leads"/)
    expect(r.stderr).toMatch(/line 5: extra: Unknown key "extra"/)
    expect(cli(dataDir, join(dataDir, 'missing.yaml')).code).toBe(1)
    expect(count(dataDir, 'select count(*) from projects')).toBe(0)
  }, 60_000)

  it('exits 1 when there is no admin to own the projects', () => {
    const { dataDir, file } = setup()
    const r = cli(dataDir, file('s.yaml', GOOD))
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/no admin account/)
  }, 60_000)

  it('dry run exits 0 and stores nothing; the run applies; a re-run changes nothing', () => {
    const { dataDir, file } = setup()
    addAdmin(dataDir)
    const s = file('s.yaml', GOOD)
    const dry = cli(dataDir, s, '--dry-run')
    expect(dry.code).toBe(0)
    expect(dry.stdout).toMatch(/Dry run, nothing applied\. Would create 2 studies, 3 data types, 2 groups, 2 centre studies and 16 projects/)
    expect(count(dataDir, 'select count(*) from projects')).toBe(0)

    const run = cli(dataDir, s)
    expect(run.code).toBe(0)
    expect(run.stdout).toMatch(/\+ Alpha ADRC\/ingest-enrollment-form-dvcid/)
    expect(count(dataDir, 'select count(*) from projects where label is not null')).toBe(16)
    expect(count(dataDir, "select count(*) from audit_events where event = 'consortium.structure_applied'")).toBe(1)

    const again = cli(dataDir, s)
    expect(again.code).toBe(0)
    expect(again.stdout).toMatch(/up to date/)
    expect(count(dataDir, 'select count(*) from projects')).toBe(16)
    expect(count(dataDir, "select count(*) from audit_events where event = 'consortium.structure_applied'")).toBe(1)
  }, 60_000)
})
