// A real OpenID provider for tests (oidc-provider, on a loopback port, with its own dev login and
// consent pages), without the rest of the test world: the unit tests reach it through
// oidc-world.ts, the Chromium journey (e2e/oidc.e2e.test.ts) starts it next to the real server.
import type { AddressInfo } from 'node:net'
import { createServer, type Server } from 'node:http'
import Provider from 'oidc-provider'

export type ProviderAccounts = Record<string, { email: string; email_verified: boolean }>

export type TestOidcProvider = { issuer: string; close(): Promise<void> }

export const TEST_CLIENT = { clientId: 'gatehouse', clientSecret: 'test-secret-123' }

/**
 * Listens on `host` (a loopback address; 127.0.0.2 keeps the provider's cookies apart from a
 * Gatehouse on 127.0.0.1 in one browser) with one static client whose redirect URI is `redirectUri`.
 */
export async function startOidcTestProvider(accounts: ProviderAccounts, options: { redirectUri: string; host?: string }): Promise<TestOidcProvider> {
  const server: Server = createServer()
  const host = options.host ?? '127.0.0.1'
  await new Promise<void>((r) => server.listen(0, host, () => r()))
  const issuer = `http://${host}:${(server.address() as AddressInfo).port}`
  const provider = new Provider(issuer, {
    clients: [{ client_id: TEST_CLIENT.clientId, client_secret: TEST_CLIENT.clientSecret, redirect_uris: [options.redirectUri], response_types: ['code'], grant_types: ['authorization_code'] }],
    claims: { openid: ['sub'], email: ['email', 'email_verified'] },
    pkce: { required: () => true },
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: true } },
    async findAccount(_ctx: unknown, id: string) {
      const account = accounts[id]
      if (!account) return undefined
      return { accountId: id, async claims() { return { sub: id, ...account } } }
    },
  })
  server.on('request', provider.callback())
  return {
    issuer,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections()
        server.close(() => r())
      }),
  }
}
