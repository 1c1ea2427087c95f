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

/** Finds the Tessera operation whose context is active. */
export class OperationContext {
  /** The context inside `op`: its span set, and the operation itself for {@link current}. */
  contextOf(parent: Context, op: Operation): Context {
    return trace.setSpan(parent, op.span).setValue(OPERATION, op)
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
