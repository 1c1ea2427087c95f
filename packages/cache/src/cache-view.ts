import { tracingChannel } from 'node:diagnostics_channel'
import {
  type CacheDeleteMessage,
  type CacheGetMessage,
  type CacheSetMessage,
  CHANNELS,
  ConfigError,
  describeValue,
  traced,
} from '@tessera/core'
import { type BatchFactory, getOrSetMany } from './batch-loader'
import type { Cache, CacheEntryInput, CacheReadiness, Factory, WarmSource } from './cache'
import type { CacheCore } from './cache-core'
import { isKey, keyError } from './cache-writes'
import type { NamespaceCounters } from './namespace-stats'
import type { GetOrSetOptions, SetOptions } from './options'
import { callOptionProblems, checkNamespaceName, isDuration, tagList } from './resolve-options'
import { type CacheStats, countersOf } from './stats'

const getChannel = tracingChannel(CHANNELS.cacheGet)
const setChannel = tracingChannel(CHANNELS.cacheSet)
const deleteChannel = tracingChannel(CHANNELS.cacheDelete)

/** One namespace's view of a {@link CacheCore}. */
export class CacheView implements Cache {
  private readonly prefix: string
  private readonly namespaceCounters: NamespaceCounters

  constructor(
    private readonly core: CacheCore,
    readonly namespacePath: string,
  ) {
    // `::` ends the namespace path: a namespace name has no `:`, so `app::x` (key `x` of `app`) can never equal
    // `app:users::…` (a key of the child `users`), whatever the keys contain.
    this.prefix = `${namespacePath}::`
    this.namespaceCounters = core.namespaces.of(namespacePath)
    countersOf.set(this, core.counters)
  }

  private getMessage(key: string): CacheGetMessage {
    return { cache: this.core.options.namespace, key, namespace: this.namespacePath }
  }

  getOrSet<T>(key: string, factory: Factory<T>, options?: GetOrSetOptions): Promise<T> {
    if (getChannel.hasSubscribers) {
      const message = this.getMessage(key)
      return traced(CHANNELS.cacheGet, message, () =>
        this.core.getOrSet(this.prefix, this.namespacePath, key, factory, options, message, this.namespaceCounters),
      )
    }
    return this.core.getOrSet(this.prefix, this.namespacePath, key, factory, options, undefined, this.namespaceCounters)
  }

  getOrSetMany<T>(keys: readonly string[], factory: BatchFactory<T>, options?: GetOrSetOptions): Promise<T[]> {
    const run = () => getOrSetMany(this.core, this.prefix, this.namespacePath, keys, factory, options)
    if (!getChannel.hasSubscribers) return run()
    return traced(CHANNELS.cacheGet, { ...this.getMessage(Array.isArray(keys) ? keys.join(',') : ''), keys }, run)
  }

  get<T = unknown>(key: string): Promise<T | undefined> {
    if (!isKey(key)) return Promise.reject(keyError(key))
    if (this.core.isClosed) return Promise.reject(this.core.closedError())
    const run = async (message: CacheGetMessage | undefined): Promise<T | undefined> => {
      const entry = this.core.freshL1(this.prefix + key)
      if (entry !== undefined) {
        this.core.counters.l1Hits++
        this.namespaceCounters.l1Hits++
        if (message !== undefined) Object.assign(message, { hit: true, tier: 'l1' })
        return entry.value as T
      }
      const found = await this.core.lookup(this.prefix + key, this.namespacePath, key)
      if (message !== undefined) Object.assign(message, { hit: found.found, tier: found.tier })
      return found.value as T | undefined
    }
    if (!getChannel.hasSubscribers) return run(undefined)
    const message = this.getMessage(key)
    return traced(CHANNELS.cacheGet, message, () => run(message))
  }

  async has(key: string): Promise<boolean> {
    if (!isKey(key)) throw keyError(key)
    if (this.core.isClosed) throw this.core.closedError()
    if (this.core.freshL1(this.prefix + key) !== undefined) return true
    return (await this.core.lookup(this.prefix + key, this.namespacePath, key)).found
  }

  getMany<T = unknown>(keys: readonly string[]): Promise<(T | undefined)[]> {
    if (this.core.isClosed) return Promise.reject(this.core.closedError())
    const run = () => this.core.getMany(this.prefix, this.namespacePath, keys) as Promise<(T | undefined)[]>
    if (!getChannel.hasSubscribers) return run()
    return traced(CHANNELS.cacheGet, { ...this.getMessage(Array.isArray(keys) ? keys.join(',') : ''), keys }, run)
  }

  set<T>(key: string, value: T, options?: SetOptions): Promise<void> {
    if (!isKey(key)) return Promise.reject(keyError(key))
    if (options !== undefined) {
      const problems = callOptionProblems(options, 'set')
      if (problems.length > 0) return Promise.reject(new ConfigError(problems, { subject: `set("${key}") options` }))
    }
    const run = () => this.core.writes.setMany(this.prefix, this.namespacePath, [{ ...options, key, value }])
    if (!setChannel.hasSubscribers) return run()
    const message: CacheSetMessage = {
      cache: this.core.options.namespace,
      key,
      namespace: this.namespacePath,
      ttlMs: options?.ttlMs ?? this.core.options.ttlMs,
      tags: options?.tags === undefined ? undefined : tagList(options.tags),
    }
    return traced(CHANNELS.cacheSet, message, run)
  }

  setMany<T = unknown>(entries: readonly CacheEntryInput<T>[]): Promise<void> {
    const run = () => this.core.writes.setMany(this.prefix, this.namespacePath, entries)
    if (!setChannel.hasSubscribers) return run()
    const keys = Array.isArray(entries) ? entries.map((entry) => String(entry?.key)) : []
    return traced(CHANNELS.cacheSet, { cache: this.core.options.namespace, key: keys.join(','), keys, namespace: this.namespacePath }, run)
  }

  expire(key: string): Promise<void> {
    if (!isKey(key)) return Promise.reject(keyError(key))
    const run = () => this.core.writes.expire(this.prefix + key, this.namespacePath, key)
    if (!deleteChannel.hasSubscribers) return run()
    const message: CacheDeleteMessage = { cache: this.core.options.namespace, keys: [key], namespace: this.namespacePath }
    return traced(CHANNELS.cacheDelete, message, run)
  }

  delete(key: string): Promise<void> {
    if (!isKey(key)) return Promise.reject(keyError(key))
    return this.deleteMany([key])
  }

  deleteMany(keys: readonly string[]): Promise<void> {
    const run = () => this.core.writes.deleteMany(this.prefix, keys)
    if (!deleteChannel.hasSubscribers) return run()
    const message: CacheDeleteMessage = { cache: this.core.options.namespace, keys, namespace: this.namespacePath }
    return traced(CHANNELS.cacheDelete, message, run)
  }

  expireByTag(tags: string | readonly string[]): Promise<void> {
    const run = () => this.core.writes.changeTags(this.namespacePath, tags, 'expire')
    if (!deleteChannel.hasSubscribers) return run()
    const list = typeof tags === 'string' ? [tags] : tags
    return traced(CHANNELS.cacheDelete, { cache: this.core.options.namespace, tags: list, namespace: this.namespacePath }, run)
  }

  deleteByTag(tags: string | readonly string[]): Promise<void> {
    const run = () => this.core.writes.changeTags(this.namespacePath, tags, 'delete')
    if (!deleteChannel.hasSubscribers) return run()
    const list = typeof tags === 'string' ? [tags] : tags
    return traced(CHANNELS.cacheDelete, { cache: this.core.options.namespace, tags: list, namespace: this.namespacePath }, run)
  }

  clear(): Promise<void> {
    const run = () => this.core.writes.clear(this.namespacePath)
    if (!deleteChannel.hasSubscribers) return run()
    return traced(CHANNELS.cacheDelete, { cache: this.core.options.namespace, namespace: this.namespacePath }, run)
  }

  namespace(name: string): Cache {
    const problem = checkNamespaceName(name)
    if (problem !== undefined) throw new ConfigError(problem, { subject: 'namespace' })
    return new CacheView(this.core, `${this.namespacePath}:${name}`)
  }

  async warm<T = unknown>(source: WarmSource<T>): Promise<number> {
    const iterable = typeof source === 'function' ? await source() : source
    if (iterable === null || typeof iterable !== 'object' || typeof (iterable as Iterable<unknown>)[Symbol.iterator] !== 'function') {
      throw new ConfigError(`warm needs entries or a function returning entries, got ${describeValue(iterable)}`, { subject: 'warm' })
    }
    const entries = [...iterable]
    await this.setMany(entries)
    return entries.length
  }

  stats(): CacheStats {
    return this.core.stats()
  }

  ready(options?: { timeoutMs?: number | undefined }): Promise<CacheReadiness> {
    const timeoutMs = options?.timeoutMs
    if (timeoutMs !== undefined && !isDuration(timeoutMs)) {
      return Promise.reject(new ConfigError(`timeoutMs must be a finite number ≥ 0, got ${describeValue(timeoutMs)}`, { subject: 'ready' }))
    }
    return this.core.ready(timeoutMs)
  }

  close(): Promise<void> {
    return this.core.close()
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.core.close()
  }
}
