import { renderLiteral, renderStatic } from './ddl'
import type { AnyEntity } from './define-entity'
import { type EntityMeta, entityMeta, type FieldMeta } from './entity-meta'

/** Options of {@link renderDocs}. */
export interface RenderDocsOptions {
  /** The top heading. Default: `'Data model'`. */
  title?: string | undefined
  /** Heading level of the title (entities go one deeper). Default: `1`. */
  headingLevel?: number | undefined
}

// A table cell: pipes escaped and line breaks flattened, so any text stays in its cell. Only pipes: GFM takes `\|`
// as a pipe even inside a code span, where any other backslash is shown as it is (doubling it would show two).
function cell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll(/\r?\n/g, ' ')
}

// Plain Markdown text: backslashes and the characters that start emphasis, code or links are escaped.
function plain(text: string): string {
  return text.replaceAll(/[\\`*_[\]<>]/g, '\\$&')
}

// A code span shows its text as it is: no escapes apply inside, so the fence is longer than any backtick run in it.
function code(text: string): string {
  if (text === '') return ''
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length))
  const fence = '`'.repeat(longest + 1)
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : ''
  return `${fence}${pad}${text}${pad}${fence}`
}

function defaultText(field: FieldMeta): string {
  const d = field.default
  if (d?.kind === 'value') return code(renderLiteral(d.value))
  if (d?.kind === 'sql') return code(renderStatic(d.sql))
  if (d?.kind === 'fn') return '(computed in the application)'
  if (field.generated !== undefined) return field.generated === 'identity' ? 'identity' : `generated ${field.generated}`
  if (field.role === 'createdAt' || field.role === 'updatedAt') return code('now()')
  if (field.role === 'version') return code('1')
  return ''
}

function constraintText(field: FieldMeta): string {
  const parts: string[] = []
  if (field.primaryKey) parts.push('primary key')
  if (field.unique) parts.push('unique')
  if (field.role !== undefined) parts.push(field.role)
  if (field.references !== undefined) parts.push(plain(`→ ${field.references.entityName}.${field.references.field}`))
  const c = field.constraints
  if (field.definition.enumValues !== undefined) parts.push(`one of ${field.definition.enumValues.map((v) => code(v)).join(', ')}`)
  if (c.min !== undefined) parts.push(`≥ ${plain(String(c.min))}`)
  if (c.max !== undefined) parts.push(`≤ ${plain(String(c.max))}`)
  if (c.minLength !== undefined) parts.push(`length ≥ ${c.minLength}`)
  if (c.maxLength !== undefined && field.kind !== 'varchar') parts.push(`length ≤ ${c.maxLength}`)
  if (c.pattern !== undefined) parts.push(`matches ${code(String(c.pattern))}`)
  if (c.oneOf !== undefined) parts.push(`one of ${c.oneOf.map((v) => code(String(v))).join(', ')}`)
  for (const check of field.checks) if (!check.name.endsWith('_enum')) parts.push(`check ${code(renderStatic(check.expression))}`)
  return parts.join('; ')
}

function entitySection(meta: EntityMeta, level: number): string[] {
  const h = '#'.repeat(level)
  const lines = [`${h} ${meta.name}`, '', `Table ${code(meta.schema === undefined ? meta.table : `${meta.schema}.${meta.table}`)}.`, '']
  lines.push('| field | column | type | null | default | constraints |', '|---|---|---|---|---|---|')
  for (const f of meta.fields) {
    lines.push(
      `| ${cell(plain(f.fieldName))} | ${cell(code(f.columnName))} | ${cell(code(f.sqlType))} | ${f.nullable ? 'yes' : 'no'} | ${cell(defaultText(f))} | ${cell(constraintText(f))} |`,
    )
  }
  lines.push('', `**Primary key:** ${meta.primaryKeys.map((f) => code(f.columnName)).join(', ')}`)
  if (meta.uniques.length > 0) {
    lines.push('', '**Unique:**', '', ...meta.uniques.map((u) => `- ${code(u.name)} (${u.columns.map(code).join(', ')})`))
  }
  if (meta.indexes.length > 0) {
    lines.push(
      '',
      '**Indexes:**',
      '',
      ...meta.indexes.map((i) => {
        const extra = [i.unique ? 'unique' : '', i.opclass ?? '', i.where === undefined ? '' : `where ${code(renderStatic(i.where))}`]
        return `- ${code(i.name)}: ${i.using} (${i.columns.map(code).join(', ')})${extra
          .filter(Boolean)
          .map((e) => `, ${e}`)
          .join('')}`
      }),
    )
  }
  if (meta.checks.length > 0) {
    lines.push('', '**Checks:**', '', ...meta.checks.map((c) => `- ${code(c.name)}: ${code(renderStatic(c.expression))}`))
  }
  if (meta.relations.length > 0) {
    lines.push(
      '',
      '**Relations:**',
      '',
      ...meta.relations.map((r) => {
        const ref = meta.byField.get(r.field)?.references
        const onDelete = ref === undefined || ref.onDelete === 'no action' ? '' : `, on delete ${ref.onDelete}`
        return `- ${r.name}: belongs to ${r.targetEntityName} (${code(r.field)} → ${code(`${r.targetEntityName}.${r.targetField}`)}${onDelete})`
      }),
    )
  }
  lines.push('')
  return lines
}

/**
 * Markdown documentation of entities: per entity its table, a columns table (field, column, type, nullability,
 * default, constraints), primary key, unique constraints, indexes, checks and relations.
 *
 * @example await writeFile('docs/data-model.md', renderDocs([User, Post]))
 */
export function renderDocs(entities: readonly AnyEntity[], options: RenderDocsOptions = {}): string {
  const level = options.headingLevel ?? 1
  const lines = [`${'#'.repeat(level)} ${options.title ?? 'Data model'}`, '']
  for (const entity of entities) lines.push(...entitySection(entityMeta(entity), level + 1))
  return lines.join('\n')
}
