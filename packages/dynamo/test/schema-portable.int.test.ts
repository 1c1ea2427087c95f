import { readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { ValidationError } from '@tessera/core'
import type { FieldValidator } from '@tessera/schema/portable'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDynamo, type Dynamo, defineModel, field } from '../src/index'
import { dropTable, localClient } from './dynamodb-local'
import { createAppTable } from './model-fixtures'

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/

/** A Standard Schema v1 validator written by hand (what zod, valibot and arktype implement): trims, then needs an @. */
const email: FieldValidator<string> = {
  '~standard': {
    version: 1,
    vendor: 'test',
    validate: (value) => {
      const text = typeof value === 'string' ? value.trim() : ''
      return text.includes('@') ? { value: text } : { issues: [{ message: 'must be an email address' }] }
    },
  },
}

let client: DynamoDBClient
let table: string
let db: Dynamo
let Account: ReturnType<typeof accountModel>

function accountModel(tableName: string) {
  return defineModel(
    'Account',
    {
      id: field.string().generated('uuidv7'),
      ref: field.string().generated('ulid').optional(),
      email: field.string().validate(email),
      name: field.string().validate((name) => name.length <= 10 || 'must have at most 10 characters'),
    },
    // biome-ignore lint/suspicious/noTemplateCurlyInString: key templates
    { table: tableName, keys: { partition: { attribute: 'pk', template: 'ACCOUNT#${id}' }, sort: { attribute: 'sk', template: 'A' } } },
  )
}

beforeAll(async () => {
  client = localClient()
  table = await createAppTable(client)
  Account = accountModel(table)
  db = createDynamo({ client })
})
afterAll(async () => {
  await dropTable(client, table)
  client.destroy()
})

describe('ids and validators from @tessera/schema/portable', () => {
  it('create and put fill generated ids (uuidv7, ulid) and key the item by them', async () => {
    const created = await db.model(Account).create({ email: 'ada@example.test', name: 'Ada' })
    expect(created.id).toMatch(UUID_V7)
    expect(created.ref).toMatch(ULID)
    expect(await db.model(Account).get({ id: created.id }, { consistent: true })).toEqual(created)
    const given = await db.model(Account).put({ id: 'given', email: 'b@example.test', name: 'B' })
    expect(given.id).toBe('given')
    const { puts } = await db.model(Account).batchWrite({ put: [{ email: 'c@example.test', name: 'C' }] })
    expect(puts[0]?.id).toMatch(UUID_V7)
    expect((await db.model(Account).get({ id: puts[0]!.id }, { consistent: true }))?.email).toBe('c@example.test')
  })

  it('writes what a Standard Schema validator outputs, and refuses what it or a function validator rejects, before sending', async () => {
    const trimmed = await db.model(Account).create({ email: '  grace@example.test ', name: 'Grace' })
    expect((await db.model(Account).get({ id: trimmed.id }, { consistent: true }))?.email).toBe('grace@example.test')
    const before = db.stats().commands
    const refused = await db
      .model(Account)
      .create({ email: 'nope', name: 'a name too long' })
      .then(
        () => undefined,
        (error: unknown) => error,
      )
    expect(refused).toBeInstanceOf(ValidationError)
    expect((refused as ValidationError).issues.map((issue) => [issue.path.join('.'), issue.message])).toEqual([
      ['email', 'must be an email address'],
      ['name', 'must have at most 10 characters'],
    ])
    expect(() => db.model(Account).update({ id: trimmed.id }).set({ email: 'still-not' }).params()).toThrow(/must be an email address/)
    const update = db.model(Account).update({ id: trimmed.id }).set({ email: ' new@example.test' }).params()
    expect(Object.values(update.input.ExpressionAttributeValues as object)).toContainEqual({ S: 'new@example.test' })
    expect(db.stats().commands).toBe(before)
  })

  it('an asynchronous validator is a ValidationError, and a generated id on a non-string field a ConfigError', () => {
    const Slow = defineModel(
      'Slow',
      { id: field.string(), name: field.string().validate(async () => true) },
      { table, keys: { partition: 'id' } },
    )
    expect(() => db.model(Slow).params.put({ id: '1', name: 'x' })).toThrow(/asynchronous validator/)
    expect(() => defineModel('Bad', { id: field.number().generated('uuidv7') }, { table, keys: { partition: 'id' } })).toThrow(
      /generated ids are strings/,
    )
  })
})

/** The files a module loads at run time (type-only imports left out), followed across workspace packages. */
function runtimeGraph(entry: string): Set<string> {
  const packages = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
  const seen = new Set<string>()
  const visit = (file: string) => {
    if (seen.has(file)) return
    seen.add(file)
    const text = readFileSync(file, 'utf8')
    for (const match of text.matchAll(/^(?:import|export)\s+(?!type\b)[^'"]*?from\s+'([^']+)'/gm)) {
      const specifier = match[1]!
      if (specifier.startsWith('.')) visit(resolve(dirname(file), `${specifier}.ts`))
      else if (specifier.startsWith('@tessera/')) {
        const [, name, subpath] = /^@tessera\/([^/]+)(?:\/(.+))?$/.exec(specifier)!
        visit(join(packages, name!, 'src', subpath === undefined ? 'index.ts' : `${subpath}.ts`))
      } else seen.add(`package:${specifier}`)
    }
  }
  visit(entry)
  return seen
}

describe('@tessera/dynamo loads no PostgreSQL code', () => {
  it('its module graph reaches @tessera/schema only through the portable entry, and never the converter', () => {
    const graph = [...runtimeGraph(resolve(dirname(fileURLToPath(import.meta.url)), '../src/index.ts'))]
    const schemaFiles = graph.filter((file) => file.includes('/schema/src/')).map((file) => file.replace(/.*\/schema\/src\//, ''))
    expect(schemaFiles.sort()).toEqual(['field-validators.ts', 'id-generation.ts', 'portable.ts'])
    expect(graph.filter((file) => file.includes('/converter/') || file === 'package:pg' || file === 'package:postgres')).toEqual([])
  })
})
