/** Which ends of a range include their bound: `[` / `]` inclusive, `(` / `)` exclusive. */
export type RangeBounds = '[)' | '[]' | '(]' | '()'

/**
 * A PostgreSQL range value (`int4range`, `numrange`, `tsrange`, `daterange`, …).
 *
 * - `lower` / `upper` are `null` when that side is unbounded (`(,5)`); an unbounded side is never inclusive.
 * - `empty` is `true` only for PostgreSQL's `empty` range; then both bounds are `null` and not inclusive.
 * - Bound values use the element type's parser and policies (a `tstzrange` holds `Date`s by default).
 *
 * PostgreSQL normalises discrete ranges on input (`int4range '[1,5]'` reads back as `[1,6)`), so a range
 * read from the server may have other bounds than the one that was sent while meaning the same set.
 *
 * @example new Range(1, 10)               // [1,10)
 * @example new Range(null, new Date(), '(]') // (,2024-…]
 * @example Range.empty()
 */
export class Range<T> {
  /** The lower bound, or `null` when unbounded below (or empty). */
  readonly lower: T | null
  /** The upper bound, or `null` when unbounded above (or empty). */
  readonly upper: T | null
  /** Whether `lower` belongs to the range. Always `false` for an unbounded or empty side. */
  readonly lowerInclusive: boolean
  /** Whether `upper` belongs to the range. Always `false` for an unbounded or empty side. */
  readonly upperInclusive: boolean
  /** Whether this is PostgreSQL's `empty` range. */
  readonly empty: boolean

  /**
   * @param lower the lower bound; `null` for unbounded
   * @param upper the upper bound; `null` for unbounded
   * @param bounds which ends are inclusive. Default: `'[)'`, PostgreSQL's canonical form.
   */
  constructor(lower: T | null, upper: T | null, bounds: RangeBounds = '[)') {
    this.lower = lower
    this.upper = upper
    this.lowerInclusive = lower !== null && bounds[0] === '['
    this.upperInclusive = upper !== null && bounds[1] === ']'
    this.empty = false
  }

  /** PostgreSQL's `empty` range: contains nothing. */
  static empty<T = never>(): Range<T> {
    const range = new Range<T>(null, null, '()')
    ;(range as { empty: boolean }).empty = true
    return range
  }

  /** The bounds as PostgreSQL writes them, e.g. `'[)'`. */
  get bounds(): RangeBounds {
    return `${this.lowerInclusive ? '[' : '('}${this.upperInclusive ? ']' : ')'}` as RangeBounds
  }
}
