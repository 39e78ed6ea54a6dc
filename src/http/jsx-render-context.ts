// hono/jsx runs every render inside an AsyncLocalStorage, so that useContext() in an async
// component still finds its provider after an await. Gatehouse's views are synchronous and use no
// JSX context. On Node 20, the first AsyncLocalStorage.run turns on promise hooks for the whole
// process, and every promise after it pays for them: about a tenth of the CPU of an authenticated
// page (bench/diag/page-cpu.ts, five alternating runs each: median 114.6 → 103.6 µs, best 104.7 →
// 98.0 µs). Node 24 (the container's) tracks the context without promise hooks.
//
// hono/jsx looks for AsyncLocalStorage once, at its first render, through
// process.getBuiltinModule('node:async_hooks'). This module does that first render, with that one
// module hidden from the lookup for the length of the synchronous call. hono/jsx then uses its
// documented fallback: the context store lives for the synchronous part of a render, and a read after
// an await gets the context's default value, never another request's (render-context.test.ts).
// Import it before anything renders (src/app.ts imports it first).
import { jsx } from 'hono/jsx'

const lookup = process.getBuiltinModule
if (typeof lookup === 'function') {
  process.getBuiltinModule = ((id: string) => (id === 'node:async_hooks' || id === 'async_hooks' ? undefined : lookup.call(process, id))) as typeof lookup
  try {
    void jsx('i', {}).toString()
  } finally {
    process.getBuiltinModule = lookup
  }
}
