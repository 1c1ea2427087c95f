import { randomInt } from 'node:crypto'
import type { Clock } from '@tessera/core'
import { type L2Tier, UNAVAILABLE } from './l2-tier'
import type { OperationBudget } from './operation-budget'

/** Tag → the version an entry was written with. */
export type TagVersionMap = Record<string, number>

/** New tag versions and floors, as a bump made them (and as the bus carries them). */
export interface TagStates {
  versions: TagVersionMap
  floors: TagVersionMap
}

/** How an entry's tag versions compare with the current ones. */
export type TagCheck = 'current' | 'expired' | 'invalid'

interface Known {
  version: number
  /**
   * The version of the last `deleteByTag`: entries stamped at or after it but before `version` were only expired
   * (`expireByTag`) and may still be served as grace copies; entries stamped before it are gone.
   */
  floor: number
  /** When it was read from Redis (or learnt from the bus); `Infinity` when there is no Redis to ask. */
  at: number
}

/** At most this many tag versions are remembered per cache; the oldest learnt is forgotten first (and re-read). */
export const MAX_KNOWN_TAGS = 10_000

/**
 * A tag's counter in Redis expires this long after it was created or last bumped. An entry carrying a tag whose
 * counter expired reads as a miss once (the counter comes back with a new random start, never an old number).
 */
export const TAG_VERSION_KEY_TTL_MS = 24 * 60 * 60 * 1000

/**
 * A counter generation starts at a random number in [2^40, 2^52): after Redis loses a counter (restart, eviction,
 * expiry) the new generation does not repeat the numbers of the old one, so no invalidated entry matches again.
 */
function newGeneration(): number {
  return randomInt(2 ** 40, 2 ** 47) * 32 + randomInt(0, 32)
}

/** Two versions closer than this belong to one counter generation (generations start ≥ 32 apart at random in 2^52). */
const SAME_GENERATION_SPAN = 2 ** 24

// A tag's key holds "<version>:<floor>" (see Known.floor).

// Returns the counter, creating it (a new random generation) when Redis does not hold it.
const READ_OR_START = `local v = redis.call('get', KEYS[1])
if not v then
  v = ARGV[1] .. ':' .. ARGV[1]
  redis.call('set', KEYS[1], v, 'PX', ARGV[2])
end
return v`

// Moves the version (and, for a delete, the floor with it), or starts a new random generation when Redis lost
// the counter; refreshes its TTL either way.
const BUMP = `local v = redis.call('get', KEYS[1])
local c, f
if v then
  local sep = string.find(v, ':', 1, true)
  if sep then
    c = tonumber(string.sub(v, 1, sep - 1))
    f = tonumber(string.sub(v, sep + 1))
  end
end
if c == nil or f == nil then
  c = tonumber(ARGV[1])
  f = c
else
  c = c + 1
  if ARGV[3] == 'delete' then f = c end
end
v = string.format('%.0f:%.0f', c, f)
redis.call('set', KEYS[1], v, 'PX', ARGV[2])
return v`

/** Parses "<version>:<floor>"; `undefined` for anything else. */
function parseState(text: unknown): { version: number; floor: number } | undefined {
  if (typeof text !== 'string') return undefined
  const sep = text.indexOf(':')
  if (sep < 0) return undefined
  const version = Number(text.slice(0, sep))
  const floor = Number(text.slice(sep + 1))
  if (!Number.isSafeInteger(version) || !Number.isSafeInteger(floor) || floor > version) return undefined
  return { version, floor }
}

/**
 * Tag version counters. Each entry stores the versions of its tags at write time; `deleteByTag` moves the counters
 * (in Redis, shared by every instance), so every entry written before no longer matches and reads as a miss, in
 * every tier and every instance, without finding the entries. Versions read from Redis are trusted for `ttlMs`
 * (and refreshed by bus messages), so a tagged read costs at most one MGET per `ttlMs` per tag. A version never
 * repeats (see {@link newGeneration}), and a version that could not be learnt is never guessed: entries whose tags
 * are unknown are neither trusted nor written.
 */
export class TagVersions {
  private readonly known = new Map<string, Known>()

  constructor(
    private readonly l2: L2Tier | undefined,
    private readonly keyFor: (tag: string) => string,
    private readonly clock: Pick<Clock, 'now'>,
    private readonly ttlMs: number,
    private readonly maxKnown = MAX_KNOWN_TAGS,
  ) {}

  /** How many tag versions are remembered (bounded by `maxKnown`). */
  get size(): number {
    return this.known.size
  }

  /** `true`/`false` when the versions are known and recent enough; `undefined` when Redis must be asked. */
  isCurrentSync(versions: TagVersionMap, now: number): boolean | undefined {
    for (const tag in versions) {
      const known = this.known.get(tag)
      if (known === undefined || now - known.at >= this.ttlMs) return undefined
      if (known.version !== versions[tag]) return false
    }
    return true
  }

  async isCurrent(versions: TagVersionMap | undefined, budget?: OperationBudget): Promise<boolean> {
    return (await this.check(versions, budget)) === 'current'
  }

  /** Like {@link check}, without waiting: `undefined` when Redis must be asked. */
  checkSync(versions: TagVersionMap, now: number): TagCheck | undefined {
    let result: TagCheck = 'current'
    for (const tag in versions) {
      const known = this.known.get(tag)
      if (known === undefined || now - known.at >= this.ttlMs) return undefined
      const version = versions[tag]!
      if (version === known.version) continue
      if (version >= known.floor && version < known.version) result = 'expired'
      else return 'invalid'
    }
    return result
  }

  /**
   * `current`: every tag is as the entry was written; `expired`: some tag was expired since (`expireByTag`), the
   * entry may serve as a grace copy; `invalid`: some tag was deleted since (or its version is unknown).
   */
  async check(versions: TagVersionMap | undefined, budget?: OperationBudget): Promise<TagCheck> {
    if (versions === undefined) return 'current'
    const sync = this.checkSync(versions, this.clock.now())
    if (sync !== undefined) return sync
    const current = await this.current(Object.keys(versions), budget)
    if (current === undefined) return 'invalid'
    return this.checkSync(versions, Number.NEGATIVE_INFINITY) ?? 'invalid'
  }

  /**
   * The current version of each tag: from memory when recent, else one MGET (and, for a counter Redis does not
   * hold, one script that starts it). When Redis cannot answer, the last known version is trusted for another
   * `ttlMs`; a tag never known makes the answer `undefined` (unknown: do not trust, do not write).
   */
  async current(tags: readonly string[], budget?: OperationBudget): Promise<TagVersionMap | undefined> {
    const now = this.clock.now()
    const result: TagVersionMap = {}
    const missing: string[] = []
    for (const tag of tags) {
      const known = this.known.get(tag)
      if (known !== undefined && now - known.at < this.ttlMs) result[tag] = known.version
      else missing.push(tag)
    }
    if (missing.length === 0) return result
    const l2 = this.l2
    if (l2 === undefined) {
      for (const tag of missing) {
        this.remember(tag, 0, 0, Number.POSITIVE_INFINITY)
        result[tag] = 0
      }
      return result
    }
    const keys = missing.map(this.keyFor)
    const replies = budget === undefined ? await l2.mget(keys) : await budget.run(() => l2.mget(keys))
    let isComplete = true
    await Promise.all(
      missing.map(async (tag, i) => {
        let reply: unknown = replies === UNAVAILABLE ? UNAVAILABLE : replies[i]
        if (reply === null || reply === undefined) {
          const start = () =>
            l2.eval('EVAL tag start', READ_OR_START, this.keyFor(tag), String(newGeneration()), String(TAG_VERSION_KEY_TTL_MS))
          reply = budget === undefined ? await start() : await budget.run(start)
        }
        const state = parseState(reply)
        if (state !== undefined) {
          this.remember(tag, state.version, state.floor, this.clock.now())
          result[tag] = state.version
          return
        }
        const known = this.known.get(tag)
        if (known === undefined) {
          isComplete = false
          return
        }
        // Redis is away: keep trusting what we knew (it cannot have moved without Redis) for another ttlMs.
        this.remember(tag, known.version, known.floor, this.clock.now())
        result[tag] = known.version
      }),
    )
    return isComplete ? result : undefined
  }

  /**
   * Moves the tags' versions: `delete` (deleteByTag) makes every older entry invalid; `expire` (expireByTag) makes
   * them stale but still usable as grace copies. In Redis (the new states are returned for the bus), or in memory
   * without Redis. `undefined` when Redis was configured but could not be reached.
   */
  async bump(tags: readonly string[], kind: 'delete' | 'expire'): Promise<TagStates | undefined> {
    const l2 = this.l2
    const states: TagStates = { versions: {}, floors: {} }
    if (l2 === undefined) {
      for (const tag of tags) {
        const known = this.known.get(tag)
        const version = (known?.version ?? 0) + 1
        const floor = kind === 'delete' ? version : (known?.floor ?? 0)
        this.remember(tag, version, floor, Number.POSITIVE_INFINITY)
        states.versions[tag] = version
        states.floors[tag] = floor
      }
      return states
    }
    const ttl = String(TAG_VERSION_KEY_TTL_MS)
    const replies = await Promise.all(
      tags.map((tag) => l2.eval('EVAL tag bump', BUMP, this.keyFor(tag), String(newGeneration()), ttl, kind)),
    )
    let isComplete = true
    tags.forEach((tag, i) => {
      const state = parseState(replies[i])
      if (state !== undefined) {
        states.versions[tag] = state.version
        states.floors[tag] = state.floor
        return
      }
      isComplete = false
      // This instance no longer knows the version: forget it, so entries carrying the tag are not trusted.
      this.known.delete(tag)
    })
    this.learn(states.versions, states.floors)
    return isComplete ? states : undefined
  }

  /**
   * States told by the bus (or our own bump). Within one counter generation only a higher version replaces what
   * we knew (two bumps' messages may arrive out of order); a version far away is a new generation. A message
   * without a floor (an older sender) counts as a delete.
   */
  learn(versions: TagVersionMap, floors: TagVersionMap | undefined): void {
    const at = this.clock.now()
    for (const tag in versions) {
      const version = versions[tag]
      if (typeof version !== 'number') continue
      const floor = floors?.[tag]
      const known = this.known.get(tag)
      const isOlder = known !== undefined && version < known.version && known.version - version < SAME_GENERATION_SPAN
      if (!isOlder) this.remember(tag, version, typeof floor === 'number' && floor <= version ? floor : version, at)
    }
  }

  private remember(tag: string, version: number, floor: number, at: number): void {
    const known = this.known
    if (!known.has(tag) && known.size >= this.maxKnown) {
      // Forget the tag learnt longest ago (Map order is insertion order): it is read from Redis again when needed.
      const oldest = known.keys().next().value
      if (oldest !== undefined) known.delete(oldest)
    }
    known.set(tag, { version, floor, at })
  }
}
