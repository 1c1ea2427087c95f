import { isTesseraError, type TesseraError } from '@tessera/core'
import { expect } from 'vitest'

export type { Deferred } from '../../test-services/deferred'
export { deferred } from '../../test-services/deferred'

export interface WaitForOptions {
  /** Give up after this many ms. Default: 10000. It bounds a wait; it is not an assertion about speed. */
  timeoutMs?: number
  /** Default: 20. */
  intervalMs?: number
}

/**
 * Polls `check` until it returns true, for server-side effects that land a little after the call that caused
 * them (a backend leaving `pg_stat_activity`, a notification arriving). Throws `message` if it never does.
 */
export async function waitFor(check: () => boolean | Promise<boolean>, message: string, options: WaitForOptions = {}): Promise<void> {
  const { timeoutMs = 10_000, intervalMs = 20 } = options
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await check()) return
    if (Date.now() > deadline) throw new Error(`gave up after ${timeoutMs} ms waiting until ${message}`)
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
}

/** The error `promise` rejects with; fails the test when it resolves. */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise
  } catch (error) {
    return error
  }
  throw new Error('expected the operation to reject, but it resolved')
}

/** The error `promise` rejects with, checked to be a Tessera error. */
export async function tesseraRejectionOf(promise: Promise<unknown>): Promise<TesseraError> {
  const error = await rejectionOf(promise)
  expect(isTesseraError(error), `expected a TesseraError, got ${String(error)}`).toBe(true)
  return error as TesseraError
}

/** Every row of an async iterable, in order. */
export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const rows: T[] = []
  for await (const row of iterable) rows.push(row)
  return rows
}

/** How a promise ended, as a value: for operations started now and checked later, so no rejection goes unhandled. */
export type Outcome<T> = { status: 'resolved'; value: T } | { status: 'rejected'; error: unknown }

export function settle<T>(promise: Promise<T>): Promise<Outcome<T>> {
  return promise.then(
    (value) => ({ status: 'resolved', value }),
    (error: unknown) => ({ status: 'rejected', error }),
  )
}

/** The error of a settled operation; fails the test when it resolved. */
export function errorOf(outcome: Outcome<unknown>, why = 'expected the operation to reject, but it resolved'): unknown {
  if (outcome.status === 'resolved') throw new Error(why)
  return outcome.error
}
