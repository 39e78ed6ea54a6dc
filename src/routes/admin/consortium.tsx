import { Hono, type Context } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import type { AppEnv } from '../../http/context.ts'
import type { Db } from '../../db/client.ts'
import { requireUser } from '../../auth/middleware.ts'
import { requirePermission } from '../../authz/middleware.ts'
import { chrome } from '../../http/page.ts'
import { redirectTo } from '../../http/htmx.ts'
import { readForm } from '../../http/forms.ts'
import { setFlash } from '../../http/flash.ts'
import { payloadTooLargePage, renderErrorPage } from '../../http/errors.tsx'
import { plural } from '../../../views/components/plural.ts'
import { ConsortiumPage, ConsortiumPlanPage, type ConsortiumOverview, type StructureUpload } from '../../../views/admin/consortium.tsx'
import { applyConsortiumStructure, centreProjectLabels, getAdminGroup, getConsortiumStructure, listLiveProjectLabels, type ApplyStructureResult } from '../../models/consortium.ts'
import { listGroups } from '../../models/groups.ts'
import type { Ctx } from '../../models/projects.ts'
import { parseStructureFile, type StructureFileError } from '../../import/structure-file.ts'

export const adminConsortium = new Hono<AppEnv>()

/** The largest structure accepted, in bytes of UTF-8 text: about 3,000 centres written one per line. */
export const STRUCTURE_MAX_BYTES = 256 * 1024

// Note: both POSTs are exempt from the global 64 KB body limit (app.ts `uploadPaths`): a consortium
// of a few hundred centres in block style passes 64 KB, and the plan page sends the text back in a
// hidden field that the browser percent-encodes (up to 3 bytes per byte). They are capped here at
// 1 MB instead (3 × 256 KB plus room), by hono's bodyLimit, which checks Content-Length and counts
// a body without one as it arrives; the cap runs after the guards, so only an admin gets that far.
const STRUCTURE_BODY_MAX_BYTES = 1024 * 1024

const guard = [requireUser, requirePermission('groups.manage')] as const
const structureBody = bodyLimit({ maxSize: STRUCTURE_BODY_MAX_BYTES, onError: (c) => payloadTooLargePage(c as Context<AppEnv>, '1 MB') })

function ctxOf(c: Context<AppEnv>): Ctx {
  const actor = c.get('actor')
  return { actor: { id: actor.id, email: actor.email }, now: c.get('deps').clock.now(), ip: c.get('clientIp') }
}

/** The stored structure, each centre's group page and which of its labelled projects are missing. */
function loadOverview(db: Db): ConsortiumOverview {
  const structure = getConsortiumStructure(db)
  const groupIdByCentre = new Map(listGroups(db).flatMap((g) => (g.centreId === null ? [] : [[g.centreId, g.id] as const])))
  const present = listLiveProjectLabels(db)
  const centres = Object.entries(structure.centres).map(([key, centre]) => {
    const adcid = Number(key)
    const groupId = groupIdByCentre.get(adcid) ?? null
    const expected = centreProjectLabels(structure, centre.studies)
    return {
      adcid,
      group: centre.group,
      groupId,
      studies: centre.studies,
      expectedProjects: expected.length,
      missingProjects: expected.filter((label) => !present.has(`${groupId}/${label}`)),
    }
  })
  const admin = getAdminGroup(db)
  return { structure, centres, adminGroup: admin && { id: admin.id, name: admin.name, hasMetadataProject: present.has(`${admin.id}/metadata`) } }
}

function renderOverview(c: Context<AppEnv>, upload?: StructureUpload, status: 200 | 422 = 200) {
  return c.html(<ConsortiumPage chrome={chrome(c)} overview={loadOverview(c.get('deps').db)} upload={upload} maxKb={STRUCTURE_MAX_BYTES / 1024} />, status)
}

function tooLarge(c: Context<AppEnv>, bytes: number) {
  return renderErrorPage(c, 413, 'Too large', `A structure may have at most ${STRUCTURE_MAX_BYTES / 1024} KB; this one has ${Math.ceil(bytes / 1024)} KB. Nothing was changed.`)
}

type StructureInput = { ok: true; text: string; source: string; pasted: string } | { ok: false; status: 413; bytes: number } | { ok: false; status: 422; upload: StructureUpload }

const problem = (message: string): StructureFileError => ({ line: null, path: '', message })

/** The uploaded file `structure` if one was chosen (the text box is then ignored), else the pasted `structure_yaml`. */
async function readStructureInput(c: Context<AppEnv>): Promise<StructureInput | null> {
  let body: Record<string, string | File>
  try {
    body = await c.req.parseBody()
  } catch {
    return null
  }
  const pasted = typeof body.structure_yaml === 'string' ? body.structure_yaml : ''
  const file = body.structure
  // A browser sends an empty, unnamed file part when no file was chosen.
  if (file instanceof File && (file.size > 0 || file.name !== '')) {
    const source = `the file “${file.name.slice(0, 255)}”`
    if (file.size > STRUCTURE_MAX_BYTES) return { ok: false, status: 413, bytes: file.size }
    try {
      return { ok: true, text: new TextDecoder('utf-8', { fatal: true }).decode(await file.arrayBuffer()), source, pasted }
    } catch {
      return { ok: false, status: 422, upload: { pasted, source, errors: [problem('The file is not UTF-8 text. Save it as UTF-8 and upload it again.')] } }
    }
  }
  if (pasted.trim() === '') return { ok: false, status: 422, upload: { pasted, source: '', errors: [problem('Choose a structure file, or paste its YAML in the text box.')] } }
  const bytes = Buffer.byteLength(pasted)
  if (bytes > STRUCTURE_MAX_BYTES) return { ok: false, status: 413, bytes }
  return { ok: true, text: pasted, source: 'the pasted text', pasted }
}

/** Parses the text and plans (dryRun) or applies it; file errors and conflicts with what is stored come back as problems. */
function runStructure(c: Context<AppEnv>, text: string, dryRun: boolean): { ok: true; result: Extract<ApplyStructureResult, { ok: true }>; adminGroup: string } | { ok: false; errors: StructureFileError[] } {
  const parsed = parseStructureFile(text)
  if (!parsed.ok) return { ok: false, errors: parsed.errors }
  const result = applyConsortiumStructure(c.get('deps').db, parsed.structure, ctxOf(c), { dryRun })
  if (!result.ok) return { ok: false, errors: result.errors.map((message) => problem(`Conflicts with what is stored: ${message}`)) }
  return { ok: true, result, adminGroup: parsed.structure.adminGroup }
}

function describeApplied(result: Extract<ApplyStructureResult, { ok: true }>): string {
  if (!result.changed) return 'The structure is up to date; nothing to change.'
  const c = result.created
  const u = result.updated
  return (
    `Consortium structure applied: created ${plural(c.studies, 'study', 'studies')}, ${plural(c.dataTypes, 'data type')}, ${plural(c.groups, 'group')}, ${plural(c.centreStudies, 'centre–study link')} and ${plural(c.projects, 'project')}; ` +
    `updated ${plural(u.studies, 'study', 'studies')} and ${plural(u.groups, 'group')}${u.adminGroup ? ', and changed the admin group' : ''}.`
  )
}

adminConsortium.get('/admin/consortium', ...guard, (c) => renderOverview(c))

/** Upload or paste → the plan (a dry run); nothing is stored here. */
adminConsortium.post('/admin/consortium', ...guard, structureBody, async (c) => {
  const input = await readStructureInput(c)
  if (input === null) return renderErrorPage(c, 400, 'Unreadable form', 'The form could not be read. Reload the page and try again.')
  if (!input.ok) return input.status === 413 ? tooLarge(c, input.bytes) : renderOverview(c, input.upload, 422)
  const planned = runStructure(c, input.text, true)
  if (!planned.ok) return renderOverview(c, { pasted: input.pasted, source: input.source, errors: planned.errors }, 422)
  return c.html(<ConsortiumPlanPage chrome={chrome(c)} plan={planned.result} text={input.text} source={input.source} adminGroup={planned.adminGroup} ownerEmail={c.get('actor').email} />)
})

/** The plan's confirm form: the same text again, parsed and checked again, then applied in one transaction with its audit event. */
adminConsortium.post('/admin/consortium/apply', ...guard, structureBody, async (c) => {
  const text = (await readForm(c)).get('structure_yaml')
  const bytes = Buffer.byteLength(text)
  if (bytes > STRUCTURE_MAX_BYTES) return tooLarge(c, bytes)
  const applied = runStructure(c, text, false)
  if (!applied.ok) return renderOverview(c, { pasted: text, source: 'the structure', errors: applied.errors }, 422)
  setFlash(c, applied.result.changed ? 'success' : 'info', describeApplied(applied.result))
  return redirectTo(c, '/admin/consortium')
})
