import { Hono } from 'hono'
const app = new Hono()
app.get('/', (c) => c.text('hello'))
const env = { incoming: { socket: { remoteAddress: '127.0.0.1', remotePort: 1, remoteFamily: 'IPv4' } } }
const once = async () => { const r = await app.request('/', { headers: { Cookie: 'a=b' } }, env); await r.text() }
for (let i = 0; i < 3000; i++) await once()
const c0 = process.cpuUsage(); const n = 20000
for (let i = 0; i < n; i++) await once()
const c = process.cpuUsage(c0)
console.log(`bare: ${((c.user + c.system) / n).toFixed(1)} µs`)
