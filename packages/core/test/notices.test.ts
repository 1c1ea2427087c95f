import { describe, expect, it } from 'vitest'
import { createNoticeHandler, PROVIDER_POOL_DEFAULTS, resolveProviderOptions, toNotice } from '../src/driver-index'
import type { Logger, Notice } from '../src/index'

// What the two drivers hand over for the same NoticeResponse: pg's NoticeMessage (camelCase names, `severity` is
// the S field) and postgres.js' parsed fields (snake_case names, `severity_local` is S and `severity` is V).
const fromPg = {
  name: 'notice',
  length: 200,
  message: 'careful',
  severity: 'WARNING',
  code: '01P42',
  detail: 'the detail',
  hint: 'the hint',
  position: '8',
  internalPosition: '3',
  internalQuery: 'SELECT x',
  where: 'PL/pgSQL function inline_code_block line 1 at RAISE',
  schema: 's',
  table: 't',
  column: 'c',
  dataType: 'int4',
  constraint: 'k',
  file: 'pl_exec.c',
  line: '3907',
  routine: 'exec_stmt_raise',
}
const fromPostgresJs = {
  severity_local: 'WARNING',
  severity: 'WARNING',
  code: '01P42',
  message: 'careful',
  detail: 'the detail',
  hint: 'the hint',
  position: '8',
  internal_position: '3',
  internal_query: 'SELECT x',
  where: 'PL/pgSQL function inline_code_block line 1 at RAISE',
  schema_name: 's',
  table_name: 't',
  column_name: 'c',
  'data type_name': 'int4',
  constraint_name: 'k',
  file: 'pl_exec.c',
  line: '3907',
  routine: 'exec_stmt_raise',
}
const expected: Notice = {
  severity: 'WARNING',
  code: '01P42',
  message: 'careful',
  detail: 'the detail',
  hint: 'the hint',
  position: 8,
  internalPosition: 3,
  internalQuery: 'SELECT x',
  where: 'PL/pgSQL function inline_code_block line 1 at RAISE',
  schema: 's',
  table: 't',
  column: 'c',
  dataType: 'int4',
  constraint: 'k',
  file: 'pl_exec.c',
  line: 3907,
  routine: 'exec_stmt_raise',
}

function recordingLogger(): Logger & { entries: unknown[][] } {
  const entries: unknown[][] = []
  const at = (level: string) => (obj: object, msg?: string) => void entries.push([level, obj, msg])
  return { entries, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }
}

describe('toNotice', () => {
  it('reads pg and postgres.js notices into the same Notice', () => {
    expect(toNotice(fromPg)).toEqual(expected)
    expect(toNotice(fromPostgresJs)).toEqual(expected)
  })

  it('keeps the code and message of a notice whose message reads like a network failure', () => {
    const notice = toNotice({ severity: 'NOTICE', code: '00000', message: 'Connection terminated unexpectedly' })
    expect(notice).toMatchObject({ severity: 'NOTICE', code: '00000', message: 'Connection terminated unexpectedly' })
  })
})

describe('createNoticeHandler', () => {
  it('hands onNotice the Notice and logs what it throws', () => {
    const logger = recordingLogger()
    const received: Notice[] = []
    createNoticeHandler((notice) => void received.push(notice), logger)(fromPostgresJs)
    expect(received).toEqual([expected])
    createNoticeHandler(() => {
      throw new Error('handler bug')
    }, logger)(fromPg)
    expect(logger.entries).toEqual([['error', { err: new Error('handler bug'), notice: expected }, 'onNotice threw']])
  })

  it('without onNotice, logs the Notice at debug', () => {
    const logger = recordingLogger()
    createNoticeHandler(undefined, logger)(fromPg)
    expect(logger.entries).toEqual([['debug', { notice: expected }, 'PostgreSQL WARNING: careful']])
  })

  it('resolveProviderOptions checks onNotice and builds the handler', () => {
    const spec = { driver: 'test', driverOptions: [], poolDefaults: PROVIDER_POOL_DEFAULTS }
    expect(() => resolveProviderOptions({ onNotice: 42 as never }, spec)).toThrow(
      /onNotice must be a function receiving each notice, got 42/,
    )
    const received: Notice[] = []
    resolveProviderOptions({ onNotice: (notice) => void received.push(notice) }, spec).handleNotice(fromPg)
    expect(received).toEqual([expected])
  })
})
