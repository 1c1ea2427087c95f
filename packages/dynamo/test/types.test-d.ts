import { describe, expectTypeOf, it } from 'vitest'
import { type createDynamo, defineModel, field, type Insert, type Item, type Key } from '../src/index'
import { orderModel, userModel } from './model-fixtures'

const User = userModel('app')
const Order = orderModel('app')
declare const db: ReturnType<typeof createDynamo>

describe('model types', () => {
  it('infers items, inserts and keys from the fields and key templates', () => {
    expectTypeOf<Key<typeof User>>().toEqualTypeOf<{ id: string }>()
    expectTypeOf<Key<typeof Order>>().toEqualTypeOf<{ customer: string; day: string; id: string }>()
    expectTypeOf<Item<typeof User>['version']>().toEqualTypeOf<number>()
    expectTypeOf<Item<typeof User>['status']>().toEqualTypeOf<'active' | 'disabled' | undefined>()
    expectTypeOf<Item<typeof User>['tags']>().toEqualTypeOf<Set<string> | undefined>()
    expectTypeOf<Insert<typeof User>['version']>().toEqualTypeOf<number | undefined>()
    expectTypeOf<Insert<typeof User>['name']>().toEqualTypeOf<string>()
  })

  it('rejects wrong attribute names and types at compile time', () => {
    const users = db.model(User)
    // @ts-expect-error name is a string
    users.create({ id: '1', email: 'e', name: 42, org: 'o' })
    // @ts-expect-error nickname is not a field
    users.create({ id: '1', email: 'e', name: 'n', org: 'o', nickname: 'x' })
    // @ts-expect-error org is required
    users.create({ id: '1', email: 'e', name: 'n' })
    // @ts-expect-error the key is { id }
    users.get({ email: 'e' })
    // @ts-expect-error status is 'active' | 'disabled'
    users.query().where({ org: 'o' }).filter({ status: 'gone' })
    // @ts-expect-error unknown field in a condition
    users.query().where({ nope: 1 })
    // @ts-expect-error increment takes number fields
    users.update({ id: '1', version: 0 }).increment('name')
    // @ts-expect-error add to a string set takes strings
    users.update({ id: '1', version: 0 }).add('tags', new Set([1]))
    // @ts-expect-error select takes field names
    users.get({ id: '1' }, { select: ['nope'] })
    // @ts-expect-error no such index
    users.query().index('nope')
    expectTypeOf(users.get({ id: '1' })).resolves.toEqualTypeOf<Item<typeof User> | undefined>()
  })
})

describe('nested paths in conditions', () => {
  const Place = defineModel(
    'Place',
    {
      id: field.string(),
      address: field.map({ city: field.string(), zip: field.number().optional(), geo: field.map({ lat: field.number() }) }),
      tags: field.list<string>(),
      meta: field.map(),
    },
    { table: 'app', keys: { partition: 'id' } },
  )
  it('types a map field declared by fields, and the values at paths', () => {
    expectTypeOf<Item<typeof Place>['address']>().toEqualTypeOf<{ city: string; geo: { lat: number }; zip?: number | undefined }>()
    const places = db.model(Place)
    places
      .query()
      .where({ id: '1' })
      .filter({ 'address.city': 'Paris', 'address.geo.lat': { gt: 1 }, 'tags[0]': { beginsWith: 'a' } })
    places.update({ id: '1' }).if({ 'address.zip': { exists: true }, 'meta.anything': { exists: true } })
    // @ts-expect-error address has no entry nope
    places.query().where({ id: '1' }).filter({ 'address.nope': 'x' })
    // @ts-expect-error address.city is a string
    places.query().where({ id: '1' }).filter({ 'address.city': 3 })
    // @ts-expect-error tags[0] is a string
    places.query().filter({ 'tags[0]': { gt: 3 } })
  })
})
