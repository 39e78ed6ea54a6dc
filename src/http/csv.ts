import type { Context } from 'hono'
import { stream } from 'hono/streaming'
import type { AppEnv } from './context.ts'

type Cell = string | number | null

/** One CSV cell: quoted when needed; a leading =, +, -, @, tab or CR is defused with a quote so a spreadsheet never runs it. */
export function csvField(value: Cell): string {
  if (value === null) return ''
  let s = String(value)
  if (/^[=+\-@\t\r]/.test(s)) s = "'" + s
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s
}

/**
 * A CSV download streamed chunk by chunk: `gatehouse-<name>-<day>.csv`, cells defused for
 * spreadsheets (csvField). It waits while the client is slow (memory stays at one chunk) and stops
 * reading when the client goes away.
 */
export function streamCsv<T>(c: Context<AppEnv>, name: string, header: readonly string[], chunks: Iterable<readonly T[]>, row: (item: T) => readonly Cell[]): Response {
  c.header('Content-Type', 'text/csv; charset=utf-8')
  c.header('Content-Disposition', `attachment; filename="gatehouse-${name}-${new Date(c.get('deps').clock.now()).toISOString().slice(0, 10)}.csv"`)
  return stream(c, async (out) => {
    await out.write(header.join(',') + '\n')
    for (const chunk of chunks) {
      if (out.aborted) return
      let text = ''
      for (const item of chunk) text += row(item).map(csvField).join(',') + '\n'
      await out.write(text)
    }
  })
}
