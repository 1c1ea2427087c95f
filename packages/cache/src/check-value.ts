/**
 * The part of a Standard Schema (zod, valibot, arktype… v1 of the shared spec) that `checkValue` uses, declared
 * here so the cache depends on no schema library.
 */
export interface StandardSchemaLike {
  readonly '~standard': {
    readonly version: 1
    readonly vendor: string
    validate(value: unknown): StandardSchemaResult | Promise<StandardSchemaResult>
  }
}

export type StandardSchemaResult =
  | { readonly value: unknown; readonly issues?: undefined }
  | { readonly issues: ReadonlyArray<{ readonly message: string }> }

export function isStandardSchema(value: unknown): value is StandardSchemaLike {
  if (typeof value !== 'object' && typeof value !== 'function') return false
  const standard = (value as { '~standard'?: { validate?: unknown } | undefined } | null)?.['~standard']
  return typeof standard === 'object' && standard !== null && typeof standard.validate === 'function'
}

/** Whether a cached value still has the shape the caller expects; a schema that throws says no. */
export async function passesCheck(schema: StandardSchemaLike, value: unknown): Promise<boolean> {
  try {
    const result = await schema['~standard'].validate(value)
    return result.issues === undefined
  } catch {
    return false
  }
}
