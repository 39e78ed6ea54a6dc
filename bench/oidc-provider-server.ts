// The OpenID provider of the `oidc` figure: a real `oidc-provider` (v9, as src/routes/oidc.test.ts
// runs it), in a process of its own on a loopback port, so its CPU is measured apart from the
// bench's and the server's. One static confidential client (Gatehouse), PKCE required, the
// email claims in the ID token, and the accounts listed in BENCH_OIDC_ACCOUNTS_FILE
// (a JSON object: sub → email).
//
// Its login and consent are the bench's own (devInteractions off, `interactions.url` below):
// GET /interaction/:uid answers a small login form (after checking the interaction with
// interactionDetails), and POST /interaction/:uid/login with `login=<sub>` finishes it with
// interactionFinished: the login (amr pwd + mfa, so a provider with trust_mfa on completes the
// Gatehouse sign-in) and the consent (a Grant of `openid email` for the client). It checks no
// password: the figure measures Gatehouse's side of the flow plus a provider that does little.
import { createServer, type IncomingMessage } from 'node:http'
import { readFileSync } from 'node:fs'
import Provider from 'oidc-provider'

const port = Number(process.env.PORT)
const host = process.env.HOST || '127.0.0.1'
const issuer = `http://${host}:${port}`
const clientId = process.env.BENCH_OIDC_CLIENT_ID!
const clientSecret = process.env.BENCH_OIDC_CLIENT_SECRET!
const redirectUri = process.env.BENCH_OIDC_REDIRECT_URI!
const accounts = JSON.parse(readFileSync(process.env.BENCH_OIDC_ACCOUNTS_FILE!, 'utf8')) as Record<string, string>
if (!port || !clientId || !clientSecret || !redirectUri) throw new Error('PORT, BENCH_OIDC_CLIENT_ID, BENCH_OIDC_CLIENT_SECRET and BENCH_OIDC_REDIRECT_URI are required')

const provider = new Provider(issuer, {
  clients: [{ client_id: clientId, client_secret: clientSecret, redirect_uris: [redirectUri], response_types: ['code'], grant_types: ['authorization_code'] }],
  claims: { amr: null, openid: ['sub', 'amr'], email: ['email', 'email_verified'] },
  pkce: { required: () => true },
  conformIdTokenClaims: false, // email and email_verified in the ID token, as institutional providers send them
  features: { devInteractions: { enabled: false } },
  interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
  async findAccount(_ctx: unknown, id: string) {
    const email = accounts[id]
    if (email === undefined) return undefined
    return { accountId: id, async claims() { return { sub: id, email, email_verified: true } } }
  },
})
const handle = provider.callback()

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}

const server = createServer(async (req, res) => {
  const match = /^\/interaction\/([A-Za-z0-9_-]+)(\/login)?$/.exec(req.url ?? '')
  if (!match) return handle(req, res)
  try {
    const details = await provider.interactionDetails(req, res)
    if (details.uid !== match[1]) throw new Error('interaction mismatch')
    if (req.method === 'GET' && !match[2]) {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' })
      res.end(`<!doctype html><title>Sign in</title><form method="post" action="/interaction/${details.uid}/login"><label>Login <input name="login" autocomplete="username"></label><button>Sign in</button></form>`)
      return
    }
    if (req.method !== 'POST' || !match[2]) throw new Error('method not allowed')
    const login = new URLSearchParams(await readBody(req)).get('login') ?? ''
    if (accounts[login] === undefined) {
      res.writeHead(403, { 'Content-Type': 'text/plain' })
      res.end('unknown account')
      return
    }
    const grant = new provider.Grant({ accountId: login, clientId })
    grant.addOIDCScope('openid email')
    const grantId = await grant.save()
    await provider.interactionFinished(req, res, { login: { accountId: login, amr: ['pwd', 'mfa'] }, consent: { grantId } }, { mergeWithLastSubmission: false })
  } catch (error) {
    if (!res.headersSent) res.writeHead(400, { 'Content-Type': 'text/plain' })
    res.end(error instanceof Error ? error.message : String(error))
  }
})
server.listen(port, host, () => process.stdout.write(JSON.stringify({ msg: 'listening', issuer }) + '\n'))

const stop = () => {
  server.close(() => process.exit(0))
  server.closeAllConnections()
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
