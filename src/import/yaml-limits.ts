// Limits on the YAML files of the import (SPEC §6; issue 11 finding 11). The `yaml` package builds
// its document recursively: 10,000 nested `[` exhaust the process (out of memory, not even an
// exception). So every YAML file is parsed here in two steps, concrete syntax tree first, and its
// nesting is measured before the document is built from that same tree (no second parse).
import { Composer, Lexer, LineCounter, Parser, YAMLParseError, type CST, type Document, type DocumentOptions, type ParseOptions, type SchemaOptions } from 'yaml'

/** Deepest nesting of collections (lists and maps) allowed in any YAML file read by the import. */
export const MAX_YAML_DEPTH = 64

/** Most entries a user directory may have. */
export const MAX_DIRECTORY_ENTRIES = 100_000

export type TooDeep = { line: number; message: string }

export function tooDeepMessage(line: number): string {
  return `The YAML is nested deeper than ${MAX_YAML_DEPTH} levels (at line ${line}); nothing was read from it`
}

export function tooManyEntriesMessage(count: number): string {
  return `The user directory has ${count.toLocaleString('en-GB')} entries; at most ${MAX_DIRECTORY_ENTRIES.toLocaleString('en-GB')} are allowed. Split it, or ask for the limit to be raised`
}

type Options = ParseOptions & DocumentOptions & SchemaOptions

/** The collections nested deepest in these top-level tokens, walked without recursion; the offset of the first one past the limit, or null. */
function firstTooDeep(tokens: CST.Token[], limit: number): number | null {
  const stack: [CST.Token | undefined, number][] = tokens.map((t) => [t, 0])
  while (stack.length > 0) {
    const [token, depth] = stack.pop()!
    if (!token) continue
    switch (token.type) {
      case 'document':
        stack.push([token.value, depth])
        break
      case 'block-map':
      case 'block-seq':
      case 'flow-collection': {
        if (depth + 1 > limit) return token.offset
        for (const item of token.items) {
          const it = item as { key?: CST.Token | null; value?: CST.Token | null }
          if (it.key) stack.push([it.key, depth + 1])
          if (it.value) stack.push([it.value, depth + 1])
        }
        break
      }
      default:
        break
    }
  }
  return null
}

/**
 * `parseDocument(text, options)` of the `yaml` package, except that a document nested deeper than
 * MAX_YAML_DEPTH is not built: `tooDeep` says where. The parser's stack (its open nodes) is watched
 * while lexing, so even millions of `[` stop early. Error messages end with " at line L, column C"
 * as with `prettyErrors` (first line only).
 */
export function parseYamlWithinLimits(text: string, options: Options & { lineCounter?: LineCounter; maxRootItems?: number }): { doc: Document.Parsed; tooDeep: null; tooMany?: undefined } | { doc: null; tooDeep: TooDeep | null; tooMany?: number } {
  const lineCounter = options.lineCounter ?? new LineCounter()
  const parser = new Parser(lineCounter.addNewLine)
  const lineOf = (offset: number) => lineCounter.linePos(offset).line
  const tokens: CST.Token[] = []
  lineCounter.addNewLine(0)
  // A node open on the parser's stack is one level (plus the document and a pending scalar or two).
  const stackLimit = 2 * MAX_YAML_DEPTH + 8
  let offset = 0
  for (const lexeme of new Lexer().lex(text)) {
    for (const token of parser.next(lexeme)) tokens.push(token)
    offset += lexeme.length
    if (parser.stack.length > stackLimit) {
      const line = lineOf(Math.min(offset, text.length))
      return { doc: null, tooDeep: { line, message: tooDeepMessage(line) } }
    }
  }
  for (const token of parser.end()) tokens.push(token)
  const deep = firstTooDeep(tokens, MAX_YAML_DEPTH)
  if (deep !== null) return { doc: null, tooDeep: { line: lineOf(deep), message: tooDeepMessage(lineOf(deep)) } }
  if (options.maxRootItems !== undefined) {
    // counted on the syntax tree, before a document of that size is built
    const root = tokens.find((t) => t.type === 'document') as CST.Document | undefined
    const value = root?.value
    const items = value && (value.type === 'block-seq' || value.type === 'flow-collection') ? value.items.filter((i) => i.value || i.key || value.type === 'block-seq').length : 0
    if (items > options.maxRootItems) return { doc: null, tooDeep: null, tooMany: items }
  }

  const composer = new Composer(options)
  let doc: Document.Parsed | null = null
  for (const next of composer.compose(tokens, true, text.length)) {
    if (!doc) doc = next as Document.Parsed
    else {
      doc.errors.push(new YAMLParseError(next.range.slice(0, 2) as [number, number], 'MULTIPLE_DOCS', 'Source contains multiple documents; please use YAML.parseAllDocuments()'))
      break
    }
  }
  if (options.prettyErrors !== false) {
    for (const e of [...doc!.errors, ...doc!.warnings]) {
      if (e.pos[0] === -1) continue
      e.linePos = e.pos.map((p) => lineCounter.linePos(p)) as [{ line: number; col: number }, { line: number; col: number }]
      e.message += ` at line ${e.linePos[0].line}, column ${e.linePos[0].col}`
    }
  }
  return { doc: doc!, tooDeep: null }
}
