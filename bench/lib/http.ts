// A small HTTP/1.1 client over node:http with keep-alive agents, for load generation against
// 127.0.0.1 only.
import http from 'node:http'

export type HttpResponse = {
  status: number
  headers: http.IncomingHttpHeaders
  /** The body as text when `keepBody` was asked for, else ''. */
  body: string
  bytes: number
}

export type HttpRequest = {
  method?: 'GET' | 'POST'
  path: string
  headers?: Record<string, string>
  body?: string
  keepBody?: boolean
  timeoutMs?: number
}

/** A target server: where it listens and the keep-alive agent used to reach it. */
export class HttpTarget {
  readonly origin: string
  private readonly agents = new Set<http.Agent>()

  /** `publicHost`: the host name of the origin the server is told it has (BASE_URL); connections still go to 127.0.0.1. */
  constructor(
    readonly host: string,
    readonly port: number,
    publicHost?: 'localhost',
  ) {
    if (host !== '127.0.0.1') throw new Error('the bench only loads 127.0.0.1')
    this.origin = `http://${publicHost ?? host}:${port}`
  }

  /** A keep-alive agent with room for `sockets` connections (one per concurrent worker). */
  agent(sockets: number): http.Agent {
    const agent = new http.Agent({ keepAlive: true, maxSockets: sockets, maxFreeSockets: sockets, scheduling: 'fifo' })
    this.agents.add(agent)
    return agent
  }

  request(agent: http.Agent, req: HttpRequest): Promise<HttpResponse> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { ...req.headers }
      if (req.body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(req.body))
      const r = http.request(
        { host: this.host, port: this.port, agent, method: req.method ?? 'GET', path: req.path, headers, timeout: req.timeoutMs ?? 15_000 },
        (res) => {
          const chunks: Buffer[] = []
          let bytes = 0
          res.on('data', (chunk: Buffer) => {
            bytes += chunk.length
            if (req.keepBody) chunks.push(chunk)
          })
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: req.keepBody ? Buffer.concat(chunks).toString('utf8') : '', bytes }))
          res.on('error', reject)
        },
      )
      r.on('timeout', () => r.destroy(new Error(`${req.method ?? 'GET'} ${req.path} timed out`)))
      r.on('error', reject)
      if (req.body !== undefined) r.write(req.body)
      r.end()
    })
  }

  close(): void {
    for (const agent of this.agents) agent.destroy()
    this.agents.clear()
  }
}

/** The value of cookie `name` among the response's Set-Cookie headers, or null. */
export function cookieFrom(res: HttpResponse, name: string): string | null {
  for (const line of res.headers['set-cookie'] ?? []) {
    const [pair] = line.split(';')
    const eq = pair?.indexOf('=') ?? -1
    if (eq > 0 && pair!.slice(0, eq).trim() === name) return pair!.slice(eq + 1).trim()
  }
  return null
}

export function formBody(fields: Record<string, string>): string {
  return new URLSearchParams(fields).toString()
}
