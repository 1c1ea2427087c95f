import type { Queryable } from '@tessera/core'
import { describe, expect, it } from 'vitest'
import { DEFAULT_MAX_PARAMETERS, insertStatements, maxParametersOf } from '../src/dml'
import { defineEntity, entityMeta, integer, text } from '../src/index'

const Pair = defineEntity('DmlPair', { id: integer().primaryKey(), label: text() })
const rows = Array.from({ length: 32_768 }, (_, i) => ({ id: i, label: 'x' }))

describe('insertStatements', () => {
  it('keeps every statement under the given parameter limit', () => {
    const statements = insertStatements(Pair, entityMeta(Pair), rows, { returning: false, maxParameters: 65_533 })
    expect(statements.map((s) => s.values.length)).toEqual([65_532, 4])
  })

  it('takes the limit a queryable declares, and 65,535 from one that declares none or nonsense', () => {
    const query = (() => Promise.reject(new Error('not called'))) as Queryable['query']
    expect(maxParametersOf({ query, maxParameters: 65_533 })).toBe(65_533)
    expect(maxParametersOf({ query })).toBe(DEFAULT_MAX_PARAMETERS)
    expect(maxParametersOf({ query, maxParameters: 0 })).toBe(65_535)
  })
})
