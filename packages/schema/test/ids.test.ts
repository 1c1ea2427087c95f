import { sql } from '@tessera/core'
import { describe, expect, it } from 'vitest'
import { applyGenerated, bigint, defineEntity, generateId, integer, json, text, timestamptz, uuid } from '../src/index'

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/

describe('generateId', () => {
  it('makes uuid v4, uuid v7 and ulid ids of the right shape', () => {
    expect(generateId('uuidv4')).toMatch(UUID_V4)
    expect(generateId('uuidv7')).toMatch(UUID_V7)
    expect(generateId('ulid')).toMatch(ULID)
  })

  it.each(['uuidv7', 'ulid'] as const)('%s ids made in a burst strictly increase (monotonic within a millisecond)', (strategy) => {
    const ids = Array.from({ length: 10_000 }, () => generateId(strategy))
    for (let i = 1; i < ids.length; i++) expect((ids[i] as string) > (ids[i - 1] as string)).toBe(true)
    expect(new Set(ids).size).toBe(ids.length)
  })

  it('refuses an unknown strategy', () => {
    expect(() => generateId('nanoid' as never)).toThrow(/unknown strategy; accepted: uuidv4, uuidv7, ulid/)
  })
})

describe('applyGenerated', () => {
  const Doc = defineEntity('GenDoc', {
    id: uuid().primaryKey().generated('uuidv7'),
    code: text().generated('ulid'),
    serial: integer().generated('identity').unique(),
    title: text(),
    tags: json<string[]>().default([]),
    score: integer().default(() => 42),
    seen: timestamptz().default(sql`now()`),
    createdAt: timestamptz().createdAt(),
    updatedAt: timestamptz().updatedAt(),
    version: bigint().version(),
  })
  const now = new Date('2024-05-06T07:08:09Z')

  it('fills ids, defaults, timestamps and version 1 on insert, leaving database defaults alone', () => {
    const out = applyGenerated(Doc, { title: 'x' }, { now }) as Record<string, unknown>
    expect(out.id).toMatch(UUID_V7)
    expect(out.code).toMatch(ULID)
    expect(out).toMatchObject({ title: 'x', tags: [], score: 42, createdAt: now, updatedAt: now, version: 1n })
    expect('serial' in out).toBe(false)
    expect('seen' in out).toBe(false)
    expect(out.createdAt).not.toBe(out.updatedAt)
  })

  it('keeps values the input brings and never mutates the input', () => {
    const input = { title: 'x', id: 'given', createdAt: new Date(0) }
    const out = applyGenerated(Doc, input, { now })
    expect(out).toMatchObject({ id: 'given', createdAt: new Date(0) })
    expect(input).toEqual({ title: 'x', id: 'given', createdAt: new Date(0) })
  })

  it('gives every insert its own copy of an object default', () => {
    const a = applyGenerated(Doc, { title: 'a' }) as unknown as { tags: string[] }
    const b = applyGenerated(Doc, { title: 'b' }) as unknown as { tags: string[] }
    a.tags.push('mutated')
    expect(b.tags).toEqual([])
  })

  it('only touches updatedAt on update', () => {
    expect(applyGenerated(Doc, { title: 'y', updatedAt: new Date(0) }, { operation: 'update', now })).toEqual({
      title: 'y',
      updatedAt: now,
    })
  })
})
