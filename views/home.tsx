import { Page, type PageChrome } from './layouts/page.tsx'
import { Card } from './components/form.tsx'
import { DateTime } from './components/time.tsx'
import { SessionsTable } from './components/sessions-table.tsx'
import type { Session, User } from '../src/db/schema.ts'

export function HomePage(props: { chrome: PageChrome; user: User; sessions: Session[]; currentSessionId: string }) {
  const { user } = props
  return (
    <Page title="Home" chrome={props.chrome}>
      <h1>Welcome{user.firstName ? `, ${user.firstName}` : ''}</h1>
      {props.chrome.viewer?.canAdminister && (
        <p>
          <a href="/admin">Open the admin area</a> to manage users, the outbox and the audit log.
        </p>
      )}
      <Card title="Your account">
        <dl class="facts">
          <dt>Email</dt>
          <dd>{user.email}</dd>
          <dt>Role</dt>
          <dd>{user.role}</dd>
          <dt>Authenticator</dt>
          <dd>
            enrolled <DateTime ms={user.mfaEnrolledAt} />
          </dd>
          <dt>Password changed</dt>
          <dd>
            <DateTime ms={user.passwordChangedAt} />
          </dd>
        </dl>
        <p>
          <a href="/account">Your account</a>: name, password, authenticator, passkeys, recovery codes, sessions and email settings
        </p>
      </Card>
      <Card title="Where you are signed in">
        <SessionsTable sessions={props.sessions} currentId={props.currentSessionId} />
      </Card>
    </Page>
  )
}
