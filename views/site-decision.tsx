import { Page, type PageChrome } from './layouts/page.tsx'
import { Field, FormError } from './components/form.tsx'
import { DateTime } from './components/time.tsx'
import type { SiteDecisionRow, SiteStanding } from '../src/models/site-decisions.ts'

export type SiteDecisionView = {
  project: { id: number; name: string; description: string; status: string }
  site: { id: number; name: string }
  standing: SiteStanding
  current: SiteDecisionRow | null
  history: SiteDecisionRow[]
  query: { version: number; sqlText: string; sha256: string } | null
  today: string
  values: Record<string, string>
  errors: Record<string, string>
  error?: string
}

const STANDING_LABEL: Record<SiteStanding, string> = {
  none: 'Awaiting decision',
  approved: 'Approved',
  declined: 'Declined',
  withdrawn: 'Approval withdrawn',
  expired: 'Approval expired',
}

/** One decision as a sentence: what, who, when, and its evidence. */
export function DecisionSummary(props: { row: SiteDecisionRow; standing?: SiteStanding }) {
  const r = props.row
  const what = r.decision === 'approve' ? (props.standing === 'expired' ? `Approval expired on ${r.expiresOn}` : 'Approved') : r.decision === 'decline' ? 'Declined' : 'Approval withdrawn'
  return (
    <div class="decision">
      <p>
        <strong>{what}</strong> by {r.decidedByEmail ?? 'an admin (recorded before decisions were history)'}, <DateTime ms={r.decidedAt} />
        {r.cohortQueryId !== null && <> · cohort query #{r.cohortQueryId}</>}
      </p>
      <dl>
        {r.reason !== '' && (
          <>
            <dt>Reason</dt>
            <dd>{r.reason}</dd>
          </>
        )}
        {r.conditions !== '' && (
          <>
            <dt>Conditions</dt>
            <dd>{r.conditions}</dd>
          </>
        )}
        {r.agreement !== '' && (
          <>
            <dt>Data-use agreement</dt>
            <dd>{r.agreement}</dd>
          </>
        )}
        {r.expiresOn !== null && (
          <>
            <dt>Expires</dt>
            <dd>at the end of {r.expiresOn} (UTC)</dd>
          </>
        )}
        {r.cohortQuerySha256 !== null && (
          <>
            <dt>SHA-256 of the query</dt>
            <dd>
              <code>{r.cohortQuerySha256}</code>
            </dd>
          </>
        )}
      </dl>
    </div>
  )
}

/** The decision page of one site on one project: current decision, decide, withdraw, history. */
export function SiteDecisionPage(props: { chrome: PageChrome; view: SiteDecisionView }) {
  const v = props.view
  const base = `/projects/${v.project.id}/sites/${v.site.id}`
  const val = (k: string) => v.values[k] ?? ''
  return (
    <Page title={`${v.site.name}: decision on “${v.project.name}”`} chrome={props.chrome}>
      <h1>
        {v.site.name}: decision on “{v.project.name}”
      </h1>
      <p>
        Project status: {v.project.status}. This site: <strong>{STANDING_LABEL[v.standing]}</strong>.
      </p>
      {v.current && <DecisionSummary row={v.current} standing={v.standing} />}
      <FormError message={v.error} />
      {v.query && (
        <details>
          <summary>The cohort query you decide on (version {v.query.version})</summary>
          <pre>
            <code>{v.query.sqlText}</code>
          </pre>
          <p>
            SHA-256: <code>{v.query.sha256}</code>
          </p>
        </details>
      )}
      <section aria-labelledby="decide-heading">
        <h2 id="decide-heading">Decide</h2>
        <form method="post" action={`${base}/decision`}>
          <fieldset class={v.errors.decision ? 'field invalid' : 'field'} aria-describedby={v.errors.decision ? 'f-decision-error' : undefined}>
            <legend>Decision</legend>
            <label>
              <input type="radio" name="decision" value="approve" checked={val('decision') === 'approve'} required /> Approve: the site takes part (image retrieval, training)
            </label>
            <label>
              <input type="radio" name="decision" value="decline" checked={val('decision') === 'decline'} /> Decline
            </label>
            {v.errors.decision && (
              <p id="f-decision-error" class="error">
                {v.errors.decision}
              </p>
            )}
          </fieldset>
          <TextArea name="reason" label="Reason (required to decline)" value={val('reason')} error={v.errors.reason} max={2000} />
          <TextArea name="conditions" label="Conditions (optional)" value={val('conditions')} error={v.errors.conditions} max={2000} />
          <Field name="agreement" label="Data-use agreement reference (optional)" value={val('agreement')} error={v.errors.agreement} maxlength={200} autocomplete="off" />
          <Field name="expires_on" label="Approval expires on (optional, YYYY-MM-DD, after today)" type="date" value={val('expires_on')} error={v.errors.expires_on} hint={`The approval lapses at the end of that day (UTC). Today is ${v.today}.`} autocomplete="off" />
          <button type="submit">Record decision</button>
        </form>
      </section>
      {v.standing === 'approved' && (
        <section aria-labelledby="withdraw-heading">
          <h2 id="withdraw-heading">Withdraw the approval</h2>
          <p>The site's open image retrieval and training tasks of this project are cancelled and its running training ends as stopped.</p>
          <form method="post" action={`${base}/withdraw`}>
            <TextArea name="reason" id="f-withdraw-reason" label="Reason for withdrawing" value={val('withdraw_reason')} error={v.errors.withdraw_reason} max={2000} required />
            <button type="submit" class="danger">
              Withdraw approval
            </button>
          </form>
        </section>
      )}
      <section aria-labelledby="history-heading">
        <h2 id="history-heading">History</h2>
        {v.history.length === 0 ? (
          <p>No decision yet.</p>
        ) : (
          <ol reversed>
            {v.history.map((row) => (
              <li>
                <DecisionSummary row={row} />
              </li>
            ))}
          </ol>
        )}
      </section>
      <p>
        <a href={`/projects/${v.project.id}`}>Back to the project</a>
      </p>
    </Page>
  )
}

function TextArea(props: { name: string; id?: string; label: string; value: string; error?: string | undefined; max: number; required?: boolean }) {
  const id = props.id ?? `f-${props.name}`
  return (
    <div class={props.error ? 'field invalid' : 'field'}>
      <label for={id}>{props.label}</label>
      <textarea id={id} name={props.name} maxlength={props.max} required={props.required} aria-invalid={props.error ? 'true' : undefined} aria-describedby={props.error ? `${id}-error` : undefined}>
        {props.value}
      </textarea>
      {props.error && (
        <p id={`${id}-error`} class="error">
          {props.error}
        </p>
      )}
    </div>
  )
}
