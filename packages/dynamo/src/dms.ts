import { describeValue } from '@tessera/core'
import { DynamoInputError } from './dynamo-errors'
import type { KeyAttribute, TableDefinition } from './ensure-table'
import { requireLazily } from './module-location'

/** DynamoDB attribute types a DMS attribute may declare. */
export type DmsAttributeType = 'S' | 'N' | 'B' | 'BOOL' | 'M' | 'L' | 'SS' | 'NS' | 'BS' | 'NULL'

/** One attribute of a DMS model, in neutral form. */
export interface DmsAttribute {
  /** The DynamoDB attribute name (DMS is fully explicit: no naming conversion applies). */
  attribute: string
  type: DmsAttributeType
  required: boolean
  optional: boolean
  /** Omit on write when empty: `''`, `0`, `false`, empty list/map/set, null (DMS `omit_empty`). */
  omitEmpty: boolean
  /** `pk`, `sk`, `created_at`, `updated_at`, `version`, `ttl`, `index_pk:<name>`, `index_sk:<name>`. */
  roles: string[]
  /** `rfc3339nano`, `unix_seconds`, `int`, or another format the document names. */
  format: string | undefined
  /** Stored as an encrypted envelope; `version` is the envelope version the document asks for (1). */
  encryption: { version: number } | undefined
  /** Extension metadata, passed through untouched. */
  tags: Record<string, unknown> | undefined
}

/** One index of a DMS model. */
export interface DmsIndex {
  name: string
  type: 'gsi' | 'lsi'
  partition: KeyAttribute
  sort: KeyAttribute | undefined
  projection: { type: 'ALL' | 'KEYS_ONLY' | 'INCLUDE'; attributes: string[] }
}

/** A DMS model in neutral form: what `defineModel` needs to build an equivalent model. */
export interface DmsModel {
  name: string
  table: string
  /** `camelCase`, `snake_case` or `dynamorm` when the document names one; attribute names were checked against it. */
  naming: string | undefined
  keys: { partition: KeyAttribute; sort: KeyAttribute | undefined }
  attributes: DmsAttribute[]
  indexes: DmsIndex[]
  /** Attribute names of the lifecycle roles, when the model has them. */
  lifecycle: { createdAt: string | undefined; updatedAt: string | undefined; version: string | undefined; ttl: string | undefined }
  /** `write_policy`: `mutable` (default) or `write_once`, and the attributes an update may not change. */
  writePolicy: { mode: 'mutable' | 'write_once'; protectedAttributes: string[] }
}

/** A parsed DMS document. */
export interface DmsDocument {
  dmsVersion: '0.1'
  namespace: string | undefined
  models: DmsModel[]
}

const ATTRIBUTE_TYPES = new Set(['S', 'N', 'B', 'BOOL', 'M', 'L', 'SS', 'NS', 'BS', 'NULL'])
const KEY_TYPES = new Set(['S', 'N', 'B'])
const ROLE_TYPES: Record<string, { type: string; format?: string | undefined }> = {
  created_at: { type: 'S' },
  updated_at: { type: 'S' },
  version: { type: 'N' },
  ttl: { type: 'N' },
}
const CONVENTIONS: Record<string, RegExp | undefined> = {
  camelCase: /^(?:[a-z][A-Za-z0-9]*|PK|SK)$/,
  snake_case: /^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$/,
  dynamorm: undefined,
}

/**
 * Reads a DynamORM Model Schema (DMS v0.1: YAML restricted to its JSON-compatible subset, or JSON) into neutral
 * model descriptions. Every problem is collected and reported at once in a `DynamoInputError`
 * (`DYNAMO_DMS_INVALID`) with its path: YAML errors, anchors and aliases, custom tags, an unsupported
 * `dms_version`, unknown types, key attributes that are not `S`/`N`/`B`, roles that disagree with the keys or
 * their types, attribute names outside the declared naming convention, encrypted key or index attributes.
 *
 * @example
 * const { models } = parseDms(readFileSync('models.dms.yaml', 'utf8'))
 */
export function parseDms(text: string): DmsDocument {
  if (typeof text !== 'string') throw invalid([`expected the document text as a string, got ${describeValue(text)}`])
  const { isAlias, isMap, isScalar, isSeq, parseDocument, visit } = loadYaml()
  const document = parseDocument(text, { version: '1.2', schema: 'core', merge: false, uniqueKeys: true, prettyErrors: false })
  const problems: string[] = document.errors.map((error) => `YAML: ${error.message}`)
  visit(document, {
    Alias(_, node) {
      problems.push(`YAML: alias *${node.source} is not allowed (DMS is the JSON-compatible subset of YAML)`)
    },
    Node(_, node) {
      if (isAlias(node)) return
      const tag = (node as { tag?: string | undefined }).tag
      if (tag && !tag.startsWith('tag:yaml.org,2002:')) problems.push(`YAML: custom tag ${tag} is not allowed`)
      if ((isMap(node) || isSeq(node) || isScalar(node)) && node.anchor) problems.push(`YAML: anchor &${node.anchor} is not allowed`)
    },
  })
  if (problems.length > 0) throw invalid(problems)
  return readDocument(document.toJS({ maxAliasCount: 0 }), problems)
}

function invalid(problems: readonly string[]): DynamoInputError {
  return new DynamoInputError(
    `invalid DMS document (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    {
      code: 'DYNAMO_DMS_INVALID',
    },
  )
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function readDocument(root: unknown, problems: string[]): DmsDocument {
  if (!isObject(root)) throw invalid([`the document must be a mapping, got ${describeValue(root)}`])
  if (root.dms_version !== '0.1') problems.push(`dms_version: must be "0.1" (a string), got ${describeValue(root.dms_version)}`)
  if (root.namespace !== undefined && typeof root.namespace !== 'string')
    problems.push(`namespace: must be a string, got ${describeValue(root.namespace)}`)
  if (!Array.isArray(root.models) || root.models.length === 0)
    problems.push(`models: must be a non-empty list, got ${describeValue(root.models)}`)
  const models = Array.isArray(root.models) ? root.models.map((model, index) => readModel(model, `models[${index}]`, problems)) : []
  const names = new Set<string>()
  for (const model of models) {
    if (model && names.has(model.name)) problems.push(`models: model name ${JSON.stringify(model.name)} appears twice`)
    if (model) names.add(model.name)
  }
  if (problems.length > 0) throw invalid(problems)
  return { dmsVersion: '0.1', namespace: root.namespace as string | undefined, models: models as DmsModel[] }
}

function readKey(value: unknown, path: string, problems: string[]): KeyAttribute | undefined {
  if (!isObject(value)) {
    problems.push(`${path}: must be { attribute, type }, got ${describeValue(value)}`)
    return undefined
  }
  if (typeof value.attribute !== 'string' || value.attribute === '')
    problems.push(`${path}.attribute: must be a non-empty string, got ${describeValue(value.attribute)}`)
  if (typeof value.type !== 'string' || !KEY_TYPES.has(value.type))
    problems.push(`${path}.type: a key must be "S", "N" or "B", got ${describeValue(value.type)}`)
  return { name: String(value.attribute), type: value.type as KeyAttribute['type'] }
}

function readModel(value: unknown, path: string, problems: string[]): DmsModel | undefined {
  if (!isObject(value)) {
    problems.push(`${path}: must be a mapping, got ${describeValue(value)}`)
    return undefined
  }
  const name = typeof value.name === 'string' && value.name !== '' ? value.name : undefined
  if (name === undefined) problems.push(`${path}.name: must be a non-empty string, got ${describeValue(value.name)}`)
  const at = name ? `${path} (${name})` : path
  const table = isObject(value.table) && typeof value.table.name === 'string' && value.table.name !== '' ? value.table.name : undefined
  if (table === undefined) problems.push(`${at}.table.name: must be a non-empty string, got ${describeValue(value.table)}`)
  const naming = isObject(value.naming) ? value.naming.convention : undefined
  if (naming !== undefined && (typeof naming !== 'string' || !(naming in CONVENTIONS))) {
    problems.push(`${at}.naming.convention: must be camelCase, snake_case or dynamorm, got ${describeValue(naming)}`)
  }
  const keys = isObject(value.keys) ? value.keys : {}
  const partition = readKey(keys.partition, `${at}.keys.partition`, problems)
  const sort = keys.sort === undefined ? undefined : readKey(keys.sort, `${at}.keys.sort`, problems)

  const attributes: DmsAttribute[] = []
  if (!Array.isArray(value.attributes) || value.attributes.length === 0) {
    problems.push(`${at}.attributes: must be a non-empty list, got ${describeValue(value.attributes)}`)
  } else {
    for (const [index, entry] of value.attributes.entries()) {
      const attribute = readAttribute(entry, `${at}.attributes[${index}]`, problems)
      if (attribute) attributes.push(attribute)
    }
  }
  const byName = new Map<string, DmsAttribute>()
  for (const attribute of attributes) {
    if (byName.has(attribute.attribute)) problems.push(`${at}.attributes: ${attribute.attribute} appears twice`)
    byName.set(attribute.attribute, attribute)
    const pattern = typeof naming === 'string' ? CONVENTIONS[naming] : undefined
    if (pattern && !pattern.test(attribute.attribute))
      problems.push(`${at}.attributes: ${attribute.attribute} does not follow the ${naming} naming convention`)
  }

  const indexes: DmsIndex[] = []
  if (value.indexes !== undefined && !Array.isArray(value.indexes))
    problems.push(`${at}.indexes: must be a list, got ${describeValue(value.indexes)}`)
  for (const [index, entry] of (Array.isArray(value.indexes) ? value.indexes : []).entries()) {
    const read = readIndex(entry, `${at}.indexes[${index}]`, problems)
    if (read) indexes.push(read)
  }

  // Keys and roles agree; key and index attributes are declared with their key type and never encrypted.
  const checkKeyAttribute = (key: KeyAttribute | undefined, what: string, role: string | undefined) => {
    if (!key) return
    const declared = byName.get(key.name)
    if (!declared) return problems.push(`${at}: ${what} attribute ${key.name} is not in attributes`)
    if (declared.type !== key.type)
      problems.push(`${at}: ${what} attribute ${key.name} is ${key.type} in the key and ${declared.type} in attributes`)
    if (declared.encryption) problems.push(`${at}: ${what} attribute ${key.name} cannot be encrypted`)
    if (role && !declared.roles.includes(role)) problems.push(`${at}: ${what} attribute ${key.name} must have the role ${role}`)
  }
  checkKeyAttribute(partition, 'partition key', 'pk')
  checkKeyAttribute(sort, 'sort key', 'sk')
  for (const index of indexes) {
    checkKeyAttribute(index.partition, `index ${index.name} partition`, undefined)
    checkKeyAttribute(index.sort, `index ${index.name} sort`, undefined)
    if (index.type === 'lsi' && partition && index.partition.name !== partition.name) {
      problems.push(`${at}: local index ${index.name} must share the table's partition key ${partition.name}`)
    }
  }
  const lifecycle = {
    createdAt: undefined as string | undefined,
    updatedAt: undefined as string | undefined,
    version: undefined as string | undefined,
    ttl: undefined as string | undefined,
  }
  const roleField = { created_at: 'createdAt', updated_at: 'updatedAt', version: 'version', ttl: 'ttl' } as const
  for (const attribute of attributes) {
    for (const role of attribute.roles) {
      if (role === 'pk' && attribute.attribute !== partition?.name)
        problems.push(`${at}: ${attribute.attribute} has role pk but the partition key is ${partition?.name}`)
      if (role === 'sk' && attribute.attribute !== sort?.name)
        problems.push(`${at}: ${attribute.attribute} has role sk but the sort key is ${sort?.name ?? '(none)'}`)
      const expected = ROLE_TYPES[role]
      if (expected) {
        if (attribute.type !== expected.type)
          problems.push(`${at}: ${attribute.attribute} has role ${role}, which must be type ${expected.type}, got ${attribute.type}`)
        const field = roleField[role as keyof typeof roleField]
        if (lifecycle[field] !== undefined) problems.push(`${at}: role ${role} is on both ${lifecycle[field]} and ${attribute.attribute}`)
        lifecycle[field] = attribute.attribute
      }
      const indexRole = /^index_(pk|sk):(.+)$/.exec(role)
      if (indexRole && !indexes.some((index) => index.name === indexRole[2]))
        problems.push(`${at}: ${attribute.attribute} has role ${role} but no index is named ${indexRole[2]}`)
      if (!expected && !indexRole && role !== 'pk' && role !== 'sk')
        problems.push(`${at}: ${attribute.attribute} has unknown role ${JSON.stringify(role)}`)
    }
  }

  const policy = isObject(value.write_policy) ? value.write_policy : {}
  const mode = policy.mode ?? 'mutable'
  if (mode !== 'mutable' && mode !== 'write_once')
    problems.push(`${at}.write_policy.mode: must be mutable or write_once, got ${describeValue(mode)}`)
  const protectedAttributes = Array.isArray(policy.protected_attributes) ? policy.protected_attributes.map(String) : []
  for (const name of protectedAttributes)
    if (!byName.has(name)) problems.push(`${at}.write_policy.protected_attributes: ${name} is not in attributes`)

  if (!name || !table || !partition) return undefined
  return {
    name,
    table,
    naming: typeof naming === 'string' ? naming : undefined,
    keys: { partition, sort },
    attributes,
    indexes,
    lifecycle,
    writePolicy: { mode: mode as 'mutable' | 'write_once', protectedAttributes },
  }
}

function readAttribute(value: unknown, path: string, problems: string[]): DmsAttribute | undefined {
  if (!isObject(value)) {
    problems.push(`${path}: must be a mapping, got ${describeValue(value)}`)
    return undefined
  }
  const start = problems.length
  if (typeof value.attribute !== 'string' || value.attribute === '')
    problems.push(`${path}.attribute: must be a non-empty string, got ${describeValue(value.attribute)}`)
  if (typeof value.type !== 'string' || !ATTRIBUTE_TYPES.has(value.type)) {
    problems.push(`${path}.type: must be one of ${[...ATTRIBUTE_TYPES].join(', ')}, got ${describeValue(value.type)}`)
  }
  for (const flag of ['required', 'optional', 'omit_empty'] as const) {
    if (value[flag] !== undefined && typeof value[flag] !== 'boolean')
      problems.push(`${path}.${flag}: must be true or false, got ${describeValue(value[flag])}`)
  }
  if (value.roles !== undefined && !(Array.isArray(value.roles) && value.roles.every((role) => typeof role === 'string'))) {
    problems.push(`${path}.roles: must be a list of strings, got ${describeValue(value.roles)}`)
  }
  if (value.format !== undefined && typeof value.format !== 'string')
    problems.push(`${path}.format: must be a string, got ${describeValue(value.format)}`)
  let encryption: { version: number } | undefined
  if (value.encryption !== undefined) {
    const version = isObject(value.encryption) ? (value.encryption.v ?? 1) : undefined
    if (version !== 1) problems.push(`${path}.encryption: must be { v: 1 }, got ${describeValue(value.encryption)}`)
    encryption = { version: 1 }
  }
  if (value.tags !== undefined && !isObject(value.tags)) problems.push(`${path}.tags: must be a mapping, got ${describeValue(value.tags)}`)
  if (problems.length > start) return undefined
  return {
    attribute: value.attribute as string,
    type: value.type as DmsAttributeType,
    required: value.required === true,
    optional: value.optional === true,
    omitEmpty: value.omit_empty === true,
    roles: (value.roles as string[] | undefined) ?? [],
    format: value.format as string | undefined,
    encryption,
    tags: value.tags as Record<string, unknown> | undefined,
  }
}

function readIndex(value: unknown, path: string, problems: string[]): DmsIndex | undefined {
  if (!isObject(value)) {
    problems.push(`${path}: must be a mapping, got ${describeValue(value)}`)
    return undefined
  }
  const start = problems.length
  if (typeof value.name !== 'string' || value.name === '')
    problems.push(`${path}.name: must be a non-empty string, got ${describeValue(value.name)}`)
  const type = typeof value.type === 'string' ? value.type.toUpperCase() : value.type
  if (type !== 'GSI' && type !== 'LSI') problems.push(`${path}.type: must be GSI or LSI, got ${describeValue(value.type)}`)
  const partition = readKey(value.partition, `${path}.partition`, problems)
  const sort = value.sort === undefined ? undefined : readKey(value.sort, `${path}.sort`, problems)
  const projection = isObject(value.projection) ? value.projection : { type: 'ALL' }
  const projectionType = projection.type ?? 'ALL'
  if (!['ALL', 'KEYS_ONLY', 'INCLUDE'].includes(String(projectionType))) {
    problems.push(`${path}.projection.type: must be ALL, KEYS_ONLY or INCLUDE, got ${describeValue(projectionType)}`)
  }
  if (problems.length > start || !partition) return undefined
  return {
    name: value.name as string,
    type: type === 'GSI' ? 'gsi' : 'lsi',
    partition,
    sort,
    projection: {
      type: projectionType as DmsIndex['projection']['type'],
      attributes: Array.isArray(projection.fields) ? projection.fields.map(String) : [],
    },
  }
}

/**
 * The table shape the models of one table need, for {@link ensureTable}: the keys, and every index of every
 * model on that table. Models that disagree on the table's keys are a `DynamoInputError`.
 */
export function tableDefinitionFromDms(models: readonly DmsModel[], table: string): TableDefinition {
  const onTable = models.filter((model) => model.table === table)
  const first = onTable[0]
  if (first === undefined) throw new DynamoInputError(`no DMS model uses table ${JSON.stringify(table)}`)
  const keyText = (model: DmsModel) => JSON.stringify(model.keys)
  const other = onTable.find((model) => keyText(model) !== keyText(first))
  if (other)
    throw new DynamoInputError(`models ${first.name} and ${other.name} share table ${table} but declare different keys`, {
      code: 'DYNAMO_DMS_INVALID',
    })
  const globals = new Map<string, NonNullable<TableDefinition['globalIndexes']>[number]>()
  const locals = new Map<string, NonNullable<TableDefinition['localIndexes']>[number]>()
  for (const model of onTable) {
    for (const index of model.indexes) {
      const projection = { type: index.projection.type, attributes: index.projection.attributes }
      if (index.type === 'gsi')
        globals.set(index.name, { name: index.name, partitionKey: index.partition, sortKey: index.sort, projection })
      else if (index.sort) locals.set(index.name, { name: index.name, sortKey: index.sort, projection })
    }
  }
  return {
    name: table,
    partitionKey: first.keys.partition,
    sortKey: first.keys.sort,
    globalIndexes: [...globals.values()],
    localIndexes: [...locals.values()],
  }
}

let yamlModule: typeof import('yaml') | undefined

/** The `yaml` package, loaded on the first DMS document: importing `@tessera/dynamo` does not pay for it (~50 ms). */
function loadYaml(): typeof import('yaml') {
  yamlModule ??= requireLazily<typeof import('yaml')>('yaml')
  return yamlModule
}
