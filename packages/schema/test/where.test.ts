import { ValidationError } from '@tessera/core'
import { describe, expect, it } from 'vitest'
import { compileWhere, isUnconditional, type WhereTarget } from '../src/where'

const target: WhereTarget = {
  name: 'User',
  columnOf: (field) => ({ id: 'id', email: 'email', age: 'age', createdAt: 'created_at', deletedAt: 'deleted_at' })[field],
}

function compile(where: unknown): { text: string; values: readonly unknown[] } {
  const query = compileWhere(where, target)
  return { text: query.text, values: query.values }
}

describe('compileWhere', () => {
  it('turns bare values into equality and null into IS NULL, AND-ing the fields', () => {
    expect(compile({ email: 'a@b', deletedAt: null })).toEqual({ text: '"email" = $1 AND "deleted_at" IS NULL', values: ['a@b'] })
  })

  it('maps field names to quoted column names', () => {
    expect(compile({ createdAt: { gte: 'x' } }).text).toBe('"created_at" >= $1')
  })

  it('supports every comparison operator, each value a parameter', () => {
    const result = compile({
      age: { eq: 1, ne: 2, gt: 3, gte: 4, lt: 5, lte: 6, between: [7, 8] },
      email: { like: 'a%', ilike: 'B%' },
    })
    expect(result.text).toBe(
      '"age" = $1 AND "age" <> $2 AND "age" > $3 AND "age" >= $4 AND "age" < $5 AND "age" <= $6 AND "age" BETWEEN $7 AND $8 AND "email" LIKE $9 AND "email" ILIKE $10',
    )
    expect(result.values).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 'a%', 'B%'])
  })

  it('sends in/notIn lists as one array parameter and handles empty lists', () => {
    expect(compile({ id: { in: [1, 2, 3] } })).toEqual({ text: '"id" = ANY($1)', values: [[1, 2, 3]] })
    expect(compile({ id: { notIn: [1] } })).toEqual({ text: 'NOT ("id" = ANY($1))', values: [[1]] })
    expect(compile({ id: { in: [] } }).text).toBe('FALSE')
    expect(compile({ id: { notIn: [] } }).text).toBe('TRUE')
  })

  it('nests and, or and not', () => {
    const result = compile({ age: { gte: 18 }, or: [{ email: 'a' }, { and: [{ deletedAt: { isNull: false } }, { not: { id: 1 } }] }] })
    expect(result.text).toBe('"age" >= $1 AND (("email" = $2) OR ((("deleted_at" IS NOT NULL) AND (NOT ("id" = $3)))))')
    expect(result.values).toEqual([18, 'a', 1])
  })

  it('matches everything with an empty filter and nothing with or: []', () => {
    expect(compile({}).text).toBe('TRUE')
    expect(compile(undefined).text).toBe('TRUE')
    expect(compile({ or: [] }).text).toBe('FALSE')
  })

  it('rejects unknown fields and operators as a ValidationError listing each, never as SQL text', () => {
    const error = (() => {
      try {
        compileWhere({ 'email" OR 1=1 --': 'x', age: { greaterThan: 3 }, or: [{ nope: 1 }], id: { in: 'x' } }, target)
      } catch (e) {
        return e
      }
    })()
    expect(error).toBeInstanceOf(ValidationError)
    expect((error as ValidationError).issues.map((i) => i.path.join('.'))).toEqual([
      'where.email" OR 1=1 --',
      'where.age',
      'where.or.0.nope',
      'where.id.in',
    ])
  })

  it('refuses undefined anywhere in a filter, naming each path, so it can never widen to every row', () => {
    const paths = (where: unknown): string[] => {
      try {
        compileWhere(where, target)
      } catch (error) {
        expect(error).toBeInstanceOf(ValidationError)
        return (error as ValidationError).issues.map((i) => i.path.join('.'))
      }
      return []
    }
    expect(paths({ id: undefined })).toEqual(['where.id'])
    expect(paths({ id: { eq: undefined, gt: 1 } })).toEqual(['where.id.eq'])
    expect(paths({ id: { in: undefined } })).toEqual(['where.id.in'])
    expect(paths({ id: { notIn: [1, undefined] } })).toEqual(['where.id.notIn.1'])
    expect(paths({ id: { between: [1, undefined] } })).toEqual(['where.id.between.1'])
    expect(paths({ or: [{ email: 'a' }, { and: [{ age: undefined }] }] })).toEqual(['where.or.1.and.0.age'])
    // biome-ignore lint/suspicious/noSparseArray: a hole is an undefined group
    expect(paths({ and: [{ id: 1 }, , { id: 2 }] })).toEqual(['where.and.1'])
    expect(paths({ not: undefined })).toEqual(['where.not'])
  })

  it('tells a filter without any field condition from one with a condition', () => {
    expect(isUnconditional(undefined)).toBe(true)
    expect(isUnconditional({})).toBe(true)
    expect(isUnconditional({ and: [], or: [{}] })).toBe(true)
    expect(isUnconditional({ and: [{ id: 1 }] })).toBe(false)
    expect(isUnconditional({ id: null })).toBe(false)
  })
})
