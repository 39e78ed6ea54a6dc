import type { Context } from 'hono'

export type FormData = { get(name: string): string; getAll(name: string): string[] }

/** Reads a url-encoded or multipart form body; missing fields read as ''. */
export async function readForm(c: Context): Promise<FormData> {
  const body = await c.req.parseBody({ all: true })
  const values = (name: string): string[] => {
    const v = body[name]
    const list = Array.isArray(v) ? v : v === undefined ? [] : [v]
    return list.filter((x): x is string => typeof x === 'string')
  }
  return {
    get: (name) => values(name)[0] ?? '',
    getAll: values,
  }
}

export type FieldErrors = Partial<Record<string, string>>

export function hasErrors(errors: FieldErrors): boolean {
  return Object.values(errors).some((e) => e !== undefined)
}

const EMAIL_PATTERN = /^[^\s@<>()[\]\\,;:"]+@[^\s@<>()[\]\\,;:"]+\.[^\s@<>()[\]\\,;:"]+$/u

/** Lower-cased, trimmed email, or null when it is not a plausible address. */
export function normalizeEmail(raw: string): string | null {
  const email = raw.trim().toLowerCase()
  if (email.length > 254 || !EMAIL_PATTERN.test(email)) return null
  return email
}

/**
 * A numeric id from a path segment: decimal digits only, no sign, exponent, hex or leading zero
 * (so `/users/0x1` or `/users/01` is not user 1 but a 404); null otherwise.
 */
export function idParam(raw: string | undefined): number | null {
  if (raw === undefined || !/^[1-9][0-9]{0,14}$/.test(raw)) return null
  return Number(raw)
}
