// Checks the second half of a large user directory in parallel with the first (see
// parseUserDirectoryInParallel): the pieces in, the DirectoryPart (plain data) out.
import { parentPort, workerData } from 'node:worker_threads'
import { checkDirectoryChunks, type TopLevelChunk } from './directory.ts'
import type { ConsortiumStructure } from './structure.ts'

const input = workerData as { chunks: TopLevelChunk[]; startIndex: number; structure: ConsortiumStructure }
parentPort!.postMessage(checkDirectoryChunks(input.chunks, input.startIndex, input.structure))
