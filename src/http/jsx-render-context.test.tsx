import { describe, expect, it } from 'vitest'
// Only the app, as the server and the tests load it: it imports jsx-render-context.ts first.
import '../app.ts'
import { createContext, useContext } from 'hono/jsx'

describe('hono/jsx renders without an AsyncLocalStorage', () => {
  it('context is read in the synchronous part of a render; after an await, the default (never another render’s value)', async () => {
    const Theme = createContext('default')
    const Sync = () => <b>{useContext(Theme)}</b>
    const AfterAwait = async () => {
      await new Promise((r) => setTimeout(r, 5))
      return <i>{useContext(Theme)}</i>
    }
    const render = async (value: string) => String(await (<Theme.Provider value={value}><Sync /><AfterAwait /></Theme.Provider>).toString())
    // two renders at once: neither sees the other's value
    const [a, b] = await Promise.all([render('a'), render('b')])
    expect(a).toBe('<b>a</b><i>default</i>')
    expect(b).toBe('<b>b</b><i>default</i>')
  })
})
