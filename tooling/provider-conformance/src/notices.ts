import { ConfigError, type Logger, type Notice } from '@tessera/core'
import { describe, expect } from 'vitest'
import type { ConformanceContext } from './context'

/** A logger that keeps what it receives. */
function recordingLogger(): Logger & { entries: Array<{ level: string; obj: Record<string, unknown>; msg: string | undefined }> } {
  const entries: Array<{ level: string; obj: Record<string, unknown>; msg: string | undefined }> = []
  const at = (level: string) => (obj: object, msg?: string) => void entries.push({ level, obj: obj as Record<string, unknown>, msg })
  return { entries, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }
}

/** Server notices (RAISE NOTICE/WARNING, skipped DROP … IF EXISTS) reach `onNotice` with the fields of an error. */
export function describeNotices(ctx: ConformanceContext): void {
  describe('notices', () => {
    ctx.test('a RAISE NOTICE reaches onNotice with its severity, code, message and context', async () => {
      const notices: Notice[] = []
      const { provider } = await ctx.open({ onNotice: (notice) => notices.push(notice) })
      await provider.query(`DO $$ BEGIN RAISE NOTICE 'hello %', 42; END $$`)
      expect(notices).toHaveLength(1)
      expect(notices[0]).toEqual({
        severity: 'NOTICE',
        code: '00000',
        message: 'hello 42',
        detail: undefined,
        hint: undefined,
        position: undefined,
        internalPosition: undefined,
        internalQuery: undefined,
        where: 'PL/pgSQL function inline_code_block line 1 at RAISE',
        schema: undefined,
        table: undefined,
        column: undefined,
        dataType: undefined,
        constraint: undefined,
        file: 'pl_exec.c',
        line: expect.any(Number),
        routine: 'exec_stmt_raise',
      })
    })

    ctx.test('a RAISE WARNING with DETAIL, HINT and ERRCODE reaches onNotice with every field', async () => {
      const notices: Notice[] = []
      const { provider } = await ctx.open({ onNotice: (notice) => notices.push(notice) })
      await provider.query(
        `DO $$ BEGIN RAISE WARNING 'careful: %', 'x' USING DETAIL = 'the detail', HINT = 'the hint', ERRCODE = '01P42', ` +
          `SCHEMA = 's', TABLE = 't', COLUMN = 'c', DATATYPE = 'int4', CONSTRAINT = 'k'; END $$`,
      )
      expect(notices).toHaveLength(1)
      expect(notices[0]).toMatchObject({
        severity: 'WARNING',
        code: '01P42',
        message: 'careful: x',
        detail: 'the detail',
        hint: 'the hint',
        schema: 's',
        table: 't',
        column: 'c',
        dataType: 'int4',
        constraint: 'k',
        where: 'PL/pgSQL function inline_code_block line 1 at RAISE',
      })
    })

    ctx.test('notices of DDL, of several statements and inside a transaction all arrive, in order', async () => {
      const notices: Notice[] = []
      const { provider } = await ctx.open({ onNotice: (notice) => notices.push(notice) })
      await provider.query(`DROP TABLE IF EXISTS ${ctx.schema}.no_such_table_notice`)
      await provider.query(`DO $$ BEGIN RAISE NOTICE 'one'; RAISE INFO 'two'; END $$`)
      await provider.transaction(async (tx) => {
        await tx.query(`DO $$ BEGIN RAISE NOTICE 'in a transaction'; END $$`)
      })
      await provider.query('SELECT 1 AS plain')
      expect(notices.map((notice) => [notice.severity, notice.code, notice.message])).toEqual([
        ['NOTICE', '00000', 'table "no_such_table_notice" does not exist, skipping'],
        ['NOTICE', '00000', 'one'],
        ['INFO', '00000', 'two'],
        ['NOTICE', '00000', 'in a transaction'],
      ])
    })

    ctx.test('without onNotice, a notice goes to the logger at debug', async () => {
      const logger = recordingLogger()
      const { provider } = await ctx.open({ logger })
      await provider.query(`DO $$ BEGIN RAISE NOTICE 'to the log'; END $$`)
      const logged = logger.entries.filter((entry) => entry.obj.notice !== undefined)
      expect(logged).toHaveLength(1)
      expect(logged[0]).toMatchObject({ level: 'debug', obj: { notice: { severity: 'NOTICE', code: '00000', message: 'to the log' } } })
    })

    ctx.test('an onNotice that throws is logged and the query still succeeds', async () => {
      const logger = recordingLogger()
      const { provider } = await ctx.open({
        logger,
        onNotice: () => {
          throw new Error('notice handler failed')
        },
      })
      const result = await provider.query(`DO $$ BEGIN RAISE NOTICE 'boom'; END $$; SELECT 7 AS seven`)
      expect(result.rows).toEqual([{ seven: 7 }])
      const logged = logger.entries.filter((entry) => entry.msg === 'onNotice threw')
      expect(logged).toHaveLength(1)
      expect(logged[0]).toMatchObject({ level: 'error', obj: { err: { message: 'notice handler failed' } } })
      expect(await provider.query('SELECT 1 AS one')).toMatchObject({ rows: [{ one: 1 }] })
    })

    ctx.test('an onNotice that is not a function is a ConfigError', async () => {
      await expect(ctx.open({ onNotice: 'log' as never })).rejects.toThrow(ConfigError)
      await expect(ctx.open({ onNotice: 'log' as never })).rejects.toThrow(/onNotice must be a function/)
    })
  })
}
