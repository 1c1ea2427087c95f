import type { AnyEntity, Entity, Field, FieldTag, FieldValue } from '@tessera/schema'
import type { Generated } from 'kysely'

/**
 * Kysely's column type for one entity field: the value a read returns (`T | null` when nullable), wrapped in
 * `Generated<>` when an insert may leave it out (nullable, `.default()`, `.generated()`, timestamps, version).
 * @example type Id = KyselyColumn<typeof User.fields.id> // Generated<string> for a generated uuid key
 */
export type KyselyColumn<F> =
  F extends Field<unknown, boolean, infer Optional, FieldTag> ? (Optional extends true ? Generated<FieldValue<F>> : FieldValue<F>) : never

/**
 * Kysely's table type for one entity: one column per field, named as the field (`entityNamingPlugin` maps field
 * names to the columns the entity's naming strategy gives).
 * @example type TaskTable = KyselyTable<typeof Task>
 */
export type KyselyTable<E> = E extends Entity<string, infer F> ? { -readonly [K in keyof F & string]: KyselyColumn<F[K]> } : never

/**
 * Kysely's database type from entities, keyed by table name: `KyselyDatabase<typeof entities>` with
 * `const entities = { users: User, tasks: Task }`. Each key must be the entity's table (`schema.table` for an entity
 * with a schema); `entityNamingPlugin(entities)` checks that when the Kysely instance is made.
 * @example const db = new Kysely<KyselyDatabase<typeof entities>>({ dialect, plugins: [entityNamingPlugin(entities)] })
 */
export type KyselyDatabase<E extends Readonly<Record<string, AnyEntity>>> = { -readonly [T in keyof E & string]: KyselyTable<E[T]> }
