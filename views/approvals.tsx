import { Page, type PageChrome } from './layouts/page.tsx'
import { DateTime } from './components/time.tsx'
import { TableScroll } from './components/table-scroll.tsx'
import { SiteLastSeen } from './components/site-last-seen.tsx'
import { Pager, showingRange } from './components/pager.tsx'
import type { AwaitingCard, DecidedRow, Paged } from '../src/models/approvals.ts'

/** "1,000 projects await": a count in en-GB digits with its phrase. */
const counted = (n: number, one: string, many: string) => `${n.toLocaleString('en-GB')} ${n === 1 ? one : many}`

export type ApprovalsView = {
  sites: { id: number; name: string; code: string; asApprover: boolean; lastSeenAt: number | null; online: boolean; awaiting: Paged<AwaitingCard> }[]
  decided: Paged<DecidedRow>
  /** The URL of this page with one list (a site id, or 'decided') at page n and the others as they are. */
  pageUrl: (list: number | 'decided', n: number) => string
}

/** /approvals: what awaits this user's decision, per site they decide for, and what was decided there. */
export function ApprovalsPage(props: { chrome: PageChrome; view: ApprovalsView }) {
  const v = props.view
  return (
    <Page title="Approvals" chrome={props.chrome}>
      <h1>Approvals</h1>
      <h2>Awaiting your decision</h2>
      {v.sites.length > 1 && <p>{counted(v.sites.reduce((n, s) => n + s.awaiting.total, 0), 'staging awaits', 'stagings await')} your decision at {v.sites.length} sites.</p>}
      {v.sites.map((s) => (
        <section class="card" aria-labelledby={`site-${s.id}`}>
          <h3 id={`site-${s.id}`}>
            {s.name} ({s.code})
          </h3>
          <p>
            <SiteLastSeen lastSeenAt={s.lastSeenAt} online={s.online} />
            {!s.asApprover && <> · this site has no approvers, so admins decide for it</>}
          </p>
          {s.awaiting.total === 0 ? (
            <p>Nothing awaits a decision for {s.name}.</p>
          ) : (
            <>
            <p>
              {counted(s.awaiting.total, 'project awaits', 'projects await')} a decision for {s.name}, oldest staging first. {showingRange(s.awaiting.page, s.awaiting.pageSize, s.awaiting.rows.length, s.awaiting.total)}.
            </p>
            <ul class="cards">
              {s.awaiting.rows.map((a) => (
                <li class="card">
                  <h4>
                    <a href={`/projects/${a.projectId}`}>{a.name}</a>
                  </h4>
                  <dl>
                    <dt>Owner</dt>
                    <dd>{a.owner}</dd>
                    <dt>Description</dt>
                    <dd>{a.description === '' ? '—' : a.description}</dd>
                    <dt>Staged</dt>
                    <dd>
                      <DateTime ms={a.stagedAt} />
                    </dd>
                    <dt>Count at {s.name}</dt>
                    <dd>{a.count}</dd>
                  </dl>
                  <p>
                    <a class="button" href={`/projects/${a.projectId}/sites/${s.id}/decision`}>
                      Read the query and decide for {s.name}
                    </a>
                  </p>
                </li>
              ))}
            </ul>
            <Pager page={s.awaiting.page} pages={s.awaiting.pages} label={`Pages of ${s.name}`} href={(n) => v.pageUrl(s.id, n)} />
            </>
          )}
        </section>
      ))}
      <h2>Decided</h2>
      {v.decided.total > 0 && <p id="decided">{showingRange(v.decided.page, v.decided.pageSize, v.decided.rows.length, v.decided.total)} decisions, newest first.</p>}
      <TableScroll label="Decided">
        <table>
          <thead>
            <tr>
              <th scope="col">Project</th>
              <th scope="col">Site</th>
              <th scope="col">Decision</th>
              <th scope="col">By</th>
              <th scope="col">When</th>
              <th scope="col">Expires</th>
              <th scope="col">Withdrawn</th>
            </tr>
          </thead>
          <tbody>
            {v.decided.rows.map((d) => (
              <tr>
                <td>{d.projectDeleted ? <>{d.projectName} (deleted)</> : <a href={`/projects/${d.projectId}/sites/${d.siteId}/decision`}>{d.projectName}</a>}</td>
                <td>{d.siteName}</td>
                <td>{d.decision === 'approve' ? 'Approved' : 'Declined'}</td>
                <td>{d.decidedBy}</td>
                <td>
                  <DateTime ms={d.decidedAt} />
                </td>
                <td>{d.expiresOn ?? '—'}</td>
                <td>{d.withdrawnAt === null ? '—' : <DateTime ms={d.withdrawnAt} />}</td>
              </tr>
            ))}
            {v.decided.total === 0 && (
              <tr>
                <td colspan={7}>No decisions yet at your sites.</td>
              </tr>
            )}
          </tbody>
        </table>
      </TableScroll>
      <Pager page={v.decided.page} pages={v.decided.pages} label="Pages of decisions" href={(n) => v.pageUrl('decided', n)} />
    </Page>
  )
}
