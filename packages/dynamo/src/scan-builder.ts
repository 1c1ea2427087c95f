import { describeValue, type ValidationIssue } from '@tessera/core'
import { type PreparedRequest, summariseConsumedCapacity } from './command-runner'
import { type Condition, toCond } from './conditions'
import type { AnyModel, FieldName, IndexNameOf, Item } from './define-model'
import { type ExplainOptions, type Explanation, estimateItemSize, explainRequest, withActual } from './explain'
import { allOf, buildExpressions, type Cond } from './expressions'
import { keySources, planKey } from './index-choice'
import { entityFilter, type ModelContext, selectAttributes, throwIfIssues } from './model-context'
import { lazy, type ReadOptions } from './query-builder'
import { countItems, type Page, readPages } from './read-pages'

/**
 * A scan: reads the whole table (or index) and filters after the read. `parallel(n)` reads n segments at once and
 * merges them. Prefer a query when you can: `explain()` says when one would do.
 */
export interface ScanBuilder<M extends AnyModel> {
  /** Conditions applied after the read. */
  filter(condition: Condition<Item<M>>): ScanBuilder<M>
  /** Scans this index instead of the table. */
  index(name: IndexNameOf<M['options']>): ScanBuilder<M>
  /** At most this many items in all. Default: no limit. */
  limit(count: number): ScanBuilder<M>
  /** Fields to return. Default: all. */
  select(...fields: FieldName<M>[]): ScanBuilder<M>
  /** Strongly consistent read. Default: eventually consistent. */
  consistent(isConsistent?: boolean): ScanBuilder<M>
  /** Reads `segments` (1 to 1,000,000) segments concurrently. Default: 1. */
  parallel(segments: number): ScanBuilder<M>
  /** Every matching item, as an async iterator (segments merged as their pages arrive). */
  items(options?: ReadOptions): AsyncIterable<Item<M>>
  /** Every matching item (up to `limit`). */
  all(options?: ReadOptions): Promise<Item<M>[]>
  /** Every page of a single-segment scan (with cursors). */
  pages(options?: ReadOptions & { cursor?: string | undefined }): AsyncIterable<Page<Item<M>>>
  /** How many items match. */
  count(options?: ReadOptions): Promise<number>
  /** The request of the first page (segment 0). */
  params(): PreparedRequest
  /** Explains the scan (with `analyze`, runs its first page). */
  explain(options?: ExplainOptions): Promise<Explanation>
}

/** Creates a scan builder. */
export function createScanBuilder<M extends AnyModel>(context: ModelContext): ScanBuilder<M> {
  const model = context.model
  const state = {
    filter: [] as unknown[],
    index: undefined as string | undefined,
    limit: undefined as number | undefined,
    select: undefined as string[] | undefined,
    consistent: false,
    segments: 1,
  }
  const subject = `${model.name}.scan`

  const prepare = (withProjection = true) => {
    const issues: ValidationIssue[] = []
    let filter: Cond | undefined
    state.filter.forEach((condition, position) => {
      filter = allOf(filter, toCond(model, condition, issues, ['filter', position]))
    })
    const constantFilter = entityFilter(model)
    const projection = withProjection ? selectAttributes(model, state.select, issues) : undefined
    if (state.index !== undefined && !model.indexes.some((index: { name: string }) => index.name === state.index)) {
      issues.push({ path: ['index'], message: `${describeValue(state.index)} is not an index of ${model.name}` })
    }
    throwIfIssues(issues, subject)
    const input: Record<string, unknown> = {
      TableName: context.table,
      ...(filter || constantFilter || projection
        ? buildExpressions(context.runner.cache, `scan:${model.name}`, { filter, constantFilter, projection })
        : {}),
    }
    if (state.index) input.IndexName = state.index
    if (state.consistent) input.ConsistentRead = true
    const request: PreparedRequest = { operation: 'Scan', table: context.table, index: state.index, input }
    const shape = lazy(() =>
      JSON.stringify(['scan', context.table, state.index ?? '', input.FilterExpression ?? '', input.ExpressionAttributeValues]),
    )
    return { request, shape }
  }

  async function* merged(signal: AbortSignal | undefined): AsyncGenerator<Item<M>> {
    const { request, shape } = prepare()
    const total = state.segments
    let remaining = state.limit
    if (total === 1) {
      for await (const page of readPages<M>(context, { request, shape, limit: remaining, startKey: undefined, signal })) yield* page.items
      return
    }
    // One reader per segment; pages are taken in arrival order. Stopping early stops every reader.
    const controller = new AbortController()
    const onAbort = () => controller.abort(signal?.reason)
    signal?.addEventListener('abort', onAbort, { once: true })
    const readers = Array.from({ length: total }, (_, segment) =>
      readPages<M>(context, {
        request: { ...request, input: { ...request.input, Segment: segment, TotalSegments: total } },
        shape,
        limit: remaining,
        startKey: undefined,
        signal: controller.signal,
      }),
    )
    const pending = new Map<number, Promise<{ segment: number; result: IteratorResult<Page<Item<M>>> }>>()
    const pull = (segment: number) =>
      pending.set(
        segment,
        readers[segment]!.next().then((result) => ({ segment, result })),
      )
    for (let segment = 0; segment < total; segment++) pull(segment)
    try {
      while (pending.size > 0) {
        const { segment, result } = await Promise.race(pending.values())
        pending.delete(segment)
        if (result.done) continue
        for (const item of result.value.items) {
          if (remaining !== undefined && remaining <= 0) return
          if (remaining !== undefined) remaining--
          yield item
        }
        if (remaining !== undefined && remaining <= 0) return
        pull(segment)
      }
    } finally {
      signal?.removeEventListener('abort', onAbort)
      if (pending.size > 0) {
        controller.abort()
        // Settle the readers still in flight, so no rejection escapes.
        await Promise.allSettled(pending.values())
      }
    }
  }

  const builder: ScanBuilder<M> = {
    filter(condition) {
      state.filter.push(condition)
      return builder
    },
    index(name) {
      state.index = name
      return builder
    },
    limit(count) {
      if (!Number.isInteger(count) || count < 1)
        throwIfIssues([{ path: ['limit'], message: `expected an integer >= 1, got ${describeValue(count)}` }], subject)
      state.limit = count
      return builder
    },
    select(...fields) {
      state.select = fields
      return builder
    },
    consistent(isConsistent = true) {
      state.consistent = isConsistent
      return builder
    },
    parallel(segments) {
      if (!Number.isInteger(segments) || segments < 1 || segments > 1_000_000) {
        throwIfIssues([{ path: ['parallel'], message: `expected an integer from 1 to 1000000, got ${describeValue(segments)}` }], subject)
      }
      state.segments = segments
      return builder
    },
    items: (options = {}) => ({ [Symbol.asyncIterator]: () => merged(options.signal) }),
    async all(options = {}) {
      const items: Item<M>[] = []
      for await (const item of merged(options.signal)) items.push(item)
      return items
    },
    pages(options = {}) {
      const { request, shape } = prepare()
      const startKey = options.cursor === undefined ? undefined : context.cursors.decode(options.cursor, shape())
      return {
        [Symbol.asyncIterator]: () => readPages<M>(context, { request, shape, limit: state.limit, startKey, signal: options.signal }),
      }
    },
    count: async (options = {}) => countItems(context, prepare(false).request, options.signal),
    params: () => prepare().request,
    async explain(options = {}) {
      const { request } = prepare()
      const warnings = ['a scan reads every item of the table or index; a query on a key reads only the matching ones']
      const assumed = options.assumeItems ?? state.limit
      if (assumed === undefined) warnings.push('no limit(): the scan reads the whole table; the estimate assumes 1 item (pass assumeItems)')
      if (state.filter.length > 0) warnings.push('filter() is applied after the read: the items it discards are still read and paid for')
      const where = Object.assign({}, ...state.filter.filter((condition) => typeof condition === 'object' && condition !== null)) as Record<
        string,
        unknown
      >
      for (const source of keySources(model)) {
        const plan = planKey(model, source, where)
        if (plan) {
          warnings.push(
            `the filter gives ${plan.consumed.join(', ')}: a query on ${source.index ? `index ${source.index.name}` : 'the table'} would read only the matching items`,
          )
          break
        }
      }
      const explanation = explainRequest({
        request,
        itemSizeBytes: estimateItemSize(model),
        projectedItemSizeBytes: state.select ? estimateItemSize(model, state.select) : estimateItemSize(model),
        sizeBasis: 'model',
        itemsAssumed: assumed ?? 1,
        appliedAfterRead: [
          ...state.filter.map((_, position) => `filter #${position + 1}`),
          ...(model.entity ? [`entity marker ${model.entity.attribute} = ${model.entity.value}`] : []),
        ],
        warnings,
        pricing: context.pricing,
      })
      if (!options.analyze) return explanation
      const input: Record<string, unknown> = { ...request.input, ReturnConsumedCapacity: 'INDEXES' }
      if (state.limit !== undefined) input.Limit = state.limit
      const output = await context.runner.send({ ...request, input }, options.signal)
      return withActual(explanation, summariseConsumedCapacity(output.ConsumedCapacity), {
        count: output.Count as number | undefined,
        scannedCount: output.ScannedCount as number | undefined,
      })
    },
  }
  return builder
}
