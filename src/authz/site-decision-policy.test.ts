import { describe, expect, it } from 'vitest'
import { decideAdminSiteApprovals, decideSiteDecision, type Actor, type SiteDecisionFacts } from './policy.ts'

const admin: Actor = { id: 1, role: 'admin', disabledAt: null, sitePermissions: ['projects.approve', 'projects.manage_all'] }
const approver: Actor = { id: 2, role: 'observer', disabledAt: null, sitePermissions: [] }
const facts = (over: Partial<SiteDecisionFacts> = {}): SiteDecisionFacts => ({
  site: { name: 'Leeds', hasApprovers: true },
  actorApprovesSite: false,
  project: { status: 'staged', deletedAt: null },
  current: 'none',
  ...over,
})

describe('decideSiteDecision', () => {
  it('a site with approvers: only its approvers decide, never admins (permission)', () => {
    expect(decideSiteDecision(admin, 'approve', facts())).toMatchObject({ allowed: false, kind: 'permission', rule: expect.stringContaining('Leeds decides for itself') })
    expect(decideSiteDecision(approver, 'approve', facts({ actorApprovesSite: true }))).toMatchObject({ allowed: true })
    expect(decideSiteDecision({ ...approver, disabledAt: 5 }, 'approve', facts({ actorApprovesSite: true }))).toMatchObject({ allowed: false })
  })
  it('a site without approvers: admins (projects.approve) decide, others do not', () => {
    const none = facts({ site: { name: 'York', hasApprovers: false } })
    expect(decideSiteDecision(admin, 'approve', none)).toMatchObject({ allowed: true })
    expect(decideSiteDecision(approver, 'approve', none)).toMatchObject({ allowed: false, kind: 'permission' })
  })
  it('state: staged or approved projects only; a current approval is withdrawn, not declined; only a current approval is withdrawn', () => {
    const ok = { actorApprovesSite: true }
    expect(decideSiteDecision(approver, 'approve', facts({ ...ok, project: { status: 'unstaged', deletedAt: null } }))).toMatchObject({ allowed: false, kind: 'state' })
    expect(decideSiteDecision(approver, 'approve', facts({ ...ok, project: { status: 'approved', deletedAt: null } }))).toMatchObject({ allowed: true })
    expect(decideSiteDecision(approver, 'decline', facts({ ...ok, current: 'approved' }))).toMatchObject({ allowed: false, kind: 'state' })
    expect(decideSiteDecision(approver, 'decline', facts({ ...ok, current: 'expired' }))).toMatchObject({ allowed: true })
    expect(decideSiteDecision(approver, 'approve', facts({ ...ok, current: 'declined' }))).toMatchObject({ allowed: true })
    expect(decideSiteDecision(approver, 'withdraw', facts({ ...ok, current: 'approved' }))).toMatchObject({ allowed: true })
    for (const current of ['none', 'declined', 'withdrawn', 'expired'] as const) expect(decideSiteDecision(approver, 'withdraw', facts({ ...ok, current }))).toMatchObject({ allowed: false, kind: 'state' })
  })
})

describe('decideAdminSiteApprovals', () => {
  it('refuses when the request names a site that decides for itself', () => {
    expect(decideAdminSiteApprovals(admin, [])).toMatchObject({ allowed: true })
    expect(decideAdminSiteApprovals(admin, ['Leeds'])).toMatchObject({ allowed: false, rule: expect.stringContaining('Leeds decides for itself') })
    expect(decideAdminSiteApprovals(approver, [])).toMatchObject({ allowed: false })
  })
})
