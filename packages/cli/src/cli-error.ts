import { TesseraError } from '@tessera/core'
import { EXIT_CODES, type ExitCode } from './exit-codes'

/** A failure the CLI reports as one line, with the exit code it ends with. */
export class CliError extends TesseraError {
  readonly exitCode: ExitCode

  constructor(message: string, options: { code: string; exitCode: ExitCode; cause?: unknown }) {
    super(message, { code: options.code, cause: options.cause })
    this.exitCode = options.exitCode
  }
}

/** Bad arguments or configuration, found before anything was changed: exit code 2. */
export function usageError(message: string, cause?: unknown): CliError {
  return new CliError(message, { code: 'CLI_USAGE', exitCode: EXIT_CODES.usage, cause })
}
