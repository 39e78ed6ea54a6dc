import type { Config } from '../config.ts'
import type { Db } from '../db/client.ts'
import type { Session, User } from '../db/schema.ts'
import type { CurrentUser } from '../models/roles.ts'
import type { TokenBucketLimiter } from '../auth/rate-limit.ts'

export type Clock = { now(): number }
export type Logger = { info(record: Record<string, unknown>): void; error(record: Record<string, unknown>): void }

/** Everything a request handler may touch; built once by server.ts, or by a test. */
export type AppDeps = {
  config: Config
  db: Db
  clock: Clock
  log: Logger
  ipLimiter: TokenBucketLimiter
  /** Set by server.ts; shuttingDown turns /readyz to 503 while in-flight requests finish. */
  lifecycle?: { shuttingDown: boolean }
  /** Called after a commit that queued email, to deliver it promptly. */
  onEmailQueued?: () => void
  /** How long a writing request waits, without blocking, for another connection's write lock (default 60 s; see http/write-gate.ts). */
  writeWaitMs?: number
}

export type SignedIn = { user: User; session: Session }

export type AppEnv = {
  Variables: {
    deps: AppDeps
    /** The session cookie's session and user, at whatever step of sign-in; null when none. */
    auth: SignedIn | null
    /** Set by requireUser: a fully signed-in user with their site permissions, resolved for this request. */
    actor: CurrentUser
    clientIp: string
  }
}
