import { Hono, type Context } from 'hono'
import type { AppEnv } from '../../http/context.ts'
import { requireUser } from '../../auth/middleware.ts'
import { requirePermission } from '../../authz/middleware.ts'
import { chrome } from '../../http/page.ts'
import { redirectTo } from '../../http/htmx.ts'
import { readForm, checkTextFields, normalizeEmail, hasErrors, type FieldErrors, idParam } from '../../http/forms.ts'
import { setFlash } from '../../http/flash.ts'
import { notFoundPage } from '../../http/errors.tsx'
import { SitesPage, SitePage, SiteKeyPage } from '../../../views/admin/sites.tsx'
import { ConfirmPage } from '../../../views/components/confirm.tsx'
import { createSite, disableSite, enableSite, getSiteByCode, getSiteById, listSitesByName, rotateSiteKey, updateSite, SITE_CODE_PATTERN, SITE_NAME_MAX_LENGTH, type SiteCtx } from '../../models/sites.ts'
import type { Site } from '../../db/schema.ts'
import { listApproversForSite } from '../../models/site-approvers.ts'

export const adminSites = new Hono<AppEnv>()

const guard = [requireUser, requirePermission('sites.manage')] as const

function ctxOf(c: Context<AppEnv>): SiteCtx {
  const actor = c.get('actor')
  return { actor: { id: actor.id, email: actor.email }, now: c.get('deps').clock.now(), ip: c.get('clientIp') }
}

type SiteFields = { name: string; contact_email: string }

function checkSiteFields(values: SiteFields): { errors: FieldErrors; contactEmail: string } {
  const contactEmail = values.contact_email === '' ? '' : normalizeEmail(values.contact_email)
  return {
    contactEmail: contactEmail ?? '',
    errors: {
      name: values.name.length < 1 || values.name.length > SITE_NAME_MAX_LENGTH ? `Between 1 and ${SITE_NAME_MAX_LENGTH} characters.` : undefined,
      contact_email: contactEmail === null ? 'Enter a valid email address, or leave it empty.' : undefined,
    },
  }
}

/** The page that shows a new key: its only appearance, so it must not be cached anywhere. */
function showKeyOnce(c: Context<AppEnv>, site: Site, apiKey: string, reason: 'created' | 'rotated') {
  c.header('Cache-Control', 'no-store')
  return c.html(<SiteKeyPage chrome={chrome(c)} site={site} apiKey={apiKey} reason={reason} />, 200)
}

adminSites.get('/admin/sites', ...guard, (c) => c.html(<SitesPage chrome={chrome(c)} sites={listSitesByName(c.get('deps').db)} now={c.get('deps').clock.now()} />))

adminSites.post('/admin/sites', ...guard, async (c) => {
  const { db } = c.get('deps')
  const form = await readForm(c)
  const values = { name: form.get('name').trim(), code: form.get('code').trim(), contact_email: form.get('contact_email').trim() }
  const checked = checkSiteFields(values)
  checkTextFields(checked.errors, values)
  const errors: FieldErrors = {
    ...checked.errors,
    code: !SITE_CODE_PATTERN.test(values.code)
      ? '2 to 20 characters: letters, digits, “_” and “-”.'
      : getSiteByCode(db, values.code)
        ? 'A site with this code exists already.'
        : undefined,
  }
  if (hasErrors(errors)) return c.html(<SitesPage chrome={chrome(c)} sites={listSitesByName(db)} now={c.get('deps').clock.now()} values={values} errors={errors} />, 422)
  const { site, apiKey } = createSite(db, { name: values.name, code: values.code, contactEmail: checked.contactEmail }, ctxOf(c))
  return showKeyOnce(c, site, apiKey, 'created')
})

function loadSite(c: Context<AppEnv>): Site | null {
  const id = idParam(c.req.param('id'))
  return id === null ? null : getSiteById(c.get('deps').db, id)
}

adminSites.get('/admin/sites/:id', ...guard, (c) => {
  const site = loadSite(c)
  return site ? c.html(<SitePage chrome={chrome(c)} site={site} values={{}} errors={{}} approvers={listApproversForSite(c.get('deps').db, site.id)} />) : notFoundPage(c)
})

/** Name and contact email; the code never changes. */
adminSites.post('/admin/sites/:id', ...guard, async (c) => {
  const site = loadSite(c)
  if (!site) return notFoundPage(c)
  const form = await readForm(c)
  const values = { name: form.get('name').trim(), contact_email: form.get('contact_email').trim() }
  const { errors, contactEmail } = checkSiteFields(values)
  checkTextFields(errors, values)
  if (hasErrors(errors)) return c.html(<SitePage chrome={chrome(c)} site={site} values={values} errors={errors} approvers={listApproversForSite(c.get('deps').db, site.id)} />, 422)
  updateSite(c.get('deps').db, site, { name: values.name, contactEmail }, ctxOf(c))
  setFlash(c, 'success', 'Site saved.')
  return redirectTo(c, `/admin/sites/${site.id}`)
})

adminSites.post('/admin/sites/:id/rotate-key', ...guard, async (c) => {
  const site = loadSite(c)
  if (!site) return notFoundPage(c)
  if ((await readForm(c)).get('confirm') !== 'yes') {
    return c.html(
      <ConfirmPage
        chrome={chrome(c)}
        title={`Rotate the API key of ${site.name}?`}
        question={`The current key (${site.apiKeyPrefix}…) stops working at once; the site's software needs the new key, which is shown once on the next page.`}
        button="Rotate key"
        action={c.req.path}
        cancel={`/admin/sites/${site.id}`}
      />,
    )
  }
  const { site: rotated, apiKey } = rotateSiteKey(c.get('deps').db, site, ctxOf(c))
  return showKeyOnce(c, rotated, apiKey, 'rotated')
})

/** The site page with a 409 notice: the action does not fit the site's current state. */
function sitePageWithNotice(c: Context<AppEnv>, site: Site, notice: string) {
  return c.html(<SitePage chrome={chrome(c)} site={site} values={{}} errors={{}} approvers={listApproversForSite(c.get('deps').db, site.id)} notice={notice} />, 409)
}

/** Disabling refuses the key and hands out no tasks; nothing is deleted, and enabling undoes it. */
adminSites.post('/admin/sites/:id/disable', ...guard, async (c) => {
  const site = loadSite(c)
  if (!site) return notFoundPage(c)
  if (site.disabledAt !== null) return sitePageWithNotice(c, site, 'The site is disabled already.')
  if ((await readForm(c)).get('confirm') !== 'yes') {
    return c.html(
      <ConfirmPage
        chrome={chrome(c)}
        title={`Disable ${site.name}?`}
        question={`Its API key (${site.apiKeyPrefix}…) is refused from now on and no tasks are handed to it; it is not offered for staging or training. Nothing is deleted: its tasks wait, and enabling the site again restores the same key.`}
        button="Disable site"
        action={c.req.path}
        cancel={`/admin/sites/${site.id}`}
      />,
    )
  }
  if (disableSite(c.get('deps').db, site, ctxOf(c)) === 'conflict') return sitePageWithNotice(c, site, 'The site is disabled already.')
  setFlash(c, 'success', `${site.name} disabled: its key is refused until it is enabled again.`)
  return redirectTo(c, `/admin/sites/${site.id}`)
})

adminSites.post('/admin/sites/:id/enable', ...guard, (c) => {
  const site = loadSite(c)
  if (!site) return notFoundPage(c)
  const enabled = enableSite(c.get('deps').db, site, ctxOf(c))
  if (enabled === 'conflict') return sitePageWithNotice(c, getSiteById(c.get('deps').db, site.id) ?? site, 'The site is not disabled.')
  setFlash(c, 'success', `${site.name} enabled: its key works again.`)
  return redirectTo(c, `/admin/sites/${site.id}`)
})
