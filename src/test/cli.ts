// Test support for the admin CLI as an operator runs it: a real process (`src/cli.ts` through tsx)
// on a temporary DATA_DIR, removed when the test finishes.
import { onTestFinished } from 'vitest'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openDatabase } from '../db/client.ts'
import { PROJECT_ROOT } from '../paths.ts'

export type CliRun = { code: number | null; stdout: string; stderr: string }

/** An empty DATA_DIR for this test, and a writer of files into it (returns their paths). */
export function tempDataDir(prefix: string): { dataDir: string; file: (name: string, text: string) => string } {
  const dataDir = mkdtempSync(join(tmpdir(), `gatehouse-${prefix}-`))
  onTestFinished(() => rmSync(dataDir, { recursive: true, force: true }))
  return {
    dataDir,
    file: (name, text) => {
      const path = join(dataDir, name)
      writeFileSync(path, text)
      return path
    },
  }
}

/** `npm run cli -- ARGS` on dataDir, in a clean environment (vitest sets BASE_URL and friends in process.env). */
export function runCli(dataDir: string, ...args: string[]): CliRun {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
    cwd: PROJECT_ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', DATA_DIR: dataDir, SECRET_KEY: 'ab'.repeat(32), BASE_URL: 'http://gatehouse.test' },
    encoding: 'utf8',
    timeout: 60_000,
  })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

/** The single number a query answers on dataDir's database. */
export function countIn(dataDir: string, sqlText: string): number {
  const db = openDatabase(join(dataDir, 'gatehouse.sqlite'))
  try {
    return (db.$client.prepare(sqlText).pluck().get() as number) ?? 0
  } finally {
    db.$client.close()
  }
}
