import { describe, expect, it } from 'vitest'
import { formatLsn, parseConsistencyToken, parseLsn } from '../src/lsn'

describe('WAL positions', () => {
  it('parses and prints pg_lsn text exactly, beyond 2^53', () => {
    expect(parseLsn('0/3000148')).toBe(0x3000148n)
    expect(parseLsn('16/B374D848')).toBe((0x16n << 32n) | 0xb374d848n)
    expect(formatLsn(parseLsn('FFFFFFFF/FFFFFFFF') as bigint)).toBe('FFFFFFFF/FFFFFFFF')
    expect((parseLsn('1/2') as bigint) > (parseLsn('0/FFFFFFFF') as bigint)).toBe(true)
  })

  it('refuses anything that is not a position', () => {
    for (const bad of ['', '0/', '/1', '0/1/2', 'G/1', '123456789/1', 12, null]) expect(parseLsn(bad)).toBeUndefined()
    expect(() => parseConsistencyToken("0/1' OR 1=1")).toThrow(
      /consistency token "0\/1' OR 1=1" is not one cluster\.consistencyToken\(\) returned/,
    )
  })
})
