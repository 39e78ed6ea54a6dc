import { existsSync, readFileSync } from 'node:fs'
import { basename } from 'node:path'
import type { Db } from '../db/client.ts'
import { planImportAsync, type ImportReport, type NotifyMode } from './plan.ts'
import type { ApplyContext } from './apply.ts'
import { applyAndRecord, publicReport } from './runs.ts'
import { runFollowUps } from './follow-ups.ts'
import { NOTIFY_MODES } from '../db/schema.ts'

// `npm run cli -- import USERS.yaml AUTH.yaml [--domains DOMAINS.yaml] [--dry-run] [--json]
// [--notify none|date|force] [--now ISO-DATE]` (SPEC §6.4–6.6): exit 0 when the files have no
// error (applied, or with --dry-run only planned), 1 when they have errors (nothing applied; every
// problem listed), 2 on a usage error. --json prints the report. --now (dry runs only) evaluates
// the day-based follow-up rules as of that date.

export type ImportCliIo = Omit<ApplyContext, 'ip'> & {
  out: (text: string) => void
  err: (text: string) => void
  usageError: (message: string) => number
}

type Options = { files: string[]; dryRun: boolean; json: boolean; domains: string | null; notify: NotifyMode; now: number | null }

/** Parses the options shared by `import` and `follow-ups`; a string is a usage error. */
function parseOptions(command: string, args: string[], allowed: Set<string>): Options | string {
  const o: Options = { files: [], dryRun: false, json: false, domains: null, notify: 'none', now: null }
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    const [name, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined]
    const value = () => inline ?? args[++i]
    if (name.startsWith('-') && !allowed.has(name)) return `${command}: unknown option "${name}"`
    if (name === '--dry-run') o.dryRun = true
    else if (name === '--json') o.json = true
    else if (name === '--domains') {
      const v = value()
      if (!v) return `${command}: --domains needs a FILE`
      o.domains = v
    } else if (name === '--notify') {
      const v = value()
      if (!v || !(NOTIFY_MODES as readonly string[]).includes(v)) return `${command}: --notify must be one of none, date, force`
      o.notify = v as NotifyMode
    } else if (name === '--now') {
      const v = value() ?? ''
      const t = /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(v) ? Date.parse(/T/.test(v) && !/(Z|[+-]\d{2}:?\d{2})$/.test(v) ? v + 'Z' : v) : NaN
      if (!Number.isFinite(t)) return `${command}: --now needs an ISO date such as 2026-12-01 or 2026-12-01T09:00:00Z`
      o.now = t
    } else o.files.push(arg)
  }
  if (o.now !== null && !o.dryRun) return `${command}: --now only works with --dry-run (nothing is sent as of another date)`
  return o
}

export async function importCommand(db: Db, args: string[], io: ImportCliIo): Promise<number> {
  const o = parseOptions('import', args, new Set(['--dry-run', '--json', '--domains', '--notify', '--now']))
  if (typeof o === 'string') return io.usageError(o)
  if (o.files.length !== 2) return io.usageError('import needs USERS.yaml and AUTH.yaml')
  for (const f of [...o.files, ...(o.domains ? [o.domains] : [])]) {
    if (!existsSync(f)) return io.usageError(`import: ${f}: no such file`)
  }
  const [usersFile, authFile] = o.files as [string, string]
  const files = {
    usersFilename: basename(usersFile),
    authFilename: basename(authFile),
    domainsFilename: o.domains ? basename(o.domains) : null,
    usersYaml: readFileSync(usersFile, 'utf8'),
    authYaml: readFileSync(authFile, 'utf8'),
    domainsYaml: o.domains ? readFileSync(o.domains, 'utf8') : null,
  }
  const now = o.now ?? io.now
  const planned = await planImportAsync(db, { usersYaml: files.usersYaml, authYaml: files.authYaml, domainsYaml: files.domainsYaml, notify: o.notify, now, actorId: io.actor.id })
  let report: ImportReport = planned.report
  if (report.ok && !o.dryRun) report = publicReport(applyAndRecord(db, planned, files, { ...io, ip: '', notify: o.notify, createdBy: null }))
  if (o.json) writeJsonReport(report, io.out)
  else printSummary(report, o.dryRun, io)
  return report.ok ? 0 : 1
}

/** `npm run cli -- follow-ups [--dry-run] [--now ISO-DATE]`: what the server's hourly check does. */
export function followUpsCommand(db: Db, args: string[], io: ImportCliIo): number {
  const o = parseOptions('follow-ups', args, new Set(['--dry-run', '--now']))
  if (typeof o === 'string') return io.usageError(o)
  if (o.files.length > 0) return io.usageError('follow-ups takes no files')
  const due = runFollowUps(db, { now: o.now ?? io.now, baseUrl: io.baseUrl, key: io.key, ttlMs: io.ttlMs }, { dryRun: o.dryRun })
  const verb = o.dryRun ? 'Would send' : 'Sent'
  io.out(`${verb} ${due.length} follow-up${due.length === 1 ? '' : 's'}${o.now !== null ? ` as of ${new Date(o.now).toISOString()}` : ''}${!o.dryRun && due.length > 0 ? ' (queued in the outbox; the server delivers them)' : ''}.\n`)
  for (const d of due) io.out(`  ${d.invitation.email}: follow-up ${d.number} (invited ${new Date(d.invitation.createdAt).toISOString().slice(0, 10)})\n`)
  return 0
}

/**
 * The report as JSON, one error, warning, action or flag per line, written a thousand lines at a
 * time: a 10,000-person import has some 55,000 actions, and one string of them all would be
 * 14 MB more at the end of the import.
 */
export function writeJsonReport(report: ImportReport, out: (text: string) => void): void {
  out(`{"ok": ${report.ok}, "applied": ${report.applied},\n`)
  const keys = ['errors', 'warnings', 'actions', 'flags'] as const
  keys.forEach((key, k) => {
    const items = report[key] as unknown[]
    out(`"${key}": [${items.length === 0 ? '' : '\n'}`)
    for (let i = 0; i < items.length; i += 1000) {
      out(items.slice(i, i + 1000).map((item) => `  ${JSON.stringify(item)}`).join(',\n') + (i + 1000 < items.length ? ',\n' : '\n'))
    }
    out(`]${k < keys.length - 1 ? ',' : ''}\n`)
  })
  out('}\n')
}

function printSummary(report: ImportReport, dryRun: boolean, io: ImportCliIo): void {
  const n = (k: string) => report.actions.filter((a) => a.action === k && !a.on_accept).length
  const onAccept = report.actions.filter((a) => a.on_accept).length
  if (!report.ok) io.err(`${report.errors.length} error${report.errors.length === 1 ? '' : 's'}; nothing applied.\n`)
  for (const e of report.errors) io.err(`  ${e.line === null ? '' : `line ${e.line}: `}${e.path ? `${e.path}: ` : ''}${e.message}\n`)
  for (const w of report.warnings) io.out(`  warning: [${w.entry}] ${w.email ?? ''}: ${w.message}\n`)
  for (const f of report.flags) io.out(`  flag ${f.type}${f.kind ? ` (${f.kind})` : ''}: [${f.entry}] ${f.email}: ${f.message}\n`)
  const head = report.applied ? 'Applied' : dryRun || !report.ok ? 'Plan (nothing applied)' : 'Plan'
  if (report.actions.length === 0) io.out(`${head}: nothing to change.\n`)
  else
    io.out(
      `${head}: ${n('invite')} invitations (${onAccept} roles on acceptance), ${n('grant')} grants, ${n('enable')} enabled, ${n('disable')} disabled, ${n('follow_up')} follow-ups, ${n('skip')} skipped; ${report.flags.length} flags.\n`,
    )
  for (const a of report.actions) {
    io.out(`  ${a.action}${a.on_accept ? ' (on accept)' : ''}${a.follow_up ? ` ${a.follow_up}` : ''} ${a.account}${a.project ? ` ${a.project}` : ''}${a.role ? ` as ${a.role}` : ''}${a.reason ? ` (${a.reason})` : ''}\n`)
  }
}
