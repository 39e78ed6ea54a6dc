import { Hono, type Context } from 'hono'
import { sql } from 'drizzle-orm'
import type { AppEnv } from '../http/context.ts'
import { publicPage, setSessionCookie } from '../auth/middleware.ts'
import { readForm, hasErrors, checkTextFields, normalizePassword, type FieldErrors, type FormData } from '../http/forms.ts'
import { getIdentityProviderById, listEnabledIdentityProviders } from '../models/identity-providers.ts'
import { renderErrorPage } from '../http/errors.tsx'
import { startOidcFlow } from './oidc-flow.tsx'
import { chrome } from '../http/page.ts'
import { redirectTo } from '../http/htmx.ts'
import { limitByIp } from '../http/ip-limit.ts'
import { setFlash } from '../http/flash.ts'
import { InviteDeadEndPage, InviteFormPage, InviteVerifyPage } from '../../views/invite.tsx'
import { getInvitationByToken, invitationStatus, markInvitationVisited, startInvitationAcceptance, verifyInvitationSecurityToken } from '../models/invitations.ts'
import { checkPasswordPolicy, hashPassword } from '../auth/password.ts'
import { createSession } from '../auth/session.ts'
import { users, type Invitation } from '../db/schema.ts'
import { SendLimitReached, SENDS_PER_HOUR } from '../auth/send-limits.ts'
import { concludeSucceededAttempt } from '../auth/rate-limit.ts'
import { beginAttempt, recordFailure } from './login.tsx'

export const invite = new Hono<AppEnv>()

export const USERNAME_PATTERN = /^[A-Za-z0-9_-]{2,20}$/

const DEAD_ENDS = {
  unknown: { title: 'This invitation link is not valid', message: 'Check that you copied the whole link from the email. If it still does not work, ask your Gatehouse administrator for a new invitation.', status: 404 },
  expired: { title: 'This invitation has expired', message: 'Invitation links work for a limited time. Ask your Gatehouse administrator to send you a new invitation.', status: 410 },
  accepted: { title: 'This invitation has already been used', message: 'The account has been created. Sign in with its email address and password, or with the identity provider it was created through.', status: 410 },
  revoked: { title: 'This invitation was withdrawn', message: 'An administrator has cancelled it. Ask your Gatehouse administrator for a new invitation if you still need one.', status: 410 },
} as const

/** The live invitation for the URL's token, or the dead-end page that says why there is none. */
function loadLiveInvitation(c: Context<AppEnv>): { invitation: Invitation } | { response: Response | Promise<Response> } {
  const invitation = getInvitationByToken(c.get('deps').db, c.get('deps').config.encryptionKey, c.req.param('token') ?? '')
  const status = invitation ? invitationStatus(invitation, c.get('deps').clock.now()) : 'unknown'
  if (invitation && (status === 'sent' || status === 'link visited')) return { invitation }
  const end = DEAD_ENDS[status as keyof typeof DEAD_ENDS]
  return { response: c.html(<InviteDeadEndPage chrome={chrome(c)} title={end.title} message={end.message} />, end.status) }
}

/** The names and username of the acceptance form, checked as both ways of accepting need them. */
function checkAnswers(c: Context<AppEnv>, form: FormData): { values: { first_name: string; last_name: string; username: string }; errors: FieldErrors } {
  const { db } = c.get('deps')
  const values = { first_name: form.get('first_name').trim(), last_name: form.get('last_name').trim(), username: form.get('username').trim() }
  const usernameTaken = USERNAME_PATTERN.test(values.username) && db.select({ id: users.id }).from(users).where(sql`lower(${users.username}) = lower(${values.username})`).get()
  const errors: FieldErrors = {
    first_name: values.first_name === '' ? 'Enter your first name.' : values.first_name.length > 100 ? 'At most 100 characters.' : undefined,
    last_name: values.last_name === '' ? 'Enter your last name.' : values.last_name.length > 100 ? 'At most 100 characters.' : undefined,
    username: !USERNAME_PATTERN.test(values.username) ? '2 to 20 letters, digits, “_” or “-”.' : usernameTaken ? 'This username is taken; choose another.' : undefined,
  }
  checkTextFields(errors, values)
  return { values, errors }
}

function ctxOf(c: Context<AppEnv>) {
  return { actor: null, now: c.get('deps').clock.now(), ip: c.get('clientIp') }
}

invite.get('/invite/:token', publicPage, (c) => {
  const live = loadLiveInvitation(c)
  if ('response' in live) return live.response
  markInvitationVisited(c.get('deps').db, live.invitation, ctxOf(c))
  return c.html(<InviteFormPage chrome={chrome(c)} action={c.req.path} email={live.invitation.email} values={{ first_name: live.invitation.firstName ?? '', last_name: live.invitation.lastName ?? '' }} errors={{}} minLength={c.get('deps').config.passwordMinLength} providers={listEnabledIdentityProviders(c.get('deps').db)} />)
})

invite.post('/invite/:token', publicPage, async (c) => {
  const limited = limitByIp(c)
  if (limited) return limited
  const live = loadLiveInvitation(c)
  if ('response' in live) return live.response
  const { invitation } = live
  const { db, config } = c.get('deps')
  const form = await readForm(c)
  const { values, errors } = checkAnswers(c, form)
  const password = normalizePassword(form.get('password'))
  const policy = checkPasswordPolicy(password, { minLength: config.passwordMinLength, email: invitation.email, username: values.username, forbiddenWords: ['gatehouse', config.siteName] })
  errors.password = policy ?? undefined
  errors.confirm_password = !policy && normalizePassword(form.get('confirm_password')) !== password ? 'The two passwords do not match.' : undefined
  if (hasErrors(errors)) return c.html(<InviteFormPage chrome={chrome(c)} action={c.req.path} email={invitation.email} values={values} errors={errors} minLength={config.passwordMinLength} providers={listEnabledIdentityProviders(db)} />, 422)
  const passwordHash = await hashPassword(password)
  let tabBinding: string
  try {
    ;({ tabBinding } = startInvitationAcceptance(db, invitation, { firstName: values.first_name, lastName: values.last_name, username: values.username, passwordHash }, { ...ctxOf(c), key: config.encryptionKey }))
  } catch (error) {
    if (!(error instanceof SendLimitReached)) throw error
    return c.html(<InviteDeadEndPage chrome={chrome(c)} title="Too many security codes" message={`At most ${SENDS_PER_HOUR} security codes are emailed for an invitation in an hour. Use the newest code you received, or try again in an hour.`} />, 429)
  }
  c.get('deps').onEmailQueued?.()
  // Note: answered directly, not redirected: the tab binding exists only in this page.
  return c.html(<InviteVerifyPage chrome={chrome(c)} action={`${c.req.path}/verify`} email={invitation.email} tabBinding={tabBinding} />)
})

// "Accept with <provider>": the same answers without a password; the provider's verified email
// proves the address (instead of the emailed security code) at the callback (routes/oidc-claims.tsx).
invite.post('/invite/:token/oidc', publicPage, async (c) => {
  const limited = limitByIp(c)
  if (limited) return limited
  const live = loadLiveInvitation(c)
  if ('response' in live) return live.response
  const { invitation } = live
  const { db, config } = c.get('deps')
  const form = await readForm(c)
  const providerId = Number(form.get('provider_id'))
  const provider = Number.isInteger(providerId) && providerId > 0 ? getIdentityProviderById(db, providerId) : null
  if (provider === null || !provider.enabled) return renderErrorPage(c, 404, 'Not found', 'This way of signing in is not offered.')
  const { values, errors } = checkAnswers(c, form)
  if (hasErrors(errors)) return c.html(<InviteFormPage chrome={chrome(c)} action={c.req.path.replace(/\/oidc$/, '')} email={invitation.email} values={values} errors={errors} minLength={config.passwordMinLength} providers={listEnabledIdentityProviders(db)} />, 422)
  return startOidcFlow(c, provider, { returnTo: '/', fromForm: true, purpose: { kind: 'invite', invitationId: invitation.id, firstName: values.first_name, lastName: values.last_name, username: values.username } })
})

invite.post('/invite/:token/verify', publicPage, async (c) => {
  const limited = limitByIp(c)
  if (limited) return limited
  const live = loadLiveInvitation(c)
  if ('response' in live) return live.response
  const { invitation } = live
  const { db } = c.get('deps')
  const form = await readForm(c)
  const tabBinding = form.get('tab')
  const restart = `/invite/${c.req.param('token')}`
  // the code is a secret of the invited address: its attempts share the sign-in lockout (counted before checking)
  const refused = beginAttempt(c, invitation.email)
  if (refused) return refused
  const outcome = verifyInvitationSecurityToken(db, invitation, { code: form.get('security_token'), tabBinding }, { ...ctxOf(c), key: c.get('deps').config.encryptionKey })
  if (!outcome.ok && outcome.reason === 'wrong') recordFailure(c, invitation.email, null, 'invitation security code')
  else concludeSucceededAttempt(db, invitation.email, c.get('deps').clock.now())
  if (outcome.ok) {
    const { token } = createSession(db, { userId: outcome.user.id, now: c.get('deps').clock.now(), mfaVerified: false, ip: c.get('clientIp'), userAgent: c.req.header('User-Agent') ?? '' })
    setSessionCookie(c, token)
    c.get('deps').onEmailQueued?.()
    return redirectTo(c, '/mfa/setup')
  }
  const verifyAgain = (error: string, status: 422) => c.html(<InviteVerifyPage chrome={chrome(c)} action={c.req.path} email={invitation.email} tabBinding={tabBinding} error={error} />, status)
  const deadEnd = (title: string, message: string, status: 403 | 409 | 410 | 429) => c.html(<InviteDeadEndPage chrome={chrome(c)} title={title} message={message} restartUrl={restart} />, status)
  switch (outcome.reason) {
    case 'wrong':
      return verifyAgain(`That code is not right. ${outcome.remaining} ${outcome.remaining === 1 ? 'try' : 'tries'} left.`, 422)
    case 'locked':
      return deadEnd('Too many wrong codes', 'The security code is locked after 5 wrong entries. Open the invitation link again to get a new code.', 429)
    case 'other tab':
      return deadEnd('Use the tab where you filled in the form', 'The security code only works in the browser tab where you filled in the invitation form. Go back to that tab, or open the invitation link again to start over.', 403)
    case 'expired':
      return deadEnd('The security code has expired', 'Security codes are valid for 60 minutes. Open the invitation link again to get a new one.', 410)
    case 'username taken':
      return deadEnd('That username was taken meanwhile', 'Someone else took the username you chose. Open the invitation link again and choose another.', 409)
    case 'email taken':
      return c.html(<InviteDeadEndPage chrome={chrome(c)} title="An account with this address exists already" message="Someone created an account for this email address after the invitation was sent. Sign in with it, or use “Forgot your password?” on the sign-in page." />, 409)
    case 'closed':
      return c.html(<InviteDeadEndPage chrome={chrome(c)} title="This invitation has already been used" message="The invitation was accepted or withdrawn meanwhile. Sign in, or ask your Gatehouse administrator for a new invitation." />, 410)
    case 'no token':
      setFlash(c, 'info', 'The invitation was opened again (perhaps in another tab), which started the form again and cancelled the earlier code. Fill in the form once more to get a new code.')
      return redirectTo(c, restart)
  }
})
