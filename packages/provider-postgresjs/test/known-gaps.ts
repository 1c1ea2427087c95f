/**
 * Conformance tests skipped on postgres.js, with the reason: known gaps, each named in the session notes.
 *
 * The late-cancel test of an aborted stream on a reserved connection passes when run alone (26 runs in a row on
 * postgres.js 3, Node 20 and 22, and each run on postgres.js 4), but once in three full CI suite runs (Node 22,
 * postgres.js 3, under the whole suite's load) it waited 30 s, with no sign of where. Until that is found it runs on
 * provider-pg only (the code it guards is core's, shared by both drivers); the test now fails within 5 s, naming the
 * step, when a cancel request never reaches the server.
 */
export const STREAM_LATE_CANCEL_SKIP = {
  "an aborted stream's cancel request that reaches the server late":
    'waited 30 s once in three CI suite runs on postgres.js 3 (Node 22, cause not found yet); runs on provider-pg',
}
