import { describe, expect, it } from 'vitest'
import { createTestEnv, createTestUser, T0 } from '../test/helpers.ts'
import { createGroup, listGroups } from './groups.ts'
import { createProject, deleteProject } from './projects.ts'

describe('listGroups', () => {
  it('counts each group’s own live projects (not projects whose id equals the group id)', async () => {
    const t = createTestEnv()
    const { user } = await createTestUser(t, { email: 'owner@example.org', role: 'researcher' })
    const ctx = { actor: { id: user.id, email: user.email }, now: T0, ip: '127.0.0.1' }
    const audit = { at: T0, actor: ctx.actor, ip: ctx.ip }
    const alpha = createGroup(t.db, { name: 'Alpha', description: '' }, audit)
    const beta = createGroup(t.db, { name: 'Beta', description: '' }, audit)
    createGroup(t.db, { name: 'Empty', description: '' }, audit)
    for (let i = 0; i < 3; i++) createProject(t.db, { name: `beta ${i}`, description: '', groupId: beta.id }, ctx)
    const gone = createProject(t.db, { name: 'beta gone', description: '', groupId: beta.id }, ctx)
    deleteProject(t.db, gone, ctx)
    createProject(t.db, { name: 'alpha 0', description: '', groupId: alpha.id }, ctx)
    createProject(t.db, { name: 'no group', description: '', groupId: null }, ctx)

    const counts = Object.fromEntries(listGroups(t.db).map((g) => [g.name, g.projects]))
    expect(counts).toEqual({ Alpha: 1, Beta: 3, Empty: 0 })
  })
})
