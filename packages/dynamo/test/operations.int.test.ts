import diagnostics_channel from 'node:diagnostics_channel'
import { type DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb'
import { CHANNELS, type DynamoCommandMessage, isTesseraError, OptimisticLockError, ValidationError } from '@tessera/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ConditionFailedError, createDynamo, type Dynamo, ItemNotFoundError } from '../src/index'
import { dropTable, localClient } from './dynamodb-local'
import { createAppTable, orderModel, testEncryption, userModel } from './model-fixtures'

let client: DynamoDBClient
let table: string
let db: Dynamo
let User: ReturnType<typeof userModel>
let Order: ReturnType<typeof orderModel>

beforeAll(async () => {
  client = localClient()
  table = await createAppTable(client)
  User = userModel(table)
  Order = orderModel(table)
  db = createDynamo({ client, encryption: testEncryption() })
})
afterAll(async () => {
  await dropTable(client, table)
  client.destroy()
})

let counter = 0
const nextId = () => `u${++counter}-${Math.random().toString(36).slice(2, 8)}`

function newUser(overrides: Partial<{ id: string; org: string; name: string; email: string }> = {}) {
  const id = overrides.id ?? nextId()
  return { id, email: overrides.email ?? `${id}@example.test`, name: overrides.name ?? `name-${id}`, org: overrides.org ?? 'acme' }
}

describe('create, get, put, delete', () => {
  it('creates an item with version 0 and timestamps, stored under composed keys with the entity marker', async () => {
    const user = newUser()
    const created = await db.model(User).create({ ...user, tags: new Set(['a', 'b']) })
    expect(created).toMatchObject({ ...user, version: 0, tags: new Set(['a', 'b']) })
    expect(created.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
    const raw = await client.send(new GetItemCommand({ TableName: table, Key: { pk: { S: `USER#${user.id}` }, sk: { S: 'PROFILE' } } }))
    expect(raw.Item).toMatchObject({
      gsi1pk: { S: 'ORG#acme' },
      gsi1sk: { S: `USER#${user.name}` },
      _entity: { S: 'User' },
      version: { N: '0' },
      tags: { SS: expect.arrayContaining(['a', 'b']) },
    })
    expect(await db.model(User).get({ id: user.id })).toEqual(created)
  })

  it('refuses to create over an existing key with ConditionFailedError, and leaves the item alone', async () => {
    const user = newUser()
    await db.model(User).create(user)
    const error = await db
      .model(User)
      .create({ ...user, name: 'other' })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ConditionFailedError)
    expect((error as ConditionFailedError).code).toBe('CONDITION_FAILED')
    expect((await db.model(User).get({ id: user.id }))?.name).toBe(user.name)
  })

  it('returns undefined for a miss from get, ItemNotFoundError from getOrThrow', async () => {
    expect(await db.model(User).get({ id: 'nobody' })).toBeUndefined()
    await expect(db.model(User).getOrThrow({ id: 'nobody' })).rejects.toBeInstanceOf(ItemNotFoundError)
  })

  it('reads only the selected fields', async () => {
    const user = newUser()
    await db.model(User).create(user)
    expect(await db.model(User).get({ id: user.id }, { select: ['name', 'org'], consistent: true })).toEqual({
      name: user.name,
      org: 'acme',
    })
  })

  it('puts with the expected version and bumps it; a stale version is OptimisticLockError', async () => {
    const user = newUser()
    const created = await db.model(User).create(user)
    const replaced = await db.model(User).put({ ...created, name: 'renamed' })
    expect(replaced.version).toBe(1)
    await expect(db.model(User).put({ ...created, name: 'stale' })).rejects.toBeInstanceOf(OptimisticLockError)
    expect((await db.model(User).get({ id: user.id }))?.name).toBe('renamed')
  })

  it('deletes with the expected version and returns the old item; stale is OptimisticLockError, missing is ItemNotFoundError', async () => {
    const user = newUser()
    await db.model(User).create(user)
    await expect(db.model(User).delete({ id: user.id, version: 5 })).rejects.toBeInstanceOf(OptimisticLockError)
    const deleted = await db.model(User).delete({ id: user.id, version: 0 })
    expect(deleted?.id).toBe(user.id)
    expect(await db.model(User).get({ id: user.id })).toBeUndefined()
    await expect(db.model(User).delete({ id: user.id, version: 0 })).rejects.toBeInstanceOf(ItemNotFoundError)
  })
})

describe('update', () => {
  it('sets, increments, appends, adds to a set and removes, bumping the version and updatedAt', async () => {
    const user = newUser()
    const created = await db.model(User).create({ ...user, tags: new Set(['x']), status: 'active' })
    const updated = await db
      .model(User)
      .update({ id: user.id, version: 0 })
      .set({ status: 'disabled' })
      .increment('logins', 2)
      .append('history', ['login'])
      .add('tags', new Set(['y']))
      .go()
    expect(updated).toMatchObject({ status: 'disabled', logins: 2, history: ['login'], tags: new Set(['x', 'y']), version: 1 })
    const removed = await db.model(User).update({ id: user.id, version: 1 }).remove('status').prepend('history', ['first']).go()
    expect(removed?.status).toBeUndefined()
    expect(removed?.history).toEqual(['first', 'login'])
    expect(updated!.updatedAt >= created.updatedAt).toBe(true)
  })

  it('recomputes the index keys composed from updated fields, so the item is found under its new name', async () => {
    const user = newUser({ org: `org-${nextId()}` })
    await db.model(User).create(user)
    await db.model(User).update({ id: user.id, version: 0 }).set({ name: 'zed' }).go()
    // name alone changes gsi1sk (USER#${name}); gsi1pk keeps ORG#org.
    const found = await db.model(User).query().where({ org: user.org, name: 'zed' }).all()
    expect(found.map((item) => item.id)).toEqual([user.id])
  })

  it('on a missing item is ItemNotFoundError and creates nothing', async () => {
    const id = nextId()
    await expect(db.model(User).update({ id, version: 0 }).set({ name: 'x' }).go()).rejects.toBeInstanceOf(ItemNotFoundError)
    expect(await db.model(User).get({ id })).toBeUndefined()
  })

  it('with a condition that does not hold is ConditionFailedError carrying the stored item', async () => {
    const user = newUser()
    await db.model(User).create({ ...user, status: 'active' })
    const error = await db
      .model(User)
      .update({ id: user.id, version: 0 })
      .set({ name: 'x' })
      .if({ status: 'disabled' })
      .go()
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ConditionFailedError)
    expect((error as ConditionFailedError).item).toMatchObject({ id: user.id, status: 'active' })
  })

  it('two writers racing on one version: exactly one wins', async () => {
    const user = newUser()
    await db.model(User).create({ ...user, logins: 0 })
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, (_, writer) =>
        db
          .model(User)
          .update({ id: user.id, version: 0 })
          .set({ name: `writer-${writer}` })
          .go(),
      ),
    )
    const won = results.filter((result) => result.status === 'fulfilled')
    const lost = results.filter((result) => result.status === 'rejected')
    expect(won).toHaveLength(1)
    expect(lost.every((result) => (result as PromiseRejectedResult).reason instanceof OptimisticLockError)).toBe(true)
    const stored = await db.model(User).getOrThrow({ id: user.id }, { consistent: true })
    expect(stored.version).toBe(1)
    expect(stored.name).toBe((won[0] as PromiseFulfilledResult<{ name: string }>).value.name)
  })
})

describe('query', () => {
  it('picks the index from the where() fields, explains the choice, and returns only its model', async () => {
    const org = `org-${nextId()}`
    for (const name of ['ann', 'bob', 'cat']) await db.model(User).create(newUser({ org, name }))
    const query = db
      .model(User)
      .query()
      .where({ org, name: { beginsWith: 'b' } })
    expect((await query.all()).map((user) => user.name)).toEqual(['bob'])
    const explanation = await query.explain()
    expect(explanation).toMatchObject({ operation: 'Query', index: 'gsi1', appliedAfterRead: ['entity marker _entity = User'] })
    expect(explanation.indexChoice).toContain('gsi1')
    const byEmail = await db.model(User).query().where({ email: `nobody@example.test` }).explain()
    expect(byEmail.index).toBe('byEmail')
  })

  it('queries a composed sort key by a range on its last field, in both orders', async () => {
    const customer = nextId()
    for (const day of ['2024-01-01', '2024-01-02', '2024-01-03', '2024-02-01']) {
      await db.model(Order).create({ customer, day, id: 'o1', total: 10 })
    }
    const january = await db
      .model(Order)
      .query()
      .where({ customer, day: { between: ['2024-01-02', '2024-01-31'] } })
      .order('desc')
      .all()
    expect(january.map((order) => order.day)).toEqual(['2024-01-03', '2024-01-02'])
    const after = await db
      .model(Order)
      .query()
      .where({ customer, day: { gt: '2024-01-02' } })
      .all()
    expect(after.map((order) => order.day)).toEqual(['2024-01-03', '2024-02-01'])
    expect(await db.model(Order).query().where({ customer }).count()).toBe(4)
    expect((await db.model(Order).query().where({ customer }).first())?.day).toBe('2024-01-01')
  })

  it('pages with a signed cursor that continues exactly where the page ended', async () => {
    const customer = nextId()
    for (let day = 1; day <= 7; day++) await db.model(Order).create({ customer, day: `2024-03-0${day}`, id: 'o', total: day })
    const seen: number[] = []
    let cursor: string | undefined
    do {
      const page = await db.model(Order).query().where({ customer }).limit(3).cursor(cursor).page()
      seen.push(...page.items.map((order) => order.total))
      cursor = page.cursor
    } while (cursor)
    expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7])
  })

  it('refuses a tampered cursor and a cursor of another query with a TesseraError, sending nothing', async () => {
    const customer = nextId()
    for (let day = 1; day <= 3; day++) await db.model(Order).create({ customer, day: `2024-04-0${day}`, id: 'o', total: day })
    const { cursor } = await db.model(Order).query().where({ customer }).limit(1).page()
    expect(cursor).toBeDefined()
    const [payload, signature] = cursor!.split('.')
    const tampered = `${payload!.slice(0, -2)}AA.${signature}`
    const before = db.stats().commands
    await expect(db.model(Order).query().where({ customer }).cursor(tampered).all()).rejects.toMatchObject({ code: 'CURSOR_INVALID' })
    await expect(db.model(Order).query().where({ customer: 'someone-else' }).cursor(cursor).all()).rejects.toMatchObject({
      code: 'CURSOR_INVALID',
    })
    const other = createDynamo({ client, cursorSecret: 'another secret', encryption: testEncryption() })
    await expect(other.model(Order).query().where({ customer }).cursor(cursor).all()).rejects.toMatchObject({ code: 'CURSOR_INVALID' })
    expect(db.stats().commands).toBe(before)
  })

  it('pages() iterates every page; filter() drops items after the read and explain says so', async () => {
    const customer = nextId()
    for (let day = 1; day <= 5; day++) await db.model(Order).create({ customer, day: `2024-05-0${day}`, id: 'o', total: day })
    let pages = 0
    const totals: number[] = []
    for await (const page of db
      .model(Order)
      .query()
      .where({ customer })
      .filter({ total: { gte: 3 } })
      .limit(10)
      .pages()) {
      pages++
      totals.push(...page.items.map((order) => order.total))
    }
    expect(pages).toBe(1)
    expect(totals).toEqual([3, 4, 5])
    const explanation = await db
      .model(Order)
      .query()
      .where({ customer })
      .filter({ total: { gte: 3 } })
      .explain({ analyze: true })
    expect(explanation.appliedAfterRead).toContain('filter #1')
    expect(explanation.warnings.join(' ')).toContain('applied after the read')
    expect(explanation.actual).toMatchObject({ count: 3, scannedCount: 5 })
    expect(explanation.actual!.capacityUnits).toBeGreaterThan(0)
  })
})

describe('scan', () => {
  it('reads every item of the model over parallel segments, merged', async () => {
    const scanTable = await createAppTable(client)
    try {
      const ScanOrder = orderModel(scanTable)
      const ScanUser = userModel(scanTable)
      for (let n = 0; n < 30; n++) await db.model(ScanOrder).create({ customer: `c${n % 7}`, day: `d${n}`, id: 'o', total: n })
      await db.model(ScanUser).create(newUser())
      const items = await db.model(ScanOrder).scan().parallel(4).all()
      expect(items.map((order) => order.total).sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, n) => n))
      expect(await db.model(ScanOrder).scan().parallel(3).limit(5).all()).toHaveLength(5)
      expect(
        await db
          .model(ScanOrder)
          .scan()
          .filter({ total: { lt: 10 } })
          .count(),
      ).toBe(10)
      const explanation = await db.model(ScanOrder).scan().filter({ customer: 'c1' }).explain()
      expect(explanation.operation).toBe('Scan')
      expect(explanation.warnings.join(' ')).toMatch(/a query on the table would read only the matching items/)
    } finally {
      await dropTable(client, scanTable)
    }
  })
})

describe('bad input is refused before any request', () => {
  it('names the unknown attribute, the wrong type, the empty set, the missing key field and the oversized item', async () => {
    const before = db.stats().commands
    const model = db.model(User)
    const user = newUser()
    const attempts: Promise<unknown>[] = [
      // @ts-expect-error unknown attribute
      model.create({ ...user, nickname: 'x' }),
      // @ts-expect-error wrong type
      model.create({ ...user, name: 42 }),
      model.create({ ...user, tags: new Set<string>() }).then(() => 'omitEmpty wrote nothing'),
      // @ts-expect-error missing key field
      model.get({}),
      model.create({ ...user, name: 'x'.repeat(410 * 1024) }),
      model.query().filter({ secret: 'x' }).where({ org: 'a' }).all(),
      model.update({ id: user.id }).set({ name: 'x' }).go(),
      model
        .update({ id: user.id, version: 0 })
        .set({ secret: undefined as unknown as string })
        .go(),
    ]
    const results = await Promise.allSettled(attempts)
    const messages = results.map((result) => (result.status === 'rejected' ? String((result.reason as Error).message) : result.value))
    expect(messages[0]).toMatch(/nickname: is not a field of User/)
    expect(messages[1]).toMatch(/name: expected a string, got 42/)
    expect(messages[3]).toMatch(/id: is missing/)
    expect(messages[4]).toMatch(/400 KB/)
    expect(messages[5]).toMatch(/secret: is encrypted/)
    expect(messages[6]).toMatch(/pass the expected version/)
    expect(messages[7]).toMatch(/secret: is undefined/)
    for (const index of [0, 1, 3, 4, 5, 6, 7]) {
      const result = results[index] as PromiseRejectedResult
      expect(result.reason).toBeInstanceOf(ValidationError)
      expect(isTesseraError(result.reason)).toBe(true)
    }
    // The empty set under omitEmpty was left out (one request); nothing else was sent.
    expect(messages[2]).toBe('omitEmpty wrote nothing')
    expect(db.stats().commands).toBe(before + 1)
  })
})

describe('observability', () => {
  it('publishes every command on tessera:dynamo:command with table, index and consumed capacity', async () => {
    const messages: DynamoCommandMessage[] = []
    const channel = diagnostics_channel.tracingChannel<unknown, DynamoCommandMessage>(CHANNELS.dynamoCommand)
    const subscriber = {
      start() {},
      end() {},
      asyncStart() {},
      asyncEnd: (message: DynamoCommandMessage) => messages.push(message),
      error() {},
    }
    channel.subscribe(subscriber)
    try {
      const user = newUser()
      await db.model(User).create(user)
      await db.model(User).query().where({ email: user.email }).explain({ analyze: true })
    } finally {
      channel.unsubscribe(subscriber)
    }
    expect(messages.map((message) => message.command)).toEqual(['PutItem', 'Query'])
    expect(messages[1]).toMatchObject({ table, index: 'byEmail' })
    expect(messages[1]!.consumedCapacity).toBeGreaterThan(0)
  })

  it('runs the onCommand hook around every command: it sees the request and can answer it itself', async () => {
    const seen: string[] = []
    const hooked = createDynamo({
      encryption: testEncryption(),
      client,
      hooks: {
        onCommand: async (context, next) => {
          seen.push(`${context.operation} ${context.table}`)
          if (context.operation === 'GetItem' && (context.input.Key as Record<string, { S?: string }>).pk?.S === 'USER#cached') {
            return { Item: { pk: { S: 'USER#cached' }, id: { S: 'cached' }, name: { S: 'from the hook' } } }
          }
          return next()
        },
      },
    })
    const user = newUser()
    await hooked.model(User).create(user)
    expect((await hooked.model(User).get({ id: user.id }))?.name).toBe(user.name)
    expect(await hooked.model(User).get({ id: 'cached' })).toEqual({ id: 'cached', name: 'from the hook' })
    expect(seen).toEqual([`PutItem ${table}`, `GetItem ${table}`, `GetItem ${table}`])
  })

  it('reports the expression cache hit ratio in stats()', async () => {
    const fresh = createDynamo({ client, encryption: testEncryption() })
    for (let n = 0; n < 4; n++) await fresh.model(User).get({ id: `x${n}` }, { select: ['name'] })
    expect(fresh.stats().expressionCache).toMatchObject({ hits: 3, misses: 1, hitRatio: 0.75 })
  })
})
