import type { Clock } from '@tessera/core'
import { type L2Tier, UNAVAILABLE } from './l2-tier'

/** Tag → the version an entry was written with. */
export type TagVersionMap = Record<string, number>

interface Known {
  version: number
  /** When it was read from Redis (or learnt from the bus); `Infinity` when there is no Redis to ask. */
  at: number
}

/**
 * Tag version counters. Each entry stores the versions of its tags at write time; `deleteByTag` increments the
 * counters (INCR in Redis, shared by every instance), so every entry written before no longer matches and reads as a
 * miss, in every tier and every instance, without finding the entries. Versions read from Redis are trusted for
 * `ttlMs` (and refreshed by bus messages), so a tagged read costs at most one MGET per `ttlMs` per tag.
 */
export class TagVersions {
  private readonly known = new Map<string, Known>()

  constructor(
    private readonly l2: L2Tier | undefined,
    private readonly keyFor: (tag: string) => string,
    private readonly clock: Pick<Clock, 'now'>,
    private readonly ttlMs: number,
  ) {}

  /** `true`/`false` when the versions are known and recent enough; `undefined` when Redis must be asked. */
  isCurrentSync(versions: TagVersionMap, now: number): boolean | undefined {
    for (const tag in versions) {
      const known = this.known.get(tag)
      if (known === undefined || now - known.at >= this.ttlMs) return undefined
      if (known.version !== versions[tag]) return false
    }
    return true
  }

  async isCurrent(versions: TagVersionMap | undefined): Promise<boolean> {
    if (versions === undefined) return true
    const sync = this.isCurrentSync(versions, this.clock.now())
    if (sync !== undefined) return sync
    const current = await this.current(Object.keys(versions))
    for (const tag in versions) if (current[tag] !== versions[tag]) return false
    return true
  }

  /**
   * The current version of each tag: from memory when recent, else one MGET. When Redis cannot answer, the last
   * known version (or 0) is used and trusted for another `ttlMs`, so a Redis outage does not turn every tagged read
   * into a Redis call; entries written meanwhile simply stop matching once Redis answers again with another version.
   */
  async current(tags: readonly string[]): Promise<TagVersionMap> {
    const now = this.clock.now()
    const result: TagVersionMap = {}
    const missing: string[] = []
    for (const tag of tags) {
      const known = this.known.get(tag)
      if (known !== undefined && now - known.at < this.ttlMs) result[tag] = known.version
      else missing.push(tag)
    }
    if (missing.length === 0) return result
    const replies = this.l2 === undefined ? UNAVAILABLE : await this.l2.mget(missing.map(this.keyFor))
    const at = this.l2 === undefined ? Number.POSITIVE_INFINITY : this.clock.now()
    missing.forEach((tag, i) => {
      const reply = replies === UNAVAILABLE ? undefined : replies[i]
      const version = reply === undefined ? (this.known.get(tag)?.version ?? 0) : Number(reply ?? 0)
      this.known.set(tag, { version, at })
      result[tag] = version
    })
    return result
  }

  /**
   * Invalidates `tags`: INCR in Redis (the new versions are returned for the bus), or a local increment without
   * Redis. `undefined` when Redis was configured but could not be reached.
   */
  async bump(tags: readonly string[]): Promise<TagVersionMap | undefined> {
    if (this.l2 === undefined) {
      const versions: TagVersionMap = {}
      for (const tag of tags) {
        const version = (this.known.get(tag)?.version ?? 0) + 1
        this.known.set(tag, { version, at: Number.POSITIVE_INFINITY })
        versions[tag] = version
      }
      return versions
    }
    const replies = await this.l2.incrMany(tags.map(this.keyFor))
    if (replies === UNAVAILABLE) return undefined
    const versions: TagVersionMap = {}
    tags.forEach((tag, i) => {
      versions[tag] = replies[i] ?? 0
    })
    this.learn(versions)
    return versions
  }

  /** Versions told by the bus (or our own INCR): newer ones replace what we knew. */
  learn(versions: TagVersionMap): void {
    const at = this.clock.now()
    for (const tag in versions) {
      const version = versions[tag]
      if (typeof version !== 'number') continue
      const known = this.known.get(tag)
      if (known === undefined || version >= known.version) this.known.set(tag, { version, at })
    }
  }
}
