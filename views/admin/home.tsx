import { AuditTable } from '../components/audit-table.tsx'
import { Page, type PageChrome } from '../layouts/page.tsx'
import { Card } from '../components/form.tsx'
import { DateTime } from '../components/time.tsx'
import type { AdminSummary } from '../../src/models/dashboard.ts'
import type { AuditTargetName } from '../../src/models/audit-log.ts'
import { BarChart } from '../components/bar-chart.tsx'

/** A count that links to the list filtered to what it counts; the hidden text names what is counted for screen readers. */
function CountLink(props: { href: string; n: number; what: string }) {
  return (
    <a href={props.href}>
      {props.n}
      <span class="visually-hidden"> {props.what}</span>
    </a>
  )
}


export function AdminHomePage(props: { chrome: PageChrome; summary: AdminSummary; eventTargets: Map<string, AuditTargetName> }) {
  const { users, outbox, recentEvents, invitations, projectsAwaitingDecision, signInsPerDay } = props.summary
  return (
    <Page title="Admin" chrome={props.chrome}>
      <h1>Admin</h1>
      <div class="tiles">
        <Card title="Users">
          <dl class="facts">
            <dt>Accounts</dt>
            <dd>
              <CountLink href="/admin/users" n={users.total} what="accounts" />
            </dd>
            <dt>Admins</dt>
            <dd>
              <CountLink href="/admin/users?status=admins" n={users.admins} what="admins" />
            </dd>
            <dt>Disabled</dt>
            <dd>
              <CountLink href="/admin/users?status=disabled" n={users.disabled} what="disabled" />
            </dd>
            <dt>Authenticator not enrolled</dt>
            <dd>
              <CountLink href="/admin/users?status=mfa_not_enrolled" n={users.withoutMfa} what="without an authenticator" />
            </dd>
            <dt>Must change password</dt>
            <dd>
              <CountLink href="/admin/users?status=must_change_password" n={users.mustChangePassword} what="must change password" />
            </dd>
            <dt>Locked out now</dt>
            <dd class={users.locked > 0 ? 'bad' : undefined}>
              <CountLink href="/admin/users?status=locked" n={users.locked} what="locked out now" />
            </dd>
          </dl>
          <a href="/admin/users">Manage users</a>
        </Card>
        <Card title="Waiting on someone">
          <dl class="facts">
            <dt>Invitations outstanding</dt>
            <dd>
              <CountLink href="/admin/invitations?state=outstanding" n={invitations.outstanding} what="invitations outstanding" />
            </dd>
            <dt>Invitations expired</dt>
            <dd>
              <CountLink href="/admin/invitations?state=expired" n={invitations.expired} what="invitations expired" />
            </dd>
            <dt>Projects awaiting site decisions</dt>
            <dd>
              <CountLink href="/projects?awaiting=1" n={projectsAwaitingDecision} what="projects awaiting site decisions" />
            </dd>
          </dl>
          <a href="/admin/invitations">Invitations</a>
        </Card>
        <Card title="Email outbox">
          <dl class="facts">
            <dt>Waiting to send</dt>
            <dd>
              <CountLink href="/admin/outbox?status=queued" n={outbox.queued} what="waiting to send" />
            </dd>
            <dt>Sent</dt>
            <dd>
              <CountLink href="/admin/outbox?status=sent" n={outbox.sent} what="sent" />
            </dd>
            <dt>Failed after retries</dt>
            <dd class={outbox.failed > 0 ? 'bad' : undefined}>
              <CountLink href="/admin/outbox?status=failed" n={outbox.failed} what="failed after retries" />
            </dd>
            <dt>Printed to the console (no SMTP)</dt>
            <dd>
              <CountLink href="/admin/outbox?status=logged" n={outbox.logged} what="printed to the console" />
            </dd>
          </dl>
          <a href="/admin/outbox">Open the outbox</a>
        </Card>
      </div>
      <Card title="Sign-ins">
        <BarChart title="Successful sign-ins per day, last 30 days" points={signInsPerDay.map((d) => ({ label: d.day, value: d.count }))} />
        <a href={`/admin/audit?${new URLSearchParams({ event: 'signin.succeeded', from: signInsPerDay[0]?.day ?? '', to: signInsPerDay.at(-1)?.day ?? '' })}`}>These sign-ins in the audit log</a>
      </Card>
      <Card title="Recent audit events">
        <AuditTable events={recentEvents} targets={props.eventTargets} />
      </Card>
    </Page>
  )
}
