import { TYPE_LOOKUP_SQL, type TypeLookupRow, type TypeRegistry } from './registry'
import { serializeParams } from './serialize'

/** Runs one statement on a live session and gives back its rows (a driver connection's `run`). */
export type RunStatement = (text: string, params: readonly (string | null)[]) => Promise<{ rows: readonly unknown[] }>

/**
 * For providers: resolves the registry's types known by name only (citext, vector, user enums) on a new session,
 * once per set of pending names: names the database lacks are not looked up again on every connect. Resolves with the
 * names that became codecs (empty when nothing changed).
 */
export function createTypeNameResolver(registry: TypeRegistry): (run: RunStatement) => Promise<readonly string[]> {
  let lookedUp: string | undefined
  return async (run) => {
    const pending = registry.pendingNames()
    if (pending.length === 0) return []
    const key = pending.join('\u0000')
    if (key === lookedUp) return []
    const result = await registry.resolveNames(
      async (names) => (await run(TYPE_LOOKUP_SQL, serializeParams([names]))).rows as readonly TypeLookupRow[],
    )
    lookedUp = registry.pendingNames().join('\u0000')
    return result.resolved
  }
}
