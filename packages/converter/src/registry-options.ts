import { describeValue, problemsOf } from '@tessera/core'
import { createTypeRegistry, type TypePolicies, type TypeRegistry } from './registry'

/** The type options every provider accepts: policies and the user enums to resolve by name at connect time. */
export interface TypeRegistryOptions {
  types?: TypePolicies | undefined
  enums?: readonly string[] | undefined
}

/**
 * Checks a provider's `types` and `enums` options and builds its registry. Problems are added to `problems`
 * (so a provider reports them with its other option problems in one `ConfigError`); the registry is
 * `undefined` when the policies are invalid.
 */
export function typeRegistryFromOptions(options: TypeRegistryOptions, problems: string[]): TypeRegistry | undefined {
  const { enums } = options
  if (enums !== undefined && !(Array.isArray(enums) && enums.every((name) => typeof name === 'string' && name.length > 0))) {
    problems.push(`enums must be an array of type names such as ['mood'], got ${describeValue(enums)}`)
  }
  try {
    const registry = createTypeRegistry(options.types)
    for (const name of Array.isArray(enums) ? enums : []) registry.registerEnum(name)
    return registry
  } catch (error) {
    problems.push(...problemsOf(error, 'types'))
    return undefined
  }
}
