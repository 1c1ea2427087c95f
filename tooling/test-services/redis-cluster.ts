import { execFile } from 'node:child_process'
import { freePort } from './free-port'
import { makeTempDir, type RedisProcess, redisCli, removeDir, startRedisProcess, waitFor } from './redis-server'

/** A node of a {@link RedisCluster} as the cluster sees it now. */
export interface ClusterNodeInfo {
  id: string
  port: number
  role: 'master' | 'replica'
  /** For a replica: the id of its master. */
  masterId: string | undefined
  /** Whether the cluster marks it failed (`fail` or `fail?`). */
  failed: boolean
}

/** Options of {@link startRedisCluster}. */
export interface RedisClusterOptions {
  /** `cluster-node-timeout`: how long a master may be unreachable before its replica takes over. Default 1000 ms. */
  nodeTimeoutMs?: number | undefined
}

/** A Redis Cluster of this test run: 3 masters and 3 replicas on free loopback ports. */
export interface RedisCluster {
  /** Every node's process, in start order (the first three start as masters). */
  readonly processes: readonly RedisProcess[]
  /** Where an ioredis `Cluster` starts: every node's address. */
  readonly startupNodes: readonly { host: string; port: number }[]
  /** The nodes as the cluster sees them now (asked of a running node). */
  nodes(): Promise<ClusterNodeInfo[]>
  /**
   * `CLUSTER FAILOVER` on a replica of `masterPort` (default: the first master): a manual failover without data
   * loss. Resolves once the replica is master, the old master is shown as a replica and the cluster is `ok` again.
   */
  failover(masterPort?: number): Promise<{ oldMaster: number; newMaster: number }>
  /**
   * SIGKILL a master (default: the first master) and wait until one of its replicas has taken over and the
   * cluster is `ok` again. `restart()` the killed node's process to bring it back (it rejoins as a replica).
   */
  killMaster(masterPort?: number): Promise<{ killed: RedisProcess; newMaster: number }>
  /** Stops every node and removes the data directory. Idempotent. */
  stop(): Promise<void>
}

/**
 * Starts 6 `redis-server` processes in cluster mode on free ports of 127.0.0.1 (data, logs and `nodes.conf` in a
 * temporary directory; no RDB or AOF), joins them with `redis-cli --cluster create … --cluster-replicas 1`, and waits
 * until every node reports `cluster_state:ok` with all 16384 slots assigned. The processes stop with `stop()`, and
 * at the latest when this process exits.
 */
export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisCluster> {
  const nodeTimeoutMs = options.nodeTimeoutMs ?? 1_000
  const dir = makeTempDir('tessera-redis-cluster-')
  const processes: RedisProcess[] = []
  const stop = async () => {
    await Promise.all(processes.map((node) => node.stop()))
    removeDir(dir)
  }
  try {
    for (let i = 0; i < 6; i++) {
      const port = await freePort()
      // The cluster bus would default to port + 10000, which nobody checked: give it a free port of its own.
      const busPort = await freePort()
      processes.push(
        await startRedisProcess({
          port,
          dir,
          args: [
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            `nodes-${port}.conf`,
            '--cluster-port',
            String(busPort),
            '--cluster-node-timeout',
            String(nodeTimeoutMs),
            // A replica may always take over, however long it was cut off: tests kill masters on purpose.
            '--cluster-replica-validity-factor',
            '0',
          ],
        }),
      )
    }
    await createCluster(processes.map((node) => node.port))
    await waitFor('every node reporting cluster_state:ok', async () => ((await allOk(processes)) ? true : undefined), 30_000)
    // The replica roles reach the other nodes by gossip, which lags on a loaded machine: until each node sees 3 masters
    // and 3 replicas, a caller would find more masters than there are.
    await waitFor('every node seeing 3 masters and 3 replicas', async () => ((await allRolesKnown(processes)) ? true : undefined), 30_000)
  } catch (error) {
    await stop()
    throw error
  }

  let stopping: Promise<void> | undefined
  const nodes = () => clusterNodes(processes)

  async function promoteWait(oldMaster: number, oldId: string): Promise<number> {
    return waitFor(
      `a replica of ${oldMaster} becoming master`,
      async () => {
        const view = await nodes()
        const promoted = view.find(
          (node) => node.role === 'master' && !node.failed && node.id !== oldId && wasReplicaOf.get(node.id) === oldId,
        )
        if (promoted === undefined || !(await allOk(processes.filter((node) => node.running)))) return undefined
        return promoted.port
      },
      30_000,
    )
  }

  // Which master each replica followed when a failover was asked for.
  const wasReplicaOf = new Map<string, string>()
  async function pickMaster(masterPort: number | undefined): Promise<ClusterNodeInfo> {
    const view = await nodes()
    const masters = view.filter((node) => node.role === 'master' && !node.failed)
    const master = masterPort === undefined ? masters[0] : masters.find((node) => node.port === masterPort)
    if (master === undefined) throw new Error(`no running master on port ${masterPort}`)
    for (const node of view) if (node.role === 'replica' && node.masterId !== undefined) wasReplicaOf.set(node.id, node.masterId)
    return master
  }

  return {
    processes,
    startupNodes: processes.map((node) => ({ host: node.host, port: node.port })),
    nodes,
    async failover(masterPort) {
      const master = await pickMaster(masterPort)
      const view = await nodes()
      const replica = view.find((node) => node.role === 'replica' && node.masterId === master.id && !node.failed)
      if (replica === undefined) throw new Error(`master ${master.port} has no replica to fail over to`)
      await redisCli(replica.port, ['CLUSTER', 'FAILOVER'])
      const newMaster = await promoteWait(master.port, master.id)
      // The old master learns of its demotion by gossip: until every view says so, `nodes()` may still call it master.
      await waitFor(
        `${master.port} shown as a replica after the failover`,
        async () => ((await nodes()).find((node) => node.port === master.port)?.role === 'replica' ? true : undefined),
        30_000,
      )
      return { oldMaster: master.port, newMaster }
    },
    async killMaster(masterPort) {
      const master = await pickMaster(masterPort)
      const killed = processes.find((node) => node.port === master.port)
      if (killed === undefined) throw new Error(`no process on port ${master.port}`)
      await killed.kill()
      const newMaster = await promoteWait(master.port, master.id)
      return { killed, newMaster }
    },
    stop() {
      stopping ??= stop()
      return stopping
    },
  }
}

function createCluster(ports: number[]): Promise<void> {
  const args = ['--cluster', 'create', ...ports.map((port) => `127.0.0.1:${port}`), '--cluster-replicas', '1', '--cluster-yes']
  return new Promise((resolve, reject) => {
    execFile('redis-cli', args, { timeout: 30_000, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error) reject(new Error(`redis-cli --cluster create failed: ${stderr || stdout || error.message}`))
      else resolve()
    })
  })
}

/** Whether every given node says `cluster_state:ok` and sees all slots assigned. */
async function allOk(processes: readonly RedisProcess[]): Promise<boolean> {
  const infos = await Promise.all(processes.map((node) => redisCli(node.port, ['CLUSTER', 'INFO'], 1_000).catch(() => '')))
  return infos.every((info) => info.includes('cluster_state:ok') && info.includes('cluster_slots_assigned:16384'))
}

async function allRolesKnown(processes: readonly RedisProcess[]): Promise<boolean> {
  const views = await Promise.all(processes.map((node) => redisCli(node.port, ['CLUSTER', 'NODES'], 1_000).catch(() => '')))
  return views.every((view) => {
    const flags = view
      .split('\n')
      .filter(Boolean)
      .map((line) => (line.split(' ')[2] ?? '').split(','))
    // One replica per master: half the nodes each.
    const half = processes.length / 2
    return (
      flags.length === processes.length &&
      flags.filter((f) => f.includes('master')).length === half &&
      flags.filter((f) => f.includes('slave')).length === half
    )
  })
}

/** `CLUSTER NODES` of the first running node, parsed. */
async function clusterNodes(processes: readonly RedisProcess[]): Promise<ClusterNodeInfo[]> {
  const running = processes.find((node) => node.running)
  if (running === undefined) throw new Error('no cluster node is running')
  const text = await redisCli(running.port, ['CLUSTER', 'NODES'])
  return text
    .split('\n')
    .filter(Boolean)
    .map((line): ClusterNodeInfo => {
      const [id = '', address = '', flags = '', masterId = '-'] = line.split(' ')
      const port = Number(/:(\d+)/.exec(address)?.[1])
      const flagList = flags.split(',')
      return {
        id,
        port,
        role: flagList.includes('master') ? 'master' : 'replica',
        masterId: masterId === '-' ? undefined : masterId,
        failed: flagList.includes('fail') || flagList.includes('fail?'),
      }
    })
}
