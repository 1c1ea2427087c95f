import { describeValue, TesseraError } from '@tessera/core'
import type { DynamoClientLike } from './dynamo-client-like'
import { DynamoInputError } from './dynamo-errors'
import type { AttributeMap } from './key-identity'

/** Options of {@link createTenantScope}. */
export interface TenantScopeOptions {
  tenantId: string
  /** Attributes that carry the tenant prefix: the table's partition key, and the partition keys of GSIs that must be tenant-scoped. */
  partitionKeys: readonly string[]
  /** Between the tenant id and the rest of the key. Default: `'#'`. */
  separator?: string | undefined
}

/** Partition keys prefixed with a tenant id, and the check that an item belongs to it. */
export interface TenantScope {
  readonly tenantId: string
  /** `tenantId + separator`. */
  readonly prefix: string
  /** A copy of a key or item with every configured partition key attribute present prefixed. Only string (S) values can be. */
  scope(item: AttributeMap): AttributeMap
  /** A copy with the prefix removed from those attributes, after checking the item belongs to the tenant. */
  unscope(item: AttributeMap): AttributeMap
  /**
   * Whether every configured partition key the item has starts with the prefix. With `strict`, the first one
   * (the table's partition key) must also be present: an item read without it cannot be attributed.
   */
  owns(item: AttributeMap, options?: { strict?: boolean | undefined }): boolean
  /** Throws a `TesseraError` (`DYNAMO_TENANT_MISMATCH`) when the item does not belong to the tenant. */
  assertOwned(item: AttributeMap, operation?: string | undefined, options?: { strict?: boolean | undefined }): void
}

/**
 * A tenant's view of a shared table: partition keys are stored as `<tenant>#<key>`, so a tenant's items live in
 * their own partitions, and every item read can be checked to belong to the tenant. Tenant ids must be non-empty
 * and must not contain the separator (or one tenant could read another's keys by choosing its id).
 *
 * @example
 * const acme = createTenantScope({ tenantId: 'acme', partitionKeys: ['pk'] })
 * acme.scope({ pk: { S: 'USER#1' } }) // { pk: { S: 'acme#USER#1' } }
 */
export function createTenantScope(options: TenantScopeOptions): TenantScope {
  const separator = options?.separator ?? '#'
  if (typeof separator !== 'string' || separator === '')
    throw new DynamoInputError(`separator must be a non-empty string, got ${describeValue(separator)}`)
  const tenantId = options.tenantId
  if (typeof tenantId !== 'string' || tenantId === '' || tenantId.includes(separator)) {
    throw new DynamoInputError(`tenantId must be a non-empty string without ${JSON.stringify(separator)}, got ${describeValue(tenantId)}`)
  }
  const keys = [...(options.partitionKeys ?? [])]
  if (keys.length === 0) throw new DynamoInputError('partitionKeys must name at least one attribute (the table partition key)')
  const prefix = `${tenantId}${separator}`

  const owns = (item: AttributeMap, ownsOptions?: { strict?: boolean | undefined }) => {
    if (ownsOptions?.strict && item[keys[0] as string] === undefined) return false
    return keys.every((name) => {
      const value = item[name]
      return value === undefined || (typeof value.S === 'string' && value.S.startsWith(prefix))
    })
  }

  const assertOwned = (item: AttributeMap, operation?: string | undefined, ownsOptions?: { strict?: boolean | undefined }) => {
    if (owns(item, ownsOptions)) return
    const found = keys.map((name) => `${name}=${describeValue(item[name]?.S ?? item[name])}`).join(', ')
    throw new TesseraError(
      `${operation ?? 'an operation'} met an item outside tenant ${JSON.stringify(tenantId)} (${found}); refusing to return or write it`,
      {
        code: 'DYNAMO_TENANT_MISMATCH',
      },
    )
  }

  return {
    tenantId,
    prefix,
    owns,
    assertOwned,
    scope(item) {
      const out: AttributeMap = { ...item }
      for (const name of keys) {
        const value = item[name]
        if (value === undefined) continue
        if (typeof value.S !== 'string')
          throw new DynamoInputError(`tenant-scoped attribute ${name} must be a string (S), got ${describeValue(value)}`)
        out[name] = { S: `${prefix}${value.S}` }
      }
      return out
    },
    unscope(item) {
      assertOwned(item, 'unscope')
      const out: AttributeMap = { ...item }
      for (const name of keys) {
        const value = item[name]
        if (value?.S !== undefined) out[name] = { S: value.S.slice(prefix.length) }
      }
      return out
    },
  }
}

/**
 * Wraps a client so that every request through it stays inside one tenant: the keys and items a write or a
 * get sends must already be scoped (checked before sending, nothing is sent otherwise), and every item a read
 * returns (GetItem, BatchGetItem, Query, Scan, TransactGetItems, and `ALL_OLD`/`ALL_NEW` return values) must
 * belong to the tenant, else the call fails with `DYNAMO_TENANT_MISMATCH` instead of returning it.
 */
export function tenantGuardedClient(client: DynamoClientLike, scope: TenantScope): DynamoClientLike {
  return {
    async send(command, options) {
      const operation = operationName(command)
      for (const sent of sentKeysAndItems(command?.input)) scope.assertOwned(sent, operation)
      const output = await client.send(command, options)
      const { items, lenient } = returnedItems(output)
      for (const item of items) scope.assertOwned(item, operation, { strict: true })
      for (const item of lenient) scope.assertOwned(item, operation)
      return output
    },
  }
}

/** `'PutItem'` for a `PutItemCommand`. */
export function operationName(command: unknown): string {
  const name = (command as { constructor?: { name?: unknown } })?.constructor?.name
  return typeof name === 'string' ? name.replace(/Command$/, '') : 'request'
}

type Input = Record<string, unknown> | undefined

function sentKeysAndItems(input: Input): AttributeMap[] {
  if (!input) return []
  const found: AttributeMap[] = []
  if (input.Key) found.push(input.Key as AttributeMap)
  if (input.Item) found.push(input.Item as AttributeMap)
  const requestItems = input.RequestItems as Record<string, unknown> | undefined
  for (const request of Object.values(requestItems ?? {})) {
    if (Array.isArray(request)) {
      for (const write of request as { PutRequest?: { Item: AttributeMap }; DeleteRequest?: { Key: AttributeMap } }[]) {
        if (write.PutRequest) found.push(write.PutRequest.Item)
        if (write.DeleteRequest) found.push(write.DeleteRequest.Key)
      }
    } else {
      found.push(...(((request as { Keys?: AttributeMap[] }).Keys ?? []) as AttributeMap[]))
    }
  }
  for (const entry of (input.TransactItems as Record<string, { Key?: AttributeMap; Item?: AttributeMap }>[] | undefined) ?? []) {
    for (const body of Object.values(entry)) {
      if (body?.Key) found.push(body.Key)
      if (body?.Item) found.push(body.Item)
    }
  }
  if (input.ExclusiveStartKey) found.push(input.ExclusiveStartKey as AttributeMap)
  return found
}

function returnedItems(output: unknown): { items: AttributeMap[]; lenient: AttributeMap[] } {
  const lenient: AttributeMap[] = []
  if (typeof output !== 'object' || output === null) return { items: [], lenient }
  const result = output as {
    Item?: AttributeMap
    Items?: AttributeMap[]
    Attributes?: AttributeMap
    Responses?: Record<string, AttributeMap[]> | { Item?: AttributeMap }[]
  }
  const found: AttributeMap[] = []
  if (result.Item) found.push(result.Item)
  if (result.Items) found.push(...result.Items)
  // Return values of writes (ALL_OLD, ALL_NEW, UPDATED_*) are checked leniently: they may lack the key.
  if (result.Attributes) lenient.push(result.Attributes)
  if (Array.isArray(result.Responses)) {
    for (const response of result.Responses) if (response?.Item) found.push(response.Item)
  } else if (result.Responses) {
    for (const items of Object.values(result.Responses)) found.push(...items)
  }
  return { items: found, lenient }
}
