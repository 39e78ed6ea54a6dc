// A minimal keep-alive HTTP/1.1 client on raw sockets, for throughput figures only.
//
// Why not node:http: on a 2-core machine the load generator shares the CPU with the server,
// and node:http's client costs more CPU per request than @hono/node-server spends answering a
// bare "hello" — the baseline would measure the client, not the server. This client writes a
// pre-serialised request and frames the response (Content-Length or chunked) without building
// header objects, at a fraction of the cost. Every figure that is a ratio uses it on both
// sides. Flows that need cookies and redirects (sign-ins) use node:http (lib/http.ts).
import net from 'node:net'

const HEADER_END = Buffer.from('\r\n\r\n')
const CRLF = Buffer.from('\r\n')

export function serialiseGet(host: string, port: number, path: string, headers: Record<string, string> = {}): Buffer {
  let text = `GET ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nConnection: keep-alive\r\n`
  for (const [name, value] of Object.entries(headers)) text += `${name}: ${value}\r\n`
  return Buffer.from(text + '\r\n', 'latin1')
}

type Pending = { resolve: (status: number) => void; reject: (error: Error) => void }

/** One connection with at most one request in flight. */
export class WireConnection {
  private socket: net.Socket | null = null
  private buffer: Buffer = Buffer.alloc(0)
  private pending: Pending | null = null
  // Framing of the response being read:
  private status = 0
  private bodyStart = -1
  private contentLength = -1
  private chunked = false
  private closeAfter = false

  constructor(
    private readonly host: string,
    private readonly port: number,
  ) {
    if (host !== '127.0.0.1') throw new Error('the bench only loads 127.0.0.1')
  }

  private connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: this.host, port: this.port, noDelay: true })
      socket.once('connect', () => {
        socket.off('error', reject)
        socket.on('error', (error) => this.fail(error))
        resolve()
      })
      socket.once('error', reject)
      socket.on('data', (chunk: Buffer) => this.onData(chunk))
      socket.on('close', () => {
        if (this.socket === socket) this.socket = null
        this.fail(new Error('connection closed by the server'))
      })
      this.socket = socket
    })
  }

  /** Sends the request bytes and resolves with the response status once it is fully read. */
  async send(request: Buffer): Promise<number> {
    if (this.pending) throw new Error('one request at a time per connection')
    if (!this.socket) await this.connect()
    this.buffer = Buffer.alloc(0)
    this.bodyStart = -1
    return new Promise<number>((resolve, reject) => {
      this.pending = { resolve, reject }
      this.socket!.write(request)
    })
  }

  private fail(error: Error) {
    const pending = this.pending
    this.pending = null
    pending?.reject(error)
  }

  private finish() {
    const pending = this.pending
    this.pending = null
    if (this.closeAfter) this.close()
    pending?.resolve(this.status)
  }

  private onData(chunk: Buffer) {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk])
    if (this.bodyStart < 0) {
      const end = this.buffer.indexOf(HEADER_END)
      if (end < 0) return
      const head = this.buffer.toString('latin1', 0, end).toLowerCase()
      this.status = Number(head.slice(9, 12))
      const length = /\r\ncontent-length:\s*(\d+)/.exec(head)
      this.contentLength = length ? Number(length[1]) : -1
      this.chunked = /\r\ntransfer-encoding:[^\r]*chunked/.test(head)
      this.closeAfter = /\r\nconnection:\s*close/.test(head)
      this.bodyStart = end + 4
      if (!this.chunked && this.contentLength < 0) {
        this.fail(new Error('response without Content-Length or chunked framing'))
        this.close()
        return
      }
    }
    if (!this.chunked) {
      if (this.buffer.length >= this.bodyStart + this.contentLength) this.finish()
      return
    }
    // Chunked: walk the chunks from the start of the body each time (bodies here are small).
    let at = this.bodyStart
    for (;;) {
      const lineEnd = this.buffer.indexOf(CRLF, at)
      if (lineEnd < 0) return
      const size = parseInt(this.buffer.toString('latin1', at, lineEnd), 16)
      if (Number.isNaN(size)) {
        this.fail(new Error('bad chunk size'))
        this.close()
        return
      }
      if (size === 0) {
        // the last chunk, then (no trailers) the closing CRLF
        if (this.buffer.length >= lineEnd + 4) this.finish()
        return
      }
      at = lineEnd + 2 + size + 2
      if (this.buffer.length < at) return
    }
  }

  close(): void {
    this.socket?.destroy()
    this.socket = null
  }
}
