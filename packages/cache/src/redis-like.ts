/**
 * The part of an ioredis client (`Redis` or `Cluster`) the cache uses. Declared here so the cache never imports
 * ioredis at runtime: any client with these methods works, ioredis 5 and 6 included.
 */
export interface RedisLike {
  get(key: string): Promise<string | null>
  mget(keys: string[]): Promise<(string | null)[]>
  set(key: string, value: string, mode: 'PX', ttlMs: number): Promise<unknown>
  set(key: string, value: string, mode: 'PX', ttlMs: number, condition: 'NX'): Promise<unknown>
  unlink(...keys: string[]): Promise<number>
  incr(key: string): Promise<number>
  publish(channel: string, message: string): Promise<number>
  scan(cursor: string, matchToken: 'MATCH', pattern: string, countToken: 'COUNT', count: number): Promise<[string, string[]]>
  eval(script: string, numKeys: number, ...args: string[]): Promise<unknown>
  pipeline(): RedisPipelineLike
  /** A new connection with the same options; the bus subscribes on it (a subscribed connection can do nothing else). */
  duplicate(): RedisSubscriberLike
  /**
   * ioredis' connection status. Once the client has been `ready`, no command is sent while it is not: ioredis would
   * queue it and run it after the reconnect, when a write may undo another instance's later delete.
   */
  readonly status?: string | undefined
  /** `true` on an ioredis `Cluster`: multi-key commands are then split per key (they may live on different slots). */
  readonly isCluster?: boolean | undefined
  /**
   * The client's options; only `commandTimeout` and `keyPrefix` are read (SCAN MATCH is not prefixed by ioredis). When ioredis already times out every command within
   * `l2.timeoutMs`, reads rely on that timer instead of setting a second one.
   */
  readonly options?: { readonly commandTimeout?: number | undefined; readonly keyPrefix?: string | undefined } | undefined
  /** On a Cluster: its master nodes, so `clear()` can SCAN each of them. */
  nodes?(role: 'master'): RedisLike[]
}

/** A pipeline: commands queued and sent in one write, answered in order. */
export interface RedisPipelineLike {
  set(key: string, value: string, mode: 'PX', ttlMs: number): RedisPipelineLike
  incr(key: string): RedisPipelineLike
  exec(): Promise<[Error | null, unknown][] | null>
}

/** A connection used only for pub/sub. */
export interface RedisSubscriberLike {
  subscribe(channel: string): Promise<unknown>
  /** ioredis' connection status (`ready` when connected); when absent, the bus subscribes on `ready` events only. */
  readonly status?: string | undefined
  /** Connects a `lazyConnect` client. */
  connect?(): Promise<unknown>
  on(event: 'message', listener: (channel: string, message: string) => void): unknown
  on(event: 'ready' | 'close' | 'end', listener: () => void): unknown
  on(event: 'error', listener: (error: Error) => void): unknown
  quit(): Promise<unknown>
  disconnect(): void
}
