export type { Interval } from '@tessera/converter'
export { Range } from '@tessera/converter'
export type { AtomicChange, Increment, Now } from './atomic'
export { increment, isAtomicChange, now } from './atomic'
export type { CallOptions } from './call-options'
export type { CursorOptions, CursorSecret } from './cursor-seal'
export type { CreateSchemaOptions, CreateTableOptions } from './ddl'
export {
  columnDefault,
  columnSql,
  createEnumTypeSql,
  createEnumTypesSql,
  createIndexesSql,
  createSchemaSql,
  createTableSql,
  createViewSql,
  dropTablesSql,
  enumTypesOf,
  extensionsOf,
  foreignKeyClause,
  foreignKeysSql,
  primaryKeyName,
  quoteLiteral,
  renderLiteral,
  renderStatic,
} from './ddl'
export type {
  AnyEntity,
  AnyPrimaryKey,
  Entity,
  EntityCheckOptions,
  EntityIndexOptions,
  EntityOptions,
  InferEntity,
  InferInsert,
  InferUpdate,
  KeyFieldNames,
  PrimaryKeyOf,
} from './define-entity'
export { defineEntity } from './define-entity'
export type { AnyViewEntity, ViewEntity, ViewOptions } from './define-view'
export { defineView, isView } from './define-view'
export type { DiffSchemaOptions, SchemaChange, SchemaChangeKind, SchemaDiff } from './diff'
export { diffSchema } from './diff'
export type { RenderDocsOptions } from './docs'
export { renderDocs } from './docs'
export type {
  CheckMeta,
  EntityMeta,
  EnumTypeMeta,
  FieldMeta,
  ForeignKeyDefinition,
  ForeignKeyMeta,
  IndexMeta,
  RelationMeta,
  ResolvedReference,
  UniqueMeta,
} from './entity-meta'
export { entityMeta, foreignKeysOf, isEntity } from './entity-meta'
export type {
  AnyField,
  CheckDefinition,
  CheckExpression,
  EnumOptions,
  FieldConstraints,
  FieldDefault,
  FieldDefinition,
  FieldIndexOptions,
  FieldKind,
  FieldMap,
  FieldRole,
  FieldTag,
  FieldValidator,
  FieldValidatorFn,
  FieldValue,
  IdStrategy,
  InsertOf,
  OptionalFieldKeys,
  RangeType,
  RangeTypes,
  ReferenceDefinition,
  ReferenceOptions,
  ReferenceTarget,
  ReferentialAction,
  RowOf,
  Simplify,
  TaggedFieldKeys,
} from './fields'
export {
  array,
  bigint,
  boolean,
  bytea,
  cidr,
  citext,
  date,
  doublePrecision,
  enum_,
  enumOf,
  Field,
  field,
  inet,
  integer,
  interval,
  isField,
  json,
  numeric,
  range,
  real,
  smallint,
  text,
  time,
  timestamp,
  timestamptz,
  tsvector,
  uuid,
  varchar,
  vector,
} from './fields'
export type { ApplyGeneratedOptions, GeneratedIdStrategy } from './ids'
export { applyGenerated, generateId } from './ids'
export type { LiveCheck, LiveColumn, LiveForeignKey, LiveIndex, LiveTable } from './introspect'
export { introspectEnums, introspectSchema } from './introspect'
export type {
  EntityHooks,
  HookResult,
  LifecycleContext,
  LifecycleEvent,
  LifecycleOperation,
  LifecyclePayload,
  MaybePromise,
} from './lifecycle'
export { hasLifecycle, runLifecycle } from './lifecycle'
export type { MapRowOptions, ParamsMapper, RowMapper } from './mapping'
export { mapRow, mapRows, toParams } from './mapping'
export type { MigrationFailure } from './migration-error'
export { MigrationFailedError } from './migration-error'
export type {
  AppliedMigration,
  ChangedMigration,
  Migration,
  MigrationId,
  MigrationRunResult,
  MigrationStatus,
  MigrationStep,
  Migrator,
  MigratorOptions,
  NonTransactionalMigration,
  OutsideTransactionStep,
  TransactionalMigration,
} from './migrator'
export { createMigrator, migrationChecksum, migrationLockKey } from './migrator'
export type {
  AggregateOptions,
  AggregateRow,
  AggregateSpec,
  ConflictAction,
  DeleteOptions,
  LockOptions,
  PatchValue,
  Projected,
  ReturningOptions,
  SelectOptions,
  UpdatePatch,
} from './query-options'
export type { ReadOnlyRepository } from './read-only-repository'
export type {
  BelongsToOptions,
  EntitySchema,
  HasManyOptions,
  ManyToManyOptions,
  RelationBuilder,
  RelationKind,
  RelationMap,
  RelationSpec,
  RelationsOf,
  RelationTarget,
  RelationTypes,
  WithRelations,
} from './relations'
export { defineRelations } from './relations'
export type {
  BulkWriteOptions,
  ConflictTarget,
  CountOptions,
  FieldName,
  FindManyOptions,
  InsertManyOptions,
  OrderBy,
  Page,
  PrimaryKey,
  ReadOptions,
  Repository,
  RepositoryOptions,
  SortDirection,
  UpdateOptions,
  UpsertOptions,
} from './repository'
export { repository } from './repository'
export { DuplicateKeyError } from './repository-errors'
export { informationSchemaTypeOf, sqlTypeOf } from './sql-types'
export type { StandardSchemaOptions } from './standard-schema'
export { standardSchema } from './standard-schema'
export type { ValidatedValue, ValidateOptions, ValidationResult } from './validate'
export { AsyncValidatorError, assertValid, assertValidSync, validate, validateSync } from './validate'
export type { FieldCondition, FieldOperators, Where } from './where'
export type { EntityWhere, Loaded, RelationCondition, RelationConditions, With, WithOptions } from './with-query'
