// Word splitting and case conversion

export { toCamel, toKebab, toPascal, toScreamingSnake, toSnake } from './convert-case'
// DynamoDB attribute names
export { needsDynamoPlaceholder } from './dynamo-attributes'
export { DYNAMO_RESERVED_WORDS } from './dynamo-reserved-words'
// Plural and singular, table names
export type { Inflector, InflectorOptions, ReadonlyInflector } from './inflector'
export {
  createInflector,
  defaultInflector,
  IRREGULAR_NOUNS,
  isUncountable,
  pluralize,
  singularize,
  UNCOUNTABLE_NOUNS,
} from './inflector'
// Errors
export type { NamingErrorDetails } from './naming-error'
export { NamingError } from './naming-error'
// PostgreSQL identifiers
export {
  identifierByteLength,
  needsQuoting,
  POSTGRES_MAX_IDENTIFIER_BYTES,
  quoteIdent,
  quoteIdentIfNeeded,
  safeIdentifier,
} from './postgres-identifiers'
export { POSTGRES_RESERVED_WORDS } from './postgres-reserved-words'

// Presets
export type { NamingConfig, NamingInput, PresetName, ResolveNamingOptions } from './presets'
export { presets, resolveNaming } from './presets'
// Strategies
export type { CustomStrategyDefinition, NamingStrategy, StrategyName } from './strategies'
export { defineStrategy, isStrategyName, resolveStrategy, STRATEGY_NAMES, strategies } from './strategies'
export type { TableNameOptions } from './table-name'
export { tableName } from './table-name'
export type { ParsedName } from './words'
export { parseName, splitWords } from './words'
