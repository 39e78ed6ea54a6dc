import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

// A large import makes a lot of short-lived garbage (YAML syntax trees, rendered emails): live data
// stays under 60 MB for 10,000 entries, but V8 lets the heap grow several times that before it
// collects, which pushed the peak past the 300 MB of SPEC §6. A full collection between steps
// keeps the peak near the live size, for about 20 ms each.

let gc: (() => void) | null | undefined

/** Runs a full garbage collection (exposing V8's gc() to this process the first time). */
export function collectGarbage(): void {
  if (gc === undefined) {
    try {
      setFlagsFromString('--expose-gc')
      gc = runInNewContext('gc') as () => void
    } catch {
      gc = null
    }
  }
  gc?.()
}
