import { ConfigError, ValidationError } from '@tessera/core'
import { describe, expect, it } from 'vitest'
import { createDynamo, defineModel, field } from '../src/index'
import { orderModel, testEncryption, userModel } from './model-fixtures'

// Pure logic: nothing here sends a request (the client refuses to be called).
const db = createDynamo({
  encryption: testEncryption(),
  client: {
    send() {
      throw new Error('no request may be sent by these tests')
    },
  },
})

describe('defineModel', () => {
  it('lists every problem of a definition at once', () => {
    const define = () =>
      defineModel(
        'Bad',
        { id: field.string().encrypted(), tags: field.stringSet(), v1: field.version(), v2: field.version() },
        {
          table: 't',
          // biome-ignore lint/suspicious/noTemplateCurlyInString: a key template
          keys: { partition: 'id', sort: { attribute: 'sk', template: 'X#${missing}' } },
          indexes: { byTags: { type: 'gsi', partition: 'tags' } },
        },
      )
    expect(define).toThrow(ConfigError)
    const message = (() => {
      try {
        define()
      } catch (error) {
        return (error as Error).message
      }
    })()
    expect(message).toMatch(/v1 and v2 both have the version role/)
    expect(message).toMatch(/field id is encrypted; an encrypted field cannot be a key/)
    expect(message).toMatch(/reads field missing, which the model does not have/)
    expect(message).toMatch(/field tags is a stringSet; a key is a string, number or binary/)
  })
})

describe('expressions', () => {
  it('uses a placeholder for every attribute and a value placeholder for every value', () => {
    const request = db.model(userModel('app')).update({ id: '1', version: 2 }).set({ name: 'n', status: 'active' }).params()
    const input = request.input as {
      UpdateExpression: string
      ConditionExpression: string
      ExpressionAttributeNames: Record<string, string>
    }
    expect(input.UpdateExpression).not.toMatch(/\b(name|status|version)\b/)
    expect(Object.values(input.ExpressionAttributeNames)).toEqual(expect.arrayContaining(['name', 'status', 'version', 'gsi1sk', 'pk']))
    expect(input.ConditionExpression).toMatch(/^\(attribute_exists\(#a\d+\)\) AND \(#a\d+ = :v\d+\)$/)
  })

  it('reuses a built expression for the same shape and counts the hits', () => {
    const local = createDynamo({ client: { send: async () => ({}) }, encryption: testEncryption() })
    const Orders = local.model(orderModel('app'))
    for (let n = 0; n < 10; n++)
      Orders.query()
        .where({ customer: `c${n}` })
        .filter({ total: { gt: n } })
        .params()
    expect(local.stats().expressionCache).toMatchObject({ misses: 1, hits: 9, hitRatio: 0.9 })
  })

  it('gives each shape its own expression, whatever was built before (nesting, operators, IN sizes)', () => {
    const filters = [
      { total: { gt: 1 } },
      { total: { gte: 1 } },
      { total: { in: [1, 2] } },
      { total: { in: [1, 2, 3] } },
      { total: { gt: 1 }, note: 'x' },
      { $or: [{ total: { gt: 1 } }, { note: 'x' }] },
      { $and: [{ total: { gt: 1 } }, { $or: [{ note: 'x' }, { note: { exists: false } }] }] },
      { $and: [{ $or: [{ total: { gt: 1 } }, { note: 'x' }] }, { note: { exists: false } }] },
      { $not: { total: { gt: 1 } } },
      { $not: { $or: [{ total: { gt: 1 } }, { note: 'x' }] } },
      { note: { size: { gt: 2 } } },
      { note: { beginsWith: 'x' } },
      { note: { contains: 'x' } },
    ]
    const warm = createDynamo({ client: { send: async () => ({}) }, encryption: testEncryption() }).model(orderModel('app'))
    const build = (model: typeof warm, filter: (typeof filters)[number]) =>
      model
        .query()
        .where({ customer: 'c1' })
        .filter(filter as never)
        .select('id', 'total')
        .params().input
    for (let round = 0; round < 2; round++) {
      for (const filter of filters) {
        const fresh = createDynamo({ client: { send: async () => ({}) }, encryption: testEncryption() }).model(orderModel('app'))
        expect(build(warm, filter)).toEqual(build(fresh, filter))
      }
    }
  })

  it('refuses a change to a composed index key whose other fields are unknown', () => {
    const Model = defineModel(
      'Event',
      { id: field.string(), org: field.string(), day: field.string(), title: field.string() },
      {
        table: 't',
        keys: { partition: 'id' },
        // biome-ignore lint/suspicious/noTemplateCurlyInString: a key template
        indexes: { byOrgDay: { type: 'gsi', partition: { attribute: 'g1pk', template: 'ORG#${org}#${day}' } } },
      },
    )
    expect(() => db.model(Model).update({ id: '1' }).set({ day: 'monday' }).params()).toThrow(/changes index key g1pk .*also needs org/)
    const input = db.model(Model).update({ id: '1' }).set({ day: 'monday', org: 'acme' }).params().input as {
      ExpressionAttributeValues: Record<string, unknown>
    }
    expect(Object.values(input.ExpressionAttributeValues)).toContainEqual({ S: 'ORG#acme#monday' })
  })
})

describe('explain', () => {
  it('estimates read units from the model, half for eventually consistent reads, twice in a transaction', async () => {
    const users = db.model(userModel('app'))
    const explanation = await users.explainGet({ id: '1' })
    expect(explanation).toMatchObject({ operation: 'GetItem', index: undefined, sizeBasis: 'model', itemsAssumed: 1 })
    expect(explanation.capacity).toEqual({ unit: 'read', units: 0.5, stronglyConsistent: 1, eventuallyConsistent: 0.5, transactional: 2 })
    expect(explanation.costUsd).toBeCloseTo((0.5 * 0.125) / 1e6)
    expect(JSON.parse(JSON.stringify(explanation))).toEqual(explanation)
  })

  it('prices a put from the item itself in 1 KB write units, plus a write per index it lands in', async () => {
    const users = db.model(userModel('app'))
    const explanation = await users.explainPut({ id: '1', email: 'x'.repeat(3000), name: 'n', org: 'o' })
    expect(explanation.sizeBasis).toBe('item')
    expect(explanation.itemSizeBytes).toBeGreaterThan(3000)
    expect(explanation.capacity.units).toBe(4 * 3)
  })

  it('warns about a scan, an unbounded query, and a named index when another fits better', async () => {
    const users = db.model(userModel('app'))
    const scan = await users.scan().explain()
    expect(scan.warnings.join('\n')).toMatch(/a scan reads every item/)
    const query = await users.query().where({ org: 'o', name: 'n', email: 'e' }).index('byEmail').explain()
    expect(query.index).toBe('byEmail')
    expect(query.warnings.join('\n')).toMatch(/index gsi1 would use more of the where\(\) fields/)
    expect(query.warnings.join('\n')).toMatch(/no limit\(\)/)
    expect(query.appliedAfterRead).toEqual(expect.arrayContaining(['where.org: not a key of index byEmail']))
  })

  it('refuses a query that binds no partition key, and a consistent read of a global index', () => {
    const users = db.model(userModel('app'))
    expect(() => users.query().where({ name: 'n' }).params()).toThrow(/binds no partition key/)
    expect(() => users.query().where({ email: 'e' }).consistent().params()).toThrow(ValidationError)
  })
})

describe('cached expressions of queries', () => {
  it('each kind of key condition and the entity marker keep their own expression and values, repeated in any order', () => {
    const orders = db.model(orderModel('app'))
    const build = (where: Record<string, unknown>) =>
      orders
        .query()
        .where(where as never)
        .params().input
    const shapes = [
      { customer: 'c1' },
      { customer: 'c1', day: '2024-01-02' },
      { customer: 'c1', day: '2024-01-02', id: '7' },
      { customer: 'c1', day: { between: ['2024-01-01', '2024-01-31'] } },
      { customer: 'c1', day: { gte: '2024-01-05' } },
    ]
    const first = shapes.map(build)
    const again = [...shapes].reverse().map(build).reverse()
    expect(again).toEqual(first)
    // A composed sort key folds equality on its leading fields into the key; the rest are filters.
    expect(first.map((input) => input.KeyConditionExpression)).toEqual([
      '(#a0 = :v0) AND (begins_with(#a1, :v1))',
      '(#a0 = :v0) AND (begins_with(#a1, :v1))',
      '(#a0 = :v0) AND (#a1 = :v1)',
      '(#a0 = :v0) AND (begins_with(#a1, :v1))',
      '(#a0 = :v0) AND (begins_with(#a1, :v1))',
    ])
    expect(first[1]?.ExpressionAttributeValues).toEqual({
      ':v0': { S: 'CUST#c1' },
      ':v1': { S: 'ORDER#2024-01-02#' },
      ':v2': { S: 'Order' },
    })
    expect(first[3]?.FilterExpression).toBe('(#a2 BETWEEN :v2 AND :v3) AND (#a3 = :v4)')
    expect(first[3]?.ExpressionAttributeValues).toEqual({
      ':v0': { S: 'CUST#c1' },
      ':v1': { S: 'ORDER#' },
      ':v2': { S: '2024-01-01' },
      ':v3': { S: '2024-01-31' },
      ':v4': { S: 'Order' },
    })
    for (const input of [first[0], first[1], first[2]]) expect(input?.FilterExpression).toMatch(/^#a\d+ = :v\d+$/)
    const filtered = orders
      .query()
      .where({ customer: 'c1' })
      .filter({ total: { gt: 5 } })
      .params().input
    expect(filtered.FilterExpression).toBe('(#a2 > :v2) AND (#a3 = :v3)')
    expect(filtered.ExpressionAttributeNames).toEqual({ '#a0': 'pk', '#a1': 'sk', '#a2': 'total', '#a3': '_entity' })
    expect(filtered.ExpressionAttributeValues).toMatchObject({ ':v2': { N: '5' }, ':v3': { S: 'Order' } })
  })
})
