import { ConfigError, describeValue, TesseraError } from '@tessera/core'
import type { CacheEntryInput } from './cache'
import type { CacheCore } from './cache-core'
import { DELETE_MARKER_TTL_MS, escapeGlob, estimateBytes, newDeleteMarker } from './cache-entry'
import { OperationBudget } from './operation-budget'
import { callOptionProblems, tagList } from './resolve-options'
import type { TagVersionMap } from './tag-versions'
import type { PreparedEntry } from './two-tier-store'
import type { SentWrite, WriteRepairs } from './write-repairs'

export function keyError(key: unknown): ConfigError {
  return new ConfigError(`a key must be a non-empty string, got ${describeValue(key)}`, { subject: 'cache key' })
}

export function isKey(key: unknown): key is string {
  return typeof key === 'string' && key.length > 0
}

function unreachable(what: string): TesseraError {
  return new TesseraError(`Redis is unreachable: ${what}`, { code: 'CACHE_L2_UNAVAILABLE', retryable: true })
}

/** Writes, deletes, tag invalidation and clear: each changes both tiers here and tells the other instances. */
export class CacheWrites {
  constructor(private readonly core: CacheCore) {}

  async setMany(prefix: string, namespace: string, entries: readonly CacheEntryInput[]): Promise<void> {
    const core = this.core
    if (!Array.isArray(entries)) throw new ConfigError(`entries must be an array, got ${describeValue(entries)}`, { subject: 'setMany' })
    const problems: string[] = []
    entries.forEach((entry: CacheEntryInput, i) => {
      if (typeof entry !== 'object' || entry === null)
        problems.push(`entries[${i}] must be an object with key and value, got ${describeValue(entry)}`)
      else if (!isKey(entry.key)) problems.push(`entries[${i}].key must be a non-empty string, got ${describeValue(entry.key)}`)
      else for (const problem of callOptionProblems(entry, 'entry')) problems.push(`entries[${i}] ("${entry.key}"): ${problem}`)
    })
    if (problems.length > 0) throw new ConfigError(problems, { subject: 'cache entries' })
    if (core.isClosed) throw core.closedError()
    const fks = entries.map((entry) => prefix + entry.key)
    const tagsOf = (entry: CacheEntryInput) => (entry.tags === undefined ? [] : (tagList(entry.tags) ?? []))
    const allTags = [...new Set(entries.flatMap(tagsOf))]
    const versions = allTags.length > 0 ? await core.tags.current(allTags) : {}
    if (versions === undefined) {
      // An entry stamped with guessed tag versions could survive a later deleteByTag: store nothing.
      for (const fk of fks) core.l1?.delete(fk)
      core.report(unreachable('the versions of the entries’ tags are unknown; nothing was stored'), { operation: 'l2', namespace })
      return
    }
    // Prepare (and encode) everything first: one value that cannot be stored must not leave half the batch written.
    const prepared: PreparedEntry[] = entries.map((entry, i) => {
      const tags = tagsOf(entry)
      let entryVersions: TagVersionMap | undefined
      if (tags.length > 0) {
        entryVersions = {}
        for (const tag of tags) entryVersions[tag] = versions[tag]!
      }
      const ttlMs = entry.ttlMs ?? core.options.ttlMs
      const graceMs = entry.graceMs ?? core.options.graceMs
      return core.store.prepare(fks[i]!, namespace, entry.key, entry.value, ttlMs, graceMs, entryVersions, entry.skipL2 !== true)
    })
    const writes: SentWrite[] = []
    for (const item of prepared) {
      core.store.storeInL1(item)
      const write = item.write ?? item.replaceWithMarker
      if (write !== undefined) writes.push({ fk: item.fk, redisKey: write.key, text: write.text, ttlMs: write.ttlMs })
    }
    core.runner.invalidate(fks)
    core.counters.sets += entries.length
    core.namespaces.of(namespace).sets += entries.length
    await this.writeToRedis(writes, fks)
  }

  /**
   * Sends the writes, then the bus message. A write that failed, timed out or was not sent has an unknown outcome:
   * its keys wait for a repair (see {@link WriteRepairs}).
   */
  private async writeToRedis(writes: readonly SentWrite[], fks: string[]): Promise<void> {
    const { l2, repairs } = this.core
    if (l2 === undefined) return
    if (writes.length > 0) {
      const isWritten = await l2.setMany(writes.map(({ redisKey, text, ttlMs }) => ({ key: redisKey, text, ttlMs })))
      if (isWritten) repairs?.confirm(writes)
      else repairs?.remember(writes)
    }
    await this.core.bus.send({ k: fks })
  }

  async deleteMany(prefix: string, keys: readonly string[]): Promise<void> {
    const core = this.core
    if (!Array.isArray(keys)) throw new ConfigError(`keys must be an array, got ${describeValue(keys)}`, { subject: 'deleteMany' })
    const bad = keys.find((key) => !isKey(key))
    if (keys.some((key) => !isKey(key))) throw keyError(bad)
    if (core.isClosed) throw core.closedError()
    const fks = keys.map((key) => prefix + key)
    for (const fk of fks) core.l1?.delete(fk)
    core.runner.invalidate(fks)
    core.counters.deletes += keys.length
    core.namespaces.of(prefix.slice(0, -2)).deletes += keys.length
    if (fks.length === 0) return
    // A marker rather than UNLINK: a factory that read before this delete must see the key changed (setIfUnchanged).
    const writes = fks.map((fk) => ({ fk, redisKey: core.store.redisKey(fk), text: newDeleteMarker(), ttlMs: DELETE_MARKER_TTL_MS }))
    await this.writeToRedis(writes, fks)
  }

  async expire(fk: string, namespace: string, key: string): Promise<void> {
    const core = this.core
    if (core.isClosed) throw core.closedError()
    const now = core.options.clock.now()
    const l1 = core.l1
    const held = l1?.entries.peek(fk)
    if (l1 !== undefined && held !== undefined && held.freshUntil > now) {
      l1.put(fk, { ...held, freshUntil: now }, () => estimateBytes(held.value))
    }
    core.counters.expires++
    const l2 = core.l2
    if (l2 === undefined) return
    // Read, end the freshness, write back only if nobody changed the key meanwhile (a newer value stays fresh).
    const budget = new OperationBudget(core.l2TimeoutMs)
    const read = await core.store.read(fk, namespace, key, budget)
    const entry = read?.entry
    if (read !== undefined && read.text !== null && entry !== undefined && entry.e > now && entry.s > now) {
      const text = core.store.encodeStored({ ...entry, e: now })
      const seen = read.text
      await budget.run(() => l2.setIfUnchanged(core.store.redisKey(fk), seen, text, entry.s - now))
    }
    await core.bus.send({ k: [fk] })
  }

  /** `deleteByTag` (`delete`: entries gone) and `expireByTag` (`expire`: entries stale, kept as grace copies). */
  async changeTags(namespace: string, tags: unknown, kind: 'delete' | 'expire'): Promise<void> {
    const core = this.core
    const list = tagList(tags)
    const operation = kind === 'delete' ? 'deleteByTag' : 'expireByTag'
    if (list === undefined || list.length === 0) {
      throw new ConfigError(`tags must be a non-empty string or a non-empty array of them, got ${describeValue(tags)}`, {
        subject: operation,
      })
    }
    if (core.isClosed) throw core.closedError()
    const states = await core.tags.bump(list, kind)
    if (states !== undefined) {
      await core.bus.send({ t: states.versions, f: states.floors })
      return
    }
    // Redis is unreachable: the counters could not move. Change what this instance holds; other instances and the
    // entries in Redis keep the old values until they expire (or until a later call reaches Redis).
    const wanted = new Set(list)
    const l1 = core.l1
    const now = core.options.clock.now()
    if (l1 !== undefined) {
      for (const [fk, entry] of [...l1.entries.entries()]) {
        const tagVersions = entry.tagVersions
        if (tagVersions === undefined || !Object.keys(tagVersions).some((tag) => wanted.has(tag))) continue
        if (kind === 'delete') l1.delete(fk)
        else if (entry.freshUntil > now) l1.put(fk, { ...entry, freshUntil: now }, () => estimateBytes(entry.value))
      }
    }
    core.report(unreachable(`tags were ${kind === 'delete' ? 'invalidated' : 'expired'} in this instance only`), {
      operation: 'l2',
      namespace,
    })
  }

  async clear(namespace: string): Promise<void> {
    const core = this.core
    if (core.isClosed) throw core.closedError()
    const prefix = `${namespace}:`
    core.l1?.deletePrefix(prefix)
    core.runner.invalidatePrefix(prefix)
    if (core.l2 === undefined) return
    await core.l2.deleteMatching(`${escapeGlob(core.store.redisKey(prefix))}*`)
    await core.bus.send({ c: prefix })
  }
}
