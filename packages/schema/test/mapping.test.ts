import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { bigint, defineEntity, integer, json, mapRow, mapRows, text, timestamptz, toParams, uuid, vector } from '../src/index'

const Account = defineEntity('MapAccount', {
  id: uuid().primaryKey(),
  displayName: text(),
  balance: bigint(),
  prefs: json<{ tags: string[] }>(),
  embedding: vector(3).nullable(),
  createdAt: timestamptz(),
})

describe('mapRow', () => {
  it('maps columns to fields and keeps converted values as they are', () => {
    const createdAt = new Date('2024-01-02T03:04:05Z')
    const row = {
      id: 'u1',
      display_name: 'Ann',
      balance: 5n,
      prefs: { tags: ['a'] },
      embedding: [1, 2, 3],
      created_at: createdAt,
      extra: 1,
    }
    expect(mapRow(Account)(row)).toEqual({
      id: 'u1',
      displayName: 'Ann',
      balance: 5n,
      prefs: { tags: ['a'] },
      embedding: [1, 2, 3],
      createdAt,
    })
  })

  it('parses a vector the provider returned as text', () => {
    const row = { id: 'u1', display_name: 'A', balance: 1n, prefs: {}, embedding: '[0.5,-1,2]', created_at: new Date(0) }
    expect(mapRow(Account)(row).embedding).toEqual([0.5, -1, 2])
  })

  it('is compiled once per entity and field list', () => {
    expect(mapRow(Account)).toBe(mapRow(Account))
    expect(mapRow(Account, { fields: ['id'] })).toBe(mapRow(Account, { fields: ['id'] }))
    expect(mapRow(Account, { fields: ['id', 'displayName'] })({ id: 'x', display_name: 'y', balance: 1n })).toEqual({
      id: 'x',
      displayName: 'y',
    })
  })

  it('maps many rows with mapRows', () => {
    const rows = [1, 2, 3].map((i) => ({ id: `u${i}`, display_name: `n${i}` }))
    expect(mapRows(Account, rows, { fields: ['id', 'displayName'] })).toEqual([
      { id: 'u1', displayName: 'n1' },
      { id: 'u2', displayName: 'n2' },
      { id: 'u3', displayName: 'n3' },
    ])
  })

  it('rejects an unknown field list entry', () => {
    expect(() => mapRow(Account, { fields: ['nope'] })).toThrow(/MapAccount has no field "nope"/)
  })
})

describe('toParams', () => {
  it('reads fields in column order and encodes JSON and vectors for PostgreSQL', () => {
    const createdAt = new Date(0)
    const params = toParams(Account)({ id: 'u1', displayName: 'A', balance: 2n, prefs: { tags: ['x'] }, embedding: [1, 2, 3], createdAt })
    expect(params).toEqual(['u1', 'A', 2n, '{"tags":["x"]}', '[1,2,3]', createdAt])
  })

  it('follows an explicit field order and keeps null and undefined', () => {
    expect(toParams(Account, ['embedding', 'id', 'prefs'])({ id: 'u1', embedding: null })).toEqual([null, 'u1', undefined])
  })
})

describe('hostile names', () => {
  const nasty = [
    '"]; globalThis.pwned = true; //',
    "'); globalThis.pwned = true; ('",
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a name that would run code inside a template literal
    '`${globalThis.pwned = true}`',
    '\\"; globalThis.pwned = true; "',
    'a\u2028b\u2029c',
    '}); globalThis.pwned = true; ({',
    'constructor',
    'toString',
  ]

  it('never runs code from field or column names', () => {
    const fields: Record<string, ReturnType<typeof text>> = { id: integer().primaryKey() as never }
    nasty.forEach((name, i) => {
      fields[name] = text().column(`c${i}${name}`.slice(0, 60))
    })
    const Evil = defineEntity('Evil', fields)
    const row: Record<string, unknown> = { id: 1 }
    nasty.forEach((name, i) => {
      row[`c${i}${name}`.slice(0, 60)] = `v${i}`
    })
    const mapped = mapRow(Evil)(row) as Record<string, unknown>
    expect((globalThis as Record<string, unknown>).pwned).toBeUndefined()
    nasty.forEach((name, i) => {
      expect(Object.hasOwn(mapped, name)).toBe(true)
      expect(mapped[name]).toBe(`v${i}`)
    })
    expect(toParams(Evil)(mapped as never)).toEqual([1, ...nasty.map((_, i) => `v${i}`)])
    expect((globalThis as Record<string, unknown>).pwned).toBeUndefined()
  })

  it('round-trips arbitrary names (property test)', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(
          fc.string({ minLength: 1, maxLength: 20 }).filter((s) => !s.includes('\0') && s !== '__proto__'),
          {
            minLength: 1,
            maxLength: 6,
          },
        ),
        (names) => {
          const fields: Record<string, ReturnType<typeof text>> = { pk: integer().primaryKey() as never }
          names.forEach((n, i) => {
            fields[`f${i}${n}`] = text().column(`c${i}${n}`)
          })
          const E = defineEntity('Prop', fields)
          const row: Record<string, unknown> = { pk: 0 }
          names.forEach((n, i) => {
            row[`c${i}${n}`] = n
          })
          const mapped = mapRow(E)(row) as Record<string, unknown>
          names.forEach((n, i) => {
            expect(mapped[`f${i}${n}`]).toBe(n)
          })
          expect((globalThis as Record<string, unknown>).pwned).toBeUndefined()
        },
      ),
      { numRuns: 200 },
    )
  })
})
