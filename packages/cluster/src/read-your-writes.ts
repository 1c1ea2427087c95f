import { AsyncLocalStorage } from 'node:async_hooks'
import type { Lsn } from './lsn'

/**
 * The state of one `cluster.session()` scope: the WAL position its reads must see, and whether a write happened
 * since that position was last read from the primary.
 */
export interface SessionScope {
  position: Lsn | undefined
  /** A write (or commit) ran on the primary and its position has not been fetched yet. */
  wroteSincePosition: boolean
}

/** Where `cluster.session()` keeps its scope across awaits. */
export const sessionStorage = new AsyncLocalStorage<SessionScope>()

/** The later of two positions (either may be absent). */
export function laterOf(a: Lsn | undefined, b: Lsn | undefined): Lsn | undefined {
  if (a === undefined) return b
  if (b === undefined) return a
  return a > b ? a : b
}
