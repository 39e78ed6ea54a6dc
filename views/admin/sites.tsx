import { Page, type PageChrome } from '../layouts/page.tsx'
import { Card, Field } from '../components/form.tsx'
import { DateTime } from '../components/time.tsx'
import type { Site } from '../../src/db/schema.ts'
import type { FieldErrors } from '../../src/http/forms.ts'
import type { SiteApproverRow } from '../../src/models/site-approvers.ts'
import { TableScroll } from '../components/table-scroll.tsx'
import { SiteLastSeen } from '../components/site-last-seen.tsx'
import { isOnline } from '../../src/models/approvals.ts'

const CODE_HINT = '2 to 20 characters: letters, digits, “_” and “-”. It cannot be changed later.'

export function SitesPage(props: { chrome: PageChrome; sites: Site[]; now: number; values?: Record<string, string>; errors?: FieldErrors }) {
  const values = props.values ?? {}
  const errors = props.errors ?? {}
  return (
    <Page title="Sites" chrome={props.chrome}>
      <p>
        <a href="/admin">← Admin</a>
      </p>
      <h1>Sites</h1>
      <p>
        Sites (Trusts) run cohort queries, image retrieval and training for approved projects. Each has an API key for the site API; the key is shown once, when it is
        created or rotated. <a href="/admin/tasks">Tasks handed to sites</a>
      </p>
      <TableScroll label="Sites">
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Code</th>
              <th scope="col">Contact</th>
              <th scope="col">Key</th>
              <th scope="col">Key created</th>
              <th scope="col">Last seen</th>
            </tr>
          </thead>
          <tbody>
            {props.sites.map((s) => (
              <tr>
                <td>
                  <a href={`/admin/sites/${s.id}`}>{s.name}</a>
                  {s.disabledAt !== null && (
                    <>
                      {' '}
                      <span class="badge">disabled</span>
                    </>
                  )}
                </td>
                <td>
                  <code>{s.code}</code>
                </td>
                <td>{s.contactEmail || '—'}</td>
                <td>
                  <code>{`${s.apiKeyPrefix}…`}</code>
                </td>
                <td>
                  <DateTime ms={s.keyRotatedAt} />
                </td>
                <td>
                  <SiteLastSeen lastSeenAt={s.lastSeenAt} online={isOnline(s.lastSeenAt, props.now)} />
                </td>
              </tr>
            ))}
            {props.sites.length === 0 && (
              <tr>
                <td colspan={6}>No sites yet.</td>
              </tr>
            )}
          </tbody>
        </table>
      </TableScroll>
      <Card title="New site">
        <form method="post" action="/admin/sites" class="stack">
          <Field name="name" label="Name" value={values.name ?? ''} required maxlength={120} error={errors.name} autocomplete="off" />
          <Field name="code" label="Short code" value={values.code ?? ''} required minlength={2} maxlength={20} pattern="[A-Za-z0-9_\-]{2,20}" hint={CODE_HINT} error={errors.code} autocomplete="off" />
          <Field name="contact_email" label="Contact email (optional)" type="email" value={values.contact_email ?? ''} error={errors.contact_email} autocomplete="off" />
          <button type="submit">Create site</button>
        </form>
      </Card>
    </Page>
  )
}

export function SitePage(props: {
  chrome: PageChrome
  site: Site
  values: Record<string, string>
  errors: FieldErrors
  approvers: SiteApproverRow[]
  approverValues?: Record<string, string>
  approverErrors?: FieldErrors
  notice?: string
}) {
  const { site, values, errors } = props
  return (
    <Page title={site.name} chrome={props.chrome}>
      <p>
        <a href="/admin/sites">← Sites</a>
      </p>
      <h1>
        {site.name}
        {site.disabledAt !== null && (
          <>
            {' '}
            <span class="badge">disabled</span>
          </>
        )}
      </h1>
      {props.notice && (
        <p class="error" role="alert">
          {props.notice}
        </p>
      )}
      <dl class="facts">
        <dt>Status</dt>
        <dd>
          {site.disabledAt === null ? (
            'Active'
          ) : (
            <>
              Disabled since <DateTime ms={site.disabledAt} />: its key is refused and no tasks are handed to it
            </>
          )}
        </dd>
        <dt>Code</dt>
        <dd>
          <code>{site.code}</code>
        </dd>
        <dt>Registered</dt>
        <dd>
          <DateTime ms={site.createdAt} />
        </dd>
        <dt>API key</dt>
        <dd>
          <code>{`${site.apiKeyPrefix}…`}</code>, created <DateTime ms={site.keyRotatedAt} />
        </dd>
      </dl>
      <p>
        <a href={`/admin/tasks?site_id=${site.id}`}>This site's tasks</a>
      </p>
      <Card title="Edit">
        <form method="post" action={`/admin/sites/${site.id}`} class="stack">
          <Field name="name" label="Name" value={values.name ?? site.name} required maxlength={120} error={errors.name} autocomplete="off" />
          <Field name="contact_email" label="Contact email (optional)" type="email" value={values.contact_email ?? site.contactEmail} error={errors.contact_email} autocomplete="off" />
          <button type="submit">Save</button>
        </form>
      </Card>
      <SiteApproversCard site={site} approvers={props.approvers} values={props.approverValues ?? {}} errors={props.approverErrors ?? {}} />
      <Card title="API key">
        <p>Rotating replaces the key: the current one stops working at once, and the new one is shown once.</p>
        <form method="post" action={`/admin/sites/${site.id}/rotate-key`}>
          <button type="submit" class="danger">
            Rotate key…
          </button>
        </form>
      </Card>
      {site.disabledAt === null ? (
        <Card title="Disable site">
          <p>A disabled site's key is refused and no tasks are handed to it; it is not offered for staging or training. Nothing is deleted, and it can be enabled again with the same key.</p>
          <form method="post" action={`/admin/sites/${site.id}/disable`}>
            <button type="submit" class="caution">
              Disable site…
            </button>
          </form>
        </Card>
      ) : (
        <Card title="Enable site">
          <p>Enabling accepts the site's current key again; tasks queued while it was disabled are handed out.</p>
          <form method="post" action={`/admin/sites/${site.id}/enable`}>
            <button type="submit">Enable site</button>
          </form>
        </Card>
      )}
    </Page>
  )
}

/** The users who decide for the site (SPEC §4.1), and the form that appoints one by email. */
export function SiteApproversCard(props: { site: Site; approvers: SiteApproverRow[]; values: Record<string, string>; errors: FieldErrors }) {
  const { site, approvers } = props
  return (
    <Card title="Approvers">
      <p>
        While a site has approvers, only they decide on projects staged at it; admins cannot decide for it. Any account may be an approver, of several sites; nobody can
        appoint themselves. {site.contactEmail ? `Each change is emailed to ${site.contactEmail}.` : 'Set a contact email to have each change emailed to the site.'}
      </p>
      <TableScroll label="Approvers">
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Email</th>
              <th scope="col">Appointed</th>
              <th scope="col">By</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {approvers.map((a) => (
              <tr>
                <td>
                  <a href={`/admin/users/${a.userId}`}>{a.name}</a>
                  {a.disabled && ' (disabled)'}
                </td>
                <td>{a.email}</td>
                <td>
                  <DateTime ms={a.appointedAt} />
                </td>
                <td>
                  <a href={`/admin/users/${a.appointedById}`}>{a.appointedByName}</a>
                </td>
                <td>
                  <form method="post" action={`/admin/sites/${site.id}/approvers/${a.userId}/remove`}>
                    <button type="submit" class="danger">
                      Remove<span class="visually-hidden"> {a.name} as approver</span>…
                    </button>
                  </form>
                </td>
              </tr>
            ))}
            {approvers.length === 0 && (
              <tr>
                <td colspan={5}>No approvers: admins decide for this site.</td>
              </tr>
            )}
          </tbody>
        </table>
      </TableScroll>
      <form method="post" action={`/admin/sites/${site.id}/approvers`} class="stack">
        <Field name="email" label="Appoint an approver (email of an existing account)" type="email" value={props.values.email ?? ''} required error={props.errors.email} autocomplete="off" />
        <button type="submit">Appoint approver</button>
      </form>
    </Card>
  )
}

/** Shown once, straight after the key was made; the key exists nowhere else in clear. */
export function SiteKeyPage(props: { chrome: PageChrome; site: Site; apiKey: string; reason: 'created' | 'rotated' }) {
  const { site } = props
  return (
    <Page title={`API key for ${site.name}`} chrome={props.chrome}>
      <h1>{props.reason === 'created' ? `Site “${site.name}” created` : `New API key for ${site.name}`}</h1>
      <Card title="API key">
        <p role="status">Copy this key now and give it to the site's operators over a safe channel. It is shown only once: Gatehouse keeps only a hash of it.</p>
        <p class="row">
          <code id="site-api-key">{props.apiKey}</code>
          <button type="button" class="copy-button" data-copy-target="site-api-key" hidden>
            Copy key
          </button>
          <span class="copy-status" aria-live="polite"></span>
        </p>
        <script src="/public/copy-key.js" defer></script>
        {props.reason === 'rotated' && <p>The previous key no longer works.</p>}
        <p>
          The site sends it as <code>{'Authorization: Bearer <key>'}</code> to <code>/api/sites/v1</code>.
        </p>
      </Card>
      <p>
        <a href={`/admin/sites/${site.id}`}>Continue to the site</a>
      </p>
    </Page>
  )
}
