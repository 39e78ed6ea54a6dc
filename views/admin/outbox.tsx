import { Page, type PageChrome } from '../layouts/page.tsx'
import { DateTime } from '../components/time.tsx'
import type { OutboxMessage } from '../../src/db/schema.ts'
import { TableScroll } from '../components/table-scroll.tsx'

const LABELS: Record<string, string> = { queued: 'Waiting', sent: 'Sent', failed: 'Failed', logged: 'Printed (no SMTP)' }

function countLine(total: number, shown: number): string {
  const all = total === 1 ? '1 message' : `${total.toLocaleString('en-GB')} messages`
  return shown < total ? `${all}, ${shown} on this page, newest first.` : `${all}.`
}

function statusQuery(status: string): string {
  return status in LABELS ? `?status=${status}` : ''
}

/** `before` is the keyset cursor of this page (null on the newest page). */
export function OutboxPage(props: { chrome: PageChrome; status: string; counts: Record<string, number>; page: { messages: OutboxMessage[]; nextBefore: number | null }; before: number | null; smtpConfigured: boolean }) {
  return (
    <Page title="Outbox" chrome={props.chrome}>
      <p>
        <a href="/admin">← Admin</a>
      </p>
      <h1>Email outbox</h1>
      {!props.smtpConfigured && <p class="flash flash-info">No SMTP_URL is set: messages are printed on the server console and kept here.</p>}
      <nav class="facets flat" aria-label="Filter by status">
        <a href="/admin/outbox" aria-current={props.status === '' ? 'page' : undefined}>
          All
        </a>
        {Object.keys(LABELS).map((s) => (
          <a href={`/admin/outbox?status=${s}`} aria-current={props.status === s ? 'page' : undefined}>
            {LABELS[s]} ({props.counts[s] ?? 0})
          </a>
        ))}
      </nav>
      <p class="muted">{countLine(props.status in LABELS ? (props.counts[props.status] ?? 0) : Object.values(props.counts).reduce((a, b) => a + b, 0), props.page.messages.length)}</p>
      <TableScroll label="Messages">
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
                  <a href={`/admin/outbox/${m.id}`}>{m.subject}</a>
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
      </TableScroll>
      {(props.before !== null || props.page.nextBefore !== null) && (
        <nav class="pager" aria-label="Pages">
          {props.before !== null ? <a href={`/admin/outbox${statusQuery(props.status)}`}>Newest</a> : <span />}
          {props.page.nextBefore !== null ? <a href={`/admin/outbox?${new URLSearchParams({ ...(props.status ? { status: props.status } : {}), before: String(props.page.nextBefore) })}`}>Older →</a> : <span />}
        </nav>
      )}
    </Page>
  )
}

/** `bodyKept` is false once the outbox no longer keeps the message's text (blanked after delivery). */
export function OutboxMessagePage(props: { chrome: PageChrome; message: OutboxMessage; bodyKept: boolean }) {
  const m = props.message
  return (
    <Page title={`Email: ${m.subject}`} chrome={props.chrome}>
      <p>
        <a href={`/admin/outbox${statusQuery(m.status)}`}>← Outbox</a>
      </p>
      <h1>{m.subject}</h1>
      <section class="card">
        <dl class="facts">
          <dt>To</dt>
          <dd>{m.recipient}</dd>
          <dt>Status</dt>
          <dd>
            <span class="badge">{LABELS[m.status]}</span>
          </dd>
          <dt>Attempts</dt>
          <dd>{m.attempts}</dd>
          <dt>Queued</dt>
          <dd>
            <DateTime ms={m.createdAt} />
          </dd>
          {m.status === 'queued' && (
            <>
              <dt>Next try</dt>
              <dd>
                <DateTime ms={m.nextAttemptAt} />
              </dd>
            </>
          )}
          <dt>Sent</dt>
          <dd>
            <DateTime ms={m.sentAt} />
          </dd>
          <dt>Last error</dt>
          <dd>{m.lastError ?? '—'}</dd>
        </dl>
        {m.status === 'failed' && m.bodyRemovedAt === null && (
          <form method="post" action={`/admin/outbox/${m.id}/retry`}>
            <button type="submit" class="secondary">
              Send again
            </button>
          </form>
        )}
      </section>
      <section class="card" aria-labelledby="body-h">
        <h2 id="body-h">Text of the message</h2>
        {props.bodyKept ? <pre class="body">{m.textBody}</pre> : <p class="muted">Body removed after delivery.</p>}
      </section>
    </Page>
  )
}
