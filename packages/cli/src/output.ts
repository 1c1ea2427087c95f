import Table from 'cli-table3'
import pc from 'picocolors'

/** Where a command writes, and how. */
export interface Output {
  /** `--json`: one JSON document on stdout, nothing else there. */
  readonly json: boolean
  /** Colours on: stdout is a TTY, `NO_COLOR` is unset and `--no-color` was not given. */
  readonly color: boolean
  /** stderr is a TTY: interactive extras (the progress bar) may be drawn there. */
  readonly interactive: boolean
  readonly verbose: boolean
  readonly colors: ReturnType<typeof pc.createColors>
  readonly stdout: NodeJS.WritableStream
  readonly stderr: NodeJS.WritableStream
  /** A line for people on stdout (nothing in `--json` mode). */
  line(text?: string): void
  /** A note on stderr (progress, warnings): never mixed into stdout's data. */
  note(text: string): void
  /** Prints `value` as JSON on stdout (bigints as strings, dates as ISO text). */
  printJson(value: unknown): void
  /** A table on stdout. */
  table(head: readonly string[], rows: readonly (readonly unknown[])[]): void
}

/** What decides colours and interactivity; a seam for tests. */
export interface OutputOptions {
  json: boolean
  verbose: boolean
  noColor: boolean
  env: Readonly<Record<string, string | undefined>>
  stdout: NodeJS.WritableStream & { isTTY?: boolean | undefined }
  stderr: NodeJS.WritableStream & { isTTY?: boolean | undefined }
}

/** `NO_COLOR` (any non-empty value, see no-color.org) or `--no-color` turn colours off; so does a stdout that is not a TTY. */
export function createOutput(options: OutputOptions): Output {
  const noColorEnv = options.env.NO_COLOR !== undefined && options.env.NO_COLOR !== ''
  const color = !options.noColor && !noColorEnv && options.stdout.isTTY === true && options.env.TERM !== 'dumb'
  const colors = pc.createColors(color)
  const { stdout, stderr } = options
  return {
    json: options.json,
    color,
    interactive: options.stderr.isTTY === true && !options.json,
    verbose: options.verbose,
    colors,
    stdout,
    stderr,
    line(text = '') {
      if (!options.json) stdout.write(`${text}\n`)
    },
    note(text) {
      stderr.write(`${text}\n`)
    },
    printJson(value) {
      stdout.write(`${JSON.stringify(value, (_key, v) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n`)
    },
    table(head, rows) {
      const table = new Table({
        head: head.map((h) => colors.bold(h)),
        // cli-table3 colours the head and border red/grey by default: plain unless colours are on.
        style: color ? { head: [], border: ['grey'] } : { head: [], border: [] },
      })
      for (const row of rows) table.push(row.map((cell) => (cell === undefined || cell === null ? '' : String(cell))))
      stdout.write(`${table.toString()}\n`)
    },
  }
}

/** An error as one line: its message's first line (and its cause's, when it adds something). */
export function errorLine(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  const first = error.message.split('\n').join(' ').replace(/\s+/g, ' ').trim()
  return first === '' ? error.name : first
}
