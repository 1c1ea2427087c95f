import { AsyncLocalStorage } from 'node:async_hooks'
import { type Context, context, type Span, trace } from '@opentelemetry/api'

/** One traced Tessera operation in flight (a statement, a transaction, a cache read…). */
export interface Operation {
  span: Span
  /** The context with {@link span} set: the parent of what runs inside the operation. */
  context: Context
  /** The OpenTelemetry context active when it started. */
  base: Context
  startedAt: number
  /** Time waited for a connection inside it, ms. */
  waitMs: number
  /** Reports about it are suppressed (the plans of slow queries run on our own behalf). */
  suppressed: boolean
}

/**
 * Where Tessera operations nest: an `AsyncLocalStorage` bound to the tracing channels' `start`, so a statement run
 * inside a transaction (or a cache factory) finds its parent across awaits, while the OpenTelemetry context of the
 * caller (the request's span) stays the parent of the outermost operation.
 */
export class OperationContext {
  readonly storage = new AsyncLocalStorage<Operation>()

  /**
   * The parent of an operation starting now: the Tessera operation it runs inside, as long as the caller has not
   * switched OpenTelemetry contexts since that operation started (a span of its own), else the active context.
   */
  parent(): Context {
    const active = context.active()
    const current = this.storage.getStore()
    if (current !== undefined && current.base === active) return current.context
    return active
  }

  /** The operation running now, if any. */
  current(): Operation | undefined {
    return this.storage.getStore()
  }

  /** The span id and trace id in effect now, for log lines. */
  traceFields(): { trace_id: string; span_id: string } | undefined {
    const span = trace.getSpan(this.parent())
    const spanContext = span?.spanContext()
    if (spanContext === undefined || !trace.isSpanContextValid(spanContext)) return undefined
    return { trace_id: spanContext.traceId, span_id: spanContext.spanId }
  }
}
