import { ValidationError } from '@tessera/core'
import { describe, expect, it } from 'vitest'
import { defineEntity, integer, json, toParams, validateSync } from '../src/index'
import { jsonIssues } from '../src/json-value'

const Doc = defineEntity('JsonDoc', { id: integer().primaryKey(), body: json() })

function issuesOf(body: unknown): { path: string; message: string }[] {
  const result = validateSync(Doc, { id: 1, body })
  return result.ok ? [] : result.issues.map((i) => ({ path: i.path.join('.'), message: i.message }))
}

describe('json values', () => {
  it.each([
    ['NaN', { ratio: Number.NaN }, 'body.ratio', 'NaN'],
    ['Infinity', [1, Number.POSITIVE_INFINITY], 'body.1', 'Infinity'],
    ['a Map', { seen: new Map([['a', 1]]) }, 'body.seen', 'a Map'],
    ['a Set', new Set([1]), 'body', 'a Set'],
    ['a function', { f: () => 1 }, 'body.f', 'function'],
    ['undefined', { gone: undefined }, 'body.gone', 'undefined'],
    ['a symbol', { s: Symbol('x') }, 'body.s', 'symbol'],
    ['a bigint', { n: 1n }, 'body.n', 'bigint'],
    ['a typed array', { bytes: new Uint8Array([1]) }, 'body.bytes', 'Uint8Array'],
    ['a NUL character', { text: 'a\0b' }, 'body.text', 'NUL'],
  ])('refuses %s in a document, naming its path', (_name, body, path, word) => {
    const found = issuesOf(body)
    expect(found).toHaveLength(1)
    expect(found[0]?.path).toBe(path)
    expect(found[0]?.message).toContain(word)
  })

  it('refuses a hole, a symbol key and a cycle', () => {
    const cyclic: Record<string, unknown> = { a: 1 }
    cyclic.self = cyclic
    // biome-ignore lint/suspicious/noSparseArray: a hole becomes null in JSON
    expect(jsonIssues([1, , 3])?.map((i) => i.path)).toEqual([[1]])
    expect(jsonIssues({ [Symbol('k')]: 1 })?.map((i) => i.path)).toEqual([['Symbol(k)']])
    expect(jsonIssues(cyclic)?.map((i) => i.path)).toEqual([['self']])
  })

  it('accepts what JSON holds: plain data, nested arrays, Dates and other values with toJSON, shared (not cyclic) objects', () => {
    const shared = { x: 1 }
    expect(jsonIssues({ a: [1, 'two', null, true, { b: [] }], at: new Date(0), buffer: Buffer.from('hi'), one: shared, two: shared })).toBe(
      undefined,
    )
    expect(issuesOf({ nested: { deep: [0.5, -0] } })).toEqual([])
  })

  it('refuses the same values when writing parameters, so a write without validation cannot lose them', () => {
    const write = toParams(Doc, ['body'])
    expect(() => write({ body: { ratio: Number.NaN } })).toThrow(ValidationError)
    expect(() => write({ body: { ratio: Number.NaN } })).toThrow(/body\.ratio/)
    expect(write({ body: { ratio: 0.5 } })).toEqual(['{"ratio":0.5}'])
  })
})
