// The baseline of SPEC §9: a bare Hono "hello" route, served by @hono/node-server exactly as
// src/server.ts serves Gatehouse (same `serve()`, same runtime flags), so the ratio measures
// what Gatehouse adds on top of the framework.
import { serve } from '@hono/node-server'
import { Hono } from 'hono'

const app = new Hono()
app.get('/', (c) => c.text('hello'))

const port = Number(process.env.PORT ?? 3001)
const server = serve({ fetch: app.fetch, port, hostname: process.env.HOST || '127.0.0.1' }, (info) => {
  process.stdout.write(JSON.stringify({ msg: 'listening', port: info.port }) + '\n')
})

const stop = () => server.close(() => process.exit(0))
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
