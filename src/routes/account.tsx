import { Hono, type Context } from 'hono'
import type { AppEnv } from '../http/context.ts'
import { requireUser, clearSessionCookie } from '../auth/middleware.ts'
import { readForm, checkTextFields, hasErrors, type FieldErrors } from '../http/forms.ts'
import { chrome } from '../http/page.ts'
import { redirectTo } from '../http/htmx.ts'
import { setFlash } from '../http/flash.ts'
import { notFoundPage } from '../http/errors.tsx'
import { AccountPage } from '../../views/account.tsx'
import { ConfirmPage } from '../../views/components/confirm.tsx'
import { listUserSessions } from '../auth/session.ts'
import { countUnusedRecoveryCodes } from '../auth/recovery-codes.ts'
import { summarizeUserAgent } from '../auth/user-agent.ts'
import { isOnlyWayIn, listUserIdentities } from '../models/user-identities.ts'
import { hasLocalPassword } from '../auth/local-password.ts'
import { signInProviderNames } from '../models/password-less.ts'
import { listPasskeys } from '../models/passkeys.ts'
import { listEnabledIdentityProviders } from '../models/identity-providers.ts'
import { listOwnSecurityEvents, revokeOtherOwnSessions, revokeOwnSession, updateOwnName, type SelfContext } from '../models/account.ts'

// GET /account and its own changes (SPEC §11): name, sessions. Recovery codes, the workflow-email
// setting and the authenticator replacement have their own route files (account-*.tsx).

export const account = new Hono<AppEnv>()

function selfContext(c: Context<AppEnv>): SelfContext {
  return { user: c.get('auth')!.user, now: c.get('deps').clock.now(), ip: c.get('clientIp') }
}

function renderAccountPage(c: Context<AppEnv>, form: { values?: Record<string, string>; errors?: FieldErrors } = {}, status: 200 | 422 = 200) {
  const { db } = c.get('deps')
  const { user, session } = c.get('auth')!
  const identities = listUserIdentities(db, user.id)
  return c.html(
    <AccountPage
      chrome={chrome(c)}
      user={user}
      sessions={listUserSessions(db, user.id)}
      currentSessionId={session.id}
      recoveryCodesLeft={countUnusedRecoveryCodes(db, user.id)}
      events={listOwnSecurityEvents(db, user.id)}
      identities={identities}
      passkeys={listPasskeys(db, user.id)}
      linkableProviders={listEnabledIdentityProviders(db).filter((p) => !identities.some((i) => i.providerId === p.id))}
      signInProviders={hasLocalPassword(user) ? null : signInProviderNames(db, user)}
      identityIsOnlyWayIn={isOnlyWayIn(user, identities.length)}
      values={form.values}
      errors={form.errors}
    />,
    status,
  )
}

account.get('/account', requireUser, (c) => renderAccountPage(c))

account.post('/account/profile', requireUser, async (c) => {
  const form = await readForm(c)
  const values = { first_name: form.get('first_name').normalize('NFC').trim(), last_name: form.get('last_name').normalize('NFC').trim() }
  const errors: FieldErrors = {
    first_name: values.first_name === '' ? 'Enter your first name.' : values.first_name.length > 100 ? 'At most 100 characters.' : undefined,
    last_name: values.last_name === '' ? 'Enter your last name.' : values.last_name.length > 100 ? 'At most 100 characters.' : undefined,
  }
  checkTextFields(errors, values)
  if (hasErrors(errors)) return renderAccountPage(c, { values, errors }, 422)
  const changed = updateOwnName(c.get('deps').db, { firstName: values.first_name, lastName: values.last_name }, selfContext(c))
  setFlash(c, 'success', changed ? 'Your name has been saved.' : 'Your name is unchanged.')
  return redirectTo(c, '/account')
})

account.post('/account/sessions/revoke-others', requireUser, async (c) => {
  const { db } = c.get('deps')
  const { user, session } = c.get('auth')!
  const others = listUserSessions(db, user.id).filter((s) => s.id !== session.id).length
  if ((await readForm(c)).get('confirm') !== 'yes') {
    return c.html(
      <ConfirmPage
        chrome={chrome(c)}
        title="Sign out everywhere else?"
        question={`Every other browser or device signed in to your account (${others === 1 ? '1 session' : `${others} sessions`}) is signed out at once. This browser stays signed in.`}
        button="Sign out everywhere else"
        action="/account/sessions/revoke-others"
        cancel="/account"
      />,
    )
  }
  const ended = revokeOtherOwnSessions(db, { ...selfContext(c), currentSessionId: session.id })
  setFlash(c, 'success', ended === 0 ? 'You were not signed in anywhere else.' : `Signed out everywhere else (${ended === 1 ? '1 session' : `${ended} sessions`} ended).`)
  return redirectTo(c, '/account')
})

account.post('/account/sessions/:id/revoke', requireUser, async (c) => {
  const { db } = c.get('deps')
  const { user, session } = c.get('auth')!
  const target = listUserSessions(db, user.id).find((s) => s.id === c.req.param('id'))
  if (!target) return notFoundPage(c) // another user's session, or one that has ended
  const current = target.id === session.id
  if ((await readForm(c)).get('confirm') !== 'yes') {
    return c.html(
      <ConfirmPage
        chrome={chrome(c)}
        title={current ? 'Sign out this browser?' : 'End this session?'}
        question={current ? 'You are signed out here and go back to the sign-in page.' : `${summarizeUserAgent(target.userAgent)} from ${target.ip || 'an unknown address'} is signed out at once.`}
        button={current ? 'Sign out' : 'End session'}
        action={`/account/sessions/${target.id}/revoke`}
        cancel="/account"
      />,
    )
  }
  const ended = revokeOwnSession(db, target.id, { ...selfContext(c), currentSessionId: session.id })
  if (!ended) return notFoundPage(c)
  if (current) {
    clearSessionCookie(c)
    setFlash(c, 'success', 'You have been signed out.')
    return redirectTo(c, '/login')
  }
  setFlash(c, 'success', 'Session ended.')
  return redirectTo(c, '/account')
})
