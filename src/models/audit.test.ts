import { describe, expect, it } from 'vitest'
import { testDb } from '../test/helpers.ts'
import { recordAuditEvent } from './audit.ts'

describe('audit log', () => {
  it('is append-only: the database refuses UPDATE and DELETE', () => {
    const db = testDb()
    recordAuditEvent(db, { event: 'signin.failed', at: 1, ip: '192.0.2.1', details: { email: 'a@example.org' } })
    expect(() => db.$client.prepare("update audit_events set event = 'nothing'").run()).toThrow(/append-only/)
    expect(() => db.$client.prepare('delete from audit_events').run()).toThrow(/append-only/)
    const rows = db.$client.prepare('select event, details from audit_events').all()
    expect(rows).toEqual([{ event: 'signin.failed', details: '{"email":"a@example.org"}' }])
  })
})
