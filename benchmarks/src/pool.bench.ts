// Acquire/release throughput of @tessera/pool against pg-pool, generic-pool and tarn, over the same cheap
// resources, with the same size and the same acquire/idle timeouts (so that every pool pays for the
// deadline machinery it would run in production).
import { EventEmitter } from 'node:events'
import { createRequire } from 'node:module'
import { createPool } from '@tessera/pool'
import * as genericPool from 'generic-pool'
import { Pool as TarnPool } from 'tarn'
import { type Case, compare, type GroupResult, writeReport } from './harness'

/** The part of pg-pool this benchmark uses: pg-pool ships no type declarations. */
interface PgPoolLike {
  connect(): Promise<{ release(): void }>
  end(): Promise<void>
}
interface PgPoolOptions {
  Client: new () => unknown
  max: number
  connectionTimeoutMillis: number
  idleTimeoutMillis: number
  allowExitOnIdle: boolean
}
const PgPool = createRequire(import.meta.url)('pg-pool') as new (options: PgPoolOptions) => PgPoolLike

const ACQUIRE_TIMEOUT_MS = 30_000
const IDLE_TIMEOUT_MS = 30_000
const WAITERS = 64
const RESOURCES = 8

interface Resource {
  id: number
  uses: number
}

let nextId = 0
function makeResource(): Resource {
  return { id: nextId++, uses: 0 }
}

/** The surface of `pg.Client` that pg-pool touches, over the same cheap resource. */
class StubClient extends EventEmitter {
  readonly resource = makeResource()
  _queryable = true
  _ending = false
  connect(callback: (error?: Error) => void): void {
    process.nextTick(callback)
  }
  end(callback?: () => void): void {
    this._ending = true
    this._queryable = false
    this.emit('end')
    if (callback) process.nextTick(callback)
  }
  isConnected(): boolean {
    return this._queryable
  }
  // pg-pool calls these with allowExitOnIdle, so that idle sockets do not hold the process open.
  ref(): void {}
  unref(): void {}
  query(): Promise<{ rows: never[] }> {
    return Promise.resolve({ rows: [] })
  }
}

/** One contender's acquire and release, shaped alike. */
interface Contender {
  name: string
  acquire: () => Promise<unknown>
  release: (resource: unknown) => void
  close: () => Promise<void>
}

function contenders(max: number): Contender[] {
  const tessera = createPool<Resource>({
    create: makeResource,
    destroy: () => {},
    max,
    acquireTimeoutMs: ACQUIRE_TIMEOUT_MS,
    idleTimeoutMs: IDLE_TIMEOUT_MS,
    name: 'bench',
  })
  const tarn = new TarnPool<Resource>({
    create: async () => makeResource(),
    destroy: () => {},
    min: 0,
    max,
    acquireTimeoutMillis: ACQUIRE_TIMEOUT_MS,
    idleTimeoutMillis: IDLE_TIMEOUT_MS,
  })
  const generic = genericPool.createPool<Resource>(
    { create: async () => makeResource(), destroy: async () => {} },
    { min: 0, max, acquireTimeoutMillis: ACQUIRE_TIMEOUT_MS, idleTimeoutMillis: IDLE_TIMEOUT_MS },
  )
  const pg = new PgPool({
    // pg-pool accepts any class with the shape of pg.Client.
    Client: StubClient,
    max,
    connectionTimeoutMillis: ACQUIRE_TIMEOUT_MS,
    idleTimeoutMillis: IDLE_TIMEOUT_MS,
    allowExitOnIdle: true,
  })
  return [
    {
      name: '@tessera/pool',
      acquire: () => tessera.acquire(),
      release: (resource) => tessera.release(resource as Resource),
      close: () => tessera.drain(),
    },
    {
      name: 'tarn',
      acquire: () => tarn.acquire().promise,
      release: (resource) => {
        tarn.release(resource as Resource)
      },
      close: async () => {
        await tarn.destroy()
      },
    },
    {
      name: 'generic-pool',
      acquire: () => generic.acquire(),
      release: (resource) => {
        void generic.release(resource as Resource)
      },
      close: () => generic.drain().then(() => generic.clear()),
    },
    {
      name: 'pg-pool',
      acquire: () => pg.connect(),
      release: (client) => (client as { release(): void }).release(),
      close: () => pg.end(),
    },
  ]
}

/** One operation: acquire a resource, touch it, release it. */
function uncontended(contender: Contender): Case {
  return {
    name: contender.name,
    fn: async () => {
      const resource = await contender.acquire()
      contender.release(resource)
    },
  }
}

/** One operation: 64 callers each acquire, touch and release one of 8 resources, all at once. */
function contended(contender: Contender): Case {
  const borrow = async () => {
    const resource = await contender.acquire()
    contender.release(resource)
  }
  const tasks: Promise<void>[] = new Array(WAITERS)
  return {
    name: contender.name,
    fn: async () => {
      for (let i = 0; i < WAITERS; i++) tasks[i] = borrow()
      await Promise.all(tasks)
    },
  }
}

function ratioToBestPeer(group: GroupResult): string {
  const [ours, ...peers] = group.results
  const best = peers.reduce((a, b) => (b.opsPerSec > a.opsPerSec ? b : a))
  return `${group.title}: @tessera/pool ÷ best peer (${best.name}) = ${(ours!.opsPerSec / best.opsPerSec).toFixed(2)}×`
}

const single = contenders(RESOURCES)
const many = contenders(RESOURCES)
const groups = [
  await compare('acquire + release, uncontended (one caller)', single.map(uncontended), { opsPerSample: 1_000, rounds: 200 }),
  await compare(
    `${WAITERS} concurrent callers over ${RESOURCES} resources (one op = ${WAITERS} acquire/release pairs)`,
    many.map(contended),
    {
      opsPerSample: 20,
      rounds: 200,
    },
  ),
]
await Promise.all([...single, ...many].map((contender) => contender.close()))

writeReport(
  'pool',
  'Acquire/release throughput of `@tessera/pool` (baseline) against `tarn`, `generic-pool` and `pg-pool` (with a stub `Client`), all over the same cheap in-memory resources, max 8, with a 30 s acquire timeout and a 30 s idle timeout configured on every pool.',
  groups,
  groups.map(ratioToBestPeer),
)
