import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { usageError } from './cli-error'
import type { CommandContext } from './command-context'
import { createDynamoClient, loadModule, projectDynamo } from './dynamo-client'
import { EXIT_CODES, type ExitCode } from './exit-codes'
import { type AttributeValue, type DescribedTable, renderModel } from './generate-dynamo'

/** `tessera generate dynamo` options. */
export interface GenerateDynamoOptions {
  /** The table to describe. Required. */
  table: string
  /** The file to write. Default: stdout. */
  out?: string | undefined
  /** Read this many items (one `Scan` page) to find the other attributes and their types. Default: 0. */
  sample?: string | undefined
  /** The model's name. Default: the table name in PascalCase. */
  name?: string | undefined
  /** Overwrite `out` when it exists. */
  force?: boolean | undefined
}

/** `tessera generate dynamo --table …`: `DescribeTable` (+ `DescribeTimeToLive`, + a sampled `Scan`) → `defineModel` code. */
export async function generateDynamo(context: CommandContext, options: GenerateDynamoOptions): Promise<ExitCode> {
  const sample = options.sample === undefined ? 0 : Number(options.sample)
  if (!Number.isInteger(sample) || sample < 0 || sample > 1000)
    throw usageError(`--sample must be a whole number from 0 to 1000, got ${JSON.stringify(options.sample)}`)
  if (options.name !== undefined && !/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(options.name))
    throw usageError(`--name must be a JavaScript identifier, got ${JSON.stringify(options.name)}`)
  const out = options.out === undefined ? undefined : resolve(context.cwd, options.out)
  if (out !== undefined && existsSync(out) && options.force !== true) throw usageError(`${out} exists: pass --force to overwrite it`)
  const { sdk, client } = await createDynamoClient(context.config.dynamo)
  let rendered: ReturnType<typeof renderModel>
  try {
    const signal = context.signal
    const described = await client.send(new sdk.DescribeTableCommand({ TableName: options.table }), { abortSignal: signal })
    const table = described.Table as DescribedTable
    const ttl = (await client.send(new sdk.DescribeTimeToLiveCommand({ TableName: options.table }), { abortSignal: signal }))
      .TimeToLiveDescription as { TimeToLiveStatus?: string; AttributeName?: string } | undefined
    const items =
      sample > 0
        ? ((await client.send(new sdk.ScanCommand({ TableName: options.table, Limit: sample }), { abortSignal: signal })).Items as
            | Record<string, AttributeValue>[]
            | undefined)
        : undefined
    rendered = renderModel(table, {
      ttlAttribute: ttl?.TimeToLiveStatus === 'ENABLED' || ttl?.TimeToLiveStatus === 'ENABLING' ? ttl.AttributeName : undefined,
      sample: items ?? [],
      name: options.name,
    })
  } catch (error) {
    if ((error as { name?: string }).name === 'ResourceNotFoundException')
      throw usageError(`no DynamoDB table ${options.table} at ${context.config.dynamo?.endpoint ?? 'the configured region'}`, error)
    throw error
  } finally {
    client.destroy()
  }
  const { output } = context
  if (out !== undefined) {
    mkdirSync(dirname(out), { recursive: true })
    writeFileSync(out, rendered.code)
  }
  if (output.json)
    output.printJson({ file: out, model: rendered.name, notes: rendered.notes, ...(out === undefined ? { code: rendered.code } : {}) })
  else if (out === undefined) output.stdout.write(rendered.code)
  else output.line(`wrote model ${rendered.name} to ${out}`)
  if (!output.json) for (const note of rendered.notes) output.note(`${output.colors.yellow('note:')} ${note}`)
  return EXIT_CODES.ok
}

/** `tessera explain dynamo` options. */
export interface ExplainDynamoOptions {
  /** A module exporting a function `(db) => builder` (or a builder, or an explanation) as its default export. */
  script?: string | undefined
  /** For an inline expression: a module whose exported models are in scope by name. */
  models?: string | undefined
  /** Run the operation and report the consumed capacity DynamoDB returns. */
  analyze?: boolean | undefined
  /** Items a query or scan is assumed to read. */
  assumeItems?: string | undefined
}

interface Explainable {
  explain(options?: {
    analyze?: boolean | undefined
    assumeItems?: number | undefined
    signal?: AbortSignal | undefined
  }): Promise<Record<string, unknown>>
}

function isExplainable(value: unknown): value is Explainable {
  return typeof value === 'object' && value !== null && typeof (value as { explain?: unknown }).explain === 'function'
}

function isExplanation(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && 'operation' in value && 'capacity' in value
}

function isModel(value: unknown): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    Array.isArray((value as { fieldList?: unknown }).fieldList) &&
    typeof (value as { table?: unknown }).table === 'string'
  )
}

function cell(value: unknown): string {
  if (value === undefined || value === null) return ''
  if (Array.isArray(value)) return value.join('\n')
  if (typeof value === 'object')
    return Object.entries(value as Record<string, unknown>)
      .map(([k, v]) => `${k}: ${typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)}`)
      .join('\n')
  return String(value)
}

/**
 * `tessera explain dynamo`: the explanation of a DynamoDB operation (index choice, expressions, capacity and cost
 * estimates, warnings; with `--analyze` what DynamoDB reported) as a table. The operation comes from a script
 * (`--script ops.ts`, default export `(db) => db.model(User).query().where({ id })`) or an inline expression over the
 * models of `--models` (`'User.query().where({ id: "1" })'`, each model name bound to `db.model(Model)`).
 */
export async function explainDynamo(
  context: CommandContext,
  expression: string | undefined,
  options: ExplainDynamoOptions,
): Promise<ExitCode> {
  const assumeItems = options.assumeItems === undefined ? undefined : Number(options.assumeItems)
  if (assumeItems !== undefined && (!Number.isInteger(assumeItems) || assumeItems < 1))
    throw usageError(`--assume-items must be a whole number ≥ 1, got ${JSON.stringify(options.assumeItems)}`)
  if ((expression === undefined) === (options.script === undefined)) {
    throw usageError(
      'give an operation: --script <file> (default export (db) => builder) or an inline expression with --models <file>, e.g. \'User.query().where({ id: "1" })\'',
    )
  }
  if (expression !== undefined && options.models === undefined)
    throw usageError('an inline expression needs --models <file>: the module whose exported models it names')
  const dynamoModule = await projectDynamo(context.config)
  const createDynamo = dynamoModule.createDynamo as ((options: { client: unknown }) => { model(model: unknown): unknown }) | undefined
  if (typeof createDynamo !== 'function') throw usageError('the installed @tessera/dynamo has no createDynamo')
  let operation: () => unknown
  if (options.script !== undefined) {
    const module = await loadModule(context.config, resolve(context.cwd, options.script))
    const exported = module.default
    if (exported === undefined)
      throw usageError(`${options.script} has no default export: export default (db) => db.model(User).query().where({ … })`)
    operation = () => exported
  } else {
    const module = await loadModule(context.config, resolve(context.cwd, options.models as string))
    const models = Object.entries(module).filter(([name, value]) => name !== 'default' && isModel(value))
    if (models.length === 0) throw usageError(`${options.models} exports no model (export const User = defineModel(…))`)
    operation = () => models
  }
  const { client } = await createDynamoClient(context.config.dynamo)
  let explanation: Record<string, unknown>
  try {
    const db = createDynamo({ client })
    let value = operation()
    if (options.script !== undefined) {
      value = typeof value === 'function' ? await (value as (db: unknown) => unknown)(db) : value
    } else {
      const models = value as [string, unknown][]
      let evaluate: (...clients: unknown[]) => unknown
      try {
        // The expression is the user's own code, as a script would be; each model name is its client.
        evaluate = new Function(...models.map(([name]) => name), `"use strict"; return (${expression});`) as (
          ...clients: unknown[]
        ) => unknown
      } catch (error) {
        throw usageError(`cannot parse ${JSON.stringify(expression)}: ${error instanceof Error ? error.message : String(error)}`)
      }
      try {
        value = evaluate(...models.map(([, model]) => db.model(model)))
      } catch (error) {
        throw usageError(
          `${JSON.stringify(expression)} failed: ${error instanceof Error ? error.message : String(error)}; models in scope: ${models.map(([name]) => name).join(', ')}`,
          error,
        )
      }
    }
    value = await value
    if (isExplainable(value)) explanation = await value.explain({ analyze: options.analyze === true, assumeItems, signal: context.signal })
    else if (isExplanation(value)) explanation = value
    else
      throw usageError(
        'the operation is neither a query, scan or other builder with explain() nor an explanation (db.model(M).explainGet(…))',
      )
  } finally {
    client.destroy()
  }
  const { output } = context
  if (output.json) {
    output.printJson(explanation)
    return EXIT_CODES.ok
  }
  const rows: [string, unknown][] = [
    ['operation', explanation.operation],
    ['table', explanation.table],
    ['index', explanation.index ?? '(table)'],
    ['index choice', explanation.indexChoice],
    ['key condition', explanation.keyCondition],
    ['filter', explanation.filter],
    ['condition', explanation.condition],
    ['update', explanation.update],
    ['projection', explanation.projection],
    ['attribute names', explanation.attributeNames],
    ['applied after read', explanation.appliedAfterRead],
    ['item size', `${explanation.itemSizeBytes} bytes (${explanation.sizeBasis}), ${explanation.projectedItemSizeBytes} bytes returned`],
    ['items assumed', explanation.itemsAssumed],
    ['capacity', explanation.capacity],
    ['cost', `${explanation.costUsd} USD (${explanation.pricePerMillionUnits} per million units)`],
    ['actual', explanation.actual],
    ['warnings', explanation.warnings],
  ]
  output.table(
    ['', 'explain'],
    rows
      .filter(
        ([, value]) =>
          value !== undefined &&
          value !== null &&
          !(Array.isArray(value) && value.length === 0) &&
          !(typeof value === 'object' && !Array.isArray(value) && Object.keys(value as object).length === 0),
      )
      .map(([name, value]) => [name, cell(value)]),
  )
  return EXIT_CODES.ok
}
