import { Hono, type Context } from 'hono'
import type { AppEnv } from '../../http/context.ts'
import { requireUser } from '../../auth/middleware.ts'
import { requirePermission } from '../../authz/middleware.ts'
import { deny } from '../../authz/policy.ts'
import { chrome } from '../../http/page.ts'
import { redirectTo } from '../../http/htmx.ts'
import { readForm, checkTextFields, hasErrors, type FieldErrors } from '../../http/forms.ts'
import { setFlash } from '../../http/flash.ts'
import { forbiddenPage } from '../../http/errors.tsx'
import { SettingsPage } from '../../../views/admin/settings.tsx'
import { ConfirmPage } from '../../../views/components/confirm.tsx'
import { BANNER_LEVELS, getSiteSettings, saveSiteSettings, type BannerLevel, type SiteSettings } from '../../models/settings.ts'

export const adminSettings = new Hono<AppEnv>()

function render(c: Context<AppEnv>, values: SiteSettings, errors: FieldErrors = {}, status: 200 | 422 = 200) {
  const actor = c.get('actor')
  return c.html(<SettingsPage chrome={chrome(c)} values={values} errors={errors} canDeployment={!deny(actor, 'deployment.manage')} canBanner={!deny(actor, 'banner.manage')} />, status)
}

adminSettings.get('/admin/settings', requireUser, requirePermission('admin.access'), (c) => render(c, getSiteSettings(c.get('deps').db)))

adminSettings.post('/admin/settings', requireUser, requirePermission('admin.access'), async (c) => {
  const { db, clock } = c.get('deps')
  const form = await readForm(c)
  const current = getSiteSettings(db)
  // A part whose fields were not on the form (the viewer may not change it) stays as it is.
  const next: SiteSettings = {
    deploymentMode: form.get('deployment_mode_field') === '1' ? form.get('deployment_mode') !== '' : current.deploymentMode,
    banner: form.get('banner_level') === '' ? current.banner : {
      enabled: form.get('banner_enabled') !== '',
      message: form.get('banner_message').trim(),
      link: form.get('banner_link').trim(),
      level: form.get('banner_level') as BannerLevel,
    },
  }
  const errors: FieldErrors = {
    banner_message: next.banner.message.length > 500 ? 'At most 500 characters.' : next.banner.enabled && next.banner.message === '' ? 'Write the message to show, or switch the banner off.' : undefined,
    banner_link: next.banner.link !== '' && !isWebLink(next.banner.link) ? 'Only http:// or https:// links are allowed.' : undefined,
    banner_level: (BANNER_LEVELS as readonly string[]).includes(next.banner.level) ? undefined : 'Choose info, warning or critical.',
  }
  checkTextFields(errors, { banner_message: next.banner.message, banner_link: next.banner.link })
  if (hasErrors(errors)) return render(c, next, errors, 422)
  const actor = c.get('actor')
  const denial = (next.deploymentMode !== current.deploymentMode && deny(actor, 'deployment.manage')) || (JSON.stringify(next.banner) !== JSON.stringify(current.banner) && deny(actor, 'banner.manage'))
  if (denial) return forbiddenPage(c, denial)
  if (next.deploymentMode && !current.deploymentMode && form.get('confirm') !== 'yes') {
    return c.html(
      <ConfirmPage
        chrome={chrome(c)}
        title="Switch deployment mode on?"
        question="Projects, cohort queries, models, uploads and training pause at once: every user gets the maintenance page there, and the site API answers 503, so no site gets a new task or can report a result. Sign-in, accounts and the admin area keep working. Switch it off again when the maintenance is done."
        button="Switch deployment mode on"
        action="/admin/settings"
        cancel="/admin/settings"
        hidden={{ deployment_mode_field: '1', deployment_mode: 'on' }}
      />,
    )
  }
  const changed = saveSiteSettings(db, next, { at: clock.now(), actor: { id: actor.id, email: actor.email }, ip: c.get('clientIp') })
  setFlash(c, 'success', changed.length === 0 ? 'Nothing changed.' : `Saved: ${changed.join(' and ')}.`)
  return redirectTo(c, '/admin/settings')
})

function isWebLink(value: string): boolean {
  try {
    const url = new URL(value)
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== ''
  } catch {
    return false
  }
}
