import { describe, expect, it } from 'vitest'
import { parse as parseYamlToPlain } from 'yaml'
import { DynamoInputError, formatRfc3339Nano, isDmsEmpty, parseDms, tableDefinitionFromDms, ttlEpochSeconds } from '../src/index'

// The example of the DMS v0.1 draft, plus an encrypted attribute and a write policy as DynamORM's tests use them.
const USERS = `
dms_version: "0.1"
namespace: "acme.payments"
models:
  - name: "User"
    table:
      name: "users"
    naming:
      convention: "camelCase"
    keys:
      partition: { attribute: "PK", type: "S" }
      sort:      { attribute: "SK", type: "S" }
    write_policy:
      mode: "mutable"
      protected_attributes: ["createdAt"]
    attributes:
      - attribute: "PK"
        type: "S"
        required: true
        roles: ["pk"]
      - attribute: "SK"
        type: "S"
        required: true
        roles: ["sk"]
      - attribute: "createdAt"
        type: "S"
        format: "rfc3339nano"
        roles: ["created_at"]
      - attribute: "updatedAt"
        type: "S"
        format: "rfc3339nano"
        roles: ["updated_at"]
      - attribute: "version"
        type: "N"
        format: "int"
        roles: ["version"]
      - attribute: "ttl"
        type: "N"
        format: "unix_seconds"
        roles: ["ttl"]
        optional: true
      - attribute: "tags"
        type: "SS"
        optional: true
        omit_empty: true
      - attribute: "emailHash"
        type: "S"
        roles: ["index_pk:gsi-email"]
      - attribute: "secret"
        type: "S"
        optional: true
        omit_empty: true
        encryption: { v: 1 }
    indexes:
      - name: "gsi-email"
        type: "GSI"
        partition: { attribute: "emailHash", type: "S" }
        projection: { type: "ALL" }
  - name: "Order"
    table: { name: "users" }
    keys:
      partition: { attribute: "PK", type: "S" }
      sort: { attribute: "SK", type: "S" }
    attributes:
      - { attribute: "PK", type: "S", required: true, roles: ["pk"] }
      - { attribute: "SK", type: "S", required: true, roles: ["sk"] }
      - { attribute: "total", type: "N" }
      - { attribute: "placedAt", type: "S" }
    indexes:
      - { name: "lsi-placed", type: "LSI", partition: { attribute: "PK", type: "S" }, sort: { attribute: "placedAt", type: "S" }, projection: { type: "INCLUDE", fields: ["total"] } }
`

function problemsOf(text: string): string {
  try {
    parseDms(text)
  } catch (error) {
    expect(error).toBeInstanceOf(DynamoInputError)
    expect((error as DynamoInputError).code).toBe('DYNAMO_DMS_INVALID')
    return (error as Error).message
  }
  throw new Error('expected the document to be refused')
}

describe('parseDms', () => {
  it('reads a DMS v0.1 document into neutral models with keys, roles, lifecycle, indexes and encryption', () => {
    const document = parseDms(USERS)
    expect(document.dmsVersion).toBe('0.1')
    expect(document.namespace).toBe('acme.payments')
    const [user, order] = document.models
    expect(user?.name).toBe('User')
    expect(user?.table).toBe('users')
    expect(user?.naming).toBe('camelCase')
    expect(user?.keys).toEqual({ partition: { name: 'PK', type: 'S' }, sort: { name: 'SK', type: 'S' } })
    expect(user?.lifecycle).toEqual({ createdAt: 'createdAt', updatedAt: 'updatedAt', version: 'version', ttl: 'ttl' })
    expect(user?.attributes.find((a) => a.attribute === 'tags')).toEqual({
      attribute: 'tags',
      type: 'SS',
      required: false,
      optional: true,
      omitEmpty: true,
      roles: [],
      format: undefined,
      encryption: undefined,
      tags: undefined,
    })
    expect(user?.attributes.find((a) => a.attribute === 'secret')?.encryption).toEqual({ version: 1 })
    expect(user?.indexes).toEqual([
      {
        name: 'gsi-email',
        type: 'gsi',
        partition: { name: 'emailHash', type: 'S' },
        sort: undefined,
        projection: { type: 'ALL', attributes: [] },
      },
    ])
    expect(user?.writePolicy).toEqual({ mode: 'mutable', protectedAttributes: ['createdAt'] })
    expect(order?.indexes[0]).toMatchObject({ name: 'lsi-placed', type: 'lsi', projection: { type: 'INCLUDE', attributes: ['total'] } })
  })

  it('reads the JSON form (the same object model) to the same models', () => {
    const asJson = JSON.stringify(parseYamlToPlain(USERS))
    expect(parseDms(asJson)).toEqual(parseDms(USERS))
  })

  it('builds the table definition the models of one table need', () => {
    const { models } = parseDms(USERS)
    expect(tableDefinitionFromDms(models, 'users')).toEqual({
      name: 'users',
      partitionKey: { name: 'PK', type: 'S' },
      sortKey: { name: 'SK', type: 'S' },
      globalIndexes: [
        {
          name: 'gsi-email',
          partitionKey: { name: 'emailHash', type: 'S' },
          sortKey: undefined,
          projection: { type: 'ALL', attributes: [] },
        },
      ],
      localIndexes: [
        { name: 'lsi-placed', sortKey: { name: 'placedAt', type: 'S' }, projection: { type: 'INCLUDE', attributes: ['total'] } },
      ],
    })
    expect(() => tableDefinitionFromDms(models, 'nope')).toThrow(/no DMS model uses table "nope"/)
  })

  it('lists every problem of a bad document at once, with its path', () => {
    const message = problemsOf(`
dms_version: 0.1
models:
  - name: "Bad"
    table: { name: "t" }
    naming: { convention: "snake_case" }
    keys:
      partition: { attribute: "pk", type: "BOOL" }
    attributes:
      - { attribute: "pk", type: "S", roles: ["pk"] }
      - { attribute: "createdAt", type: "N", roles: ["created_at"] }
      - { attribute: "v", type: "STRING" }
      - { attribute: "secret_key", type: "S", encryption: { v: 1 } }
    indexes:
      - { name: "by-secret", type: "GSI", partition: { attribute: "secret_key", type: "S" } }
`)
    expect(message).toContain('dms_version: must be "0.1" (a string), got 0.1')
    expect(message).toContain('keys.partition.type: a key must be "S", "N" or "B", got "BOOL"')
    expect(message).toContain('createdAt does not follow the snake_case naming convention')
    expect(message).toContain('createdAt has role created_at, which must be type S, got N')
    expect(message).toContain('attributes[2].type: must be one of S, N, B, BOOL, M, L, SS, NS, BS, NULL, got "STRING"')
    expect(message).toContain('index by-secret partition attribute secret_key cannot be encrypted')
  })

  it('refuses anchors, aliases, custom tags and broken YAML', () => {
    expect(problemsOf('dms_version: "0.1"\nbase: &b { type: "S" }\nmodels: [*b]\n')).toMatch(/alias \*b is not allowed/)
    expect(problemsOf('dms_version: !custom "0.1"\nmodels: []\n')).toMatch(/custom tag !custom is not allowed/)
    expect(problemsOf('dms_version: "0.1"\nmodels: [\n')).toMatch(/YAML:/)
    expect(problemsOf('dms_version: "0.1"\ndms_version: "0.1"\nmodels: []\n')).toMatch(/YAML:/)
  })
})

describe('DynamORM encodings', () => {
  it('formats timestamps as Go RFC3339Nano does, TTLs as epoch seconds, and knows omit_empty emptiness', () => {
    expect(formatRfc3339Nano(new Date('2024-05-01T10:00:00.500Z'))).toBe('2024-05-01T10:00:00.5Z')
    expect(formatRfc3339Nano(new Date('2024-05-01T10:00:00.000Z'))).toBe('2024-05-01T10:00:00Z')
    expect(formatRfc3339Nano(new Date('2024-05-01T10:00:00.123Z'))).toBe('2024-05-01T10:00:00.123Z')
    expect(() => formatRfc3339Nano(new Date('nope'))).toThrow(/expected a valid Date/)
    expect(ttlEpochSeconds(new Date('2024-05-01T10:00:00.999Z'))).toBe(1_714_557_600)
    expect(ttlEpochSeconds(1_714_557_600_999)).toBe(1_714_557_600)
    for (const empty of [null, undefined, '', 0, false, [], new Set(), new Map(), {}, { a: '', b: 0 }, new Date('x'), new Uint8Array()])
      expect(isDmsEmpty(empty)).toBe(true)
    for (const full of ['a', 1, true, [0], new Set([1]), { a: 1 }, new Date(0), new Uint8Array([0])]) expect(isDmsEmpty(full)).toBe(false)
  })
})
