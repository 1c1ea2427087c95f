import { AbortError, type Provider, TimeoutError } from '@tessera/core'
import { TenancyClosedError } from './tenant-errors'

/** How the `database` strategy opens, budgets and evicts one provider per tenant database. */
export interface TenantDatabasesOptions {
  /** Opens the provider of one tenant's database. Called once per tenant while it stays in the LRU. */
  open: (tenantId: string) => Provider | Promise<Provider>
  /** Connections all tenant providers may hold together. Default: `100`. */
  maxConnections?: number | undefined
  /** Connections one tenant provider is counted for (its pool's `max`). Default: `5`. */
  connectionsPerTenant?: number | undefined
  /** A tenant provider unused this long is closed. Default: `60000`. */
  idleTimeoutMs?: number | undefined
  /** How long a call waits for room in the budget (every open provider busy) before `TimeoutError`. Default: `30000`. */
  acquireTimeoutMs?: number | undefined
}

interface Entry {
  tenantId: string
  provider: Promise<Provider>
  inUse: number
  lastUsedAt: number
}

/** Counters of the tenant database pool. */
export interface TenantDatabasesStats {
  /** Tenant providers open now. */
  open: number
  /** Connections counted against the budget now. */
  connections: number
  maxConnections: number
  /** Calls waiting for room in the budget. */
  waiting: number
  opened: number
  /** Providers closed because they were idle or least recently used. */
  evicted: number
}

/** One provider per tenant database, least recently used evicted first, within a connection budget. */
export interface TenantDatabases {
  use<T>(tenantId: string, signal: AbortSignal | undefined, fn: (provider: Provider) => Promise<T>): Promise<T>
  /** Closes and forgets one tenant's provider (after a connection failure: the next call opens a fresh one). */
  discard(tenantId: string): Promise<void>
  stats(): TenantDatabasesStats
  close(options?: { timeoutMs?: number | undefined }): Promise<void>
}

export function createTenantDatabases(options: TenantDatabasesOptions): TenantDatabases {
  const maxConnections = options.maxConnections ?? 100
  const perTenant = options.connectionsPerTenant ?? 5
  const idleTimeoutMs = options.idleTimeoutMs ?? 60_000
  const acquireTimeoutMs = options.acquireTimeoutMs ?? 30_000
  // A Map iterates in insertion order: re-inserting on use keeps the least recently used first.
  const entries = new Map<string, Entry>()
  const waiters = new Set<() => void>()
  const closing = new Set<Promise<void>>()
  let closed = false
  let opened = 0
  let evicted = 0

  const wakeAll = () => {
    for (const wake of [...waiters]) wake()
  }

  const closeEntry = (entry: Entry, timeoutMs?: number | undefined): Promise<void> => {
    entries.delete(entry.tenantId)
    const done = entry.provider
      .then((provider) => provider.close(timeoutMs === undefined ? undefined : { timeoutMs }))
      .catch(() => undefined)
      .finally(() => {
        closing.delete(done)
        wakeAll()
      })
    closing.add(done)
    return done
  }

  const evictIdle = () => {
    const now = Date.now()
    for (const entry of [...entries.values()]) {
      if (entry.inUse === 0 && now - entry.lastUsedAt >= idleTimeoutMs) {
        evicted++
        void closeEntry(entry)
      }
    }
  }
  const sweeper = setInterval(evictIdle, Math.max(10, Math.min(idleTimeoutMs, 5_000)))
  sweeper.unref()

  /** Connections held: open providers, plus those still closing (their connections are not gone yet). */
  const connectionsHeld = () => (entries.size + closing.size) * perTenant

  const waitForRoom = (signal: AbortSignal | undefined, deadline: number): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const finish = (error?: Error) => {
        waiters.delete(wake)
        clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
        if (error === undefined) resolve()
        else reject(error)
      }
      const wake = () => finish()
      const onAbort = () => finish(new AbortError('tenant database acquire', { cause: signal?.reason }))
      const timer = setTimeout(
        () => finish(new TimeoutError({ operation: 'tenant database acquire (connection budget exhausted)', timeoutMs: acquireTimeoutMs })),
        Math.max(0, deadline - Date.now()),
      )
      timer.unref()
      signal?.addEventListener('abort', onAbort, { once: true })
      waiters.add(wake)
    })

  const acquire = async (tenantId: string, signal: AbortSignal | undefined): Promise<Entry> => {
    const deadline = Date.now() + acquireTimeoutMs
    for (;;) {
      if (closed) throw new TenancyClosedError('a tenant database call')
      if (signal?.aborted) throw new AbortError('tenant database acquire', { cause: signal.reason })
      const known = entries.get(tenantId)
      if (known !== undefined) {
        entries.delete(tenantId)
        entries.set(tenantId, known)
        known.inUse++
        return known
      }
      if (connectionsHeld() + perTenant <= maxConnections) {
        const entry: Entry = { tenantId, provider: Promise.resolve().then(() => options.open(tenantId)), inUse: 1, lastUsedAt: Date.now() }
        opened++
        entries.set(tenantId, entry)
        entry.provider.catch(() => {
          // A provider that could not even be created leaves the LRU at once, so its budget is free again.
          if (entries.get(tenantId) === entry) entries.delete(tenantId)
          wakeAll()
        })
        return entry
      }
      const idle = [...entries.values()].find((entry) => entry.inUse === 0)
      if (idle !== undefined) {
        evicted++
        // Its connections count until the close finished; the loop waits for that below.
        void closeEntry(idle)
      }
      await waitForRoom(signal, deadline)
    }
  }

  const release = (entry: Entry) => {
    entry.inUse--
    entry.lastUsedAt = Date.now()
    if (entry.inUse === 0) wakeAll()
  }

  return {
    async use(tenantId, signal, fn) {
      const entry = await acquire(tenantId, signal)
      try {
        return await fn(await entry.provider)
      } finally {
        release(entry)
      }
    },
    async discard(tenantId) {
      const entry = entries.get(tenantId)
      if (entry !== undefined) await closeEntry(entry)
    },
    stats() {
      return {
        open: entries.size,
        connections: connectionsHeld(),
        maxConnections,
        waiting: waiters.size,
        opened,
        evicted,
      }
    },
    async close(closeOptions = {}) {
      closed = true
      clearInterval(sweeper)
      wakeAll()
      await Promise.all([...entries.values()].map((entry) => closeEntry(entry, closeOptions.timeoutMs)))
      await Promise.all([...closing])
    },
  }
}
