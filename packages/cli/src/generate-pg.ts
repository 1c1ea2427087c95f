import { resolveNaming, singularize, toPascal } from '@tessera/naming'
import type { LiveColumn, LiveForeignKey, LiveIndex, LiveTable } from '@tessera/schema'

/** What {@link renderEntities} produced: the module's text, and what it could not express exactly. */
export interface RenderedEntities {
  code: string
  /** One sentence per approximation or omission (also written as comments in the code). */
  notes: string[]
  /** The entities written, by table. */
  entities: { table: string; entity: string }[]
}

/** Options of {@link renderEntities}. */
export interface RenderEntitiesOptions {
  /** The schema the tables were read from; written as the entities' `schema` unless it is `'public'`. */
  schema: string
  /** Native enum types of that schema, with their values in order. */
  enums: ReadonlyMap<string, readonly string[]>
  /** A first comment line (what it was generated from). */
  header?: string | undefined
}

const naming = resolveNaming('default')
const GLOBALS = new Set([
  'Array',
  'Boolean',
  'Date',
  'Error',
  'Function',
  'JSON',
  'Map',
  'Math',
  'Number',
  'Object',
  'Promise',
  'Set',
  'String',
  'Symbol',
  'Range',
  'Buffer',
])
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/

/** A JavaScript string literal. */
function str(value: string): string {
  const quote = value.includes("'") && !value.includes('"') ? '"' : "'"
  const escaped = value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r')
  return `${quote}${escaped.replaceAll(quote, `\\${quote}`)}${quote}`
}

function key(name: string): string {
  return IDENTIFIER.test(name) ? name : str(name)
}

/** `"Mood"` → `Mood`; `app.mood` → `mood` when `app` is the schema read. */
function typeName(type: string, schema: string): string {
  let name = type
  if (name.startsWith(`${schema}.`)) name = name.slice(schema.length + 1)
  if (name.startsWith(`"${schema}".`)) name = name.slice(schema.length + 3)
  return name.startsWith('"') && name.endsWith('"') ? name.slice(1, -1).replace(/""/g, '"') : name
}

interface FieldCode {
  builder: string
  /** A note when the builder only approximates the column. */
  note?: string | undefined
  imports: string[]
}

/** The builder for a `format_type` text, or the closest one with a note. */
function builderFor(type: string, options: RenderEntitiesOptions, table: string, column: string): FieldCode {
  if (type.endsWith('[]')) {
    const element = builderFor(type.slice(0, -2), options, table, column)
    if (element.builder.startsWith('enumOf(') && element.builder.includes('native')) {
      return {
        builder: 'array(text())',
        imports: ['array', 'text'],
        note: `${table}.${column} is ${type}: an array of a native enum cannot be declared (schema refuses it, its array type reads as text); generated as text[]`,
      }
    }
    return { builder: `array(${element.builder})`, imports: ['array', ...element.imports], note: element.note }
  }
  const simple: Record<string, string> = {
    text: 'text',
    integer: 'integer',
    bigint: 'bigint',
    smallint: 'smallint',
    boolean: 'boolean',
    uuid: 'uuid',
    'timestamp with time zone': 'timestamptz',
    'timestamp without time zone': 'timestamp',
    date: 'date',
    'time without time zone': 'time',
    interval: 'interval',
    real: 'real',
    'double precision': 'doublePrecision',
    bytea: 'bytea',
    inet: 'inet',
    cidr: 'cidr',
    citext: 'citext',
    tsvector: 'tsvector',
    jsonb: 'json',
  }
  const plain = simple[type]
  if (plain !== undefined) return { builder: `${plain}()`, imports: [plain] }
  const ranges = ['int4range', 'int8range', 'numrange', 'tstzrange', 'daterange']
  if (ranges.includes(type)) return { builder: `range(${str(type)})`, imports: ['range'] }
  let match = /^character varying\((\d+)\)$/.exec(type)
  if (match !== null) return { builder: `varchar(${match[1]})`, imports: ['varchar'] }
  match = /^numeric\((\d+),(\d+)\)$/.exec(type)
  if (match !== null)
    return { builder: match[2] === '0' ? `numeric(${match[1]})` : `numeric(${match[1]}, ${match[2]})`, imports: ['numeric'] }
  if (type === 'numeric') return { builder: 'numeric()', imports: ['numeric'] }
  match = /^vector\((\d+)\)$/.exec(type)
  if (match !== null) return { builder: `vector(${match[1]})`, imports: ['vector'] }
  const enumName = typeName(type, options.schema)
  const values = options.enums.get(enumName)
  if (values !== undefined && values.length > 0) {
    return { builder: `enumOf([${values.map(str).join(', ')}] as const, { native: ${str(enumName)} })`, imports: ['enumOf'] }
  }
  const closest: [RegExp, string, string][] = [
    [/^character varying$/, 'text', 'varchar without a length'],
    [/^character\(\d+\)$|^"char"$/, 'text', 'a fixed-length character type'],
    [/^json$/, 'json', 'json (schema declares jsonb)'],
    [/^timestamp\(\d\) with time zone$/, 'timestamptz', 'a timestamptz with a precision'],
    [/^timestamp\(\d\) without time zone$/, 'timestamp', 'a timestamp with a precision'],
    [/^time\(\d\) without time zone$/, 'time', 'a time with a precision'],
    [/^numeric\(\d+,\d+\)$/, 'numeric', 'numeric'],
    [/^interval/, 'interval', 'an interval with fields or a precision'],
  ]
  for (const [pattern, builder, what] of closest) {
    if (pattern.test(type)) {
      return {
        builder: `${builder}()`,
        imports: [builder],
        note: `${table}.${column} is ${type}, ${what}, which schema's builders cannot express; generated as ${builder}()`,
      }
    }
  }
  return {
    builder: 'text()',
    imports: ['text'],
    note: `${table}.${column} has type ${type}, which schema's builders cannot express; generated as text()`,
  }
}

/** The key elements of a `pg_get_indexdef` text and what follows them. */
function parseIndexDefinition(definition: string): { method: string; elements: string[]; rest: string } | undefined {
  const using = / USING (\w+) \(/.exec(definition)
  if (using === null) return undefined
  let depth = 0
  let quote: string | undefined
  let current = ''
  const elements: string[] = []
  for (let i = using.index + using[0].length; i < definition.length; i++) {
    const char = definition[i] as string
    if (quote !== undefined) {
      current += char
      if (char === quote) {
        // A doubled quote is the quote character itself; a single one ends the quoted text.
        if (definition[i + 1] === quote) {
          current += quote
          i++
        } else quote = undefined
      }
      continue
    }
    if (char === "'" || char === '"') {
      quote = char
      current += char
      continue
    }
    if (char === '(') depth++
    if (char === ')') {
      if (depth === 0) {
        elements.push(current.trim())
        return { method: using[1] as string, elements, rest: definition.slice(i + 1).trim() }
      }
      depth--
    }
    if (depth === 0 && char === ',') {
      elements.push(current.trim())
      current = ''
      continue
    }
    current += char
  }
  return undefined
}

function unquoteIdent(text: string): string | undefined {
  if (/^[a-z_][a-z0-9_$]*$/.test(text)) return text
  const quoted = /^"((?:[^"]|"")+)"$/.exec(text)
  return quoted === null ? undefined : (quoted[1] as string).replace(/""/g, '"')
}

interface TableNames {
  entity: string
  fields: Map<string, string>
}

/** `sql.raw('…')` for trusted SQL text read from the catalog. */
function raw(text: string): string {
  return `sql.raw(${str(text)})`
}

function defaultCode(column: LiveColumn): string | undefined {
  if (column.default === undefined || column.identity) return undefined
  return `.default(${raw(column.default)})`
}

/**
 * Writes `defineEntity` code for the tables read by `introspectSchema`: one exported entity per table (a table without
 * a primary key is left out, with a note), column types, nullability, defaults (as the SQL PostgreSQL prints),
 * identity, generated columns, primary keys, unique constraints, foreign keys (with their names, actions and
 * deferrability), checks and indexes (with their names), native enums. Fields are camelCase; a column whose name the
 * default naming would not give back gets `.column(name)`.
 */
export function renderEntities(tables: ReadonlyMap<string, LiveTable>, options: RenderEntitiesOptions): RenderedEntities {
  const notes: string[] = []
  const imports = new Set<string>(['defineEntity'])
  let needsSql = false
  let needsAnyField = false
  let needsAnyEntity = false
  const names = new Map<string, TableNames>()
  const used = new Set<string>()
  const ordered = [...tables.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  for (const table of ordered) {
    if (table.primaryKey.length === 0) {
      notes.push(`table ${table.name} has no primary key: a schema entity needs one, so it was left out`)
      continue
    }
    let entity = toPascal(singularize(table.name)).replace(/[^A-Za-z0-9_$]/g, '') || 'Table'
    if (/^[0-9]/.test(entity)) entity = `T${entity}`
    if (GLOBALS.has(entity)) entity = `${entity}Entity`
    while (used.has(entity)) entity = `${entity}_`
    used.add(entity)
    const fields = new Map<string, string>()
    const fieldNames = new Set<string>()
    for (const column of table.columns) {
      let field = naming.column.toField(column.name)
      if (field === '' || field === '__proto__' || fieldNames.has(field)) field = column.name
      fieldNames.add(field)
      fields.set(column.name, field)
    }
    names.set(table.name, { entity, fields })
  }

  const blocks: string[] = []
  for (const table of ordered) {
    const own = names.get(table.name)
    if (own === undefined) continue
    const lines: string[] = []
    const comments: string[] = []
    const entityOptions: string[] = [`table: ${str(table.name)}`]
    if (options.schema !== 'public') entityOptions.push(`schema: ${str(options.schema)}`)
    const uniques = table.indexes.filter((index) => index.constraint === 'u')
    const singleUniques = new Set(uniques.filter((u) => u.columns.length === 1).map((u) => u.columns[0]))
    const singleForeignKeys = new Map<string, LiveForeignKey>()
    const compositeForeignKeys: LiveForeignKey[] = []
    for (const foreignKey of table.foreignKeys) {
      if (foreignKey.columns.length === 1 && !singleForeignKeys.has(foreignKey.columns[0] as string))
        singleForeignKeys.set(foreignKey.columns[0] as string, foreignKey)
      else compositeForeignKeys.push(foreignKey)
    }
    const referenceOptions = (foreignKey: LiveForeignKey, defaultName: string): string => {
      const parts: string[] = []
      if (foreignKey.onDelete !== 'no action') parts.push(`onDelete: ${str(foreignKey.onDelete)}`)
      if (foreignKey.onUpdate !== 'no action') parts.push(`onUpdate: ${str(foreignKey.onUpdate)}`)
      if (foreignKey.deferrable !== undefined) parts.push(`deferrable: ${str(foreignKey.deferrable)}`)
      if (foreignKey.name !== defaultName) parts.push(`name: ${str(foreignKey.name)}`)
      return parts.length === 0 ? '' : `, { ${parts.join(', ')} }`
    }
    const targetOf = (foreignKey: LiveForeignKey): TableNames | undefined =>
      foreignKey.referencedSchema === options.schema ? names.get(foreignKey.referencedTable) : undefined

    for (const column of table.columns) {
      const field = own.fields.get(column.name) as string
      const code = builderFor(column.type, options, table.name, column.name)
      for (const name of code.imports) imports.add(name)
      let builder = code.builder
      if (code.note !== undefined) {
        notes.push(code.note)
        comments.push(`  // ${code.note}`)
      }
      if (naming.column.toColumn(field) !== column.name) builder += `.column(${str(column.name)})`
      if (table.primaryKey.length === 1 && table.primaryKey[0] === column.name) builder += '.primaryKey()'
      else if (column.nullable) builder += '.nullable()'
      if (column.identity) builder += `.generated('identity')`
      if (column.generated !== undefined) {
        builder += `.generatedAs(${raw(column.generated)})`
        needsSql = true
      }
      const defaulted = defaultCode(column)
      if (defaulted !== undefined) {
        builder += defaulted
        needsSql = true
      }
      if (singleUniques.has(column.name) && !(table.primaryKey.length === 1 && table.primaryKey[0] === column.name)) builder += '.unique()'
      const foreignKey = singleForeignKeys.get(column.name)
      if (foreignKey !== undefined) {
        const target = targetOf(foreignKey)
        const targetField = target?.fields.get(foreignKey.referencedColumns[0] as string)
        if (target === undefined || targetField === undefined) {
          const note = `foreign key ${foreignKey.name} of ${table.name} references ${foreignKey.referencedSchema}.${foreignKey.referencedTable}, which is not generated here; left out`
          notes.push(note)
          comments.push(`  // ${note}`)
        } else {
          needsAnyField = true
          const access = IDENTIFIER.test(targetField) ? `.${targetField}` : `[${str(targetField)}]`
          builder += `.references((): AnyField => ${target.entity}.fields${access}${referenceOptions(foreignKey, `${table.name}_${column.name}_fkey`)})`
        }
      }
      lines.push(`  ${key(field)}: ${builder},`)
    }

    const fieldList = (columns: readonly (string | undefined)[]) =>
      `[${columns.map((c) => str(own.fields.get(c as string) ?? String(c))).join(', ')}]`
    if (table.primaryKey.length > 1) entityOptions.push(`primaryKey: ${fieldList(table.primaryKey)}`)
    const multiUniques = uniques.filter((u) => u.columns.length > 1)
    if (multiUniques.length > 0) entityOptions.push(`unique: [${multiUniques.map((u) => fieldList(u.columns)).join(', ')}]`)

    const indexes: string[] = []
    for (const index of table.indexes) {
      if (index.primary || index.constraint !== undefined) continue
      const rendered = indexCode(index, own, table.name, notes)
      if (rendered === undefined) {
        comments.push(`  // index ${index.name} (${index.definition}) cannot be expressed by schema's index options; left out`)
        continue
      }
      if (rendered.includes('sql')) needsSql = true
      indexes.push(rendered)
    }
    if (indexes.length > 0) entityOptions.push(`indexes: [\n    ${indexes.join(',\n    ')},\n  ]`)

    if (table.checks.length > 0) {
      needsSql = true
      const checks = table.checks.map((check) => {
        const expression = /^CHECK \((.*)\)( NO INHERIT)?$/s.exec(check.definition)?.[1] ?? check.definition
        return `{ name: ${str(check.name)}, expression: ${raw(expression)} }`
      })
      entityOptions.push(`checks: [\n    ${checks.join(',\n    ')},\n  ]`)
    }

    const composite: string[] = []
    for (const foreignKey of compositeForeignKeys) {
      const target = targetOf(foreignKey)
      if (target === undefined) {
        const note = `foreign key ${foreignKey.name} of ${table.name} references ${foreignKey.referencedSchema}.${foreignKey.referencedTable}, which is not generated here; left out`
        notes.push(note)
        comments.push(`  // ${note}`)
        continue
      }
      needsAnyEntity = true
      const parts = [
        `fields: ${fieldList(foreignKey.columns)}`,
        `references: (): AnyEntity => ${target.entity}`,
        `targetFields: [${foreignKey.referencedColumns.map((c) => str(target.fields.get(c) ?? c)).join(', ')}]`,
        `name: ${str(foreignKey.name)}`,
      ]
      if (foreignKey.onDelete !== 'no action') parts.push(`onDelete: ${str(foreignKey.onDelete)}`)
      if (foreignKey.onUpdate !== 'no action') parts.push(`onUpdate: ${str(foreignKey.onUpdate)}`)
      if (foreignKey.deferrable !== undefined) parts.push(`deferrable: ${str(foreignKey.deferrable)}`)
      composite.push(`{ ${parts.join(', ')} }`)
    }
    if (composite.length > 0) entityOptions.push(`foreignKeys: [\n    ${composite.join(',\n    ')},\n  ]`)

    blocks.push(
      [
        ...comments.map((comment) => comment.slice(2)),
        `export const ${own.entity} = defineEntity(`,
        `  ${str(own.entity)},`,
        '  {',
        ...lines.map((line) => `  ${line}`),
        '  },',
        `  { ${entityOptions.map((option) => option.replace(/\n/g, '\n  ')).join(', ')} },`,
        ')',
      ].join('\n'),
    )
  }

  const typeImports = [needsAnyEntity ? 'type AnyEntity' : undefined, needsAnyField ? 'type AnyField' : undefined].filter(
    (x): x is string => x !== undefined,
  )
  const header = [
    `// ${options.header ?? 'Generated by tessera generate pg.'}`,
    '// Review before use: defaults and checks are the SQL PostgreSQL prints; field names are camelCase of the columns.',
    ...(notes.length > 0 ? ['//', '// Not expressed exactly:', ...notes.map((note) => `// - ${note}`)] : []),
  ]
  const code = [
    ...header,
    ...(needsSql ? [`import { sql } from '@tessera/core'`] : []),
    `import { ${[...[...imports].sort(), ...typeImports].join(', ')} } from '@tessera/schema'`,
    '',
    blocks.join('\n\n'),
    '',
  ].join('\n')
  return {
    code,
    notes,
    entities: ordered.flatMap((t) => (names.has(t.name) ? [{ table: t.name, entity: (names.get(t.name) as TableNames).entity }] : [])),
  }
}

function indexCode(index: LiveIndex, own: TableNames, table: string, notes: string[]): string | undefined {
  const parsed = parseIndexDefinition(index.definition)
  if (parsed === undefined || /\bINCLUDE\b|NULLS NOT DISTINCT/.test(parsed.rest)) {
    notes.push(`index ${index.name} on ${table} (${index.definition}) cannot be expressed by schema's index options; left out`)
    return undefined
  }
  const fields: string[] = []
  const expressions: string[] = []
  const opclasses = new Set<string>()
  for (const element of parsed.elements) {
    const [first, second, ...others] = element.split(/\s+/)
    const column = first === undefined ? undefined : unquoteIdent(first)
    if (
      column !== undefined &&
      own.fields.has(column) &&
      others.length === 0 &&
      (second === undefined || /^[a-z_][a-z0-9_]*$/.test(second))
    ) {
      fields.push(own.fields.get(column) as string)
      if (second !== undefined) opclasses.add(second)
      continue
    }
    if (/\b(DESC|ASC|NULLS|COLLATE)\b/.test(element)) {
      notes.push(`index ${index.name} on ${table} has a key with an order or collation (${element}); left out`)
      return undefined
    }
    expressions.push(element)
  }
  if (opclasses.size > 1 || (opclasses.size === 1 && fields.length !== parsed.elements.length)) {
    notes.push(`index ${index.name} on ${table} mixes operator classes; left out`)
    return undefined
  }
  if (fields.length > 0 && expressions.length > 0) {
    notes.push(`index ${index.name} on ${table} mixes columns and expressions; left out`)
    return undefined
  }
  const parts = [
    expressions.length > 0 ? `expressions: [${expressions.map(raw).join(', ')}]` : `fields: [${fields.map(str).join(', ')}]`,
    `name: ${str(index.name)}`,
  ]
  if (index.unique) parts.push('unique: true')
  if (parsed.method !== 'btree') parts.push(`using: ${str(parsed.method)}`)
  const [opclass] = opclasses
  if (opclass !== undefined) parts.push(`opclass: ${str(opclass)}`)
  const where = /^WHERE (.*)$/s.exec(parsed.rest)?.[1]
  if (where !== undefined) parts.push(`where: ${raw(where)}`)
  else if (parsed.rest !== '') {
    notes.push(`index ${index.name} on ${table} ends with ${parsed.rest}, which schema's index options cannot express; left out`)
    return undefined
  }
  return `{ ${parts.join(', ')} }`
}
