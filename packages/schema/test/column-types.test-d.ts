import type { Interval, Range } from '@tessera/converter'
import { describe, expectTypeOf, it } from 'vitest'
import {
  cidr,
  citext,
  defineEntity,
  doublePrecision,
  type InferEntity,
  type InferInsert,
  inet,
  integer,
  interval,
  range,
  real,
  smallint,
  time,
  timestamp,
  tsvector,
} from '../src/index'

const Typed = defineEntity('TypedColumns', {
  id: integer().primaryKey(),
  small: smallint(),
  ratio: real(),
  precise: doublePrecision(),
  localTime: timestamp(),
  opensAt: time(),
  duration: interval().nullable(),
  address: inet(),
  network: cidr(),
  email: citext(),
  document: tsvector(),
  seats: range('int4range'),
  ids: range('int8range'),
  prices: range('numrange'),
  during: range('tstzrange'),
  days: range('daterange'),
})

describe('column types', () => {
  it('read as the documented JavaScript types', () => {
    expectTypeOf<InferEntity<typeof Typed>>().toEqualTypeOf<{
      id: number
      small: number
      ratio: number
      precise: number
      localTime: Date
      opensAt: string
      duration: Interval | null
      address: string
      network: string
      email: string
      document: string
      seats: Range<number>
      ids: Range<bigint>
      prices: Range<string>
      during: Range<Date>
      days: Range<string>
    }>()
  })

  it('take the same types on insert', () => {
    expectTypeOf<InferInsert<typeof Typed>['during']>().toEqualTypeOf<Range<Date>>()
    // @ts-expect-error a range type that does not exist
    range('tsrange2')
  })
})

describe('native enums', () => {
  it('read as the union of their values, like text enums', async () => {
    const { enumOf } = await import('../src/index')
    const Task = defineEntity('TypedNativeTask', {
      id: integer().primaryKey(),
      status: enumOf(['todo', 'done'] as const, { native: 'task_status' }),
    })
    expectTypeOf<InferEntity<typeof Task>['status']>().toEqualTypeOf<'todo' | 'done'>()
    // @ts-expect-error native takes a boolean or a type name
    enumOf(['a'] as const, { native: 1 })
  })
})

describe('generated columns', () => {
  it('are read, never written: not in an insert, not in an update patch', async () => {
    const { numeric, sql } = { numeric: (await import('../src/index')).numeric, sql: (await import('@tessera/core')).sql }
    const Line = defineEntity('TypedGeneratedLine', {
      id: integer().primaryKey(),
      quantity: integer(),
      total: numeric().generatedAs(sql`quantity * 2`),
    })
    expectTypeOf<InferEntity<typeof Line>>().toEqualTypeOf<{ id: number; quantity: number; total: string }>()
    expectTypeOf<InferInsert<typeof Line>>().toEqualTypeOf<{ id: number; quantity: number }>()
    expectTypeOf<import('../src/index').InferUpdate<typeof Line>>().toEqualTypeOf<{ quantity?: number | undefined }>()
  })
})

describe('views', () => {
  it('offer reads only', async () => {
    const { defineView, repository, text: textField } = await import('../src/index')
    const { sql } = await import('@tessera/core')
    const Active = defineView(
      'TypedActive',
      { id: integer().primaryKey(), email: textField() },
      { query: sql`SELECT 1 AS id, 'a' AS email` },
    )
    const repo = repository(Active, {} as never)
    expectTypeOf(repo.findById).returns.resolves.toEqualTypeOf<{ id: number; email: string } | undefined>()
    // @ts-expect-error a view has no insert
    repo.insert
    // @ts-expect-error a view has no deleteMany
    repo.deleteMany
  })
})
