import { AbortError, isTesseraError } from '@tessera/core'
import { describe, expect, it } from 'vitest'
import { bridgeRows } from '../src/row-bridge'
import { createBulkhead } from '../src/tenant-bulkhead'
import { TenancyClosedError, TenantBusyError } from '../src/tenant-errors'
import { DEFAULT_TENANT_ID_PATTERN, validateTenantId } from '../src/tenant-id'

describe('validateTenantId', () => {
  it('accepts identifiers, digits first, dashes and underscores', () => {
    for (const id of ['acme', 'tenant_42', '42', 'a-b-c', '_x', 'A'.repeat(63)]) expect(validateTenantId(id)).toBe(id)
  })

  it('refuses quotes, spaces, dots, a leading dash, non-ASCII letters, and too many bytes', () => {
    for (const id of ['a"b', "a'b", 'a b', 'a.b', '-a', 'é', 'a;b', 'A'.repeat(64)]) {
      expect(() => validateTenantId(id)).toThrow(/invalid tenant id/)
    }
  })

  it('counts bytes, not characters, against maxLength', () => {
    expect(() => validateTenantId('ééé', { pattern: /^.+$/u, maxLength: 5 })).toThrow(/6 bytes long; at most 5/)
  })

  it('a global pattern gives the same answer on every call', () => {
    const pattern = new RegExp(DEFAULT_TENANT_ID_PATTERN.source, 'g')
    for (let i = 0; i < 3; i++) expect(validateTenantId('acme', { pattern })).toBe('acme')
  })
})

describe('tenant bulkhead', () => {
  const gate = () => {
    let open!: () => void
    const opened = new Promise<void>((resolve) => (open = resolve))
    return { open, opened }
  }

  it('runs at most maxConcurrent at once and the rest in arrival order', async () => {
    const bulkhead = createBulkhead('t', { maxConcurrent: 2 })
    const order: number[] = []
    const gates = [gate(), gate(), gate(), gate()]
    const runs = gates.map((g, i) =>
      bulkhead.run(async () => {
        order.push(i)
        await g.opened
      }, undefined),
    )
    await Promise.resolve()
    expect(order).toEqual([0, 1])
    expect([bulkhead.running, bulkhead.queued]).toEqual([2, 2])
    gates[1]!.open()
    await runs[1]
    await new Promise((resolve) => setImmediate(resolve))
    expect(order).toEqual([0, 1, 2])
    for (const g of gates) g.open()
    await Promise.all(runs)
    expect(order).toEqual([0, 1, 2, 3])
    expect([bulkhead.running, bulkhead.queued]).toEqual([0, 0])
  })

  it('a throwing operation frees its slot', async () => {
    const bulkhead = createBulkhead('t', { maxConcurrent: 1 })
    await expect(bulkhead.run(() => Promise.reject(new Error('boom')), undefined)).rejects.toThrow('boom')
    await expect(bulkhead.run(async () => 'next', undefined)).resolves.toBe('next')
  })

  it('queue full, abort, already aborted and close each fail the waiting call with a TesseraError', async () => {
    const bulkhead = createBulkhead('t', { maxConcurrent: 1, maxQueue: 1 })
    const held = gate()
    const running = bulkhead.run(() => held.opened, undefined)
    const controller = new AbortController()
    const waiting = bulkhead.run(async () => 'never', controller.signal).catch((error: unknown) => error)
    await expect(bulkhead.run(async () => 'x', undefined)).rejects.toBeInstanceOf(TenantBusyError)
    controller.abort()
    expect(await waiting).toBeInstanceOf(AbortError)
    await expect(bulkhead.run(async () => 'x', AbortSignal.abort())).rejects.toBeInstanceOf(AbortError)
    const queued = bulkhead.run(async () => 'never', undefined).catch((error: unknown) => error)
    bulkhead.close()
    expect(await queued).toBeInstanceOf(TenancyClosedError)
    await expect(bulkhead.run(async () => 'x', undefined)).rejects.toBeInstanceOf(TenancyClosedError)
    held.open()
    await running
  })
})

describe('bridgeRows', () => {
  it('hands every row through in order, one at a time', async () => {
    let produced = 0
    const rows: number[] = []
    for await (const row of bridgeRows<number>(async (push) => {
      for (let i = 0; i < 5; i++) {
        produced++
        await push(i)
        // The producer never runs more than one row ahead of the consumer.
        expect(produced - rows.length).toBeLessThanOrEqual(1)
      }
    })) {
      rows.push(row)
    }
    expect(rows).toEqual([0, 1, 2, 3, 4])
  })

  it('a consumer that stops early unwinds the producer before return() resolves', async () => {
    let unwound = false
    for await (const row of bridgeRows<number>(async (push) => {
      try {
        for (let i = 0; ; i++) await push(i)
      } finally {
        unwound = true
      }
    })) {
      if (row === 2) break
    }
    expect(unwound).toBe(true)
  })

  it('a producer failure reaches the consumer after the rows before it', async () => {
    const rows: number[] = []
    const failure = await (async () => {
      for await (const row of bridgeRows<number>(async (push) => {
        await push(1)
        throw new TenantBusyError({ tenantId: 't', running: 1, queued: 0, waitedMs: 0, reason: 'timeout' })
      })) {
        rows.push(row)
      }
    })().catch((error: unknown) => error)
    expect(rows).toEqual([1])
    expect(isTesseraError(failure)).toBe(true)
  })
})
