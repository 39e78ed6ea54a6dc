import { Worker } from 'node:worker_threads'
import { availableParallelism } from 'node:os'
import { MAX_DIRECTORY_ENTRIES } from './yaml-limits.ts'
import { checkDirectoryChunks, finishDirectory, parseUserDirectory, splitTopLevelEntries, tooManyEntries, type DirectoryPart, type DirectoryResult, type TopLevelChunk } from './directory.ts'
import type { ConsortiumStructure } from './structure.ts'

// YAML parsing is most of an import's time (about 1.5 s for 10,000 entries with the `yaml`
// package). A large directory is cut into pieces anyway (splitTopLevelEntries), so the second half
// is checked in a worker thread while this thread checks the first; the result is the same as
// parseUserDirectory's (the checks across entries run after, in order). Anything unexpected
// (one core, no worker, a piece that does not parse alone) falls back to parseUserDirectory.

/** Below this many pieces (100 entries each), a worker's start-up costs more than it saves. */
const MIN_CHUNKS = 10

/** The worker's young generation: parsing makes short-lived garbage; V8's default (48 MB) only adds to the peak (−20 MB, same time). */
const WORKER_YOUNG_GENERATION_MB = 16

export async function parseUserDirectoryInParallel(text: string, structure: ConsortiumStructure): Promise<DirectoryResult> {
  const chunks = splitTopLevelEntries(text)
  if (chunks === null || chunks.length < MIN_CHUNKS || availableParallelism() < 2) return parseUserDirectory(text, structure)
  const count = chunks.reduce((n, c) => n + c.entries, 0)
  if (count > MAX_DIRECTORY_ENTRIES) return tooManyEntries(count)
  const half = Math.ceil(chunks.length / 2)
  const first = chunks.slice(0, half)
  const second = chunks.slice(half)
  const secondStart = first.reduce((n, c) => n + c.entries, 0)
  const theirs = checkInWorker(second, secondStart, structure)
  const mine = checkDirectoryChunks(first, 0, structure)
  const other = (await theirs) ?? checkDirectoryChunks(second, secondStart, structure)
  if (mine === null || other === null) return parseUserDirectory(text, structure, { split: false })
  return finishDirectory([mine, other])
}

/** The part checked by a worker thread; null when no worker could do it. */
export function checkInWorker(chunks: TopLevelChunk[], startIndex: number, structure: ConsortiumStructure): Promise<DirectoryPart | null> {
  // From the sources (tests, `npm run cli`, `npm run dev`) the worker is TypeScript: it registers
  // tsx first (Node 20 does not pass `--import tsx` hooks to a worker's entry module).
  const fromSource = import.meta.url.endsWith('.ts')
  const url = new URL(`./directory-worker.${fromSource ? 'ts' : 'js'}`, import.meta.url)
  const workerData = { chunks, startIndex, structure }
  return new Promise((resolve) => {
    let worker: Worker
    try {
      worker = fromSource
        ? new Worker(`import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(url.href)}) })`, { eval: true, workerData, resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB } })
        : new Worker(url, { workerData, resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB } })
    } catch {
      return resolve(null)
    }
    worker.once('message', (part: DirectoryPart | null) => resolve(part))
    worker.once('error', () => resolve(null))
    worker.once('exit', () => resolve(null))
  })
}
