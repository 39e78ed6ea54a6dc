import { AuditTable } from '../components/audit-table.tsx'
import { Page, type PageChrome } from '../layouts/page.tsx'
import { Card } from '../components/form.tsx'
import { DateTime } from '../components/time.tsx'
import type { AdminSummary } from '../../src/models/dashboard.ts'
import { BarChart } from '../components/bar-chart.tsx'

export function AdminHomePage(props: { chrome: PageChrome; summary: AdminSummary }) {
  const { users, outbox, recentEvents, invitations, projectsAwaitingDecision, signInsPerDay } = props.summary
  return (
    <Page title="Admin" chrome={props.chrome}>
      <h1>Admin</h1>
      <div class="tiles">
        <Card title="Users">
          <dl class="facts">
            <dt>Accounts</dt>
            <dd>{users.total}</dd>
            <dt>Admins</dt>
            <dd>{users.admins}</dd>
            <dt>Disabled</dt>
            <dd>{users.disabled}</dd>
            <dt>Authenticator not enrolled</dt>
            <dd>{users.withoutMfa}</dd>
            <dt>Must change password</dt>
            <dd>{users.mustChangePassword}</dd>
            <dt>Locked out now</dt>
            <dd class={users.locked > 0 ? 'bad' : undefined}>{users.locked}</dd>
          </dl>
          <a href="/admin/users">Manage users</a>
        </Card>
        <Card title="Waiting on someone">
          <dl class="facts">
            <dt>Invitations outstanding</dt>
            <dd>{invitations.outstanding}</dd>
            <dt>Invitations expired</dt>
            <dd>{invitations.expired}</dd>
            <dt>Projects awaiting site decisions</dt>
            <dd>{projectsAwaitingDecision}</dd>
          </dl>
          <a href="/admin/invitations">Invitations</a>
        </Card>
        <Card title="Email outbox">
          <dl class="facts">
            <dt>Waiting to send</dt>
            <dd>{outbox.queued}</dd>
            <dt>Sent</dt>
            <dd>{outbox.sent}</dd>
            <dt>Failed after retries</dt>
            <dd class={outbox.failed > 0 ? 'bad' : undefined}>{outbox.failed}</dd>
            <dt>Printed to the console (no SMTP)</dt>
            <dd>{outbox.logged}</dd>
          </dl>
          <a href="/admin/outbox">Open the outbox</a>
        </Card>
      </div>
      <Card title="Sign-ins">
        <BarChart title="Successful sign-ins per day, last 30 days" points={signInsPerDay.map((d) => ({ label: d.day, value: d.count }))} />
      </Card>
      <Card title="Recent audit events">
        <AuditTable events={recentEvents} />
      </Card>
    </Page>
  )
}
