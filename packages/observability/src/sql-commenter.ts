import { context, type SpanContext, TraceFlags, trace } from '@opentelemetry/api'
import type { Hooks } from '@tessera/core'
import type { ResolvedSqlCommenter } from './options'

/** How every comment this package appends starts: ` /*` and the first key (the first tag, or `traceparent`). */
export function commentMark(commenter: ResolvedSqlCommenter | undefined): string {
  const tags = commenter?.tags ?? ''
  return ` /*${tags === '' ? 'traceparent' : tags.slice(0, tags.indexOf('='))}=`
}

/** The W3C `traceparent` value of a span context. */
function traceparent(spanContext: SpanContext): string {
  const flags = (spanContext.traceFlags & 0xff).toString(16).padStart(2, '0')
  return `00-${spanContext.traceId}-${spanContext.spanId}-${flags}`
}

/**
 * The SQL commenter as an `onQuery` hook. With `traceparent`, it appends the W3C `traceparent` of the span in effect
 * (the request's or the transaction's) when that span is sampled, and sends that statement unprepared, so the comment
 * never makes the prepared-statement cache hold one entry per trace. Fixed `tags` alone keep the text stable per
 * statement: such a statement keeps its prepared plan. A statement that asks to be prepared (`prepare: true` or a name)
 * gets the tags only. The comment of the last span is kept: the statements of one span reuse it.
 */
export function createSqlCommenterHooks(commenter: ResolvedSqlCommenter): Hooks {
  const { tags } = commenter
  const tagsOnly = tags === '' ? undefined : ` /*${tags}*/`
  const withTraceparent = tags === '' ? " /*traceparent='" : ` /*${tags},traceparent='`
  let lastContext: SpanContext | undefined
  let lastComment: string | undefined
  const traceComment = (): string | undefined => {
    const spanContext = trace.getSpan(context.active())?.spanContext()
    if (spanContext === undefined) return undefined
    if (spanContext === lastContext) return lastComment
    lastContext = spanContext
    // Only a sampled span is recorded anywhere: an unsampled one has nothing to join, and its statement stays prepared.
    lastComment =
      (spanContext.traceFlags & TraceFlags.SAMPLED) !== 0 && trace.isSpanContextValid(spanContext)
        ? `${withTraceparent}${traceparent(spanContext)}'*/`
        : undefined
    return lastComment
  }
  return {
    onQuery(ctx, next) {
      const asksPrepared = ctx.options.prepare !== undefined && ctx.options.prepare !== false
      const comment = commenter.traceparent && !asksPrepared ? traceComment() : undefined
      if (comment !== undefined) return next({ ...ctx, sql: ctx.sql + comment, options: { ...ctx.options, prepare: false } })
      if (tagsOnly === undefined) return next()
      return next({ ...ctx, sql: ctx.sql + tagsOnly })
    },
  }
}
