import { Page, type PageChrome } from './layouts/page.tsx'
import { DateTime } from './components/time.tsx'
import { TableScroll } from './components/table-scroll.tsx'
import { SiteLastSeen } from './components/site-last-seen.tsx'
import type { AwaitingCard, DecidedRow } from '../src/models/approvals.ts'

export type ApprovalsView = {
  sites: { id: number; name: string; code: string; asApprover: boolean; lastSeenAt: number | null; online: boolean; awaiting: AwaitingCard[] }[]
  decided: DecidedRow[]
}

/** /approvals: what awaits this user's decision, per site they decide for, and what was decided there. */
export function ApprovalsPage(props: { chrome: PageChrome; view: ApprovalsView }) {
  const v = props.view
  return (
    <Page title="Approvals" chrome={props.chrome}>
      <h1>Approvals</h1>
      <h2>Awaiting your decision</h2>
      {v.sites.map((s) => (
        <section class="card" aria-labelledby={`site-${s.id}`}>
          <h3 id={`site-${s.id}`}>
            {s.name} ({s.code})
          </h3>
          <p>
            <SiteLastSeen lastSeenAt={s.lastSeenAt} online={s.online} />
            {!s.asApprover && <> · this site has no approvers, so admins decide for it</>}
          </p>
          {s.awaiting.length === 0 ? (
            <p>Nothing awaits a decision for {s.name}.</p>
          ) : (
            <ul class="cards">
              {s.awaiting.map((a) => (
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
          )}
        </section>
      ))}
      <h2>Decided</h2>
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
            {v.decided.map((d) => (
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
            {v.decided.length === 0 && (
              <tr>
                <td colspan={7}>No decisions yet at your sites.</td>
              </tr>
            )}
          </tbody>
        </table>
      </TableScroll>
    </Page>
  )
}
