import { ConfigError, describeValue } from '@tessera/core'
import {
  type IdentifierNode,
  type KyselyPlugin,
  OperationNodeTransformer,
  type PluginTransformQueryArgs,
  type PluginTransformResultArgs,
  type QueryId,
  type QueryResult,
  type RootOperationNode,
  type UnknownRow,
} from 'kysely'

/** Options of {@link entityNamingPlugin}. */
export interface EntityNamingOptions {
  /** Check that every key is the entity's table (`schema.table` with a schema). Default: `true`. */
  checkTableNames?: boolean | undefined
}

/** The part of `entityMeta(entity)` the plugin reads, attached by `defineEntity` under a registered symbol. */
interface MetaView {
  readonly name: string
  readonly table: string
  readonly schema: string | undefined
  readonly fields: readonly { readonly fieldName: string; readonly columnName: string }[]
}

// The key @tessera/schema's defineEntity stores an entity's metadata under (a registered symbol, shared by every copy
// of schema), read here so that this package needs schema only for types.
const ENTITY_META = Symbol.for('tessera.schema.meta')

class FieldToColumn extends OperationNodeTransformer {
  constructor(private readonly columns: ReadonlyMap<string, string>) {
    super()
  }

  protected override transformIdentifier(node: IdentifierNode, queryId?: QueryId): IdentifierNode {
    const transformed = super.transformIdentifier(node, queryId)
    const column = this.columns.get(transformed.name)
    return column === undefined ? transformed : { ...transformed, name: column }
  }
}

/**
 * A Kysely plugin for `KyselyDatabase<typeof entities>`: queries name fields (`projectId`) and the SQL names their
 * columns (`project_id`, after each entity's naming strategy and `.column()`); result rows come back keyed by field.
 * Like Kysely's CamelCasePlugin it renames every identifier that is a field name with a different column (raw `sql`
 * fragments are not parsed: write column names there), and the keys of result rows, never the inside of values.
 *
 * Throws `ConfigError` for a key that is not the entity's table, or two fields of the same name mapped to
 * different columns (the plugin could not tell them apart).
 *
 * @example
 * const db = new Kysely<KyselyDatabase<typeof entities>>({ dialect, plugins: [entityNamingPlugin(entities)] })
 */
export function entityNamingPlugin(entities: Readonly<Record<string, object>>, options: EntityNamingOptions = {}): KyselyPlugin {
  const { columns, fields } = namesOf(entities, options.checkTableNames ?? true)
  const transformer = new FieldToColumn(columns)
  return {
    transformQuery: (args: PluginTransformQueryArgs): RootOperationNode => transformer.transformNode(args.node, args.queryId),
    transformResult: async (args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> => {
      const { result } = args
      if (fields.size === 0 || result.rows.length === 0) return result
      return { ...result, rows: result.rows.map((row) => renameKeys(row, fields)) }
    },
  }
}

function renameKeys(row: UnknownRow, fields: ReadonlyMap<string, string>): UnknownRow {
  const renamed: UnknownRow = {}
  for (const key in row) renamed[fields.get(key) ?? key] = row[key]
  return renamed
}

function namesOf(entities: Readonly<Record<string, object>>, checkTables: boolean) {
  const problems: string[] = []
  const columns = new Map<string, string>()
  const fields = new Map<string, string>()
  if (typeof entities !== 'object' || entities === null) {
    throw new ConfigError(`expected an object of entities keyed by table, got ${describeValue(entities)}`, {
      subject: 'entityNamingPlugin',
    })
  }
  for (const [key, entity] of Object.entries(entities)) {
    const meta = (entity as Record<symbol, MetaView | undefined>)[ENTITY_META]
    if (meta === undefined) {
      problems.push(`${key} is ${describeValue(entity)}, not an entity made by defineEntity`)
      continue
    }
    const table = meta.schema === undefined ? meta.table : `${meta.schema}.${meta.table}`
    if (checkTables && key !== table)
      problems.push(`key "${key}" holds entity ${meta.name}, whose table is "${table}": use "${table}" as the key`)
    for (const { fieldName, columnName } of meta.fields) {
      if (fieldName === columnName) continue
      const known = columns.get(fieldName)
      if (known !== undefined && known !== columnName) {
        problems.push(
          `field ${fieldName} is column "${known}" in one entity and "${columnName}" in ${meta.name}; name them alike with .column()`,
        )
      }
      const knownField = fields.get(columnName)
      if (knownField !== undefined && knownField !== fieldName) {
        problems.push(`column "${columnName}" is field ${knownField} in one entity and ${fieldName} in ${meta.name}`)
      }
      columns.set(fieldName, columnName)
      fields.set(columnName, fieldName)
    }
  }
  if (problems.length > 0) throw new ConfigError(problems, { subject: 'entityNamingPlugin entities' })
  return { columns, fields }
}
