import { toCamel, toPascal } from '@tessera/naming'

/** The parts of `DescribeTable`'s `Table` the generator reads (the SDK's `TableDescription`). */
export interface DescribedTable {
  TableName?: string | undefined
  KeySchema?: readonly { AttributeName?: string | undefined; KeyType?: string | undefined }[] | undefined
  AttributeDefinitions?: readonly { AttributeName?: string | undefined; AttributeType?: string | undefined }[] | undefined
  GlobalSecondaryIndexes?: readonly DescribedIndex[] | undefined
  LocalSecondaryIndexes?: readonly DescribedIndex[] | undefined
}

interface DescribedIndex {
  IndexName?: string | undefined
  KeySchema?: readonly { AttributeName?: string | undefined; KeyType?: string | undefined }[] | undefined
  Projection?: { ProjectionType?: string | undefined; NonKeyAttributes?: readonly string[] | undefined } | undefined
}

/** An attribute value as the low-level API returns it (`{ S: 'x' }`, `{ N: '1' }`…). */
export type AttributeValue = Readonly<Record<string, unknown>>

/** Options of {@link renderModel}. */
export interface RenderModelOptions {
  /** The table's TTL attribute (`DescribeTimeToLive`), when TTL is enabled. */
  ttlAttribute?: string | undefined
  /** Items read from the table (a `Scan` page) to find the other attributes and their types. Default: none. */
  sample?: readonly Readonly<Record<string, AttributeValue>>[] | undefined
  /** The model's name. Default: the table name in PascalCase. */
  name?: string | undefined
  header?: string | undefined
}

/** The model's text, and what it could not express exactly. */
export interface RenderedModel {
  code: string
  name: string
  notes: string[]
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/
const SCALAR: Readonly<Record<string, string>> = { S: 'string', N: 'number', B: 'binary' }
const SAMPLED: Readonly<Record<string, string>> = {
  S: 'field.string()',
  N: 'field.number()',
  B: 'field.binary()',
  BOOL: 'field.boolean()',
  SS: 'field.stringSet()',
  NS: 'field.numberSet()',
  BS: 'field.binarySet()',
  L: 'field.list()',
  M: 'field.map()',
}

function str(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`
}

function typeOf(value: AttributeValue): string | undefined {
  const [type] = Object.keys(value)
  return type === 'NULL' ? undefined : type
}

/**
 * Writes `defineModel` code for a table from `DescribeTable`: the key attributes as fields with their types, the
 * primary key, every GSI and LSI with its keys and projection, the TTL attribute (`field.ttl()`), and, from sampled
 * items, the other attributes (optional unless present in every sampled item; one type per attribute, else a note).
 * The model has no entity marker (`entity: false`): items already in the table have none.
 */
export function renderModel(table: DescribedTable, options: RenderModelOptions = {}): RenderedModel {
  const tableName = table.TableName ?? 'table'
  const notes: string[] = []
  const name = options.name ?? (toPascal(tableName.replace(/[^A-Za-z0-9]+/g, '_')) || 'Model')
  const fieldNames = new Map<string, string>()
  const fieldFor = (attribute: string): string => {
    let candidate = toCamel(attribute.replace(/[^A-Za-z0-9_]+/g, '_')) || 'attribute'
    if (!IDENTIFIER.test(candidate)) candidate = `a${candidate}`
    const taken = new Set(fieldNames.values())
    while (taken.has(candidate)) candidate = `${candidate}_`
    return candidate
  }
  const lines = new Map<string, string>()
  const keyAttributes = new Set<string>()
  for (const definition of table.AttributeDefinitions ?? []) {
    const attribute = definition.AttributeName
    if (attribute === undefined) continue
    keyAttributes.add(attribute)
    const field = fieldFor(attribute)
    fieldNames.set(attribute, field)
    const kind = SCALAR[definition.AttributeType ?? ''] ?? 'string'
    lines.set(attribute, `field.${kind}()`)
  }
  const sample = options.sample ?? []
  if (sample.length > 0) {
    const seen = new Map<string, { types: Set<string>; count: number }>()
    for (const item of sample) {
      for (const [attribute, value] of Object.entries(item)) {
        if (keyAttributes.has(attribute)) continue
        const entry = seen.get(attribute) ?? { types: new Set<string>(), count: 0 }
        const type = typeOf(value)
        if (type !== undefined) entry.types.add(type)
        entry.count++
        seen.set(attribute, entry)
      }
    }
    for (const [attribute, { types, count }] of [...seen].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const field = fieldFor(attribute)
      fieldNames.set(attribute, field)
      let builder: string
      if (attribute === options.ttlAttribute) builder = 'field.ttl()'
      else if (types.size === 1) builder = SAMPLED[[...types][0] as string] ?? 'field.map()'
      else {
        builder = 'field.map()'
        notes.push(
          `attribute ${attribute} holds values of several types (${[...types].sort().join(', ') || 'only NULL'}) in the sample; generated as field.map(): narrow it by hand`,
        )
      }
      if (count < sample.length || types.size === 0) builder += '.optional()'
      lines.set(attribute, builder)
    }
  }
  if (options.ttlAttribute !== undefined && !lines.has(options.ttlAttribute)) {
    const field = fieldFor(options.ttlAttribute)
    fieldNames.set(options.ttlAttribute, field)
    lines.set(options.ttlAttribute, 'field.ttl().optional()')
  }

  const keySpec = (attribute: string | undefined): string => {
    const field = attribute === undefined ? undefined : fieldNames.get(attribute)
    return str(field ?? 'missing')
  }
  const keysOf = (schema: DescribedTable['KeySchema']) => ({
    partition: schema?.find((k) => k.KeyType === 'HASH')?.AttributeName,
    sort: schema?.find((k) => k.KeyType === 'RANGE')?.AttributeName,
  })
  const primary = keysOf(table.KeySchema)
  const keys = `{ partition: ${keySpec(primary.partition)}${primary.sort === undefined ? '' : `, sort: ${keySpec(primary.sort)}`} }`
  const indexes: string[] = []
  const indexEntries: [DescribedIndex, 'gsi' | 'lsi'][] = [
    ...(table.GlobalSecondaryIndexes ?? []).map((index): [DescribedIndex, 'gsi'] => [index, 'gsi']),
    ...(table.LocalSecondaryIndexes ?? []).map((index): [DescribedIndex, 'lsi'] => [index, 'lsi']),
  ]
  for (const [index, type] of indexEntries) {
    const indexKeys = keysOf(index.KeySchema)
    const parts = [`type: '${type}'`, `partition: ${keySpec(indexKeys.partition)}`]
    if (indexKeys.sort !== undefined) parts.push(`sort: ${keySpec(indexKeys.sort)}`)
    const projection = index.Projection?.ProjectionType
    if (projection === 'KEYS_ONLY') parts.push(`projection: 'keys'`)
    else if (projection === 'INCLUDE') {
      const included = (index.Projection?.NonKeyAttributes ?? []).map((attribute) => {
        if (!fieldNames.has(attribute)) {
          fieldNames.set(attribute, fieldFor(attribute))
          lines.set(attribute, 'field.string().optional()')
          notes.push(
            `attribute ${attribute} is projected into index ${index.IndexName} but its type is unknown (not in the sample); generated as an optional string`,
          )
        }
        return str(fieldNames.get(attribute) as string)
      })
      parts.push(`projection: [${included.join(', ')}]`)
    }
    indexes.push(`${IDENTIFIER.test(index.IndexName ?? '') ? index.IndexName : str(index.IndexName ?? '')}: { ${parts.join(', ')} }`)
  }

  const fieldLines = [...lines].map(([attribute, builder]) => {
    const field = fieldNames.get(attribute) as string
    const renamed =
      field === attribute
        ? builder
        : builder.replace(
            /\(\)(\.optional\(\))?$/,
            (_m, optional: string | undefined) => `()${optional ?? ''}.attribute(${str(attribute)})`,
          )
    return `    ${IDENTIFIER.test(field) ? field : str(field)}: ${renamed},`
  })
  const optionLines = [`    table: ${str(tableName)},`, `    keys: ${keys},`]
  if (indexes.length > 0) optionLines.push(`    indexes: {\n${indexes.map((index) => `      ${index},`).join('\n')}\n    },`)
  optionLines.push('    entity: false,')
  const header = [
    `// ${options.header ?? `Generated by tessera generate dynamo from table ${tableName}.`}`,
    `// Key attributes come from DescribeTable; ${sample.length > 0 ? `the others from ${sample.length} sampled item${sample.length === 1 ? '' : 's'}` : 'other attributes are not listed in DynamoDB (use --sample <n> to read some items)'}.`,
    ...(notes.length > 0 ? ['//', '// Not expressed exactly:', ...notes.map((note) => `// - ${note}`)] : []),
  ]
  const code = [
    ...header,
    `import { defineModel, field } from '@tessera/dynamo'`,
    '',
    `export const ${name} = defineModel(`,
    `  ${str(name)},`,
    '  {',
    ...fieldLines,
    '  },',
    '  {',
    ...optionLines,
    '  },',
    ')',
    '',
  ].join('\n')
  return { code, name, notes }
}
