import { pathToFileURL } from 'node:url'
import type { AnyEntity } from '@tessera/schema'
import * as ownSchema from '@tessera/schema'
import { usageError } from './cli-error'
import type { ResolvedConfig } from './load-config'

/** The `@tessera/schema` module. */
export type SchemaModule = typeof ownSchema

/**
 * The `@tessera/schema` the project's config and entities use (resolved from the config's folder), so that entities
 * are read by the copy that defined them; the CLI's own copy when the project has none.
 */
export async function projectSchema(config: ResolvedConfig): Promise<SchemaModule> {
  try {
    const loaded = (await config.loader.import('@tessera/schema')) as Partial<SchemaModule>
    if (typeof loaded.diffSchema === 'function' && typeof loaded.isEntity === 'function') return loaded as SchemaModule
  } catch {
    // Not installed next to the config: the CLI's own peer is the one.
  }
  return ownSchema
}

function entitiesOf(value: unknown, schema: SchemaModule, found: Set<AnyEntity>): void {
  if (schema.isEntity(value)) {
    found.add(value)
    return
  }
  if (typeof value === 'object' && value !== null) {
    for (const entry of Array.isArray(value) ? value : Object.values(value)) if (schema.isEntity(entry)) found.add(entry)
  }
}

/**
 * The entities of the configuration: given directly (an array, or an object whose entity values are taken), or
 * the entities exported by the modules at the given paths. None at all is a usage error naming what was looked at.
 */
export async function loadEntities(
  config: ResolvedConfig,
  schema: SchemaModule,
  override?: readonly string[] | undefined,
): Promise<AnyEntity[]> {
  const spec = override !== undefined && override.length > 0 ? override : config.entities
  if (spec === undefined) {
    throw usageError(
      'no entities configured: set `entities` in tessera.config.ts (entities or module paths), TESSERA_ENTITIES, or pass --entities <path>',
    )
  }
  const found = new Set<AnyEntity>()
  const paths =
    typeof spec === 'string' ? [spec] : Array.isArray(spec) && spec.every((entry) => typeof entry === 'string') ? (spec as string[]) : []
  for (const path of paths) {
    let module: unknown
    try {
      module = await config.loader.import(pathToFileURL(path).href)
    } catch (error) {
      throw usageError(`cannot load entities from ${path}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`, error)
    }
    const before = found.size
    entitiesOf(module, schema, found)
    if (found.size === before) throw usageError(`${path} exports no entity (export const User = defineEntity(…))`)
  }
  if (paths.length === 0) entitiesOf(spec, schema, found)
  if (found.size === 0) throw usageError('the `entities` setting holds no entity: give defineEntity results or module paths')
  return [...found]
}
