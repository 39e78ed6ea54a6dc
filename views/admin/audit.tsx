import { AuditTable } from '../components/audit-table.tsx'
import { Page, type PageChrome } from '../layouts/page.tsx'
import { DateTime } from '../components/time.tsx'
import type { AuditEvent } from '../../src/db/schema.ts'
import type { AuditFilter, AuditTargetName } from '../../src/models/audit-log.ts'
import type { StoredAuditCheck } from '../../src/models/audit-chain.ts'

function ChainStatus(props: { check: StoredAuditCheck | null }) {
  const check = props.check
  if (check === null) return <p class="chain-status">The hash chain has not been verified yet (the server checks it a minute after start, then daily; or run <code>npm run cli -- audit-verify</code>).</p>
  const when = new Date(check.at).toISOString()
  const r = check.result
  return r.ok ? (
    <p class="chain-status">
      Hash chain intact: {r.count} events, verified {when}.
    </p>
  ) : (
    <p class="chain-status" role="alert">
      <strong>
        Hash chain BROKEN at event {r.firstBad.id} ({r.firstBad.event})
      </strong>
      : {r.firstBad.reason}. Verified {when}; {r.count} events before it are intact.
    </p>
  )
}

function query(filter: AuditFilter, extra: Record<string, string> = {}): string {
  const params = new URLSearchParams()
  for (const key of ['actor', 'target', 'event', 'ip', 'from', 'to'] as const) if (filter[key]) params.set(key, filter[key])
  for (const [k, v] of Object.entries(extra)) params.set(k, v)
  const s = params.toString()
  return s ? `?${s}` : ''
}

/** `page` is null when the filter cannot match (a reversed date range): the form says why instead of an empty list. */
export function AuditPage(props: { chrome: PageChrome; filter: AuditFilter; page: { events: AuditEvent[]; nextBefore: number | null } | null; targets: Map<string, AuditTargetName>; chain: StoredAuditCheck | null }) {
  const f = props.filter
  const reversed = props.page === null
  return (
    <Page title="Audit log" chrome={props.chrome}>
      <p>
        <a href="/admin">← Admin</a>
      </p>
      <h1>Audit log</h1>
      <p>Append-only: the database refuses to change or delete an event, and each event carries a hash chained to the one before it.</p>
      <ChainStatus check={props.chain} />
      <form method="get" action="/admin/audit" class="filters">
        <div class="field">
          <label for="f-actor">Actor email contains</label>
          <input id="f-actor" name="actor" value={f.actor} autocomplete="off" />
        </div>
        <div class="field">
          <label for="f-target">Target (e.g. “user 42”)</label>
          <input id="f-target" name="target" value={f.target} autocomplete="off" />
        </div>
        <div class="field">
          <label for="f-event">Event (e.g. “signin” or “user.disabled”)</label>
          <input id="f-event" name="event" value={f.event} autocomplete="off" />
        </div>
        <div class="field">
          <label for="f-ip">IP</label>
          <input id="f-ip" name="ip" value={f.ip} autocomplete="off" />
        </div>
        <div class="field">
          <label for="f-from">From (UTC day)</label>
          <input id="f-from" name="from" type="date" value={f.from} />
        </div>
        <div class="field">
          <label for="f-to">To (UTC day)</label>
          <input id="f-to" name="to" type="date" value={f.to} aria-invalid={reversed ? 'true' : undefined} aria-describedby={reversed ? 'f-to-error' : undefined} />
          {reversed && (
            <p id="f-to-error" class="error">
              The end day ({f.to}) is before the start day ({f.from}). <a href={`/admin/audit${query({ ...f, from: f.to, to: f.from })}`}>Show {f.to} to {f.from}</a>
            </p>
          )}
        </div>
        <div class="row">
          <button type="submit" class="secondary">
            Filter
          </button>
          <a href={`/admin/audit.csv${query(f)}`}>Download as CSV</a>
        </div>
      </form>
      {props.page === null ? (
        <p class="form-error" role="alert">
          The end day ({f.to}) is before the start day ({f.from}), so no event can match. Swap the days or clear one of them.
        </p>
      ) : (
        <AuditTable events={props.page.events} details targets={props.targets} />
      )}
      {props.page !== null && props.page.nextBefore !== null && (
        <nav class="pager" aria-label="Pages">
          <a href="/admin/audit">Newest</a>
          <a href={`/admin/audit${query(f, { before: String(props.page.nextBefore) })}`}>Older →</a>
        </nav>
      )}
    </Page>
  )
}
