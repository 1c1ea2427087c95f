/**
 * The exit codes of the `tessera` command (also in the README):
 * - `ok` 0: done.
 * - `failed` 1: the command ran and failed (a database error, a migration that failed, an unexpected error).
 * - `usage` 2: bad arguments or configuration, found before any change was made.
 * - `unhealthy` 3: `health` found a server down; `diff --check` found differences; `migrate status --check` found
 *   pending or changed migrations.
 * - `locked` 4: another process holds the migration lock and did not release it within `--lock-timeout`.
 */
export const EXIT_CODES = {
  ok: 0,
  failed: 1,
  usage: 2,
  unhealthy: 3,
  locked: 4,
} as const

/** One of {@link EXIT_CODES}' values. */
export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES]
