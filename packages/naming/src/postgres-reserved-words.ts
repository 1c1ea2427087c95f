import { readonlySet } from './readonly-set'

/**
 * The key words PostgreSQL 15 reserves: those marked "reserved" and "reserved (can be function or
 * type)" in the SQL Key Words appendix (`pg_get_keywords()` categories `R` and `T`). Any of these
 * used as a column or table name must be quoted. Non-reserved key words (`time`, `values`,
 * `position`…) are valid bare column names and are not listed. Lower case.
 *
 * @example
 * POSTGRES_RESERVED_WORDS.has('user') // true
 * POSTGRES_RESERVED_WORDS.has('time') // false
 */
export const POSTGRES_RESERVED_WORDS: ReadonlySet<string> = readonlySet(
  [
    // reserved
    'all analyse analyze and any array as asc asymmetric both case cast check collate column constraint create',
    'current_catalog current_date current_role current_time current_timestamp current_user default deferrable desc',
    'distinct do else end except false fetch for foreign from grant group having in initially intersect into lateral',
    'leading limit localtime localtimestamp not null offset on only or order placing primary references returning',
    'select session_user some symmetric table then to trailing true union unique user using variadic when where window with',
    // reserved (can be function or type)
    'authorization binary collation concurrently cross current_schema freeze full ilike inner is isnull join left like',
    'natural notnull outer overlaps right similar tablesample verbose',
  ]
    .join(' ')
    .split(' '),
)
