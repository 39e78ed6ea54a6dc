import { Page, type PageChrome } from '../layouts/page.tsx'
import { Card, Field } from '../components/form.tsx'
import type { SiteSettings } from '../../src/models/settings.ts'
import type { FieldErrors } from '../../src/http/forms.ts'

export function SettingsPage(props: { chrome: PageChrome; values: SiteSettings; errors: FieldErrors; canDeployment: boolean; canBanner: boolean }) {
  const { values, errors } = props
  return (
    <Page title="Settings" chrome={props.chrome}>
      <p>
        <a href="/admin">← Admin</a>
      </p>
      <h1>Settings</h1>
      <Card title="Deployment mode">
        <form method="post" action="/admin/settings" class="stack">
          <p>While it is on, projects, cohort queries, models, uploads and training answer “paused for maintenance”, and sites get no new tasks. Sign-in, accounts and the admin area keep working.</p>
          <p>
            Now: <strong>{values.deploymentMode ? 'on' : 'off'}</strong>
          </p>
          <label class="check">
            <input type="checkbox" name="deployment_mode" checked={values.deploymentMode} disabled={!props.canDeployment} /> Deployment mode on
          </label>
          {props.canDeployment && <input type="hidden" name="deployment_mode_field" value="1" />}
          {props.canDeployment && (
            <button type="submit" class={values.deploymentMode ? undefined : 'caution'}>
              Save deployment mode
            </button>
          )}
        </form>
      </Card>
      <Card title="Site banner">
        <form method="post" action="/admin/settings" class="stack">
          <p>Shown at the top of every page, signed in or not.</p>
          <fieldset disabled={!props.canBanner}>
            <legend>Banner</legend>
            <label class="check">
              <input type="checkbox" name="banner_enabled" checked={values.banner.enabled} /> Show the banner
            </label>
            <Field name="banner_message" label="Message" value={values.banner.message} maxlength={500} error={errors.banner_message} autocomplete="off" />
            <Field name="banner_link" label="Link (optional, http:// or https://)" type="url" value={values.banner.link} error={errors.banner_link} autocomplete="off" />
            <div class={errors.banner_level ? 'field invalid' : 'field'}>
              <label for="f-banner_level">Level</label>
              <select id="f-banner_level" name="banner_level">
                {(['info', 'warning', 'critical'] as const).map((l) => (
                  <option value={l} selected={values.banner.level === l}>
                    {l}
                  </option>
                ))}
              </select>
              {errors.banner_level && <p class="error">{errors.banner_level}</p>}
            </div>
          </fieldset>
          {props.canBanner && <button type="submit">Save banner</button>}
        </form>
      </Card>
    </Page>
  )
}
