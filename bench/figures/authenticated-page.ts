// SPEC §9: an authenticated page (session check + permission resolution + render), in requests
// per second, as a ratio to a bare Hono "hello" route served the same way. Target ≥ 25 %.
import { cpuLine, runLoad, type LoadResult } from '../lib/load.ts'
import { serialiseGet, WireConnection } from '../lib/wire.ts'
import { round } from '../lib/stats.ts'
import type { ServerChild } from '../lib/servers.ts'
import { figure, type BenchContext, type FigureProducer } from './types.ts'

export const CONCURRENCY = Number(process.env.BENCH_PAGE_CONCURRENCY ?? 16)

/** GET `path` on `server` from CONCURRENCY keep-alive raw-socket connections (closed loop), after one checked request; also used by `approvals`. */
export async function measure(ctx: BenchContext, server: ServerChild, path: string, headers: Record<string, string>, check: (body: string) => boolean): Promise<LoadResult> {
  const agent = server.target.agent(1)
  let connections: WireConnection[] = []
  try {
    // One request first, with its body, to make sure the page is the one meant (not a redirect).
    const first = await server.target.request(agent, { path, headers, keepBody: true })
    if (first.status !== 200 || !check(first.body)) throw new Error(`${server.name} GET ${path}: ${first.status}, unexpected page`)
    // The load itself goes through the raw-socket client (see lib/wire.ts), one connection per worker.
    const request = serialiseGet(server.target.host, server.target.port, path, headers)
    connections = Array.from({ length: CONCURRENCY }, () => new WireConnection(server.target.host, server.target.port))
    const conns = connections
    return await runLoad({
      concurrency: CONCURRENCY,
      warmupMs: ctx.warmupMs,
      durationMs: ctx.durationMs,
      serverPid: server.pid,
      op: async (worker) => {
        const status = await conns[worker]!.send(request)
        if (status !== 200) throw new Error(`${server.name} GET ${path}: ${status}`)
      },
    })
  } finally {
    agent.destroy()
    for (const c of connections) c.close()
  }
}

export function summary(r: LoadResult) {
  return {
    requestsPerSecond: Math.round(r.perSecond),
    completed: r.completed,
    errors: r.errors,
    firstErrors: r.firstErrors,
    latencyMs: r.latencyMs,
    serverCpuCores: r.serverCpuCores,
    serverMainThreadCpuCores: r.serverMainThreadCpuCores,
    clientCpuCores: r.clientCpuCores,
    otherCpuCores: r.otherCpuCores,
    interruptCpuCores: r.interruptCpuCores,
    stealCpuCores: r.stealCpuCores,
  }
}

export const authenticatedPage: FigureProducer = {
  id: 'page',
  name: 'authenticated page vs hello',
  async run(ctx) {
    const hello = await measure(ctx, ctx.hello, '/', {}, (body) => body === 'hello')
    ctx.noteWindow('hello', hello)
    ctx.log(`  hello: ${Math.round(hello.perSecond)} req/s (${cpuLine(hello)})`)
    const page = await measure(ctx, ctx.gatehouse, '/', { Cookie: `session=${ctx.pageCookie}` }, (body) => body.includes(ctx.data.pageUser.email) && body.includes('Where you are signed in'))
    ctx.log(`  GET / signed in: ${Math.round(page.perSecond)} req/s (${cpuLine(page)})`)
    ctx.noteWindow('authenticated page', page)
    if (page.serverCpuCores && hello.serverCpuCores) {
      ctx.log(`  per server CPU-second: hello ${Math.round(hello.perSecond / hello.serverCpuCores)}, page ${Math.round(page.perSecond / page.serverCpuCores)} requests`)
    }
    const errors = hello.errors + page.errors
    return [
      figure({
        id: 'authenticated_page_ratio',
        label: 'Authenticated page (GET /) req/s ÷ bare Hono hello req/s',
        value: round((page.perSecond / hello.perSecond) * 100, 1),
        unit: '%',
        target: { op: '>=', value: 25 },
        ...(errors > 0 ? { error: `${errors} requests failed` } : {}),
        details: {
          concurrency: CONCURRENCY, windowMs: ctx.durationMs, warmupMs: ctx.warmupMs, hello: summary(hello), authenticatedPage: summary(page) },
      }),
      // Requests per second of server CPU: what each server does with a core, whatever CPU the
      // bench, the kernel and other processes took. Driving the hello server takes about a core
      // of bench + kernel CPU, so on a busy 2-core machine hello drops first and the ratio
      // above flatters Gatehouse; this one is stricter and less sensitive to other load.
      figure({
        id: 'authenticated_page_ratio_per_cpu',
        label: '  same, per second of server CPU (stricter reading)',
        value: page.serverCpuCores && hello.serverCpuCores ? round((page.perSecond / page.serverCpuCores / (hello.perSecond / hello.serverCpuCores)) * 100, 1) : Number.NaN,
        unit: '%',
        target: null,
        details: {
          helloPerServerCpuSecond: hello.serverCpuCores ? Math.round(hello.perSecond / hello.serverCpuCores) : null,
          pagePerServerCpuSecond: page.serverCpuCores ? Math.round(page.perSecond / page.serverCpuCores) : null,
          pageServerCpuMsPerRequest: page.serverCpuCores ? round((page.serverCpuCores * 1000) / page.perSecond, 3) : null,
          helloServerCpuMsPerRequest: hello.serverCpuCores ? round((hello.serverCpuCores * 1000) / hello.perSecond, 3) : null,
        },
      }),
    ]
  },
}
