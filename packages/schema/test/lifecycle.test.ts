import { describe, expect, it } from 'vitest'
import { defineEntity, hasLifecycle, integer, runLifecycle, text } from '../src/index'

describe('runLifecycle', () => {
  const calls: string[] = []
  const Note = defineEntity(
    'HookNote',
    { id: integer().primaryKey(), body: text() },
    {
      hooks: {
        beforeInsert: async (input, ctx) => {
          calls.push(`beforeInsert:${ctx.operation}:${ctx.entity.name}`)
          return { ...input, body: input.body.trim() }
        },
        beforeUpdate: (changes) => {
          calls.push('beforeUpdate')
          if (changes.body === '') throw new Error('empty body')
        },
        afterLoad: (row) => ({ ...row, body: row.body.toUpperCase() }),
        beforeDelete: () => {
          calls.push('beforeDelete')
        },
        afterWrite: (row, ctx) => {
          calls.push(`afterWrite:${row.id}:${ctx.queryable === undefined ? 'none' : 'tx'}`)
        },
      },
    },
  )

  it('returns the payload a hook returns, or the original one', async () => {
    expect(await runLifecycle(Note, 'beforeInsert', { id: 1, body: '  hi ' })).toEqual({ id: 1, body: 'hi' })
    expect(await runLifecycle(Note, 'afterLoad', { id: 1, body: 'hi' })).toEqual({ id: 1, body: 'HI' })
    const changes = { body: 'x' }
    expect(await runLifecycle(Note, 'beforeUpdate', changes)).toBe(changes)
  })

  it('passes the context and ignores the return value of beforeDelete and afterWrite', async () => {
    calls.length = 0
    const tx = { query: async () => ({ rows: [], rowCount: 0, command: 'SELECT', fields: [] }) }
    await runLifecycle(Note, 'beforeInsert', { id: 2, body: 'b' }, { operation: 'upsert' })
    expect(await runLifecycle(Note, 'afterWrite', { id: 2, body: 'b' }, { queryable: tx })).toEqual({ id: 2, body: 'b' })
    await runLifecycle(Note, 'beforeDelete', { id: 2 })
    expect(calls).toEqual(['beforeInsert:upsert:HookNote', 'afterWrite:2:tx', 'beforeDelete'])
  })

  it('propagates a hook error unchanged', async () => {
    await expect(runLifecycle(Note, 'beforeUpdate', { body: '' })).rejects.toThrow('empty body')
  })

  it('is a no-op for entities without hooks', async () => {
    const Plain = defineEntity('HookPlain', { id: integer().primaryKey() })
    const row = { id: 1 }
    expect(await runLifecycle(Plain, 'afterLoad', row)).toBe(row)
    expect(hasLifecycle(Plain, 'afterLoad')).toBe(false)
    expect(hasLifecycle(Note, 'afterLoad')).toBe(true)
  })
})
