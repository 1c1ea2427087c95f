import type { StandardSchemaV1 } from '@standard-schema/spec'
import { TesseraError } from '@tessera/core'

/**
 * A custom validator: return `true`/`undefined` when valid, `false` for a generic message, or a message.
 * May be async (then use `validate`, not `validateSync`).
 */
export type FieldValidatorFn<T> = (value: T) => boolean | string | undefined | Promise<boolean | string | undefined>

/** A `.validate()` argument: any Standard Schema v1 validator (zod 4, valibot 1, arktype…) or a function. */
export type FieldValidator<T> = StandardSchemaV1<T, unknown> | StandardSchemaV1 | FieldValidatorFn<T>

/** A validator returned a promise to `validateSync`. */
export class AsyncValidatorError extends TesseraError {
  constructor(path: string) {
    super(`the validator of ${path} is async; use validate() / assertValid() instead of validateSync() / assertValidSync()`, {
      code: 'VALIDATION_ASYNC',
    })
  }
}

/** True for a Standard Schema v1 validator (zod 4, valibot 1, arktype…), false for a function. */
export function isStandardSchema(validator: unknown): validator is StandardSchemaV1 {
  return typeof validator === 'object' && validator !== null && '~standard' in validator
}

/** Where a validator chain reports: an issue (path relative to the value), and a Standard Schema's output value. */
export interface ValidatorSink {
  issue(path: readonly (string | number)[], message: string, value: unknown): void
  /** A Standard Schema's output replaced the value (a zod `.trim()`); later validators see it. */
  value(value: unknown): void
  /** Issues reported so far (to stop at the first failing validator). */
  count(): number
}

function pathKey(segment: PropertyKey | StandardSchemaV1.PathSegment): string | number {
  const key = typeof segment === 'object' ? segment.key : segment
  return typeof key === 'symbol' ? key.toString() : key
}

function report(validator: unknown, sink: ValidatorSink, value: unknown, result: unknown): void {
  if (isStandardSchema(validator)) {
    const outcome = result as StandardSchemaV1.Result<unknown>
    if (outcome.issues === undefined) sink.value(outcome.value)
    else for (const found of outcome.issues) sink.issue((found.path ?? []).map(pathKey), found.message, value)
    return
  }
  if (result === true || result === undefined) return
  sink.issue([], result === false ? 'is invalid' : String(result), value)
}

/**
 * Runs validators in order on one value, stopping at the first that reports an issue (later ones would see an
 * invalid value). A Standard Schema's output replaces the value for the next. Returns a promise when a validator
 * answered with one (`undefined` when all answered at once); with `sync`, a promise is an `AsyncValidatorError`
 * naming `label`.
 */
export function runValidatorChain(
  validators: readonly FieldValidator<unknown>[],
  value: unknown,
  sink: ValidatorSink,
  options: { sync: boolean; label: string },
): Promise<void> | undefined {
  let current = value
  const update = (next: unknown) => {
    current = next
    sink.value(next)
  }
  const chained: ValidatorSink = { issue: sink.issue, value: update, count: sink.count }
  const step = (index: number): Promise<void> | undefined => {
    for (let i = index; i < validators.length; i++) {
      const validator = validators[i]
      const before = sink.count()
      const result = isStandardSchema(validator)
        ? validator['~standard'].validate(current)
        : (validator as FieldValidatorFn<unknown>)(current)
      if (result instanceof Promise) {
        if (options.sync) throw new AsyncValidatorError(options.label)
        return result.then((resolved) => {
          report(validator, chained, current, resolved)
          if (sink.count() === before) return step(i + 1)
        })
      }
      report(validator, chained, current, result)
      if (sink.count() !== before) return undefined
    }
    return undefined
  }
  return step(0)
}
