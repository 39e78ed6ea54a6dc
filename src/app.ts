// First: hono/jsx's first render, which decides that renders use no AsyncLocalStorage (see the module).
import './http/jsx-render-context.ts'
import { Hono } from 'hono'
import { serveStatic } from '@hono/node-server/serve-static'
import { join, relative } from 'node:path'
import { PROJECT_ROOT } from './paths.ts'
import type { AppDeps, AppEnv } from './http/context.ts'
import { clientIp, formBodyLimit, noStore, originCheck, securityHeaders } from './http/security.ts'
import { loadSession } from './auth/middleware.ts'
import { handleUnexpectedError, notFoundPage } from './http/errors.tsx'
import { refuseMalformedForms } from './http/multipart.ts'
import { writeGate } from './http/write-gate.ts'
import { health } from './routes/health.tsx'
import { login } from './routes/login.tsx'
import { oidc } from './routes/oidc.tsx'
import { mfa } from './routes/mfa.tsx'
import { recoveryCodeRoutes } from './routes/recovery-codes.tsx'
import { passkeyRoutes } from './routes/passkeys.tsx'
import { password } from './routes/password.tsx'
import { home } from './routes/home.tsx'
import { accountNotifications } from './routes/account-notifications.tsx'
import { accountIdentities } from './routes/account-identities.tsx'
import { accountIdentityLink } from './routes/account-identity-link.tsx'
import { account } from './routes/account.tsx'
import { accountTotp } from './routes/account-totp.tsx'
import { invite } from './routes/invite.tsx'
import { projectRoutes } from './routes/projects.tsx'
import { siteDecisionRoutes } from './routes/site-decisions.tsx'
import { approvalRoutes } from './routes/approvals.tsx'
import { projectModels } from './routes/project-models.tsx'
import { adminHome } from './routes/admin/home.tsx'
import { adminUsers } from './routes/admin/users.tsx'
import { adminUsersBulk } from './routes/admin/users-bulk.tsx'
import { adminRoles } from './routes/admin/roles.tsx'
import { adminGroups } from './routes/admin/groups.tsx'
import { adminConsortium } from './routes/admin/consortium.tsx'
import { adminImport } from './routes/admin/import.tsx'
import { adminInvitations } from './routes/admin/invitations.tsx'
import { adminSettings } from './routes/admin/settings.tsx'
import { adminAudit } from './routes/admin/audit.tsx'
import { adminOutbox } from './routes/admin/outbox.tsx'
import { adminSites } from './routes/admin/sites.tsx'
import { adminIdentityProviders } from './routes/admin/identity-providers.tsx'
import { adminSiteApprovers } from './routes/admin/site-approvers.tsx'
import { adminTasks } from './routes/admin/tasks.tsx'
import { api } from './routes/api.tsx'

/**
 * POST routes exempt from the 64 KB body limit because they enforce their own: uploads stream and
 * enforce UPLOAD_MAX_MB; the consortium structure caps its body at 1 MB (routes/admin/consortium.tsx), the
 * consortium import at 20 MB per file (routes/admin/import.tsx).
 */
const uploadPaths = [/^\/api\/sites\/v1\/tasks\/[^/]+\/files$/, /^\/projects\/[^/]+\/models\/[^/]+\/files$/, /^\/admin\/consortium(?:\/apply)?$/, /^\/admin\/import$/]

const publicDir = relative(process.cwd(), join(PROJECT_ROOT, 'public')) || '.'

/** Builds the application; no I/O happens here, so tests build one per case. */
export function createApp(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>()

  app.use('*', async (c, next) => {
    c.set('deps', deps)
    const started = performance.now()
    await next()
    // Note: the route pattern is logged, never the path, so tokens in URLs stay out of logs.
    deps.log.info({ msg: 'request', method: c.req.method, route: c.req.routePath, status: c.res.status, ms: Math.round((performance.now() - started) * 10) / 10, ip: c.get('clientIp') })
  })
  app.use('*', clientIp(deps.config))
  app.use('*', securityHeaders(deps.config))
  app.use('*', noStore)
  app.use('/public/*', serveStatic({ root: publicDir, rewriteRequestPath: (p) => p.replace(/^\/public/, '') }))
  app.get('/favicon.ico', (c) => c.redirect('/public/favicon.svg', 301))
  app.use('*', originCheck(deps.config))
  app.use('*', formBodyLimit(uploadPaths))
  app.use('*', refuseMalformedForms(uploadPaths))
  app.use('*', writeGate)
  app.use('*', loadSession)

  app.route('/', health)
  app.route('/', login)
  app.route('/', oidc)
  app.route('/', mfa)
  app.route('/', recoveryCodeRoutes)
  app.route('/', passkeyRoutes)
  app.route('/', password)
  app.route('/', home)
  app.route('/', accountNotifications)
  app.route('/', accountIdentities)
  app.route('/', accountIdentityLink)
  app.route('/', account)
  app.route('/', accountTotp)
  app.route('/', invite)
  app.route('/', projectRoutes)
  app.route('/', siteDecisionRoutes)
  app.route('/', approvalRoutes)
  app.route('/', projectModels)
  app.route('/', adminHome)
  app.route('/', adminUsersBulk) // before adminUsers: /admin/users/bulk is not /admin/users/:id
  app.route('/', adminUsers)
  app.route('/', adminRoles)
  app.route('/', adminGroups)
  app.route('/', adminConsortium)
  app.route('/', adminImport)
  app.route('/', adminInvitations)
  app.route('/', adminSettings)
  app.route('/', adminAudit)
  app.route('/', adminOutbox)
  app.route('/', adminSites)
  app.route('/', adminIdentityProviders)
  app.route('/', adminSiteApprovers)
  app.route('/', adminTasks)
  app.route('/', api)

  app.notFound((c) => notFoundPage(c))
  app.onError((error, c) => handleUnexpectedError(c, error))
  return app
}
