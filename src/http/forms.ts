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

// Text rules (issue 11, finding 7), in one place for every form. One-line fields (names, username,
// organisation, codes, role names and descriptions, the banner …) refuse every control character:
// C0 (NUL, TAB, LF, CR …), DEL, C1, and the Unicode line and paragraph separators. Multi-line fields
// (descriptions) keep LF, CR and TAB but refuse the rest.
const ONE_LINE_REFUSED = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/u
const MULTI_LINE_REFUSED = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/u

/** Why a text field's value is refused for its control characters, or undefined. */
export function textFieldError(value: string, options: { multiLine?: boolean } = {}): string | undefined {
  if (options.multiLine) return MULTI_LINE_REFUSED.test(value) ? 'Remove the control characters (such as NUL or escape) from this text.' : undefined
  return ONE_LINE_REFUSED.test(value) ? 'Use one line of plain text: no line breaks, tabs or other control characters.' : undefined
}

/**
 * Adds the control-character error to each field of `values` that has no error yet (fields named
 * in `multiLine` may hold line breaks and tabs); returns `errors`.
 */
export function checkTextFields(errors: FieldErrors, values: Record<string, unknown>, multiLine: readonly string[] = []): FieldErrors {
  for (const [field, value] of Object.entries(values)) {
    if (typeof value !== 'string' || errors[field] !== undefined) continue
    errors[field] = textFieldError(value, { multiLine: multiLine.includes(field) })
  }
  return errors
}

/** A password as typed, NFC-normalised so that the same characters typed composed or decomposed are one password. */
export function normalizePassword(raw: string): string {
  return raw.normalize('NFC')
}

const EMAIL_PATTERN = /^[^\s@<>()[\]\\,;:"]+@[^\s@<>()[\]\\,;:"]+\.[^\s@<>()[\]\\,;:"]+$/u

/** NFC-normalised, lower-cased, trimmed email, or null when it is not a plausible address (control characters never are). */
export function normalizeEmail(raw: string): string | null {
  const email = raw.normalize('NFC').trim().toLowerCase().normalize('NFC')
  if (email.length > 254 || ONE_LINE_REFUSED.test(email) || !EMAIL_PATTERN.test(email)) return null
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
