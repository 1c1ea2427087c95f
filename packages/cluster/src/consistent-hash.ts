/**
 * The hash functions behind the shard router: a 32-bit key hash and three ways to turn it into a shard index.
 * All are deterministic across processes and versions of Node, so every instance of an application agrees.
 */

/** A key a shard is chosen by: a string (a tenant id, a user id…) or an integer. */
export type ShardKey = string | number

/** MurmurHash3's finaliser: every input bit affects every output bit. */
function fmix32(value: number): number {
  let h = value
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/**
 * A 32-bit hash of a key: FNV-1a over the UTF-16 code units of a string, then MurmurHash3's finaliser; an integer
 * is hashed by its value (so `42` and `'42'` may land on different shards: use one type per key space).
 */
export function hashKey(key: ShardKey): number {
  if (typeof key === 'number') {
    const low = key | 0
    const high = Math.floor(key / 4294967296) | 0
    return fmix32(Math.imul(low ^ 0x9e3779b9, 0x85ebca6b) ^ fmix32(high + 0x632be5ab))
  }
  let h = 0x811c9dc5
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return fmix32(h)
}

/**
 * Jump consistent hash (Lamping & Veach, 2014) over a 32-bit generator seeded by the key's hash: an index in
 * `[0, buckets)`, uniform, with no memory and no table. Growing from n to n+1 buckets moves exactly the keys that
 * land on the new bucket (1/(n+1) of them); only the last bucket can be removed without reshuffling.
 */
export function jumpHash(hash: number, buckets: number): number {
  let state = hash | 0
  let bucket = -1
  let next = 0
  while (next < buckets) {
    bucket = next
    state = (state + 0x9e3779b9) | 0
    // (r + 1) / 2^32 is uniform on (0, 1]: the paper's "jump to floor((b + 1) / r)".
    next = Math.floor(((bucket + 1) * 4294967296) / (fmix32(state) + 1))
  }
  return bucket
}

/**
 * Rendezvous (highest random weight) hashing: the shard whose seed gives the highest mixed score for the key. Any
 * shard can be added or removed, and only the keys that land on it (or were on it) move. O(shards) per lookup.
 */
export function rendezvousIndex(hash: number, seeds: Uint32Array): number {
  let best = 0
  let bestScore = -1
  for (let i = 0; i < seeds.length; i++) {
    const score = fmix32(Math.imul(hash ^ seeds[i]!, 0x9e3779b1) + seeds[i]!)
    if (score > bestScore) {
      bestScore = score
      best = i
    }
  }
  return best
}

/** A consistent-hash ring: `virtualNodes` points per shard, sorted; a key belongs to the first point at or after its hash. */
export interface HashRing {
  /** The shard index of a key hash. */
  lookup(hash: number): number
}

/** Builds the ring for shard names (a shard's points depend only on its name, so adding one moves few keys). */
export function createHashRing(names: readonly string[], virtualNodes: number): HashRing {
  const points: { at: number; owner: number }[] = []
  for (let owner = 0; owner < names.length; owner++) {
    for (let v = 0; v < virtualNodes; v++) points.push({ at: hashKey(`${names[owner]}#${v}`), owner })
  }
  // Ties (two points with one hash) are broken by name, so the ring does not depend on the order of the shards.
  points.sort((a, b) => a.at - b.at || (names[a.owner]! < names[b.owner]! ? -1 : 1))
  const at = Uint32Array.from(points, (point) => point.at)
  const owners = Uint32Array.from(points, (point) => point.owner)
  const last = at.length - 1
  return {
    lookup(hash) {
      if (hash > at[last]!) return owners[0]!
      let low = 0
      let high = last
      while (low < high) {
        const middle = (low + high) >>> 1
        if (at[middle]! < hash) low = middle + 1
        else high = middle
      }
      return owners[low]!
    },
  }
}
