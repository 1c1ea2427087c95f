/**
 * For driver authors: one `COPY … FROM STDIN` in progress on a session, from the moment the server answered with
 * CopyInResponse. Core's copy stream buffers the caller's chunks and hands them on here; everything else (the pool,
 * the caller's signal, errors, `close()`) is core's.
 */
export interface DriverCopyIn {
  /** Sends one CopyData message; calls back once the session accepted it (back-pressure), with an error when it died. */
  write(chunk: Buffer, callback: (error?: Error | null) => void): void
  /** Sends CopyDone: the server then commits the rows (outside a transaction) and {@link settled} resolves. */
  end(): void
  /** Sends CopyFail with `reason`: the server drops every row sent, and {@link settled} rejects with its error. */
  fail(reason: string): void
  /**
   * Settles once the COPY is over and the session can run the next statement (or is known dead): resolves with the
   * row count of the server's `COPY n` tag (`undefined` when the driver cannot read it), rejects with the driver's raw
   * error (a bad row, the CopyFail, a lost session). Settles exactly once, even when nobody awaits it yet.
   */
  readonly settled: Promise<number | undefined>
}

/**
 * For driver authors: one `COPY … TO STDOUT` in progress on a session. The driver calls `onData` for each CopyData
 * message, in order; {@link pause} and {@link resume} apply back-pressure to the session's socket.
 */
export interface DriverCopyOut {
  /** Stops reading the session's socket until {@link resume}. */
  pause(): void
  resume(): void
  /** Abandons the COPY: cancels it on the server (or drops the session); {@link settled} then rejects. */
  cancel(): void
  /** Like {@link DriverCopyIn.settled}: the row count once the last CopyData was delivered and the session is ready. */
  readonly settled: Promise<number | undefined>
}
