import { performance } from 'node:perf_hooks'
import { TimeoutError } from '@tessera/core'

/** One call waiting for its answer or its deadline, whichever comes first. */
interface Pending {
  /** `performance.now()` reading after which the call has timed out. */
  readonly at: number
  readonly operation: string
  readonly reject: (error: unknown) => void
  /** Answered or timed out: the queue skips it. */
  done: boolean
}

/**
 * Timeouts for many calls that share one duration, on one timer. A call costs an array push and a flag instead of
 * a `setTimeout`/`clearTimeout` pair: Redis answers the commands of a connection in order, so calls end roughly in
 * the order they started, the oldest pending call always has the earliest deadline, and the timer only ever looks
 * at the head. While calls keep coming the timer is set about once per `timeoutMs`; it stops when none is pending.
 * A call times out at its deadline, like a timer of its own (never earlier; later only by the event loop's delay).
 */
export class DeadlineQueue {
  private readonly pending: Pending[] = []
  private head = 0
  private timer: NodeJS.Timeout | undefined

  constructor(readonly timeoutMs: number) {}

  /**
   * Settles like `promise`, or rejects with core's `TimeoutError` (`redis <operation> timed out after … ms`) once
   * `timeoutMs` have passed. The late outcome of a timed-out promise is ignored.
   */
  race<T>(promise: Promise<T>, operation: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const call: Pending = { at: performance.now() + this.timeoutMs, operation, reject, done: false }
      this.push(call)
      promise.then(
        (value) => {
          if (call.done) return
          call.done = true
          this.dropFinished()
          resolve(value)
        },
        (error: unknown) => {
          if (call.done) return
          call.done = true
          this.dropFinished()
          reject(error)
        },
      )
    })
  }

  private push(call: Pending): void {
    const wasEmpty = this.head === this.pending.length
    this.pending.push(call)
    if (this.timer === undefined) this.arm(this.timeoutMs)
    // Keep the process alive while a call waits, as a timer per call would; let it exit once none does.
    else if (wasEmpty) this.timer.ref()
  }

  private arm(ms: number): void {
    this.timer = setTimeout(() => this.expire(), ms)
  }

  /** Forgets finished calls at the head; an empty queue resets the array so it never grows. */
  private dropFinished(): void {
    const pending = this.pending
    while (this.head < pending.length && pending[this.head]!.done) this.head++
    if (this.head === pending.length) {
      pending.length = 0
      this.head = 0
      this.timer?.unref()
    } else if (this.head >= 1024 && this.head * 2 >= pending.length) {
      pending.splice(0, this.head)
      this.head = 0
    }
  }

  private expire(): void {
    this.timer = undefined
    const now = performance.now()
    const pending = this.pending
    const expired: Pending[] = []
    while (this.head < pending.length) {
      const call = pending[this.head]!
      if (!call.done) {
        if (call.at > now) break
        call.done = true
        expired.push(call)
      }
      this.head++
    }
    this.dropFinished()
    if (this.head < pending.length) this.arm(Math.max(1, Math.ceil(pending[this.head]!.at - now)))
    for (const call of expired) call.reject(new TimeoutError({ operation: `redis ${call.operation}`, timeoutMs: this.timeoutMs }))
  }
}
