import busboy from 'busboy'
import type { MiddlewareHandler } from 'hono'
import type { AppEnv } from './context.ts'
import { MalformedFormError } from './errors.tsx'
import { createHash } from 'node:crypto'
import { open, unlink, type FileHandle } from 'node:fs/promises'
import { Readable, Transform } from 'node:stream'
import type { ReadableStream as WebReadableStream } from 'node:stream/web'

// One file from a multipart/form-data body, parsed by busboy and written to disk and hashed
// chunk by chunk as it arrives: an upload never sits in memory, and the byte limit is enforced
// while reading, with or without a Content-Length.

export class UploadTooLargeError extends Error {}
export class MalformedUploadError extends Error {}

export type ReceivedFile = { filename: string; size: number; sha256: string }

/** Room for the part headers, boundaries and small text fields around the file. */
export const MULTIPART_OVERHEAD_BYTES = 64 * 1024

/** A stored name keeps only the last path segment, without control or bidi-override characters; at most 255 characters. */
export function cleanFilename(raw: string): string {
  const base = raw.split(/[\\/]/).pop() ?? ''
  // eslint-disable-next-line no-control-regex
  const clean = base.replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, '').trim()
  const cut = [...clean].slice(0, 255).join('')
  return cut === '' || cut === '.' || cut === '..' ? 'file' : cut
}

/**
 * Streams the file part named `field` of the request to `destination` (a new file, never an
 * existing one), computing its SHA-256 on the way; other parts are dropped. Throws
 * UploadTooLargeError past `maxFileBytes` (or a body past that plus MULTIPART_OVERHEAD_BYTES,
 * checked against Content-Length first) and MalformedUploadError for a body that is not
 * multipart, is cut short, or holds no or several such files. On any failure nothing is left at
 * `destination`.
 */
export async function receiveUploadedFile(request: Request, options: { field: string; destination: string; maxFileBytes: number }): Promise<ReceivedFile> {
  const maxBodyBytes = options.maxFileBytes + MULTIPART_OVERHEAD_BYTES
  const declared = Number(request.headers.get('Content-Length') ?? NaN)
  if (Number.isFinite(declared) && declared > maxBodyBytes) throw new UploadTooLargeError()
  if (!request.body) throw new MalformedUploadError('The request has no body.')
  let parser: busboy.Busboy
  try {
    // Note: fileSize is one more than allowed, because busboy reports reaching its limit, not passing it.
    parser = busboy({
      headers: { 'content-type': request.headers.get('Content-Type') ?? '' },
      defParamCharset: 'utf8',
      limits: { files: 5, fileSize: options.maxFileBytes + 1, fields: 20, fieldSize: 8 * 1024, parts: 30, headerPairs: 100 },
    })
  } catch {
    throw new MalformedUploadError('Send the file as multipart/form-data.')
  }

  const source = Readable.fromWeb(request.body as WebReadableStream<Uint8Array>)
  let bodyBytes = 0
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bodyBytes += chunk.length
      if (bodyBytes > maxBodyBytes) done(new UploadTooLargeError())
      else done(null, chunk)
    },
  })
  let fileStream: Readable | null = null
  let handle: FileHandle | null = null
  let writing: Promise<ReceivedFile> | null = null

  try {
    return await new Promise<ReceivedFile>((resolve, reject) => {
      const fail = (error: unknown) => {
        source.unpipe(counter)
        counter.unpipe(parser)
        source.destroy()
        fileStream?.destroy()
        reject(error)
      }
      parser.on('file', (name, stream, info) => {
        if (name !== options.field) return void stream.resume()
        if (writing) {
          stream.resume()
          return fail(new MalformedUploadError(`Send exactly one file in the “${options.field}” field.`))
        }
        fileStream = stream
        stream.on('limit', () => fail(new UploadTooLargeError()))
        stream.on('error', () => {}) // it may fail before the loop below reads it; the parser's 'error' reports why
        writing = (async () => {
          handle = await open(options.destination, 'wx', 0o600)
          await handle.chmod(0o600) // whatever the umask
          const hash = createHash('sha256')
          let size = 0
          for await (const chunk of stream as AsyncIterable<Buffer>) {
            size += chunk.length
            hash.update(chunk)
            await handle.write(chunk)
          }
          await handle.sync()
          return { filename: cleanFilename(info.filename ?? ''), size, sha256: hash.digest('hex') }
        })()
        writing.catch(fail)
      })
      parser.on('filesLimit', () => fail(new MalformedUploadError(`Send exactly one file in the “${options.field}” field.`)))
      parser.on('error', () => fail(new MalformedUploadError('The multipart body is malformed or was cut short.')))
      parser.on('close', () => {
        if (!writing) return fail(new MalformedUploadError(`Attach a file in the “${options.field}” field.`))
        writing.then(resolve, fail)
      })
      source.on('error', fail)
      counter.on('error', fail)
      source.pipe(counter).pipe(parser)
    })
  } catch (error) {
    await (writing as Promise<ReceivedFile> | null)?.catch(() => {})
    if (handle) await unlink(options.destination).catch(() => {})
    throw error
  } finally {
    await (handle as FileHandle | null)?.close().catch(() => {})
  }
}

/**
 * Reads a form body (multipart or url-encoded) before the route does, so a body that claims to be
 * one and is not (no boundary, cut short, garbage) is a 400 for every form route, wherever the
 * route reads it. Hono keeps the parsed body, so the route's own read costs nothing more. Upload
 * routes (`skip`) stream their bodies and report malformed ones themselves.
 */
export function refuseMalformedForms(skip: readonly RegExp[]): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next()
    const type = c.req.header('Content-Type')?.split(';')[0]?.trim().toLowerCase()
    if ((type === 'multipart/form-data' || type === 'application/x-www-form-urlencoded') && !skip.some((p) => p.test(c.req.path))) {
      try {
        await c.req.parseBody({ all: true })
      } catch (error) {
        throw new MalformedFormError(error instanceof Error ? error.message : String(error))
      }
    }
    return next()
  }
}
