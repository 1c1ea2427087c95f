import { type Context, context, createContextKey, type Span, trace } from '@opentelemetry/api'
import type { StatementInfo } from './statement-info'

/** One traced Tessera operation in flight (a statement, a transaction, a cache read…). */
export interface Operation {
  span: Span
  /** The context it started in. */
  parent: Context
  /** It has no parent span: it starts its own trace (the N+1 detector skips it). */
  isRoot: boolean
  startedAt: number
  /** Time waited for a connection inside it, ms. */
  waitMs: number
  /** A statement's text, summarised once. */
  info: StatementInfo | undefined
  /** The attributes its metrics are recorded with (for statements: computed once at the start). */
  metricAttributes: Record<string, string | number> | undefined
}

/** Set on the context of work done on the instrumentation's own behalf (the plans of slow queries): not traced. */
const SUPPRESSED = createContextKey('@tessera/observability suppressed')

/** Holds, in the context of a Tessera operation, the operation itself (so a pool wait inside it is added to it). */
const OPERATION = createContextKey('@tessera/observability operation')

/**
 * A context that holds one Tessera operation on top of another context: what `setValue(OPERATION, op)` would give,
 * without copying the context's map once more for every operation (the API's contexts copy it on each `setValue`).
 */
class InOperation implements Context {
  constructor(
    private readonly inner: Context,
    private readonly op: Operation,
  ) {}

  getValue(key: symbol): unknown {
    return key === OPERATION ? this.op : this.inner.getValue(key)
  }

  setValue(key: symbol, value: unknown): Context {
    return key === OPERATION ? this.inner.setValue(key, value) : new InOperation(this.inner.setValue(key, value), this.op)
  }

  deleteValue(key: symbol): Context {
    return key === OPERATION ? this.inner : new InOperation(this.inner.deleteValue(key), this.op)
  }
}

/** Finds the Tessera operation whose context is active. */
export class OperationContext {
  /** The context inside `op`: its span set, and the operation itself for {@link current}. */
  contextOf(parent: Context, op: Operation): Context {
    return new InOperation(trace.setSpan(parent, op.span), op)
  }

  /** The Tessera operation whose context is active now (only with a context manager), if any. */
  current(): Operation | undefined {
    return context.active().getValue(OPERATION) as Operation | undefined
  }

  /** Whether the active context is the instrumentation's own work. */
  isSuppressed(): boolean {
    return context.active().getValue(SUPPRESSED) === true
  }

  /** Runs `fn` as the instrumentation's own work: what it does is not traced or reported. */
  suppressed<T>(fn: () => T): T {
    return context.with(context.active().setValue(SUPPRESSED, true), fn)
  }

  /** `{ trace_id, span_id }` of the active span, for log lines. */
  traceFields(): { trace_id: string; span_id: string } | undefined {
    const spanContext = trace.getSpan(context.active())?.spanContext()
    if (spanContext === undefined || !trace.isSpanContextValid(spanContext)) return undefined
    return { trace_id: spanContext.traceId, span_id: spanContext.spanId }
  }
}
