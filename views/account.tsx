import type { Child } from 'hono/jsx'
import { Page, type PageChrome } from './layouts/page.tsx'
import { Card, Field } from './components/form.tsx'
import { DateTime } from './components/time.tsx'
import { TableScroll } from './components/table-scroll.tsx'
import type { AuditEvent, Passkey, Session, User } from '../src/db/schema.ts'
import type { FieldErrors } from '../src/http/forms.ts'
import { RECOVERY_CODES_LOW } from '../src/auth/recovery-codes.ts'
import { summarizeUserAgent } from '../src/auth/user-agent.ts'
import { LinkedIdentitiesSection, type LinkableProvider } from './components/linked-identities.tsx'
import { PasskeysSection } from './components/passkeys.tsx'
import type { LinkedIdentity } from '../src/models/user-identities.ts'

// The account page (SPEC §11) is a column of sections (h2), each exported on its own; the second
// factors (authenticator app, passkeys at #passkeys, recovery codes) are h3 sections inside theirs.

export function ProfileSection(props: { user: User; values?: Record<string, string>; errors?: FieldErrors }) {
  const values = props.values ?? {}
  const errors = props.errors ?? {}
  return (
    <Card title="Profile">
      <dl class="facts">
        <dt>Email</dt>
        <dd>{props.user.email}</dd>
        {props.user.username && (
          <>
            <dt>Username</dt>
            <dd>{props.user.username}</dd>
          </>
        )}
        <dt>Role</dt>
        <dd>{props.user.role}</dd>
      </dl>
      <p class="hint">Your email address is how you sign in; an administrator can change it.</p>
      <form method="post" action="/account/profile" class="stack" id="profile">
        <Field name="first_name" label="First name" value={values.first_name ?? props.user.firstName} maxlength={100} error={errors.first_name} autocomplete="given-name" />
        <Field name="last_name" label="Last name" value={values.last_name ?? props.user.lastName} maxlength={100} error={errors.last_name} autocomplete="family-name" />
        <button type="submit">Save name</button>
      </form>
    </Card>
  )
}

/** `providers`: where an account without a Gatehouse password signs in (null: it has one). */
export function PasswordSection(props: { passwordChangedAt: number; providers: string[] | null }) {
  if (props.providers !== null) {
    const names = props.providers.length > 0 ? props.providers.join(', ') : 'your identity provider'
    return (
      <Card title="Password">
        <p id="account-no-password">
          Your account has no Gatehouse password: you sign in with <strong>{names}</strong>. To change the password you use there, go to {names}.
        </p>
      </Card>
    )
  }
  return (
    <Card title="Password">
      <p>
        Last changed <DateTime ms={props.passwordChangedAt} />. <a href="/password/change">Change your password</a>
      </p>
      <p class="hint">Changing it signs you out everywhere else.</p>
    </Card>
  )
}

/** The second factors: one AccountFactor per kind (authenticator app, recovery codes, …). */
export function SecondFactorsSection(props: { children: Child }) {
  return <Card title="Second factors">{props.children}</Card>
}

/** One kind of second factor inside SecondFactorsSection. */
export function AccountFactor(props: { title: string; id: string; children: Child }) {
  return (
    <section class="account-factor" aria-labelledby={`${props.id}-title`}>
      <h3 id={`${props.id}-title`}>{props.title}</h3>
      {props.children}
    </section>
  )
}

export function TotpFactor(props: { enrolledAt: number | null }) {
  return (
    <AccountFactor title="Authenticator app" id="factor-totp">
      <p>
        In use since <DateTime ms={props.enrolledAt} />.
      </p>
      <p>
        <a href="/account/totp">Replace authenticator</a> <span class="hint">(for a new phone or app: the current one stops working once the new one is confirmed)</span>
      </p>
    </AccountFactor>
  )
}

export function RecoveryCodesFactor(props: { left: number }) {
  const low = props.left <= RECOVERY_CODES_LOW
  return (
    <AccountFactor title="Recovery codes" id="factor-recovery-codes">
      <p id="account-recovery-codes-left">{props.left === 1 ? '1 unused recovery code is left.' : `${props.left} unused recovery codes are left.`}</p>
      {low && (
        <p class="note-warning" role="status">
          {props.left === 0 ? 'You have no recovery codes left' : 'You are running out of recovery codes'}: make new ones so that you can still sign in if you lose your authenticator.
        </p>
      )}
      <p>
        <a href="/account/recovery-codes">Make new recovery codes</a>
      </p>
    </AccountFactor>
  )
}

export function SessionsSection(props: { sessions: Session[]; currentId: string }) {
  const others = props.sessions.filter((s) => s.id !== props.currentId).length
  const sorted = [...props.sessions].sort((a, b) => (a.id === props.currentId ? -1 : b.id === props.currentId ? 1 : b.lastActiveAt - a.lastActiveAt))
  return (
    <Card title="Where you are signed in">
      <TableScroll label="Your sessions">
        <table id="account-sessions">
          <thead>
            <tr>
              <th scope="col">Browser</th>
              <th scope="col">IP</th>
              <th scope="col">Signed in</th>
              <th scope="col">Last seen</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {sorted.map((s) => (
              <tr>
                <td title={s.userAgent}>
                  {summarizeUserAgent(s.userAgent)} {s.id === props.currentId && <strong>(this browser)</strong>}
                </td>
                <td class="nowrap">{s.ip || '—'}</td>
                <td>
                  <DateTime ms={s.createdAt} />
                </td>
                <td>
                  <DateTime ms={s.lastActiveAt} />
                </td>
                <td>
                  <form method="post" action={`/account/sessions/${s.id}/revoke`} class="inline">
                    <button type="submit" class="link">
                      {s.id === props.currentId ? 'Sign out' : 'Revoke'}
                    </button>
                  </form>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableScroll>
      {others > 0 && (
        <form method="post" action="/account/sessions/revoke-others">
          <button type="submit" class="danger">
            Sign out everywhere else
          </button>
        </form>
      )}
    </Card>
  )
}

export function NotificationsSection(props: { workflowEmails: boolean }) {
  return (
    <Card title="Email notifications">
      <form method="post" action="/account/notifications" class="stack">
        <label>
          <input type="checkbox" name="workflow_emails" checked={props.workflowEmails} /> Workflow emails: projects awaiting your decision, site decisions on your projects, approval expiry reminders
        </label>
        <p class="hint">Security notices (password, second factor, sign-in lock) are always sent.</p>
        <button type="submit">Save email setting</button>
      </form>
    </Card>
  )
}

const EVENT_LABELS: Record<string, string> = {
  'signin.succeeded': 'Signed in',
  'signin.failed': 'Failed sign-in',
  'signin.locked': 'Sign-in locked after failed attempts',
  'signin.refused': 'Sign-in refused',
  signout: 'Signed out',
  'password.changed': 'Password changed',
  'password.reset': 'Password reset through an emailed link',
  'password.reset_requested': 'Password reset link requested',
  'password.reset_throttled': 'Password reset link refused (too many)',
  'password.reset_by_admin': 'Temporary password issued by an administrator',
  'mfa.enrolled': 'Authenticator app added',
  'mfa.replaced': 'Authenticator app replaced',
  'mfa.reset': 'Second factors reset by an administrator',
  'recovery_code.used': 'Recovery code used',
  'recovery_codes.issued': 'New recovery codes made',
  'session.revoked': 'Session ended',
  'session.revoked_others': 'Signed out everywhere else',
  'identity.linked': 'Identity linked',
  'identity.unlinked': 'Identity unlinked',
  'user.disabled': 'Account disabled',
  'user.enabled': 'Account enabled',
  'user.unlocked': 'Sign-in unlocked by an administrator',
  'user.role_changed': 'Role changed',
}

export function SecurityEventsSection(props: { events: AuditEvent[]; selfId: number }) {
  return (
    <Card title="Recent security events">
      {props.events.length === 0 ? (
        <p>None yet.</p>
      ) : (
        <TableScroll label="Recent security events">
          <table id="account-events">
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Event</th>
                <th scope="col">IP</th>
              </tr>
            </thead>
            <tbody>
              {props.events.map((e) => (
                <tr>
                  <td>
                    <DateTime ms={e.at} />
                  </td>
                  <td>
                    {EVENT_LABELS[e.event] ?? e.event}
                    {e.actorId !== null && e.actorId !== props.selfId && <span class="hint"> (by {e.actorEmail})</span>}
                  </td>
                  <td class="nowrap">{e.ip || '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableScroll>
      )}
      <p class="hint">The last 50 events concerning your account. If you see one you do not recognise, change your password and tell your administrator.</p>
    </Card>
  )
}

export type AccountPageProps = {
  chrome: PageChrome
  user: User
  sessions: Session[]
  currentSessionId: string
  recoveryCodesLeft: number
  events: AuditEvent[]
  passkeys: Passkey[]
  /** The person's linked identities and the enabled providers they have not linked (the section shows when either exists). */
  identities: LinkedIdentity[]
  linkableProviders: LinkableProvider[]
  /** An account without a Gatehouse password: the providers it signs in with (null when it has a password). */
  signInProviders: string[] | null
  /** No Gatehouse password and one linked identity: that identity cannot be unlinked. */
  identityIsOnlyWayIn: boolean
  values?: Record<string, string>
  errors?: FieldErrors
}

export function AccountPage(props: AccountPageProps) {
  const { user } = props
  return (
    <Page title="Your account" chrome={props.chrome}>
      <h1>Your account</h1>
      <ProfileSection user={user} values={props.values} errors={props.errors} />
      <PasswordSection passwordChangedAt={user.passwordChangedAt} providers={props.signInProviders} />
      <SecondFactorsSection>
        <TotpFactor enrolledAt={user.mfaEnrolledAt} />
        <PasskeysSection passkeys={props.passkeys} />
        <RecoveryCodesFactor left={props.recoveryCodesLeft} />
      </SecondFactorsSection>
      <SessionsSection sessions={props.sessions} currentId={props.currentSessionId} />
      {(props.identities.length > 0 || props.linkableProviders.length > 0) && <LinkedIdentitiesSection identities={props.identities} providers={props.linkableProviders} returnTo="/account" onlyWayIn={props.identityIsOnlyWayIn} />}
      <NotificationsSection workflowEmails={user.workflowEmails} />
      <SecurityEventsSection events={props.events} selfId={user.id} />
    </Page>
  )
}
