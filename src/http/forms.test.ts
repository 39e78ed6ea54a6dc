import { describe, expect, it } from 'vitest'
import { idParam } from './forms.ts'

describe('idParam', () => {
  it('reads plain decimal ids', () => {
    expect(idParam('1')).toBe(1)
    expect(idParam('42')).toBe(42)
    expect(idParam('999999999999999')).toBe(999_999_999_999_999)
  })
  it('refuses every other spelling of a number, so it is a 404 and not another row', () => {
    for (const raw of ['0', '01', '0x1', '1e0', '+1', '-1', ' 1', '1 ', '1.0', '1.5', '1abc', 'abc', '', '9999999999999999', undefined]) expect(idParam(raw), String(raw)).toBeNull()
  })
})
