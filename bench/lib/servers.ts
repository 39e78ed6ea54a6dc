// Child processes under test, started as `node <entry>.js` (built, as `npm start` runs it) or
// `node --import tsx <entry>.ts`, never through a wrapper that spawns node: the child's pid IS
// the node process serving, and /proc/<pid> readings are the server's own.
import { spawn, type ChildProcess } from 'node:child_process'
import { closeSync, openSync, readFileSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { join } from 'node:path'
import { HttpTarget } from './http.ts'
import { childPids, readCmdline } from './proc.ts'
import { sleep } from './stats.ts'

export type ServerChild = {
  name: string
  pid: number
  target: HttpTarget
  logFile: string
  /** The last lines the child wrote (for error reports). */
  tail(lines?: number): string
  /** How the child ended, or null while it runs. */
  exitStatus(): { code: number | null; signal: NodeJS.Signals | null } | null
  stop(): Promise<void>
}

const running = new Set<ChildProcess>()

/** Kills every child still running, synchronously (for process 'exit'). */
export function killAllChildrenNow(): void {
  for (const child of running) {
    try {
      child.kill('SIGKILL')
    } catch {
      // already gone
    }
  }
  running.clear()
}

/** Has a child (not a server: e.g. a CLI run) killed with the others on exit, Ctrl-C or time-out. */
export function trackChild(child: ChildProcess): void {
  running.add(child)
  child.once('exit', () => running.delete(child))
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer()
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo
      probe.close(() => resolve(port))
    })
  })
}

export async function startServer(options: {
  name: string
  repoRoot: string
  entry: string
  port: number
  env: Record<string, string>
  logDir: string
  /** A path answering 2xx once the server is ready. */
  readyPath: string
  timeoutMs?: number
  /** Extra node flags (e.g. --cpu-prof for diagnosis). */
  nodeFlags?: string[]
  /** The host name of the target's origin (its BASE_URL), e.g. 'localhost' for WebAuthn, whose RP id cannot be an IP. */
  publicHost?: 'localhost'
}): Promise<ServerChild> {
  const logFile = join(options.logDir, `${options.name}.log`)
  const fd = openSync(logFile, 'a')
  // stdout/stderr go straight to a file: the server's per-request log lines cost it what they
  // would cost in production, and the bench process spends no CPU reading them.
  // A built entry (.js, as `npm start` runs) needs no loader; a .ts one runs through tsx.
  const loader = options.entry.endsWith('.ts') ? ['--import', 'tsx'] : []
  const child = spawn(process.execPath, [...loader, ...(options.nodeFlags ?? []), options.entry], {
    cwd: options.repoRoot,
    env: { ...process.env, ...options.env, PORT: String(options.port) },
    stdio: ['ignore', fd, fd],
  })
  closeSync(fd)
  running.add(child)
  let exited: { code: number | null; signal: NodeJS.Signals | null } | null = null
  let stopping = false
  const exitPromise = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = { code, signal }
      if (!stopping) process.stdout.write(`\n!! ${options.name} (pid ${child.pid}) exited unexpectedly: code ${code}, signal ${signal}\n`)
      running.delete(child)
      resolve()
    })
  })
  if (child.pid === undefined) throw new Error(`${options.name}: could not spawn node`)
  const pid = child.pid
  const tail = (lines = 20) => {
    try {
      return readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')
    } catch {
      return ''
    }
  }
  const stop = async () => {
    if (exited) return
    stopping = true
    child.kill('SIGTERM')
    const timedOut = await Promise.race([exitPromise.then(() => false), sleep(5_000).then(() => true)])
    if (timedOut) {
      child.kill('SIGKILL')
      await exitPromise
    }
  }

  const target = new HttpTarget('127.0.0.1', options.port, options.publicHost)
  const agent = target.agent(1)
  const deadline = Date.now() + (options.timeoutMs ?? 20_000)
  try {
    for (;;) {
      if (exited) throw new Error(`${options.name} exited during start-up (${JSON.stringify(exited)}):\n${tail()}`)
      if (Date.now() > deadline) throw new Error(`${options.name} did not answer ${options.readyPath} in time:\n${tail()}`)
      try {
        const res = await target.request(agent, { path: options.readyPath, timeoutMs: 2_000 })
        if (res.status >= 200 && res.status < 300) break
      } catch {
        // not listening yet
      }
      await sleep(100)
    }
  } catch (error) {
    await stop()
    throw error
  } finally {
    agent.destroy()
  }
  // Make sure the pid we measure is node running the entry, not a wrapper.
  const cmdline = readCmdline(pid)
  if (!cmdline.includes(options.entry)) throw new Error(`${options.name}: pid ${pid} runs "${cmdline}", not ${options.entry}`)
  const kids = childPids(pid)
  if (kids.some((k) => readCmdline(k).includes(options.entry))) throw new Error(`${options.name}: pid ${pid} spawned another process running ${options.entry}`)
  return { name: options.name, pid, target, logFile, tail, stop, exitStatus: () => exited }
}
