import diagnostics_channel from 'node:diagnostics_channel'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createCache, queryCache } from '@tessera/cache'
import {
  CHANNELS,
  type ClusterNodeMessage,
  type ClusterRouteMessage,
  ConfigError,
  ConnectionError,
  type DriverFactory,
  type Provider,
  registerDriver,
  TesseraError,
  TransactionResolutionUnknownError,
} from '@tessera/core'
import { createPgProvider } from '@tessera/provider-pg'
import { createPostgresJsProvider } from '@tessera/provider-postgresjs'
import { createTableSql, defineEntity, integer, repository, text } from '@tessera/schema'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { endpointOf } from '../../../tooling/test-services/endpoint'
import { uniqueName } from '../../../tooling/test-services/env'
import { freePort } from '../../../tooling/test-services/free-port'
import { type PgReplication, startPgReplication } from '../../../tooling/test-services/pg-replication'
import { startTcpProxy } from '../../../tooling/test-services/tcp-proxy'
import { type Cluster, type ClusterEvent, type ClusterOptions, createCluster, NoReplicaAvailableError } from '../src/index'

let set: PgReplication
const clusters: Cluster[] = []

// pnpm does not hoist the provider packages where core's createProvider would find them: plug pg in.
registerDriver('pg', createPgProvider, { replace: true })
registerDriver('postgres.js', createPostgresJsProvider as DriverFactory, { replace: true })

beforeAll(async () => {
  set = await startPgReplication()
}, 180_000)

afterEach(async () => {
  await Promise.all(clusters.splice(0).map((cluster) => cluster.close()))
  // A test that held replicas back lets them go, so the next one starts in sync.
  await Promise.all(set.replicas.map((replica) => (replica.running ? set.resumeReplay(replica).catch(() => {}) : undefined)))
}, 60_000)

afterAll(async () => {
  await set?.stop()
}, 60_000)

async function cluster(options: Partial<ClusterOptions> = {}): Promise<Cluster> {
  const created = await createCluster({
    driver: 'pg',
    providerOptions: { pool: { max: 4 } },
    nodes: set.nodes.map((node) => ({ name: node.name, url: node.url })),
    healthCheck: { intervalMs: 200 },
    ...options,
  })
  clusters.push(created)
  return created
}

async function isReplica(queryable: Pick<Provider, 'query'>, options?: { route?: 'primary' | 'replica' }): Promise<boolean> {
  const result = await (queryable as Cluster).query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r', [], options)
  return result.rows[0]?.r === true
}

async function table(db: Cluster): Promise<string> {
  const name = uniqueName('t')
  await db.query(`CREATE TABLE ${name} (id int PRIMARY KEY, note text)`)
  return name
}

function eventsOf(db: Cluster): ClusterEvent[] {
  const seen: ClusterEvent[] = []
  db.on((event) => seen.push(event))
  return seen
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

describe('routing', () => {
  it('discovers the roles and sends reads to replicas, writes and unprovable statements to the primary', async () => {
    const db = await cluster()
    expect(db.nodes().map((node) => [node.name, node.role, node.state])).toEqual([
      ['primary', 'primary', 'up'],
      ['replica1', 'replica', 'up'],
      ['replica2', 'replica', 'up'],
    ])
    expect(await isReplica(db)).toBe(true)
    const name = await table(db)
    await db.query(`INSERT INTO ${name} VALUES (1, 'a')`)
    // Each of these would fail on a hot standby ("cannot execute … in a read-only transaction").
    await db.query(`CREATE SEQUENCE ${name}_seq`)
    await expect(db.query(`SELECT nextval('${name}_seq') AS n`)).resolves.toMatchObject({ rows: [{ n: 1n }] })
    await db.query(`SELECT id FROM ${name} WHERE id = 1 FOR UPDATE`)
    await db.query(`WITH moved AS (UPDATE ${name} SET note = 'b' RETURNING id) SELECT * FROM moved`)
    await db.query(`EXPLAIN ANALYZE UPDATE ${name} SET note = 'c'`)
    await db.query(`SELECT * INTO ${name}_copy FROM ${name}`)
    await db.query(`SELECT pg_advisory_xact_lock(1)`)
    await db.query(`SELECT set_config('application_name', 'x', false)`)
    await db.query(`CREATE FUNCTION ${name}_fn() RETURNS int LANGUAGE sql AS 'INSERT INTO ${name} VALUES (2) RETURNING id'`)
    await expect(db.query(`SELECT ${name}_fn() AS id`)).resolves.toMatchObject({ rows: [{ id: 2 }] })
    await db.notify('cluster_test', 'hi')
    await set.waitForReplicas()
    // A read sees the writes, from a replica.
    const read = await db.query<{ id: number }>(`SELECT id FROM ${name} ORDER BY id`)
    expect(read.rows).toEqual([{ id: 1 }, { id: 2 }])
  }, 60_000)

  it('reports every node in health() and the summed pools in stats()', async () => {
    const db = await cluster()
    const report = await db.health()
    expect(report).toMatchObject({ status: 'up', details: { primary: 'primary' } })
    expect(Object.keys(report.checks ?? {})).toEqual(['primary', 'replica1', 'replica2'])
    expect(report.checks?.replica1).toMatchObject({ status: 'up', details: { role: 'replica', state: 'up' } })
    expect(db.stats().max).toBe(12)
  })

  it('copies in on the primary and out of a replica through the replicas view', async () => {
    const db = await cluster()
    const name = await table(db)
    await pipeline(Readable.from(['1\tone\n', '2\ttwo\n']), db.copyFrom(`COPY ${name} (id, note) FROM STDIN`))
    await set.waitForReplicas()
    const chunks: Buffer[] = []
    for await (const chunk of db.replicas.copyTo(`COPY (SELECT id, note FROM ${name} ORDER BY id) TO STDOUT`)) chunks.push(chunk as Buffer)
    expect(Buffer.concat(chunks).toString()).toBe('1\tone\n2\ttwo\n')
  })

  it('listens and notifies on the primary', async () => {
    const db = await cluster()
    const received: string[] = []
    const subscription = await db.listen('cluster_news', (notification) => received.push(notification.payload))
    await db.notify('cluster_news', 'hello')
    await until(() => received.length > 0)
    expect(received).toEqual(['hello'])
    await subscription.unlisten()
  })

  it('obeys route overrides and the primary / replicas views', async () => {
    const db = await cluster()
    expect(await isReplica(db, { route: 'primary' })).toBe(false)
    expect(await isReplica(db.primary)).toBe(false)
    expect(await isReplica(db.replicas)).toBe(true)
    // A reserved connection may hold session state that writes: the primary, unless asked otherwise.
    expect(await db.connection((held) => isReplica(held))).toBe(false)
    expect(await db.replicas.connection((held) => isReplica(held))).toBe(true)
    const multi = await db.queryMulti('SELECT pg_is_in_recovery() AS r; SELECT 2 AS two')
    expect(multi.map((result) => result.rows)).toEqual([[{ r: true }], [{ two: 2 }]])
    // A statement the classifier sends to the primary still goes to a replica when asked, and fails there.
    await expect(db.query('CREATE TABLE never_made (id int)', [], { route: 'replica' })).rejects.toThrow(/read-only/)
    await expect(db.query('SELECT 1', [], { route: 'elsewhere' as 'primary' })).rejects.toThrow(TesseraError)
  })

  it('runs a readOnly transaction on one replica and any other transaction on the primary', async () => {
    const db = await cluster()
    const onReplica = await db.transaction(
      async (tx) => {
        const first = await tx.query<{ r: boolean; pid: number }>('SELECT pg_is_in_recovery() AS r, pg_backend_pid() AS pid')
        const second = await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')
        return { replica: first.rows[0]?.r, samePid: first.rows[0]?.pid === second.rows[0]?.pid }
      },
      { readOnly: true },
    )
    expect(onReplica).toEqual({ replica: true, samePid: true })
    expect(await db.transaction((tx) => isReplica(tx))).toBe(false)
  })

  it('sends batches and streams of reads to a replica, and a batch with a write to the primary', async () => {
    const db = await cluster()
    const name = await table(db)
    const reads = await db.batch([{ sql: 'SELECT pg_is_in_recovery() AS r' }, { sql: 'SELECT 1 AS one' }])
    expect(reads[0]?.rows).toEqual([{ r: true }])
    const mixed = await db.batch([{ sql: `INSERT INTO ${name} VALUES (1)` }, { sql: 'SELECT pg_is_in_recovery() AS r' }])
    expect(mixed[1]?.rows).toEqual([{ r: false }])
    const streamed: unknown[] = []
    for await (const row of db.stream('SELECT pg_is_in_recovery() AS r FROM generate_series(1, 3)')) streamed.push(row)
    expect(streamed).toEqual([{ r: true }, { r: true }, { r: true }])
  })

  it('publishes every routed statement on tessera:cluster:route', async () => {
    const db = await cluster({ name: 'routes' })
    const messages: ClusterRouteMessage[] = []
    const listener = (message: unknown) => messages.push(message as ClusterRouteMessage)
    diagnostics_channel.subscribe(CHANNELS.clusterRoute, listener)
    try {
      await db.query('SELECT 1')
      await db.query('SELEC 1').catch(() => {})
    } finally {
      diagnostics_channel.unsubscribe(CHANNELS.clusterRoute, listener)
    }
    expect(messages).toEqual([
      expect.objectContaining({ cluster: 'routes', role: 'replica', reason: 'read' }),
      // A statement the classifier cannot read goes to the primary (which rejects it).
      { cluster: 'routes', target: 'primary', role: 'primary', reason: 'write' },
    ])
  })

  it('spreads reads with every strategy', async () => {
    for (const strategy of ['round-robin', 'random', 'least-busy', 'latency'] as const) {
      const db = await cluster({ strategy })
      const names = new Set<string>()
      const messages: ClusterRouteMessage[] = []
      const listener = (message: unknown) => messages.push(message as ClusterRouteMessage)
      diagnostics_channel.subscribe(CHANNELS.clusterRoute, listener)
      try {
        await Promise.all(Array.from({ length: 40 }, () => db.query('SELECT pg_sleep(0.005)')))
      } finally {
        diagnostics_channel.unsubscribe(CHANNELS.clusterRoute, listener)
      }
      for (const message of messages) names.add(message.target)
      expect([...names].every((name) => name.startsWith('replica'))).toBe(true)
      if (strategy !== 'latency') expect(names.size).toBe(2)
    }
  }, 60_000)
})

describe('lag', () => {
  it('measures lag and keeps reads off a replica over maxLagBytes; fallback primary or error', async () => {
    const db = await cluster({ maxLagBytes: 1024 })
    const strict = await cluster({ maxLagBytes: 1024, fallback: 'error' })
    const seen = eventsOf(db)
    const name = await table(db)
    await set.waitForReplicas()
    await Promise.all(set.replicas.map((replica) => set.pauseReplay(replica)))
    await db.query(`INSERT INTO ${name} SELECT g, repeat('x', 200) FROM generate_series(1, 200) g`)
    await until(async () => {
      await db.refresh()
      await strict.refresh()
      return db.nodes().every((node) => node.role === 'primary' || (node.lagBytes ?? 0) > 1024)
    })
    expect(seen).toContainEqual(expect.objectContaining({ kind: 'node', event: 'lag-over-threshold', node: 'replica1' }))
    // No replica is fit: the read goes to the primary, and sees the rows.
    expect(await isReplica(db)).toBe(false)
    expect((await db.query(`SELECT count(*)::int AS n FROM ${name}`)).rows).toEqual([{ n: 200 }])
    const error = await strict.query('SELECT 1').catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(NoReplicaAvailableError)
    expect((error as NoReplicaAvailableError).message).toMatch(/replica1: lag \d+ bytes/)
    // Lag in time: the replicas' last replayed transaction grows old while they are held back.
    const byTime = await cluster({ maxLagMs: 300 })
    await until(async () => {
      await byTime.refresh()
      return byTime.nodes().every((node) => node.role === 'primary' || (node.lagMs ?? 0) > 300)
    })
    expect(await isReplica(byTime)).toBe(false)
    await Promise.all(set.replicas.map((replica) => set.resumeReplay(replica)))
    await until(async () => {
      await db.refresh()
      return db.nodes().every((node) => node.role === 'primary' || (node.lagBytes ?? 0) <= 1024)
    })
    expect(seen).toContainEqual(expect.objectContaining({ kind: 'node', event: 'lag-recovered' }))
    expect(await isReplica(db)).toBe(true)
  }, 60_000)
})

describe('lag on the diagnostics channel', () => {
  it("publishes each replica's lag at every health check on tessera:cluster:node, not to cluster.on listeners", async () => {
    const name = uniqueName('lagged')
    const published: ClusterNodeMessage[] = []
    const onMessage = (message: unknown) => {
      if ((message as ClusterNodeMessage).cluster === name) published.push(message as ClusterNodeMessage)
    }
    diagnostics_channel.subscribe(CHANNELS.clusterNode, onMessage)
    try {
      const db = await cluster({ name })
      const seen = eventsOf(db)
      const lagOf = (node: string) => published.filter((message) => message.event === 'lag' && message.node === node)
      await until(() => set.replicas.every((replica) => lagOf(replica.name).length >= 3))
      const last = lagOf('replica1').at(-1)!
      expect(last).toMatchObject({ cluster: name, node: 'replica1', event: 'lag', role: 'replica' })
      expect(typeof last.lagBytes).toBe('number')
      expect(typeof last.lagMs).toBe('number')
      // Only replicas are measured, and listeners get events, not measurements.
      expect(lagOf('primary')).toEqual([])
      expect(seen.some((event) => event.kind === 'node' && event.event === 'lag')).toBe(false)
    } finally {
      diagnostics_channel.unsubscribe(CHANNELS.clusterNode, onMessage)
    }
  }, 60_000)
})

describe('read your writes', () => {
  it('reads its own write in a session while every replica is held back', async () => {
    const db = await cluster()
    const name = await table(db)
    await set.waitForReplicas()
    await Promise.all(set.replicas.map((replica) => set.pauseReplay(replica)))
    const inSession = await db.session(async () => {
      await db.query(`INSERT INTO ${name} VALUES (1, 'mine')`)
      return (await db.query(`SELECT note FROM ${name} WHERE id = 1`)).rows
    })
    expect(inSession).toEqual([{ note: 'mine' }])
    // Outside a session the read goes to a replica, which has not replayed the write yet.
    expect((await db.query(`SELECT note FROM ${name} WHERE id = 1`)).rows).toEqual([])
    // A token carries the position to another scope (another request).
    const token = await db.session(async () => {
      await db.query(`INSERT INTO ${name} VALUES (2, 'carried')`)
      return db.consistencyToken()
    })
    expect(token).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/)
    expect((await db.query(`SELECT note FROM ${name} WHERE id = 2`, [], { after: token })).rows).toEqual([{ note: 'carried' }])
    // A read-only transaction obeys the token too: no replica has replayed it, so it runs on the primary.
    const inTransaction = await db.transaction(
      async (tx) => (await tx.query(`SELECT note, pg_is_in_recovery() AS r FROM ${name} WHERE id = 2`)).rows,
      { readOnly: true, after: token },
    )
    expect(inTransaction).toEqual([{ note: 'carried', r: false }])
    await expect(db.query('SELECT 1', [], { after: "0/1'; DROP TABLE x" })).rejects.toThrow(/consistency token/)
  }, 60_000)

  it('waits for a replica to replay the write when readYourWrites.waitMs allows', async () => {
    const db = await cluster({ readYourWrites: { waitMs: 20_000 } })
    const name = await table(db)
    await set.waitForReplicas()
    const messages: ClusterRouteMessage[] = []
    const listener = (message: unknown) => messages.push(message as ClusterRouteMessage)
    const rows = await db.session(async () => {
      await db.query(`INSERT INTO ${name} VALUES (1, 'waited')`)
      diagnostics_channel.subscribe(CHANNELS.clusterRoute, listener)
      try {
        return (await db.query(`SELECT note FROM ${name}`)).rows
      } finally {
        diagnostics_channel.unsubscribe(CHANNELS.clusterRoute, listener)
      }
    })
    expect(rows).toEqual([{ note: 'waited' }])
    expect(messages).toEqual([expect.objectContaining({ role: 'replica', reason: 'read-your-writes' })])
  }, 60_000)
})

describe('a replica stopped under read load', () => {
  it('ejects it, keeps every read working, and re-admits it once it is back', async () => {
    const db = await cluster({ healthCheck: { intervalMs: 200, timeoutMs: 2_000, maxBackoffMs: 500 } })
    const seen = eventsOf(db)
    const published: unknown[] = []
    const onNode = (message: unknown) => published.push(message)
    diagnostics_channel.subscribe(CHANNELS.clusterNode, onNode)
    const replica = set.replicas[1]
    if (replica === undefined) throw new Error('no second replica')
    let stop = false
    let ok = 0
    const failures: unknown[] = []
    const worker = async () => {
      while (!stop) {
        try {
          await db.query('SELECT 1 AS one')
          ok++
        } catch (error) {
          failures.push(error)
        }
      }
    }
    const workers = Array.from({ length: 8 }, worker)
    await until(() => ok > 100)
    const stoppedAt = Date.now()
    await set.stopNode(replica, 'immediate')
    await until(() => seen.some((event) => event.kind === 'node' && event.event === 'ejected' && event.node === replica.name))
    const ejectedAfterMs = Date.now() - stoppedAt
    const okWhileDown = ok
    await until(() => ok > okWhileDown + 100)
    await set.startNode(replica)
    await until(() => seen.some((event) => event.kind === 'node' && event.event === 'readmitted' && event.node === replica.name))
    stop = true
    await Promise.all(workers)
    diagnostics_channel.unsubscribe(CHANNELS.clusterNode, onNode)
    expect(published).toContainEqual(expect.objectContaining({ node: replica.name, event: 'ejected', role: 'replica' }))
    expect(published).toContainEqual(expect.objectContaining({ node: replica.name, event: 'readmitted', downForMs: expect.any(Number) }))
    // A read cut by the stop runs again on the other replica: nothing fails.
    expect(failures).toEqual([])
    expect(db.nodes().find((node) => node.name === replica.name)?.state).toBe('up')
    const readmitted = seen.find((event) => event.kind === 'node' && event.event === 'readmitted')
    expect(readmitted).toMatchObject({ role: 'replica', downForMs: expect.any(Number) })
    console.info(
      `replica ejected ${ejectedAfterMs} ms after its stop; re-admitted after ${(readmitted as { downForMs: number }).downForMs} ms down`,
    )
  }, 120_000)
})

describe('mixed drivers', () => {
  it('routes over a pg primary and postgres.js replicas with the same results', async () => {
    const primary = createPgProvider({ connectionString: set.primary.url, pool: { max: 3 } })
    const replicas = set.replicas.map((node) => ({
      name: node.name,
      provider: createPostgresJsProvider({ connectionString: node.url, pool: { max: 3 } }) as Provider,
    }))
    const db = await createCluster({ nodes: [{ name: 'primary', provider: primary }, ...replicas] })
    clusters.push(db)
    const name = await table(db)
    await db.query(`INSERT INTO ${name} VALUES ($1, $2)`, [7, 'seven'])
    await set.waitForReplicas()
    const fromReplica = await db.query(`SELECT id, note, pg_is_in_recovery() AS r FROM ${name}`)
    const fromPrimary = await db.primary.query(`SELECT id, note, pg_is_in_recovery() AS r FROM ${name}`)
    expect(fromReplica.rows).toEqual([{ id: 7, note: 'seven', r: true }])
    expect(fromPrimary.rows).toEqual([{ id: 7, note: 'seven', r: false }])
    expect(db.stats()).toMatchObject({ nodes: { primary: expect.any(Object), replica1: expect.any(Object) } })
  })
})

describe('bad input', () => {
  it('rejects an empty node list, duplicate names and a missing driver before connecting', async () => {
    await expect(createCluster({ nodes: [] })).rejects.toThrow(ConfigError)
    await expect(createCluster({ nodes: [] })).rejects.toThrow(/nodes is \[\]; expected a non-empty array/)
    const provider = createPgProvider({ connectionString: set.primary.url })
    try {
      await expect(
        createCluster({
          nodes: [
            { name: 'a', provider },
            { name: 'a', provider },
          ],
        }),
      ).rejects.toThrow(/nodes\[1\]\.name "a" is used by another node/)
      await expect(createCluster({ nodes: [{ name: 'a', url: set.primary.url }] })).rejects.toThrow(/driver is required/)
      await expect(createCluster({ nodes: [{ name: 'a', provider }], strategy: 'fastest' as 'random' })).rejects.toThrow(
        /strategy is "fastest"; accepted: 'least-busy'/,
      )
      expect(provider.stats().created).toBe(0)
    } finally {
      await provider.close()
    }
  })

  it('starts with the nodes it reaches and reports the rest, and rejects when it reaches none', async () => {
    const deadPort = await freePort()
    const dead = `postgres://postgres@127.0.0.1:${deadPort}/postgres`
    const seen: ClusterEvent[] = []
    const db = await cluster({
      nodes: [
        { name: 'primary', url: set.primary.url },
        { name: 'gone', url: dead },
      ],
      onEvent: (event) => seen.push(event),
    })
    expect(db.nodes().find((node) => node.name === 'gone')).toMatchObject({ state: 'down', role: 'unknown', lastError: expect.any(String) })
    expect(seen).toContainEqual(expect.objectContaining({ kind: 'node', node: 'gone', event: 'down' }))
    // With no replica up, reads fall back to the primary.
    expect(await isReplica(db)).toBe(false)
    await expect(createCluster({ driver: 'pg', nodes: [{ name: 'gone', url: dead }] })).rejects.toThrow(/no node of the cluster answered/)
  })

  it('refuses calls after close()', async () => {
    const db = await cluster()
    await db.close()
    await expect(db.query('SELECT 1')).rejects.toThrow(/after close\(\)/)
  })
})

describe('composition', () => {
  it('serves a schema repository unchanged: writes on the primary, reads of the session own writes', async () => {
    const db = await cluster()
    const Item = defineEntity('Item', { id: integer().primaryKey(), label: text() }, { table: uniqueName('items') })
    await db.query(createTableSql(Item))
    const items = repository(Item, db)
    await set.waitForReplicas()
    await Promise.all(set.replicas.map((replica) => set.pauseReplay(replica)))
    const found = await db.session(async () => {
      await items.insert({ id: 1, label: 'one' })
      return items.findById(1)
    })
    expect(found).toMatchObject({ id: 1, label: 'one' })
  }, 60_000)

  it('caches replica reads with the cache queryCache hook and invalidates them on a write through the cluster', async () => {
    const cache = createCache({ namespace: uniqueName('qc') })
    const hooked = set.nodes.map((node) => ({
      name: node.name,
      provider: createPgProvider({
        connectionString: node.url,
        pool: { max: 3 },
        hooks: [queryCache(cache, { ttlMs: 60_000 })],
      }) as Provider,
    }))
    const db = await createCluster({ nodes: hooked })
    clusters.push(db)
    const name = uniqueName('cached')
    await db.query(`CREATE TABLE ${name} (id int PRIMARY KEY)`)
    await db.query(`INSERT INTO ${name} VALUES (1)`)
    await set.waitForReplicas()
    const read = () => db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${name}`)
    expect((await read()).rows).toEqual([{ n: 1 }])
    const before = cache.stats()
    expect((await read()).rows).toEqual([{ n: 1 }])
    expect(cache.stats().hits).toBe(before.hits + 1)
    await db.query(`INSERT INTO ${name} VALUES (2)`)
    await set.waitForReplicas()
    expect((await read()).rows).toEqual([{ n: 2 }])
    await cache.close()
  }, 60_000)
})

describe('tenants on a cluster', () => {
  it('runs a tenant scope over the cluster: its reads on a replica in its own schema, its writes on the primary', async () => {
    const db = await cluster({ tenancy: { strategy: 'schema', schemaName: (id) => `${prefix}_${id}` } })
    const prefix = uniqueName('ten')
    for (const tenant of ['acme', 'globex']) {
      await db.query(`CREATE SCHEMA ${prefix}_${tenant}`)
      await db.query(`CREATE TABLE ${prefix}_${tenant}.items (note text)`)
      await db.query(`INSERT INTO ${prefix}_${tenant}.items VALUES ('${tenant} item')`)
    }
    await set.waitForReplicas()
    const acme = db.forTenant('acme')
    const read = await acme.query<{ note: string; replica: boolean }>('SELECT note, pg_is_in_recovery() AS replica FROM items')
    expect(read.rows).toEqual([{ note: 'acme item', replica: true }])
    await acme.query(`INSERT INTO items VALUES ('written')`)
    const { rows } = await db.query<{ note: string }>(`SELECT note FROM ${prefix}_acme.items ORDER BY note`, [], { route: 'primary' })
    expect(rows).toEqual([{ note: 'acme item' }, { note: 'written' }])
    const other = await db.forTenant('globex').query<{ note: string }>('SELECT note FROM items')
    expect(other.rows).toEqual([{ note: 'globex item' }])
    await expect(async () => db.forTenant("x'; DROP TABLE items; --")).rejects.toBeInstanceOf(TesseraError)
  }, 60_000)

  it('refuses forTenant without the tenancy option, and bad tenancy options when the cluster is created', async () => {
    const db = await cluster()
    expect(() => db.forTenant('acme')).toThrow(ConfigError)
    await expect(cluster({ tenancy: { strategy: 'sideways' as 'schema' } })).rejects.toBeInstanceOf(ConfigError)
  })
})

describe('a write whose reply is lost', () => {
  it('fails with an unknown outcome and is never sent again', async () => {
    const proxy = await startTcpProxy({ target: endpointOf(set.primary.url) })
    try {
      const db = await cluster({
        nodes: [{ name: 'primary', url: proxy.url(set.primary.url) }, ...set.replicas.map((node) => ({ name: node.name, url: node.url }))],
      })
      const name = await table(db)
      const dropped = proxy.dropReplyTo((bytes) => bytes.includes(`INSERT INTO ${name}`))
      const error = await db.query(`INSERT INTO ${name} VALUES (1, 'once')`).catch((caught: unknown) => caught)
      await dropped
      expect(error).toBeInstanceOf(TransactionResolutionUnknownError)
      expect((error as Error).message).toMatch(/may or may not have been applied/)
      // The server applied it once; the cluster did not send it again (a second INSERT would have failed on the key).
      await until(async () => (await db.primary.query(`SELECT 1 FROM ${name}`)).rowCount === 1)
      expect((await db.primary.query(`SELECT id, note FROM ${name}`)).rows).toEqual([{ id: 1, note: 'once' }])
    } finally {
      await proxy.close()
    }
  }, 60_000)
})

describe.each(['pg', 'postgres.js'] as const)('a stream whose replica connection is lost (%s)', (driver) => {
  it('runs once more elsewhere before its first row, and fails (no row twice) after it', async () => {
    const [replica1] = set.replicas
    if (replica1 === undefined) throw new Error('no replica')
    const proxy = await startTcpProxy({ target: endpointOf(replica1.url) })
    try {
      const db = await cluster({
        driver,
        nodes: [
          { name: 'primary', url: set.primary.url },
          { name: 'replica1', url: proxy.url(replica1.url) },
        ],
        healthCheck: { intervalMs: 60_000 },
      })
      const routes: string[] = []
      const onRoute = (message: unknown) => {
        const { target, reason } = message as ClusterRouteMessage
        routes.push(`${target}: ${reason}`)
      }
      diagnostics_channel.subscribe(CHANNELS.clusterRoute, onRoute)
      try {
        // Cut before the first row: the stream runs again on the primary (the fallback) and yields every row once.
        proxy.setMode('reset')
        const rows: unknown[] = []
        for await (const row of db.stream<{ n: number; r: boolean }>(
          'SELECT n, pg_is_in_recovery() AS r FROM generate_series(1, 3) AS n',
        )) {
          rows.push(row)
        }
        expect(rows).toEqual([
          { n: 1, r: false },
          { n: 2, r: false },
          { n: 3, r: false },
        ])
        expect(routes).toEqual(['replica1: read', 'primary: fallback (retry after replica1 failed)'])
        expect(db.nodes().find((node) => node.name === 'replica1')?.state).toBe('down')
      } finally {
        diagnostics_channel.unsubscribe(CHANNELS.clusterRoute, onRoute)
      }
    } finally {
      await proxy.close()
    }

    // Cut after rows were read: the error reaches the caller, nothing is read twice.
    const second = await startTcpProxy({ target: endpointOf(replica1.url) })
    try {
      const db = await cluster({
        driver,
        nodes: [
          { name: 'primary', url: set.primary.url },
          { name: 'replica1', url: second.url(replica1.url) },
        ],
        healthCheck: { intervalMs: 60_000 },
      })
      const seen: number[] = []
      const error = await (async () => {
        for await (const row of db.stream<{ n: number }>('SELECT n FROM generate_series(1, 2000000) AS n')) {
          seen.push(row.n)
          if (seen.length === 1) second.setMode('reset')
        }
      })().catch((caught: unknown) => caught)
      expect(error).toBeInstanceOf(ConnectionError)
      expect(seen.length).toBeGreaterThan(0)
      expect(seen.length).toBeLessThan(2_000_000)
      expect(new Set(seen).size).toBe(seen.length)
    } finally {
      await second.close()
    }
  }, 60_000)
})
