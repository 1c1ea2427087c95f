import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { freePort } from './free-port'
import { makeTempDir, type RedisProcess, redisCli, removeDir, startRedisProcess, waitFor } from './redis-server'

/** Options of {@link startRedisSentinel}. */
export interface RedisSentinelOptions {
  /** The monitored master's name, as clients ask for it. Default `'tessera'`. */
  masterName?: string | undefined
  /** `down-after-milliseconds`: how long the master may be silent before the sentinels fail over. Default 1000. */
  downAfterMs?: number | undefined
}

/** A master, a replica and three sentinels of this test run, on free loopback ports. */
export interface RedisSentinel {
  readonly masterName: string
  /** Where a sentinel-mode client starts: every sentinel's address. */
  readonly sentinels: readonly { host: string; port: number }[]
  /** The two data nodes, in start order (the first starts as master). */
  readonly servers: readonly RedisProcess[]
  /** The sentinel processes. */
  readonly sentinelProcesses: readonly RedisProcess[]
  /** The master's port as the sentinels report it now. */
  masterPort(): Promise<number>
  /**
   * A failover without data loss: writes are held on the master (`CLIENT PAUSE WRITE`) until its replica caught
   * up, then `SENTINEL FAILOVER` promotes the replica; the old master is made its replica and its clients (subscribers
   * too) are disconnected, as the sentinels would do, before writes are released. Resolves once every sentinel
   * reports the new master, it accepts writes, and the old master is its replica in sync.
   */
  failover(): Promise<{ oldMaster: number; newMaster: number }>
  /**
   * SIGKILL the master and wait until the sentinels have agreed it is down and promoted the replica. `restart()` the
   * killed process to bring it back (the sentinels turn it into a replica).
   */
  killMaster(): Promise<{ killed: RedisProcess; newMaster: number }>
  /** Stops every process and removes the temporary directory. Idempotent. */
  stop(): Promise<void>
}

/**
 * Starts a Redis master and a replica (`replicaof`), and three sentinels (quorum 2) monitoring them, all on free
 * ports of 127.0.0.1 with data, configs and logs in a temporary directory and no RDB or AOF. Resolves once every
 * sentinel knows the master, the replica and the other sentinels. The sentinel binary is Debian's `redis-sentinel`
 * (`apt-get install redis-sentinel`), `TESSERA_REDIS_SENTINEL`, or else `redis-server --sentinel`.
 */
export async function startRedisSentinel(options: RedisSentinelOptions = {}): Promise<RedisSentinel> {
  const masterName = options.masterName ?? 'tessera'
  const downAfterMs = options.downAfterMs ?? 1_000
  const dir = makeTempDir('tessera-redis-sentinel-')
  const servers: RedisProcess[] = []
  const sentinelProcesses: RedisProcess[] = []
  const stop = async () => {
    await Promise.all([...sentinelProcesses, ...servers].map((node) => node.stop()))
    removeDir(dir)
  }
  try {
    const master = await startRedisProcess({ port: await freePort(), dir, args: [] })
    servers.push(master)
    const replica = await startRedisProcess({ port: await freePort(), dir, args: ['--replicaof', '127.0.0.1', String(master.port)] })
    servers.push(replica)
    await waitFor('the replica in sync', async () => {
      const info = await redisCli(replica.port, ['INFO', 'replication'])
      return info.includes('master_link_status:up') ? true : undefined
    })
    for (let i = 0; i < 3; i++) {
      const port = await freePort()
      const configFile = join(dir, `sentinel-${port}.conf`)
      // Sentinels rewrite their config file as they learn: it must be a file of their own.
      writeFileSync(
        configFile,
        [
          `sentinel monitor ${masterName} 127.0.0.1 ${master.port} 2`,
          `sentinel down-after-milliseconds ${masterName} ${downAfterMs}`,
          `sentinel failover-timeout ${masterName} 10000`,
          `sentinel parallel-syncs ${masterName} 1`,
          '',
        ].join('\n'),
      )
      sentinelProcesses.push(await startRedisProcess({ port, dir, args: [], configFile, sentinel: true }))
    }
    await waitFor(
      'every sentinel seeing the replica and the other sentinels',
      async () => {
        for (const sentinel of sentinelProcesses) {
          const replicas = await redisCli(sentinel.port, ['SENTINEL', 'REPLICAS', masterName])
          const others = await redisCli(sentinel.port, ['SENTINEL', 'SENTINELS', masterName])
          if (!replicas.includes(String(replica.port))) return undefined
          if (sentinelProcesses.some((other) => other !== sentinel && !others.includes(String(other.port)))) return undefined
        }
        return true
      },
      30_000,
    )
  } catch (error) {
    await stop()
    throw error
  }

  const masterPort = async (): Promise<number> => {
    const reply = await redisCli((sentinelProcesses.find((node) => node.running) ?? sentinelProcesses[0])!.port, [
      'SENTINEL',
      'GET-MASTER-ADDR-BY-NAME',
      masterName,
    ])
    return Number(reply.split('\n')[1])
  }

  /** Waits until every sentinel names a master other than `old`, and that master accepts writes. */
  const newMasterWait = (old: number) =>
    waitFor(
      `the sentinels promoting a new master in place of ${old}`,
      async () => {
        const ports = await Promise.all(
          sentinelProcesses.map(async (sentinel) =>
            Number((await redisCli(sentinel.port, ['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', masterName])).split('\n')[1]),
          ),
        )
        const port = ports[0] as number
        if (port === old || ports.some((other) => other !== port)) return undefined
        // GET-MASTER-ADDR-BY-NAME names the promoted replica while the failover is still in progress: wait until no
        // sentinel has it in progress, or a killed master restarted now could still be taken back as the master.
        const flags = await Promise.all(
          sentinelProcesses.map(async (sentinel) => {
            const fields = (await redisCli(sentinel.port, ['SENTINEL', 'MASTER', masterName])).split('\n')
            return fields[fields.indexOf('flags') + 1] ?? ''
          }),
        )
        if (flags.some((flag) => flag.includes('failover'))) return undefined
        const role = await redisCli(port, ['ROLE'])
        return role.startsWith('master') ? port : undefined
      },
      30_000,
    )

  let stopping: Promise<void> | undefined
  return {
    masterName,
    sentinels: sentinelProcesses.map((node) => ({ host: node.host, port: node.port })),
    servers,
    sentinelProcesses,
    masterPort,
    async failover() {
      const oldMaster = await masterPort()
      // SENTINEL FAILOVER alone promotes the replica while the old master still takes writes, and those writes are
      // lost when it becomes a replica. As CLUSTER FAILOVER does, hold writes on the old master and let the replica
      // catch up first, so that no acknowledged write is lost.
      await redisCli(oldMaster, ['CLIENT', 'PAUSE', '30000', 'WRITE'])
      try {
        await waitFor(`the replica of ${oldMaster} caught up`, async () => {
          const info = await redisCli(oldMaster, ['INFO', 'replication'])
          const offset = /master_repl_offset:(\d+)/.exec(info)?.[1]
          const replica = /slave0:.*offset=(\d+)/.exec(info)?.[1]
          return offset !== undefined && offset === replica ? true : undefined
        })
        await redisCli(sentinelProcesses[0]!.port, ['SENTINEL', 'FAILOVER', masterName])
        const newMaster = await newMasterWait(oldMaster)
        // The sentinels turn the old master into the new master's replica, in their own time (seconds): do what
        // they will do now, and wait until it is in sync, so the pair is redundant again.
        await redisCli(oldMaster, ['REPLICAOF', '127.0.0.1', String(newMaster)])
        // As the sentinels do after a reconfiguration: clients of the old master (subscribers too) reconnect and ask
        // them again; writes held by the pause fail on the replica (READONLY) or with their connection.
        await redisCli(oldMaster, ['CLIENT', 'KILL', 'TYPE', 'normal'])
        await redisCli(oldMaster, ['CLIENT', 'KILL', 'TYPE', 'pubsub'])
      } finally {
        await redisCli(oldMaster, ['CLIENT', 'UNPAUSE']).catch(() => {})
      }
      const newMaster = await masterPort()
      await waitFor(
        `${oldMaster} in sync as a replica of ${newMaster}`,
        async () => {
          const info = await redisCli(newMaster, ['INFO', 'replication'])
          return new RegExp(`slave\\d+:ip=127\\.0\\.0\\.1,port=${oldMaster},state=online`).test(info) ? true : undefined
        },
        30_000,
      )
      return { oldMaster, newMaster }
    },
    async killMaster() {
      const oldMaster = await masterPort()
      const killed = servers.find((node) => node.port === oldMaster)
      if (killed === undefined) throw new Error(`no server process on port ${oldMaster}`)
      await killed.kill()
      return { killed, newMaster: await newMasterWait(oldMaster) }
    },
    stop() {
      stopping ??= stop()
      return stopping
    },
  }
}
