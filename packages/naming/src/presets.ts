import { defaultInflector, type ReadonlyInflector } from './inflector'
import { NamingError } from './naming-error'
import { isStrategyName, type NamingStrategy, resolveStrategy, STRATEGY_NAMES, type StrategyName, strategies } from './strategies'
import { tableName } from './table-name'

/**
 * Everything a package needs to name things: columns (or attributes), tables, and optionally
 * type names. `@tessera/schema` and `@tessera/dynamo` take one of these (or anything
 * {@link resolveNaming} accepts).
 *
 * @example
 * const naming = resolveNaming('default')
 * naming.column.toColumn('createdAt') // 'created_at'
 * naming.table('UserCategory')        // 'user_categories'
 */
export interface NamingConfig {
  /** The preset or strategy this came from, for messages: `default`, `snake_case`, `custom`… */
  readonly name: string
  /** Field ⇄ column mapping. */
  readonly column: NamingStrategy
  /** Table (or collection) name for an entity name such as `UserCategory`. */
  table(entityName: string): string
  /** Type name for an entity name (GraphQL and JSON:API types). Absent when the preset has no such notion. */
  type?(entityName: string): string
}

/** The names of the built-in presets. */
export type PresetName = 'default' | 'jsonapi' | 'nosql' | 'graphql'

/** What {@link resolveNaming} accepts. */
export type NamingInput = PresetName | StrategyName | NamingStrategy | NamingConfig

/** Options for {@link resolveNaming}. */
export interface ResolveNamingOptions {
  /** Pluralise table names. Default: `true`. */
  plural?: boolean | undefined
  /** Whose plural rules to use. Default: {@link defaultInflector}. */
  inflector?: ReadonlyInflector | undefined
}

interface PresetShape {
  column: StrategyName
  table: StrategyName
  type?: { strategy: StrategyName; plural: boolean } | undefined
}

const PRESET_SHAPES: Readonly<Record<PresetName, PresetShape>> = {
  default: { column: 'snake_case', table: 'snake_case' },
  jsonapi: { column: 'kebab-case', table: 'kebab-case', type: { strategy: 'kebab-case', plural: true } },
  nosql: { column: 'camelCase', table: 'camelCase' },
  graphql: { column: 'camelCase', table: 'camelCase', type: { strategy: 'PascalCase', plural: false } },
}

function buildPreset(name: PresetName, options: ResolveNamingOptions): NamingConfig {
  const shape = PRESET_SHAPES[name]
  const { plural = true, inflector = defaultInflector } = options
  const typeShape = shape.type
  const config: NamingConfig = {
    name,
    column: strategies[shape.column],
    table: (entityName) => tableName(entityName, { strategy: shape.table, plural, inflector }),
  }
  if (typeShape) config.type = (entityName) => tableName(entityName, { ...typeShape, inflector })
  return Object.freeze(config)
}

/**
 * Ready-made naming configs:
 *
 * | preset | columns | tables | types |
 * |---|---|---|---|
 * | `default` | `snake_case` | plural `snake_case` | — |
 * | `jsonapi` | `kebab-case` | plural `kebab-case` | plural `kebab-case` (JSON:API resource type) |
 * | `nosql` | `camelCase` | plural `camelCase` | — |
 * | `graphql` | `camelCase` | plural `camelCase` | singular `PascalCase` |
 *
 * @example
 * presets.graphql.type?.('user_category') // 'UserCategory'
 */
export const presets: Readonly<Record<PresetName, NamingConfig>> = Object.freeze({
  default: buildPreset('default', {}),
  jsonapi: buildPreset('jsonapi', {}),
  nosql: buildPreset('nosql', {}),
  graphql: buildPreset('graphql', {}),
})

const PRESET_NAMES = Object.keys(PRESET_SHAPES) as PresetName[]
const ACCEPTED = `a preset name (${PRESET_NAMES.join(', ')}), a strategy name (${STRATEGY_NAMES.join(', ')}), a { toColumn, toField } strategy or a { column, table } naming config`

function isPresetName(value: string): value is PresetName {
  return Object.hasOwn(PRESET_SHAPES, value)
}

/**
 * Turns a preset name, a strategy name, a strategy object or a complete naming config into a
 * {@link NamingConfig}. A strategy (by name or object) names columns with itself and tables with
 * itself plus a plural last word. A complete config (`{ column, table }`) is checked and returned
 * as is; `options` do not apply to it.
 *
 * @throws {NamingError} for an unknown name or a malformed object, listing what is accepted.
 * @example
 * resolveNaming('snake_case').table('Person')                   // 'people'
 * resolveNaming('nosql').column.toColumn('created_at')          // 'createdAt'
 * resolveNaming({ toColumn: (f) => f.toUpperCase(), toField: (c) => c.toLowerCase() }).table('box') // 'BOXES'
 */
export function resolveNaming(input: NamingInput, options: ResolveNamingOptions = {}): NamingConfig {
  const custom = options.plural !== undefined || options.inflector !== undefined
  if (typeof input === 'string') {
    if (isPresetName(input)) return custom ? buildPreset(input, options) : presets[input]
    if (isStrategyName(input)) return fromStrategy(input, strategies[input], options)
    throw new NamingError({ input, reason: 'unknown preset or strategy', accepted: ACCEPTED })
  }
  if (typeof input !== 'object' || input === null) {
    throw new NamingError({ input, reason: 'not a name or an object', accepted: ACCEPTED })
  }
  if ('column' in input || 'table' in input) return checkConfig(input as Partial<NamingConfig>)
  const strategy = resolveStrategy(input as NamingStrategy)
  return fromStrategy(strategy.name ?? 'custom', strategy, options)
}

function fromStrategy(name: string, strategy: NamingStrategy, options: ResolveNamingOptions): NamingConfig {
  const { plural = true, inflector = defaultInflector } = options
  return Object.freeze({
    name,
    column: strategy,
    table: (entityName: string) => tableName(entityName, { strategy, plural, inflector }),
  })
}

function checkConfig(config: Partial<NamingConfig>): NamingConfig {
  const problems: string[] = []
  const column = config.column
  if (typeof column !== 'object' || column === null || typeof column.toColumn !== 'function' || typeof column.toField !== 'function') {
    problems.push('column must be a { toColumn, toField } strategy')
  }
  if (typeof config.table !== 'function') problems.push('table must be a function')
  if (config.type !== undefined && typeof config.type !== 'function') problems.push('type must be a function when given')
  if (problems.length > 0) throw new NamingError({ input: config, reason: problems.join('; '), accepted: ACCEPTED })
  const valid = config as NamingConfig
  if (typeof valid.name === 'string') return valid
  // Bind rather than spread, so a config whose methods live on a prototype keeps them.
  const named: NamingConfig = { name: 'custom', column: valid.column, table: valid.table.bind(valid) }
  if (valid.type) named.type = valid.type.bind(valid)
  return Object.freeze(named)
}
