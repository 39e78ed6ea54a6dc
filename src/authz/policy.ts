import { PERMISSION_LABELS, SYSTEM_ROLE_PERMISSIONS, parseSiteRole, type Permission } from './permissions.ts'

/** Whoever asks: resolved from the database on every request, so a role change applies at once. */
export type Actor = { id: number; role: string; disabledAt: number | null }

export type Decision =
  | { allowed: true; permission: Permission; rule: string }
  | { allowed: false; permission: Permission; rule: string }

/** The one place that decides: may `actor` do `permission`? Says which rule decided. */
export function decide(actor: Actor | null, permission: Permission): Decision {
  if (actor === null) return { allowed: false, permission, rule: 'not signed in' }
  if (actor.disabledAt !== null) return { allowed: false, permission, rule: 'account disabled' }
  const role = parseSiteRole(actor.role)
  if (role === null) return { allowed: false, permission, rule: `unknown site role "${actor.role}"` }
  return SYSTEM_ROLE_PERMISSIONS[role].includes(permission)
    ? { allowed: true, permission, rule: `site role ${role} grants it` }
    : { allowed: false, permission, rule: `site role ${role} does not grant it` }
}

export function can(actor: Actor | null, permission: Permission): boolean {
  return decide(actor, permission).allowed
}

/** null when allowed; otherwise what a 403 page tells the user. */
export function deny(actor: Actor | null, permission: Permission): { permission: Permission; label: string; rule: string } | null {
  const decision = decide(actor, permission)
  return decision.allowed ? null : { permission, label: PERMISSION_LABELS[permission], rule: decision.rule }
}
