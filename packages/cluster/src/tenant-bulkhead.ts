import { AbortError } from '@tessera/core'
import { TenancyClosedError, TenantBusyError } from './tenant-errors'

/** Limits of one tenant's bulkhead. */
export interface BulkheadOptions {
  /** Operations of one tenant running at once. Default: `4`. */
  maxConcurrent?: number | undefined
  /** Operations of one tenant waiting for a slot; one more fails at once with `TenantBusyError`. Default: `100`. */
  maxQueue?: number | undefined
  /** How long an operation waits for a slot before `TenantBusyError`. Default: `30000`. */
  queueTimeoutMs?: number | undefined
}

interface Waiter {
  grant(): void
  fail(error: Error): void
}

/** One tenant's slots: at most `maxConcurrent` running, the rest queued in arrival order. */
export interface Bulkhead {
  /** Runs `fn` once a slot is free; the wait ends early on `signal`, on the queue timeout, or on `close`. */
  run<T>(fn: () => Promise<T>, signal: AbortSignal | undefined): Promise<T>
  readonly running: number
  readonly queued: number
  /** Refuses new work and fails every queued operation with `TenancyClosedError`; running ones finish. */
  close(): void
}

export function createBulkhead(tenantId: string, options: BulkheadOptions = {}): Bulkhead {
  const maxConcurrent = options.maxConcurrent ?? 4
  const maxQueue = options.maxQueue ?? 100
  const queueTimeoutMs = options.queueTimeoutMs ?? 30_000
  const queue: Waiter[] = []
  let running = 0
  let closed = false

  const release = () => {
    running--
    const next = queue.shift()
    if (next !== undefined) {
      running++
      next.grant()
    }
  }

  const acquire = (signal: AbortSignal | undefined): Promise<void> => {
    if (closed) return Promise.reject(new TenancyClosedError('a tenant operation'))
    if (signal?.aborted) return Promise.reject(new AbortError('tenant operation', { cause: signal.reason }))
    if (running < maxConcurrent) {
      running++
      return Promise.resolve()
    }
    if (queue.length >= maxQueue) {
      return Promise.reject(new TenantBusyError({ tenantId, running, queued: queue.length, waitedMs: 0, reason: 'queue full' }))
    }
    return new Promise<void>((resolve, reject) => {
      const startedAt = Date.now()
      const settle = () => {
        clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
        const index = queue.indexOf(waiter)
        if (index >= 0) queue.splice(index, 1)
      }
      const waiter: Waiter = {
        grant: () => {
          settle()
          resolve()
        },
        fail: (error) => {
          settle()
          reject(error)
        },
      }
      const onAbort = () => waiter.fail(new AbortError('tenant operation', { cause: signal?.reason }))
      const timer = setTimeout(() => {
        waiter.fail(
          new TenantBusyError({ tenantId, running, queued: queue.length - 1, waitedMs: Date.now() - startedAt, reason: 'timeout' }),
        )
      }, queueTimeoutMs)
      timer.unref()
      signal?.addEventListener('abort', onAbort, { once: true })
      queue.push(waiter)
    })
  }

  return {
    async run(fn, signal) {
      await acquire(signal)
      try {
        return await fn()
      } finally {
        release()
      }
    },
    get running() {
      return running
    },
    get queued() {
      return queue.length
    },
    close() {
      closed = true
      for (const waiter of [...queue]) waiter.fail(new TenancyClosedError('a queued tenant operation'))
    },
  }
}
