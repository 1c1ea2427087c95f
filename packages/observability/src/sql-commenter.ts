import { context, trace } from '@opentelemetry/api'
import type { Hooks } from '@tessera/core'

/** The `/*traceparent='…'*\/` comment for the span in effect, or `undefined` without a valid one. */
export function traceparentComment(): string | undefined {
  const spanContext = trace.getSpan(context.active())?.spanContext()
  if (spanContext === undefined || !trace.isSpanContextValid(spanContext)) return undefined
  const flags = (spanContext.traceFlags & 0xff).toString(16).padStart(2, '0')
  return ` /*traceparent='00-${spanContext.traceId}-${spanContext.spanId}-${flags}'*/`
}

/**
 * The SQL commenter as an `onQuery` hook: appends the W3C `traceparent` of the span in effect (the request's or the
 * transaction's) to the statement, and sends that statement unprepared, so the comment never makes the prepared
 * statement cache hold one entry per trace. A statement that asks to be prepared (`prepare: true` or a name) is
 * left alone: it keeps its prepared plan and carries no comment.
 */
export function createSqlCommenterHooks(): Hooks {
  return {
    onQuery(ctx, next) {
      if (ctx.options.prepare !== undefined && ctx.options.prepare !== false) return next()
      const comment = traceparentComment()
      if (comment === undefined) return next()
      return next({ ...ctx, sql: ctx.sql + comment, options: { ...ctx.options, prepare: false } })
    },
  }
}
