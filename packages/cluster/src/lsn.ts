import { TesseraError } from '@tessera/core'

/** A WAL position (`pg_lsn`, printed `16/B374D848`) as a number that compares and subtracts exactly. */
export type Lsn = bigint

const LSN_PATTERN = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/

/** Parses PostgreSQL's text form of a `pg_lsn`; undefined for anything else. */
export function parseLsn(text: unknown): Lsn | undefined {
  if (typeof text !== 'string') return undefined
  const match = LSN_PATTERN.exec(text)
  if (match === null) return undefined
  return (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`)
}

/** PostgreSQL's text form of a position. */
export function formatLsn(lsn: Lsn): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`
}

/**
 * Reads a consistency token (`cluster.consistencyToken()`, e.g. carried in a cookie): a WAL position as text.
 * A bad token is a `TesseraError` naming it, before any query runs.
 */
export function parseConsistencyToken(token: unknown): Lsn {
  const lsn = parseLsn(token)
  if (lsn === undefined) {
    throw new TesseraError(
      `consistency token ${JSON.stringify(token)} is not one cluster.consistencyToken() returned; expected a WAL position such as '0/3000148'`,
      { code: 'CLUSTER_BAD_TOKEN' },
    )
  }
  return lsn
}
