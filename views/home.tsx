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
          <a href="/password/change">Change your password</a> · <a href="/account/recovery-codes">Recovery codes</a> · <a href="/account/passkeys">Passkeys</a>
        </p>
      </Card>
      <Card title="Email notifications">
        <form method="post" action="/account/notifications" class="stack">
          <label>
            <input type="checkbox" name="workflow_emails" checked={user.workflowEmails} /> Workflow emails: projects awaiting your decision, site decisions on your projects, approval expiry reminders
          </label>
          <p class="hint">Security notices (password, second factor, sign-in lock) are always sent.</p>
          <button type="submit">Save email setting</button>
        </form>
      </Card>
      <Card title="Where you are signed in">
        <SessionsTable sessions={props.sessions} currentId={props.currentSessionId} />
      </Card>
    </Page>
  )
}
