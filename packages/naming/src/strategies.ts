import { toCamel, toKebab, toPascal, toScreamingSnake, toSnake } from './convert-case'
import { assertName, NamingError } from './naming-error'

/**
 * How a JavaScript property name (the *field*) maps to its stored name (the *column*: a
 * PostgreSQL column, a DynamoDB attribute, a JSON key) and back.
 *
 * @example
 * const snake = strategies.snake_case
 * snake.toColumn('userId')  // 'user_id'
 * snake.toField('user_id')  // 'userId'
 */
export interface NamingStrategy {
  /** A label for messages and docs: the built-in name (`snake_case`…) or yours. Default for custom strategies: `custom`. */
  readonly name?: string | undefined
  /** Field (JS property) → column (stored name). */
  toColumn(field: string): string
  /** Column (stored name) → field (JS property). */
  toField(column: string): string
}

/** The names of the built-in strategies. */
export type StrategyName = 'snake_case' | 'camelCase' | 'PascalCase' | 'kebab-case' | 'SCREAMING_SNAKE_CASE' | 'preserve'

function builtIn(name: StrategyName, toColumn: (field: string) => string, toField: (column: string) => string): NamingStrategy {
  return Object.freeze({ name, toColumn, toField })
}

function identity(name: string): string {
  assertName(name, 'a non-empty string')
  return name
}

/**
 * The built-in strategies, by name. Every one except `preserve` turns columns back into
 * `camelCase` fields; `preserve` leaves names exactly as they are in both directions.
 *
 * @example
 * strategies['kebab-case'].toColumn('createdAt') // 'created-at'
 * strategies.PascalCase.toField('CreatedAt')     // 'createdAt'
 */
export const strategies: Readonly<Record<StrategyName, NamingStrategy>> = Object.freeze({
  snake_case: builtIn('snake_case', toSnake, toCamel),
  camelCase: builtIn('camelCase', toCamel, toCamel),
  PascalCase: builtIn('PascalCase', toPascal, toCamel),
  'kebab-case': builtIn('kebab-case', toKebab, toCamel),
  SCREAMING_SNAKE_CASE: builtIn('SCREAMING_SNAKE_CASE', toScreamingSnake, toCamel),
  preserve: builtIn('preserve', identity, identity),
})

/** Every built-in strategy name, for messages. */
export const STRATEGY_NAMES: readonly StrategyName[] = Object.freeze(Object.keys(strategies) as StrategyName[])

/** True if `value` names a built-in strategy. */
export function isStrategyName(value: unknown): value is StrategyName {
  return typeof value === 'string' && Object.hasOwn(strategies, value)
}

/** The shape {@link defineStrategy} accepts. */
export interface CustomStrategyDefinition {
  /** A label for messages. Default: `custom`. */
  name?: string | undefined
  /** Field → column. Must return a non-empty string. */
  toColumn(field: string): string
  /** Column → field. Must return a non-empty string. */
  toField(column: string): string
}

/**
 * Wraps your own pair of functions as a {@link NamingStrategy}. The wrapper checks inputs and
 * outputs, so a function that returns `''` or `undefined` fails loudly with the name it was given
 * instead of producing a broken column.
 *
 * @throws {NamingError} if `toColumn` or `toField` is not a function.
 * @example
 * const prefixed = defineStrategy({
 *   name: 'prefixed',
 *   toColumn: (field) => `c_${toSnake(field)}`,
 *   toField: (column) => toCamel(column.replace(/^c_/, '')),
 * })
 * prefixed.toColumn('userId') // 'c_user_id'
 */
export function defineStrategy(definition: CustomStrategyDefinition): NamingStrategy {
  const accepted = 'an object with toColumn(field) and toField(column) functions'
  if (typeof definition !== 'object' || definition === null) {
    throw new NamingError({ input: definition, reason: 'not a strategy object', accepted })
  }
  const { toColumn, toField } = definition
  if (typeof toColumn !== 'function' || typeof toField !== 'function') {
    const missing = [typeof toColumn !== 'function' && 'toColumn', typeof toField !== 'function' && 'toField'].filter(Boolean)
    throw new NamingError({ input: definition, reason: `${missing.join(' and ')} is not a function`, accepted })
  }
  const name = definition.name ?? 'custom'
  const checked =
    (direction: string, convert: (input: string) => string) =>
    (input: string): string => {
      assertName(input, 'a non-empty string')
      const output: unknown = convert(input)
      if (typeof output !== 'string' || output.length === 0) {
        throw new NamingError({
          input,
          reason: `strategy "${name}" ${direction} returned ${typeof output === 'string' ? 'an empty string' : typeof output}`,
          accepted: `a strategy whose ${direction} returns a non-empty string`,
        })
      }
      return output
    }
  return Object.freeze({ name, toColumn: checked('toColumn', toColumn), toField: checked('toField', toField) })
}

/**
 * A built-in strategy by name, or your strategy object checked by {@link defineStrategy}.
 *
 * @throws {NamingError} for an unknown name or a malformed object.
 * @example
 * resolveStrategy('snake_case').toColumn('userId') // 'user_id'
 */
export function resolveStrategy(strategy: StrategyName | NamingStrategy): NamingStrategy {
  if (typeof strategy === 'string') {
    if (isStrategyName(strategy)) return strategies[strategy]
    throw new NamingError({
      input: strategy,
      reason: 'unknown strategy',
      accepted: `one of ${STRATEGY_NAMES.join(', ')}, or { toColumn, toField }`,
    })
  }
  if (Object.values(strategies).includes(strategy)) return strategy
  return defineStrategy(strategy)
}
