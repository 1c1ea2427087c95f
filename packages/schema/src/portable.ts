// `@tessera/schema/portable`: the parts of the schema package that know no database (id generation and value
// validation with Standard Schema validators), for packages such as `@tessera/dynamo` that must not load the
// PostgreSQL parts (SQL types, codecs, DDL, repositories).
export type { FieldValidator, FieldValidatorFn, ValidatorSink } from './field-validators'
export { AsyncValidatorError, isStandardSchema, runValidatorChain } from './field-validators'
export type { GeneratedIdStrategy } from './id-generation'
export { GENERATED_ID_STRATEGIES, generateId } from './id-generation'
