import { afterEach, describe, expect, it } from 'vitest'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openDatabase } from '../db/client.ts'
import { applyMigrations } from '../db/migrate.ts'
import { PROJECT_ROOT } from '../paths.ts'

// `npm run cli -- import-structure FILE [--dry-run]` as an operator runs it: a real process on a
// temporary DATA_DIR. Exit 0 applied, 1 file errors (listed), 2 usage.

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

const GOOD = `admin_group: NACC
studies: [{ id: adrc, kind: primary }, { id: dvcid, kind: affiliated }]
data_types: [form, dicom, enrollment-form]
centres: [{ adcid: 1, name: "Alpha ADRC", studies: [adrc, dvcid] }]
`

function setup(): { dataDir: string; file: (name: string, text: string) => string } {
  const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-structure-cli-'))
  dirs.push(dataDir)
  return {
    dataDir,
    file: (name, text) => {
      const path = join(dataDir, name)
      writeFileSync(path, text)
      return path
    },
  }
}

function cli(dataDir: string, ...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'import-structure', ...args], {
    cwd: PROJECT_ROOT,
    // A clean environment: vitest sets BASE_URL and friends in process.env.
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', DATA_DIR: dataDir, SECRET_KEY: 'ab'.repeat(32), BASE_URL: 'http://gatehouse.test' },
    encoding: 'utf8',
    timeout: 60_000,
  })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

function addAdmin(dataDir: string): void {
  const db = openDatabase(join(dataDir, 'gatehouse.sqlite'))
  applyMigrations(db)
  db.$client.prepare("insert into users (email, role, password_hash, password_changed_at, created_at) values ('admin@example.org', 'admin', 'x', 0, 0)").run()
  db.$client.close()
}

function count(dataDir: string, sqlText: string): number {
  const db = openDatabase(join(dataDir, 'gatehouse.sqlite'))
  try {
    return (db.$client.prepare(sqlText).pluck().get() as number) ?? 0
  } finally {
    db.$client.close()
  }
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
