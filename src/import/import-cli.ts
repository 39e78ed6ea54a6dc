import { existsSync, readFileSync } from 'node:fs'
import type { Db } from '../db/client.ts'
import { planImport, type ImportReport } from './plan.ts'
import { applyImport, type ApplyContext } from './apply.ts'

// `npm run cli -- import USERS.yaml AUTH.yaml [--dry-run] [--json]` (SPEC §6.4, §6.6): exit 0 when
// the files have no error (applied, or with --dry-run only planned), 1 when they have errors
// (nothing applied; every problem listed), 2 on a usage error. --json prints the report.

export type ImportCliIo = Omit<ApplyContext, 'ip'> & {
  out: (text: string) => void
  err: (text: string) => void
  usageError: (message: string) => number
}

export function importCommand(db: Db, args: string[], io: ImportCliIo): number {
  const files: string[] = []
  let dryRun = false
  let json = false
  for (const arg of args) {
    if (arg === '--dry-run') dryRun = true
    else if (arg === '--json') json = true
    else if (arg.startsWith('-')) return io.usageError(`import: unknown or unsupported option "${arg}"`)
    else files.push(arg)
  }
  if (files.length !== 2) return io.usageError('import needs USERS.yaml and AUTH.yaml')
  for (const f of files) {
    if (!existsSync(f)) return io.usageError(`import: ${f}: no such file`)
  }
  const [usersFile, authFile] = files as [string, string]
  const plan = planImport(db, { usersYaml: readFileSync(usersFile, 'utf8'), authYaml: readFileSync(authFile, 'utf8'), now: io.now })
  let report: ImportReport = plan
  if (plan.ok && !dryRun) {
    const { counts: _counts, ...applied } = applyImport(db, plan, { ...io, ip: '' })
    report = applied
  }
  if (json) io.out(JSON.stringify(report, null, 2) + '\n')
  else printSummary(report, dryRun, io)
  return report.ok ? 0 : 1
}

function printSummary(report: ImportReport, dryRun: boolean, io: ImportCliIo): void {
  const n = (k: string) => report.actions.filter((a) => a.action === k && !a.on_accept).length
  const onAccept = report.actions.filter((a) => a.on_accept).length
  if (!report.ok) io.err(`${report.errors.length} error${report.errors.length === 1 ? '' : 's'}; nothing applied.\n`)
  for (const e of report.errors) io.err(`  ${e.line === null ? '' : `line ${e.line}: `}${e.path ? `${e.path}: ` : ''}${e.message}\n`)
  for (const w of report.warnings) io.out(`  warning: [${w.entry}] ${w.email ?? ''}: ${w.message}\n`)
  const head = report.applied ? 'Applied' : dryRun || !report.ok ? 'Plan (nothing applied)' : 'Plan'
  if (report.actions.length === 0) io.out(`${head}: nothing to change.\n`)
  else io.out(`${head}: ${n('invite')} invitations (${onAccept} roles on acceptance), ${n('grant')} grants, ${n('enable')} enabled, ${n('disable')} disabled, ${n('skip')} skipped.\n`)
  for (const a of report.actions) {
    io.out(`  ${a.action}${a.on_accept ? ' (on accept)' : ''} ${a.account}${a.project ? ` ${a.project}` : ''}${a.role ? ` as ${a.role}` : ''}${a.reason ? ` (${a.reason})` : ''}\n`)
  }
}
