// The node flags the server runs with, read from where they are set (package.json's start script
// and the Dockerfile's CMD), so the bench measures the server as both start it.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

/** The `--` flags given to node before the entry script in an argument list. */
function nodeFlags(args: string[]): string[] {
  const node = args.indexOf('node')
  if (node === -1) throw new Error(`no node in ${JSON.stringify(args)}`)
  const rest = args.slice(node + 1)
  const entry = rest.findIndex((a) => !a.startsWith('--'))
  return entry === -1 ? rest : rest.slice(0, entry)
}

export function startScriptFlags(repoRoot: string): string[] {
  const start = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.start
  if (!start) throw new Error('package.json has no start script')
  return nodeFlags(start.split(/\s+/))
}

export function dockerfileFlags(repoRoot: string): string[] {
  const cmd = /^CMD\s+(\[.*\])\s*$/m.exec(readFileSync(join(repoRoot, 'Dockerfile'), 'utf8'))?.[1]
  if (!cmd) throw new Error('the Dockerfile has no CMD in exec form')
  return nodeFlags(JSON.parse(cmd) as string[])
}
