import { ConfigError } from '@tessera/core'

/** The names inside `${...}` of a key template type: `TemplateVars<'USER#${id}#${day}'>` is `'id' | 'day'`. */
export type TemplateVars<S extends string> = S extends `${string}\${${infer Name}}${infer Rest}` ? Name | TemplateVars<Rest> : never

/** One piece of a parsed template: literal text, or a field whose value goes there. */
export type TemplatePart = { literal: string } | { field: string }

/** A parsed key template such as `'USER#${id}'`. A plain field key is a template of one field part. */
export interface KeyTemplate {
  /** The stored attribute that holds the composed key. */
  readonly attribute: string
  readonly source: string
  readonly parts: readonly TemplatePart[]
  /** The fields the template reads, in order. */
  readonly fields: readonly string[]
  /** True when the key is one field stored as itself (its own type, not a composed string). */
  readonly isPlainField: boolean
}

const PLACEHOLDER = /\$\{([^}]*)\}/g

/** Parses `'USER#${id}'` into literal and field parts. */
export function parseKeyTemplate(attribute: string, source: string, subject: string): KeyTemplate {
  const parts: TemplatePart[] = []
  const fields: string[] = []
  let last = 0
  for (const match of source.matchAll(PLACEHOLDER)) {
    const name = match[1]!.trim()
    if (name === '') throw new ConfigError(`${subject}: the template ${JSON.stringify(source)} has an empty \${}`)
    if (match.index > last) parts.push({ literal: source.slice(last, match.index) })
    parts.push({ field: name })
    fields.push(name)
    last = match.index + match[0].length
  }
  if (last < source.length) parts.push({ literal: source.slice(last) })
  return { attribute, source, parts, fields, isPlainField: false }
}

/** A key that is one field, stored as its own value. */
export function plainFieldKey(attribute: string, fieldName: string): KeyTemplate {
  return { attribute, source: `\${${fieldName}}`, parts: [{ field: fieldName }], fields: [fieldName], isPlainField: true }
}

/**
 * Composes the key from `values`, or returns `undefined` when a field is missing. Only the parts up to the first
 * missing field when `prefixOnly` is set (for `begins_with` on a sort key).
 */
export function composeKey(template: KeyTemplate, values: Readonly<Record<string, unknown>>): string | undefined {
  let out = ''
  for (const part of template.parts) {
    if ('literal' in part) {
      out += part.literal
      continue
    }
    const value = values[part.field]
    if (value === undefined || value === null) return undefined
    out += String(value)
  }
  return out
}

/** The composed text up to (not including) the first field not among the template's first `boundFields` fields. */
export function composePrefix(template: KeyTemplate, values: Readonly<Record<string, unknown>>, boundFields: number): string {
  let out = ''
  for (const part of template.parts) {
    if ('literal' in part) {
      out += part.literal
      continue
    }
    if (template.fields.indexOf(part.field) >= boundFields) return out
    out += String(values[part.field])
  }
  return out
}
