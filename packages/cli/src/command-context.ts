import type { ResolvedConfig } from './load-config'
import type { Output } from './output'

/** What every command gets: the merged configuration, where to write, and the signal of Ctrl-C. */
export interface CommandContext {
  config: ResolvedConfig
  output: Output
  cwd: string
  signal: AbortSignal
}

/** The options every database command takes. */
export interface DatabaseOptions {
  /** `--database <name>`: a database of the config. */
  database?: string | undefined
  /** `--url <url>`: a connection string, instead of the config's. */
  url?: string | undefined
}
