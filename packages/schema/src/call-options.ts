import {
  describeValue,
  type Provider,
  type Queryable,
  type QueryOptions,
  type Transaction,
  ValidationError,
  type ValidationIssue,
} from '@tessera/core'

/** Cancellation of one repository call; accepted by every repository method. */
export interface CallOptions {
  /** Aborting cancels the statement running on the server and rejects the call (and rolls back its transaction). */
  signal?: AbortSignal | undefined
  /**
   * A budget for the whole call in ms: each statement gets what is left of it, and one that outlasts it is
   * cancelled on the server (the provider's `TimeoutError`); a transaction the call opened is rolled back. Default: none.
   */
  timeoutMs?: number | undefined
}

/** Whether `options` asks for cancellation (so the call runs on a scoped queryable). */
export function hasCallOptions(options: unknown): options is CallOptions {
  if (typeof options !== 'object' || options === null) return false
  const { signal, timeoutMs } = options as CallOptions
  return signal !== undefined || timeoutMs !== undefined
}

/** Checks `signal` and `timeoutMs`; a `ValidationError` naming each bad one. */
export function checkCallOptions(options: CallOptions, subject: string): void {
  const issues: ValidationIssue[] = []
  const { signal, timeoutMs } = options
  if (signal !== undefined && !(typeof signal === 'object' && signal !== null && typeof (signal as AbortSignal).aborted === 'boolean'))
    issues.push({ path: ['signal'], message: `expected an AbortSignal, got ${describeValue(signal)}`, value: signal })
  if (timeoutMs !== undefined && !(typeof timeoutMs === 'number' && Number.isFinite(timeoutMs) && timeoutMs > 0))
    issues.push({
      path: ['timeoutMs'],
      message: `expected a positive number of milliseconds, got ${describeValue(timeoutMs)}`,
      value: timeoutMs,
    })
  if (issues.length > 0) throw new ValidationError(issues, { subject })
}

/**
 * `queryable` with `signal` and what is left of `timeoutMs` passed to every statement, also inside the transactions
 * and savepoints it opens (a transaction gets the signal too, so an abort rolls it back).
 */
export function withCallOptions(queryable: Queryable, options: CallOptions): Queryable {
  const deadline = options.timeoutMs === undefined ? undefined : Date.now() + options.timeoutMs
  return scope(queryable, options.signal, deadline)
}

function scope(queryable: Queryable, signal: AbortSignal | undefined, deadline: number | undefined): Queryable {
  const merged = (given: QueryOptions | undefined): QueryOptions => {
    const out: QueryOptions = { ...given }
    if (signal !== undefined && out.signal === undefined) out.signal = signal
    if (deadline !== undefined) {
      const left = Math.max(1, deadline - Date.now())
      out.timeoutMs = out.timeoutMs === undefined ? left : Math.min(out.timeoutMs, left)
    }
    return out
  }
  const scoped: Queryable & { transaction?: Provider['transaction']; savepoint?: Transaction['savepoint'] } = {
    query: (text, params, given) => queryable.query(text, params, merged(given)),
    get maxParameters() {
      return queryable.maxParameters
    },
  }
  const provider = queryable as Partial<Provider>
  if (typeof provider.transaction === 'function') {
    const transaction = provider.transaction.bind(queryable)
    scoped.transaction = (fn, given) =>
      transaction(
        (tx) => fn(scope(tx, signal, deadline) as Transaction),
        signal === undefined || given?.signal !== undefined ? given : { ...given, signal },
      )
  }
  const tx = queryable as Partial<Transaction>
  if (typeof tx.savepoint === 'function') {
    const savepoint = tx.savepoint.bind(queryable)
    scoped.savepoint = (fn) => savepoint((inner) => fn(scope(inner, signal, deadline) as Transaction))
  }
  return scoped
}
