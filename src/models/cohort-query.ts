import { createRequire } from 'node:module'
import type { Parser } from 'node-sql-parser'

export const COHORT_QUERY_MAX_LENGTH = 10_240

const require = createRequire(import.meta.url)
let parser: Parser | null = null

/** The PostgreSQL build of node-sql-parser (a tenth of the all-dialects bundle), loaded on first use. */
function sqlParser(): Parser {
  parser ??= new (require('node-sql-parser/build/postgresql') as typeof import('node-sql-parser')).Parser()
  return parser
}

/**
 * Checks a cohort query with a real SQL parser: exactly one statement, a SELECT (UNION,
 * INTERSECT and EXCEPT of SELECTs included), at most 10,240 characters. Returns why it is
 * refused, or null.
 */
export function checkCohortQuery(sqlText: string): string | null {
  const text = sqlText.trim()
  if (text === '') return 'Write a SELECT statement.'
  if (text.length > COHORT_QUERY_MAX_LENGTH) return `At most ${COHORT_QUERY_MAX_LENGTH.toLocaleString('en-GB')} characters (this one has ${text.length.toLocaleString('en-GB')}).`
  let ast: unknown
  try {
    ast = sqlParser().astify(text, { database: 'PostgreSQL' })
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    const where = (error as { location?: { start?: { line: number; column: number } } }).location?.start
    return `This is not valid SQL${where ? ` (line ${where.line}, column ${where.column})` : ''}: ${message.split('\n')[0]!.slice(0, 200)}`
  }
  const statements = (Array.isArray(ast) ? ast : [ast]).filter(Boolean) as { type?: string; into?: { expr?: unknown } }[]
  if (statements.length !== 1) return `Write exactly one statement (found ${statements.length}).`
  const [statement] = statements
  if (statement!.type !== 'select') return `Only SELECT queries are allowed (with UNION, INTERSECT or EXCEPT); this is ${String(statement!.type).toUpperCase()}.`
  const writer = findWritingNode(statement)
  if (writer) return writer
  return null
}

const WRITING_TYPES = new Set(['insert', 'update', 'delete', 'replace', 'create', 'drop', 'alter', 'truncate', 'rename', 'grant', 'merge'])

/** Walks the whole tree: a data-modifying WITH clause or a SELECT … INTO anywhere is refused. */
function findWritingNode(node: unknown): string | null {
  if (Array.isArray(node)) {
    for (const item of node) {
      const found = findWritingNode(item)
      if (found) return found
    }
    return null
  }
  if (node === null || typeof node !== 'object') return null
  const record = node as Record<string, unknown>
  if (typeof record.type === 'string' && WRITING_TYPES.has(record.type) && ('table' in record || 'name' in record || 'keyword' in record)) {
    return `A cohort query only reads: it may not contain ${record.type.toUpperCase()} (found inside the statement).`
  }
  if (record.into && typeof record.into === 'object' && (record.into as { expr?: unknown }).expr) return 'SELECT … INTO is not allowed: a cohort query only reads.'
  for (const value of Object.values(record)) {
    const found = findWritingNode(value)
    if (found) return found
  }
  return null
}
