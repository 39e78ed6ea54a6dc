import { describe, expect, it } from 'vitest'
import { createHash, randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MalformedUploadError, UploadTooLargeError, cleanFilename, receiveUploadedFile } from './multipart.ts'

const BOUNDARY = '----gatehouse7MA4YWxkTrZu0gW'

function multipart(parts: { name: string; filename?: string; body: Buffer | string; type?: string }[], options: { preamble?: string; epilogue?: string } = {}): Buffer {
  const chunks: Buffer[] = [Buffer.from(options.preamble ?? '')]
  for (const p of parts) {
    const disposition = `form-data; name="${p.name}"${p.filename !== undefined ? `; filename="${p.filename}"` : ''}`
    chunks.push(Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: ${disposition}\r\n${p.type ? `Content-Type: ${p.type}\r\n` : ''}\r\n`), Buffer.from(p.body), Buffer.from('\r\n'))
  }
  chunks.push(Buffer.from(`--${BOUNDARY}--\r\n${options.epilogue ?? ''}`))
  return Buffer.concat(chunks)
}

/** A request whose body arrives in the given pieces, without a Content-Length. */
function streamed(body: Buffer, pieces: number[] = [body.length], contentType = `multipart/form-data; boundary=${BOUNDARY}`): Request {
  let offset = 0
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (offset >= body.length) return controller.close()
      const size = pieces.length > 0 ? pieces.shift()! : body.length
      controller.enqueue(new Uint8Array(body.subarray(offset, offset + size)))
      offset += size
    },
  })
  return new Request('http://x.test/upload', { method: 'POST', body: stream, headers: { 'Content-Type': contentType }, duplex: 'half' } as RequestInit)
}

function destination(): string {
  return join(mkdtempSync(join(tmpdir(), 'gatehouse-multipart-')), 'upload')
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex')

describe('receiveUploadedFile', () => {
  it('writes the file part to disk with its size and SHA-256, whatever the chunking', async () => {
    // content that holds near-misses of the delimiter
    const content = Buffer.concat([randomBytes(300), Buffer.from(`\r\n--${BOUNDARY.slice(0, -1)}x\r\n--`), randomBytes(200)])
    const body = multipart([{ name: 'note', body: 'hello' }, { name: 'file', filename: 'weights.bin', body: content, type: 'application/octet-stream' }], { preamble: 'ignored preamble\r\n' })
    for (const size of [1, 2, 3, 7, 13, 64, 4096]) {
      const pieces = Array.from({ length: Math.ceil(body.length / size) }, () => size)
      const dest = destination()
      const received = await receiveUploadedFile(streamed(body, pieces), { field: 'file', destination: dest, maxFileBytes: 10_000 })
      expect(received, `chunks of ${size}`).toEqual({ filename: 'weights.bin', size: content.length, sha256: sha256(content) })
      expect(readFileSync(dest).equals(content), `chunks of ${size}`).toBe(true)
    }
  })

  it('takes a quoted boundary and an empty file', async () => {
    const dest = destination()
    const received = await receiveUploadedFile(streamed(multipart([{ name: 'file', filename: 'empty.txt', body: '' }]), undefined, `multipart/form-data; boundary="${BOUNDARY}"`), { field: 'file', destination: dest, maxFileBytes: 10 })
    expect(received).toEqual({ filename: 'empty.txt', size: 0, sha256: sha256(Buffer.alloc(0)) })
  })

  it('refuses a file over the limit and leaves nothing behind', async () => {
    const dest = destination()
    const body = multipart([{ name: 'file', filename: 'big.bin', body: randomBytes(1001) }])
    await expect(receiveUploadedFile(streamed(body, [100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100]), { field: 'file', destination: dest, maxFileBytes: 1000 })).rejects.toBeInstanceOf(UploadTooLargeError)
    expect(existsSync(dest)).toBe(false)
    const exact = multipart([{ name: 'file', filename: 'fits.bin', body: randomBytes(1000) }])
    await expect(receiveUploadedFile(streamed(exact), { field: 'file', destination: destination(), maxFileBytes: 1000 })).resolves.toMatchObject({ size: 1000 })
  })

  it('refuses a declared Content-Length over the limit before reading', async () => {
    const request = new Request('http://x.test/upload', { method: 'POST', body: 'x', headers: { 'Content-Type': `multipart/form-data; boundary=${BOUNDARY}`, 'Content-Length': String(10_000_000) } })
    await expect(receiveUploadedFile(request, { field: 'file', destination: destination(), maxFileBytes: 1000 })).rejects.toBeInstanceOf(UploadTooLargeError)
  })

  it('refuses bodies that are not multipart, hold no file, two files, or end early', async () => {
    const opts = () => ({ field: 'file', destination: destination(), maxFileBytes: 1000 })
    await expect(receiveUploadedFile(streamed(Buffer.from('{}'), undefined, 'application/json'), opts())).rejects.toBeInstanceOf(MalformedUploadError)
    await expect(receiveUploadedFile(streamed(multipart([{ name: 'file', body: 'not a file: no filename' }])), opts())).rejects.toBeInstanceOf(MalformedUploadError)
    await expect(receiveUploadedFile(streamed(multipart([{ name: 'other', filename: 'a.txt', body: 'a' }])), opts())).rejects.toBeInstanceOf(MalformedUploadError)
    const two = opts()
    await expect(receiveUploadedFile(streamed(multipart([{ name: 'file', filename: 'a.txt', body: 'a' }, { name: 'file', filename: 'b.txt', body: 'b' }])), two)).rejects.toBeInstanceOf(MalformedUploadError)
    expect(existsSync(two.destination)).toBe(false)
    const whole = multipart([{ name: 'file', filename: 'a.txt', body: 'abcdef' }])
    const cut = opts()
    await expect(receiveUploadedFile(streamed(whole.subarray(0, whole.length - 12)), cut)).rejects.toBeInstanceOf(MalformedUploadError)
    expect(existsSync(cut.destination)).toBe(false)
  })
})

describe('cleanFilename', () => {
  it('keeps the last path segment without control characters', () => {
    expect(cleanFilename('C:\\Users\\x\\model.pt')).toBe('model.pt')
    expect(cleanFilename('../../etc/passwd')).toBe('passwd')
    expect(cleanFilename('a\u0000b\nc.txt')).toBe('abc.txt')
    expect(cleanFilename('..')).toBe('file')
    expect(cleanFilename('')).toBe('file')
  })
})
