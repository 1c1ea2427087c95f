const STOP = Symbol('tessera.cluster.stop')

/**
 * Turns a producer that pushes rows (and must finish inside a callback that holds a connection or a slot) into an
 * async iterable the consumer pulls from. Each `push` resolves when the consumer asks for the next row, so the
 * producer never runs ahead; when the consumer stops early, the pending and every later `push` reject, the producer
 * unwinds (its cursor closes, its connection goes back) and the iteration's `return()` waits for that.
 */
export async function* bridgeRows<R>(start: (push: (row: R) => Promise<void>) => Promise<void>): AsyncGenerator<R, void, undefined> {
  let pending: { row: R; resume: (go: boolean) => void } | undefined
  // The push whose row the consumer holds now: resumed when it asks for the next row, refused when it stops.
  let handedOut: ((go: boolean) => void) | undefined
  let wake: (() => void) | undefined
  let stopped = false
  let done = false
  let failed = false
  let failure: unknown
  const push = (row: R) =>
    new Promise<void>((resolve, reject) => {
      if (stopped) {
        reject(STOP)
        return
      }
      pending = { row, resume: (go) => (go ? resolve() : reject(STOP)) }
      wake?.()
    })
  const finished = start(push).then(
    () => {
      done = true
      wake?.()
    },
    (error: unknown) => {
      if (error !== STOP) {
        failed = true
        failure = error
      }
      done = true
      wake?.()
    },
  )
  try {
    for (;;) {
      if (pending === undefined && !done) {
        await new Promise<void>((resolve) => {
          wake = resolve
        })
        wake = undefined
      }
      if (pending !== undefined) {
        const { row, resume } = pending
        pending = undefined
        handedOut = resume
        yield row
        handedOut = undefined
        resume(true)
        continue
      }
      if (done) {
        if (failed) throw failure
        return
      }
    }
  } finally {
    stopped = true
    handedOut?.(false)
    if (pending !== undefined) {
      pending.resume(false)
      pending = undefined
    }
    await finished
  }
}
