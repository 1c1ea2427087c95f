import { describeValue, type ValidationIssue } from '@tessera/core'
import { type PreparedRequest, summariseConsumedCapacity } from './command-runner'
import { type Condition, conditionTarget, toCond } from './conditions'
import type { AnyModel, FieldName, IndexNameOf, Item } from './define-model'
import { type ExplainOptions, type Explanation, estimateItemSize, explainRequest, withActual } from './explain'
import { allOf, buildExpressions, type Cond } from './expressions'
import { chooseSource } from './index-choice'
import type { AttributeMap } from './key-identity'
import { entityFilter, type ModelContext, selectAttributes, throwIfIssues } from './model-context'
import { countItems, type Page, readPages } from './read-pages'

/** Options of the terminal calls (`all`, `first`, `page`, `pages`, `count`). */
export interface ReadOptions {
  signal?: AbortSignal | undefined
}

/**
 * A query. `where` takes conditions on key fields (the index is picked from them unless `index()` names one);
 * `filter` conditions are applied by DynamoDB after the read. Nothing is sent until a terminal call.
 *
 * @example
 * const recent = await db.model(Order).query().where({ customerId: 'c1', day: { gte: '2024-01-01' } }).order('desc').limit(20).all()
 */
export interface QueryBuilder<M extends AnyModel> {
  /** Key conditions: equality on the partition key fields, one of `eq`/`lt`/`lte`/`gt`/`gte`/`between`/`beginsWith` on the sort key. */
  where(condition: Condition<Item<M>>): QueryBuilder<M>
  /** Conditions on other fields, applied after the read (the items they drop are still paid for). */
  filter(condition: Condition<Item<M>>): QueryBuilder<M>
  /** Reads this index instead of the one the conditions pick. */
  index(name: IndexNameOf<M['options']>): QueryBuilder<M>
  /** At most this many items in all (and per page). Default: no limit. */
  limit(count: number): QueryBuilder<M>
  /** Sort key order. Default: `'asc'`. */
  order(direction: 'asc' | 'desc'): QueryBuilder<M>
  /** Fields to return. Default: all. */
  select(...fields: FieldName<M>[]): QueryBuilder<M>
  /** Strongly consistent read (not on a global secondary index). Default: eventually consistent. */
  consistent(isConsistent?: boolean): QueryBuilder<M>
  /** Continue after the page that returned this cursor. */
  cursor(cursor: string | undefined): QueryBuilder<M>
  /** Every matching item (up to `limit`). */
  all(options?: ReadOptions): Promise<Item<M>[]>
  /** The first matching item, or `undefined`. */
  first(options?: ReadOptions): Promise<Item<M> | undefined>
  /** One page: up to `limit` items (or DynamoDB's 1 MB page) and the cursor of the next. */
  page(options?: ReadOptions): Promise<Page<Item<M>>>
  /** Every page, as an async iterator. */
  pages(options?: ReadOptions): AsyncIterable<Page<Item<M>>>
  /** How many items match (follows every page with `Select: 'COUNT'`). */
  count(options?: ReadOptions): Promise<number>
  /** The request the first page would send. Throws a `ValidationError` for bad input. */
  params(): PreparedRequest
  /** Explains the query (with `analyze`, runs its first page). */
  explain(options?: ExplainOptions): Promise<Explanation>
}

interface QueryState {
  where: Record<string, unknown>
  filter: readonly unknown[]
  index: string | undefined
  limit: number | undefined
  descending: boolean
  select: string[] | undefined
  consistent: boolean
  cursor: string | undefined
}

interface PreparedQuery {
  request: PreparedRequest
  shape: () => string
  startKey: AttributeMap | undefined
  appliedAfterRead: string[]
  indexChoice: () => string
  warnings: string[]
}

const NO_CONDITIONS: Record<string, unknown> = Object.freeze({})
const NO_FILTERS: readonly unknown[] = Object.freeze([])

/** Creates a query builder. */
export function createQueryBuilder<M extends AnyModel>(context: ModelContext): QueryBuilder<M> {
  return new ModelQuery<M>(context)
}

// A class, so that starting a query allocates one object and no closures (parameter building is benchmarked).
class ModelQuery<M extends AnyModel> implements QueryBuilder<M> {
  private readonly model: AnyModel
  private hasWhere = false
  private readonly state: QueryState = {
    where: NO_CONDITIONS,
    filter: NO_FILTERS,
    index: undefined,
    limit: undefined,
    descending: false,
    select: undefined,
    consistent: false,
    cursor: undefined,
  }

  constructor(private readonly context: ModelContext) {
    this.model = context.model
  }

  private prepare(forCount = false): PreparedQuery {
    const { context, model, state } = this
    const issues: ValidationIssue[] = []
    const where = state.where
    for (const name in where) {
      const value = where[name]
      if (name.startsWith('$'))
        issues.push({ path: ['where', name], message: 'where() takes field conditions only; put $or/$and/$not in filter()' })
      else if (conditionTarget(model, name, issues, ['where']) && value === undefined) {
        issues.push({ path: ['where', name], message: 'is undefined; an undefined never means "match everything"' })
      }
    }
    if (issues.length > 0) throwIfIssues(issues, `${model.name}.query`)
    const { plan, reason, better } = chooseSource(model, where, state.index, issues)
    const appliedAfterRead: string[] = []
    const warnings: string[] = []
    let leftover: Record<string, unknown> | undefined
    for (const name in where) {
      if (!plan?.consumed.includes(name) || plan.alsoFilter.includes(name)) {
        leftover ??= {}
        leftover[name] = where[name]
        if (!plan?.alsoFilter.includes(name))
          appliedAfterRead.push(`where.${name}: not a key of ${plan?.source.index ? `index ${plan.source.index.name}` : 'the table'}`)
      }
    }
    let filter: Cond | undefined = leftover !== undefined ? toCond(model, leftover, issues, ['where']) : undefined
    state.filter.forEach((condition, position) => {
      filter = allOf(filter, toCond(model, condition, issues, ['filter', position]))
      appliedAfterRead.push(`filter #${position + 1}`)
    })
    const projection = selectAttributes(model, state.select, issues)
    const index = plan?.source.index
    if (state.consistent && index?.type === 'gsi') {
      issues.push({
        path: ['consistent'],
        message: `index ${index.name} is a global secondary index, which only serves eventually consistent reads`,
      })
    }
    if (index && Array.isArray(index.projection) && state.select) {
      const missing = state.select.filter((name) => !(index.projection as string[]).includes(name) && !plan!.consumed.includes(name))
      if (missing.length > 0) warnings.push(`index ${index.name} does not project ${missing.join(', ')}: they come back missing`)
    }
    if (index?.projection === 'keys') warnings.push(`index ${index.name} projects only keys: other fields come back missing`)
    throwIfIssues(issues, `${model.name}.query`)
    if (better) {
      warnings.push(
        `index ${better.source.index?.name ?? '(the table)'} would use more of the where() fields (${better.consumed.join(', ')}) than the named index`,
      )
    }
    for (const name in leftover) {
      if (plan!.alsoFilter.includes(name)) continue
      warnings.push(`where.${name} is applied after the read: the items it discards are still read and paid for`)
    }
    if (state.filter.length > 0) warnings.push('filter() is applied after the read: the items it discards are still read and paid for')
    const input: Record<string, unknown> = buildExpressions(
      context.runner.cache,
      plan!.source.queryOperation,
      {
        keyCondition: plan!.keyCondition,
        keyShape: plan!.keyShape,
        filter,
        constantFilter: entityFilter(model),
        // A count returns no attributes: a projection there would leave unused names.
        projection: forCount ? undefined : projection,
      },
      { TableName: context.table } as Record<string, unknown>,
    )
    if (index) input.IndexName = index.name
    if (state.descending) input.ScanIndexForward = false
    if (state.consistent) input.ConsistentRead = true
    const shape = lazy(() =>
      JSON.stringify([
        'query',
        context.table,
        index?.name ?? '',
        input.KeyConditionExpression,
        input.FilterExpression ?? '',
        state.descending,
        input.ExpressionAttributeValues,
      ]),
    )
    const request: PreparedRequest = { operation: 'Query', table: context.table, index: index?.name, input }
    const startKey = state.cursor === undefined ? undefined : context.cursors.decode(state.cursor, shape())
    return {
      request,
      shape,
      startKey,
      appliedAfterRead,
      indexChoice: reason,
      warnings,
    }
  }

  private pagesOf(prepared: PreparedQuery, signal: AbortSignal | undefined) {
    return readPages<M>(this.context, {
      request: prepared.request,
      shape: prepared.shape,
      limit: this.state.limit,
      startKey: prepared.startKey,
      signal,
    })
  }

  where(condition: Condition<Item<M>>): QueryBuilder<M> {
    // The first where() is used as given (never changed: a later one merges into a copy).
    this.state.where = this.hasWhere ? { ...this.state.where, ...condition } : (condition as Record<string, unknown>)
    this.hasWhere = true
    return this
  }
  filter(condition: Condition<Item<M>>): QueryBuilder<M> {
    this.state.filter = [...this.state.filter, condition]
    return this
  }
  index(name: IndexNameOf<M['options']>): QueryBuilder<M> {
    this.state.index = name
    return this
  }
  limit(count: number): QueryBuilder<M> {
    if (!Number.isInteger(count) || count < 1)
      throwIfIssues([{ path: ['limit'], message: `expected an integer >= 1, got ${describeValue(count)}` }], `${this.model.name}.query`)
    this.state.limit = count
    return this
  }
  order(direction: 'asc' | 'desc'): QueryBuilder<M> {
    if (direction !== 'asc' && direction !== 'desc') {
      throwIfIssues([{ path: ['order'], message: `expected 'asc' or 'desc', got ${describeValue(direction)}` }], `${this.model.name}.query`)
    }
    this.state.descending = direction === 'desc'
    return this
  }
  select(...fields: FieldName<M>[]): QueryBuilder<M> {
    this.state.select = fields
    return this
  }
  consistent(isConsistent = true): QueryBuilder<M> {
    this.state.consistent = isConsistent
    return this
  }
  cursor(cursor: string | undefined): QueryBuilder<M> {
    this.state.cursor = cursor
    return this
  }
  async all(options: ReadOptions = {}): Promise<Item<M>[]> {
    const items: Item<M>[] = []
    for await (const page of this.pagesOf(this.prepare(), options.signal)) items.push(...page.items)
    return items
  }
  async first(options: ReadOptions = {}): Promise<Item<M> | undefined> {
    const saved = this.state.limit
    this.state.limit = 1
    try {
      for await (const page of this.pagesOf(this.prepare(), options.signal)) if (page.items.length > 0) return page.items[0]
      return undefined
    } finally {
      this.state.limit = saved
    }
  }
  async page(options: ReadOptions = {}): Promise<Page<Item<M>>> {
    const prepared = this.prepare()
    if (this.state.limit === undefined) {
      for await (const page of this.pagesOf(prepared, options.signal)) return page
    }
    const items: Item<M>[] = []
    let last: Page<Item<M>> = { items, cursor: undefined, scannedCount: 0 }
    for await (const page of this.pagesOf(prepared, options.signal)) {
      items.push(...page.items)
      last = { ...page, items, scannedCount: last.scannedCount + page.scannedCount }
    }
    return last
  }
  pages(options: ReadOptions = {}): AsyncIterable<Page<Item<M>>> {
    return { [Symbol.asyncIterator]: () => this.pagesOf(this.prepare(), options.signal) }
  }
  count(options: ReadOptions = {}): Promise<number> {
    return countItems(this.context, this.prepare(true).request, options.signal)
  }
  params(): PreparedRequest {
    return this.prepare().request
  }
  async explain(options: ExplainOptions = {}): Promise<Explanation> {
    const prepared = this.prepare()
    const warnings = [...prepared.warnings]
    const assumed = options.assumeItems ?? this.state.limit
    if (assumed === undefined)
      warnings.push('no limit(): all() reads every matching item; the estimate assumes 1 (pass assumeItems to change it)')
    const explanation = explainRequest({
      request: prepared.request,
      itemSizeBytes: estimateItemSize(this.model),
      projectedItemSizeBytes: this.state.select ? estimateItemSize(this.model, this.state.select) : estimateItemSize(this.model),
      sizeBasis: 'model',
      itemsAssumed: assumed ?? 1,
      appliedAfterRead: [
        ...prepared.appliedAfterRead,
        ...(this.model.entity ? [`entity marker ${this.model.entity.attribute} = ${this.model.entity.value}`] : []),
      ],
      indexChoice: prepared.indexChoice(),
      warnings,
      pricing: this.context.pricing,
    })
    if (!options.analyze) return explanation
    const input: Record<string, unknown> = { ...prepared.request.input, ReturnConsumedCapacity: 'INDEXES' }
    if (this.state.limit !== undefined) input.Limit = this.state.limit
    const output = await this.context.runner.send({ ...prepared.request, input }, options.signal)
    return withActual(explanation, summariseConsumedCapacity(output.ConsumedCapacity), {
      count: output.Count as number | undefined,
      scannedCount: output.ScannedCount as number | undefined,
    })
  }
}

/** `fn`'s result, computed on the first call. */
export function lazy<T>(fn: () => T): () => T {
  let done = false
  let value: T
  return () => {
    if (!done) {
      value = fn()
      done = true
    }
    return value
  }
}
