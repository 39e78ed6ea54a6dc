import { Page, type PageChrome } from '../layouts/page.tsx'
import { DateTime } from '../components/time.tsx'
import type { OutboxMessage } from '../../src/db/schema.ts'

const LABELS: Record<string, string> = { queued: 'Waiting', sent: 'Sent', failed: 'Failed', logged: 'Printed (no SMTP)' }

export function OutboxPage(props: { chrome: PageChrome; status: string; counts: Record<string, number>; page: { messages: OutboxMessage[]; nextBefore: number | null }; smtpConfigured: boolean }) {
  return (
    <Page title="Outbox" chrome={props.chrome}>
      <p>
        <a href="/admin">← Admin</a>
      </p>
      <h1>Email outbox</h1>
      {!props.smtpConfigured && <p class="flash flash-info">No SMTP_URL is set: messages are printed on the server console and kept here.</p>}
      <nav class="admin-nav" aria-label="Filter by status">
        <a href="/admin/outbox" aria-current={props.status === '' ? 'page' : undefined}>
          All
        </a>
        {Object.keys(LABELS).map((s) => (
          <a href={`/admin/outbox?status=${s}`} aria-current={props.status === s ? 'page' : undefined}>
            {LABELS[s]} ({props.counts[s] ?? 0})
          </a>
        ))}
      </nav>
      <div class="table-scroll">
        <table>
          <thead>
            <tr>
              <th scope="col">Queued</th>
              <th scope="col">To</th>
              <th scope="col">Subject</th>
              <th scope="col">Status</th>
              <th scope="col">Attempts</th>
              <th scope="col">Next try</th>
              <th scope="col">Last error</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {props.page.messages.map((m) => (
              <tr>
                <td>
                  <DateTime ms={m.createdAt} />
                </td>
                <td>{m.recipient}</td>
                <td>
                  {m.subject}
                  {m.bodyRemovedAt !== null && (
                    <>
                      <br />
                      <small class="muted">body removed (it carried a password, a link or a code)</small>
                    </>
                  )}
                </td>
                <td>
                  <span class="badge">{LABELS[m.status]}</span>
                  {m.sentAt && (
                    <>
                      <br />
                      <DateTime ms={m.sentAt} />
                    </>
                  )}
                </td>
                <td>{m.attempts}</td>
                <td>{m.status === 'queued' ? <DateTime ms={m.nextAttemptAt} /> : '—'}</td>
                <td class="details">{m.lastError ?? ''}</td>
                <td>
                  {m.status === 'failed' && m.bodyRemovedAt === null && (
                    <form method="post" action={`/admin/outbox/${m.id}/retry`} class="inline">
                      <button type="submit" class="secondary">
                        Send again
                      </button>
                    </form>
                  )}
                </td>
              </tr>
            ))}
            {props.page.messages.length === 0 && (
              <tr>
                <td colspan={8}>No messages.</td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      {props.page.nextBefore !== null && (
        <nav class="pager" aria-label="Pages">
          <span />
          <a href={`/admin/outbox?${new URLSearchParams({ ...(props.status ? { status: props.status } : {}), before: String(props.page.nextBefore) })}`}>Older →</a>
        </nav>
      )}
    </Page>
  )
}
