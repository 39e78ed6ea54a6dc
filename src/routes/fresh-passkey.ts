import type { Context } from 'hono'
import type { AppEnv } from '../http/context.ts'
import { clearSessionCookie } from '../auth/middleware.ts'
import { invalidateSession } from '../auth/session.ts'
import { bindingFor, findAssertedPasskey, verifyPasskeyAssertion } from '../auth/webauthn.ts'
import { recordFailure, throttledPage } from './login.tsx'

// A fresh passkey assertion as the fresh second factor of a signed-in user (regenerating recovery
// codes, replacing the authenticator). The form's hidden `passkey_assertion` holds the JSON
// assertion public/passkeys.js obtained for a challenge from POST /account/passkeys/assertion-options
// (purpose 'reauth', bound to this session, single use). The caller has counted the attempt
// (beginAttempt); a refusal here is a failed attempt like a wrong code.

export const FRESH_PASSKEY_REFUSED = 'The passkey could not be verified. Try again, or use your authenticator code.'

/**
 * 'ok' when the assertion is by one of this user's passkeys, for a live reauth challenge of this
 * session, with a counter that moved; 'refused' (counted) otherwise; or the lockout page when this
 * failure locked sign-in (the session has then ended). `where` names the action in the audit log.
 */
export async function checkFreshPasskey(c: Context<AppEnv>, raw: string, where: string): Promise<'ok' | 'refused' | Response> {
  const { db, clock, config } = c.get('deps')
  const { user, session } = c.get('auth')!
  let response: unknown = null
  try {
    response = raw.length <= 16_384 ? JSON.parse(raw) : null
  } catch {
    response = null
  }
  const found = findAssertedPasskey(db, response)
  const passkey = found !== null && found.userId === user.id ? found : null
  const outcome =
    passkey === null
      ? ({ ok: false, reason: 'invalid' } as const)
      : await verifyPasskeyAssertion(db, config, { response, passkey, user, purpose: 'reauth', binding: bindingFor({ sessionId: session.id }), requireUserVerification: false, now: clock.now(), ip: c.get('clientIp') })
  if (outcome.ok) return 'ok'
  if (recordFailure(c, user.email, user.id, `passkey ${outcome.reason === 'replayed' ? 'replayed' : 'invalid'} (${where})`)) {
    invalidateSession(db, session.id)
    clearSessionCookie(c)
    return throttledPage(c, { allowed: false, locked: true, retryAfterSeconds: config.lockoutMinutes * 60 })
  }
  return 'refused'
}
