import type { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { ValidationError } from '@tessera/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConditionFailedError, createDynamo, type Dynamo, defineModel, field } from '../src/index'
import { dropTable, localClient } from './dynamodb-local'
import { createAppTable, testEncryption } from './model-fixtures'

let client: DynamoDBClient
let table: string
let db: Dynamo
let Place: ReturnType<typeof placeModel>

function placeModel(tableName: string) {
  return defineModel(
    'Place',
    {
      id: field.string(),
      org: field.string(),
      address: field.map({ city: field.string(), zip: field.number().optional(), geo: field.map({ lat: field.number() }) }),
      tags: field.list<string>(),
      meta: field.map(),
      secret: field.map({ code: field.string() }).optional().encrypted(),
      name: field.string(),
    },
    {
      table: tableName,
      // biome-ignore lint/suspicious/noTemplateCurlyInString: key templates
      keys: { partition: { attribute: 'pk', template: 'PLACE#${id}' }, sort: { attribute: 'sk', template: 'P' } },
      indexes: {
        gsi1: {
          type: 'gsi',
          // biome-ignore lint/suspicious/noTemplateCurlyInString: key templates
          partition: { attribute: 'gsi1pk', template: 'ORG#${org}' },
          // biome-ignore lint/suspicious/noTemplateCurlyInString: key templates
          sort: { attribute: 'gsi1sk', template: 'P#${id}' },
        },
      },
    },
  )
}

beforeAll(async () => {
  client = localClient()
  table = await createAppTable(client)
  Place = placeModel(table)
  db = createDynamo({ client, encryption: testEncryption() })
  const places = db.model(Place)
  await places.create({
    id: '1',
    org: 'o',
    name: 'a',
    address: { city: 'Paris', zip: 75001, geo: { lat: 48 } },
    tags: ['old', 'x'],
    meta: { 'a.b': 1, rank: 3 },
  })
  await places.create({ id: '2', org: 'o', name: 'b', address: { city: 'Lyon', geo: { lat: 45 } }, tags: ['new'], meta: { rank: 1 } })
  await places.create({ id: '3', org: 'o', name: 'c', address: { city: 'Paris', geo: { lat: 10 } }, tags: [], meta: {} })
})
afterAll(async () => {
  await dropTable(client, table)
  client.destroy()
})

describe('conditions on nested map paths and list elements', () => {
  it('filter and where on map entries and list elements, each segment through its own name placeholder', async () => {
    const query = db
      .model(Place)
      .query()
      .where({ org: 'o', 'address.city': 'Paris' })
      .filter({ 'address.geo.lat': { gt: 20 } })
    const { input } = query.params()
    expect(input.FilterExpression).toMatch(/#a\d+\.#a\d+\.#a\d+ > :v\d+/)
    expect(Object.values(input.ExpressionAttributeNames as object).sort()).toEqual(
      ['_entity', 'address', 'city', 'geo', 'gsi1pk', 'gsi1sk', 'lat'].sort(),
    )
    expect((await query.all()).map((place) => place.id)).toEqual(['1'])
    const first = await db
      .model(Place)
      .query()
      .where({ org: 'o' })
      .filter({ 'tags[0]': { beginsWith: 'ne' } })
      .all()
    expect(first.map((place) => place.id)).toEqual(['2'])
    const unshaped = await db
      .model(Place)
      .query()
      .where({ org: 'o' })
      .filter({ 'meta.rank': { gte: 2 } })
      .all()
    expect(unshaped.map((place) => place.id)).toEqual(['1'])
    const missing = await db
      .model(Place)
      .query()
      .where({ org: 'o' })
      .filter({ 'address.zip': { exists: false } })
      .all()
    expect(missing.map((place) => place.id)).toEqual(['2', '3'])
  })

  it('update if() on a path holds or fails as DynamoDB decides', async () => {
    const places = db.model(Place)
    await places.update({ id: '1' }).if({ 'address.city': 'Paris', 'tags[1]': 'x' }).set({ name: 'renamed' }).go()
    expect((await places.get({ id: '1' }, { consistent: true }))?.name).toBe('renamed')
    const error = await places
      .update({ id: '2' })
      .if({ 'address.city': 'Paris' })
      .set({ name: 'never' })
      .go()
      .then(
        () => undefined,
        (caught: unknown) => caught,
      )
    expect(error).toBeInstanceOf(ConditionFailedError)
    expect(
      await places
        .scan()
        .filter({ 'address.geo.lat': { between: [40, 46] } })
        .all(),
    ).toMatchObject([{ id: '2' }])
  })

  it('a path the model knows is wrong is a ValidationError naming it, before anything is sent', () => {
    const query = (filter: Record<string, unknown>) => () =>
      db
        .model(Place)
        .query()
        .where({ org: 'o' })
        .filter(filter as never)
        .params()
    expect(query({ 'address.nope': 'x' })).toThrow(/address has no entry nope \(entries: city, zip, geo\)/)
    expect(query({ 'address.city': 3 })).toThrow(ValidationError)
    expect(query({ 'name.first': 'x' })).toThrow(/name is a string, so \.first cannot follow it/)
    expect(query({ 'address[0]': 'x' })).toThrow(/address is a map, so \[0\] cannot follow it/)
    expect(query({ 'nope.city': 'x' })).toThrow(/is not a field of Place/)
    expect(query({ 'secret.code': 'x' })).toThrow(/is encrypted/)
    expect(query({ 'address..city': 'x' })).toThrow(/is not a field or a path/)
    expect(query({ 'address.geo.lat.deg': 1 })).toThrow(/address\.geo\.lat is a number/)
  })
})

describe('maps declared by fields', () => {
  it('writes are checked against the declared entries: required, kinds, nested, no undeclared ones', async () => {
    const places = db.model(Place)
    const refused = (write: () => unknown) => {
      try {
        write()
      } catch (error) {
        return (error as ValidationError).issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`)
      }
      return []
    }
    const base = { id: 'm1', org: 'o', name: 'n', tags: [], meta: {} }
    expect(refused(() => places.params.put({ ...base, address: { city: 3, geo: { lat: 'x' }, extra: 1 } as never }))).toEqual([
      'address.extra: is not a declared entry of this map (entries: city, zip, geo)',
      'address.city: expected a string, got 3',
      'address.geo.lat: expected a finite number, got "x"',
    ])
    expect(refused(() => places.params.put({ ...base, address: { zip: 1 } as never }))).toEqual([
      'address.city: is required (a string)',
      'address.geo: is required (a plain object)',
    ])
    expect(
      refused(() =>
        places
          .update({ id: '1' })
          .set({ address: { city: 'Nice' } as never })
          .params(),
      ),
    ).toEqual(['set.address.geo: is required (a plain object)'])
    const written = await places.put({ ...base, address: { city: 'Nice', geo: { lat: 43 } } })
    expect((await places.get({ id: written.id }, { consistent: true }))?.address).toEqual({ city: 'Nice', geo: { lat: 43 } })
  })
})
