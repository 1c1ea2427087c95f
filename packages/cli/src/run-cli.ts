import { readFileSync } from 'node:fs'
import { ConfigError, TesseraError } from '@tessera/core'
import { Command, CommanderError, Option } from 'commander'
import { CliError } from './cli-error'
import type { CommandContext } from './command-context'
import { diffCommand } from './diff-command'
import { explainDynamo, generateDynamo } from './dynamo-commands'
import { EXIT_CODES, type ExitCode } from './exit-codes'
import { generatePg } from './generate-command'
import { healthCommand } from './health-command'
import { loadConfig } from './load-config'
import { migrateCreate, migrateRun, migrateStatus } from './migrate-command'
import { createOutput, errorLine, type Output } from './output'

/** Where the CLI reads and writes: the process's by default, anything in tests. */
export interface CliIo {
  cwd: string
  env: Readonly<Record<string, string | undefined>>
  stdout: NodeJS.WritableStream & { isTTY?: boolean | undefined }
  stderr: NodeJS.WritableStream & { isTTY?: boolean | undefined }
  /** Aborted on Ctrl-C. */
  signal: AbortSignal
}

interface GlobalOptions {
  config?: string | undefined
  json?: boolean | undefined
  color: boolean
  verbose?: boolean | undefined
}

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version
  } catch {
    return 'unknown'
  }
}

function examples(lines: readonly string[]): string {
  return `\nExamples:\n${lines.map((line) => `  $ ${line}`).join('\n')}\n`
}

const EXIT_CODE_HELP = `
Exit codes:
  0  done
  1  the command failed (a database error, a migration that failed)
  2  bad arguments or configuration (nothing was changed)
  3  health: a server is down; diff --check / migrate status --check: the database is behind
  4  another process holds the migration lock (see --lock-timeout)
`

/** Prints `error` as one line on stderr (with its stack and causes under `--verbose`) and returns the exit code. */
function report(error: unknown, output: Output | undefined, io: CliIo, verbose: boolean): ExitCode {
  const code: ExitCode = error instanceof CliError ? error.exitCode : error instanceof ConfigError ? EXIT_CODES.usage : EXIT_CODES.failed
  const unexpected = !(error instanceof TesseraError) && error instanceof Error && !verbose
  const line = `error: ${errorLine(error)}${unexpected ? ' (unexpected: run again with --verbose for its stack)' : ''}`
  const colored = output?.color === true ? output.colors.red(line) : line
  io.stderr.write(`${colored}\n`)
  if (verbose) {
    for (let cause: unknown = error; cause !== undefined; cause = cause instanceof Error ? cause.cause : undefined) {
      io.stderr.write(`${cause instanceof Error ? (cause.stack ?? cause.message) : String(cause)}\n`)
      if (!(cause instanceof Error)) break
    }
  }
  return code
}

/**
 * Runs the `tessera` command line with `argv` (without `node` and the script) and resolves to the exit code. Never
 * throws: every failure is reported on `io.stderr` as one line.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  let exitCode: ExitCode = EXIT_CODES.ok
  let output: Output | undefined
  let verbose = argv.includes('--verbose')

  const program = new Command('tessera')
  program
    .description('Tessera on the command line: migrations, schema diff, code generation, DynamoDB explain and health checks.')
    .version(packageVersion(), '-V, --version')
    .option(
      '-c, --config <path>',
      'config file (default: tessera.config.{ts,mts,cts,js,mjs,cjs,json} from the current folder upwards; env TESSERA_CONFIG)',
    )
    .option('--json', 'machine-readable output: one JSON document on stdout')
    .option('--no-color', 'no colours (also: NO_COLOR set, or stdout not a terminal)')
    .option('--verbose', 'print stacks and causes of errors')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      outputError: (text, write) => write(text.split('\n')[0]?.trim() ? `${text.split('\n')[0]}\n` : text),
    })
    .addHelpText(
      'after',
      `${examples(['tessera migrate status', 'tessera migrate up --to 20250101120000', 'tessera diff --allow-destructive', 'tessera generate pg --url postgres://localhost/app --schema public --out src/entities.ts', 'tessera health --json'])}${EXIT_CODE_HELP}`,
    )

  /** Wraps a command's action: loads the config, builds the output, maps failures to exit codes. */
  function action<A extends unknown[]>(run: (context: CommandContext, ...args: A) => Promise<ExitCode>) {
    return async (...args: unknown[]) => {
      const command = args.at(-1) as Command
      const globals = command.optsWithGlobals() as GlobalOptions
      verbose = globals.verbose === true
      output = createOutput({
        json: globals.json === true,
        verbose,
        noColor: !globals.color,
        env: io.env,
        stdout: io.stdout,
        stderr: io.stderr,
      })
      try {
        const config = await loadConfig({ cwd: io.cwd, configPath: globals.config, env: io.env })
        exitCode = await run({ config, output, cwd: io.cwd, signal: io.signal }, ...(args.slice(0, -1) as A))
      } catch (error) {
        exitCode = report(error, output, io, verbose)
      }
    }
  }

  const databaseOptions = (command: Command) =>
    command
      .option('-d, --database <name>', 'a database named in the config (default: `postgres` / TESSERA_PG_URL)')
      .option('--url <url>', 'a connection string, instead of the config')

  const migrate = program
    .command('migrate')
    .description(
      'versioned migrations from the migrations folder (<id>_<name>.sql with -- tessera:up / -- tessera:down, or .ts/.js modules exporting up/down)',
    )
    .addHelpText(
      'after',
      examples([
        'tessera migrate create add users',
        'tessera migrate status',
        'tessera migrate up',
        'tessera migrate down --to 20250101120000',
        'tessera migrate up --lock-timeout 60000 --json',
      ]),
    )

  databaseOptions(migrate.command('status').description('a table of applied, pending, changed and unknown migrations'))
    .option('--check', 'exit with code 3 when a migration is pending or changed')
    .addHelpText('after', examples(['tessera migrate status', 'tessera migrate status --check --json']))
    .action(action((context, options: Parameters<typeof migrateStatus>[1]) => migrateStatus(context, options)))

  const lockTimeout = new Option(
    '--lock-timeout <ms>',
    'wait this long for another process holding the migration lock, then exit 4',
  ).default('0')
  databaseOptions(migrate.command('up').description('apply pending migrations in id order (a progress bar on a terminal)'))
    .option('--to <id>', 'apply up to and including this migration')
    .addOption(lockTimeout)
    .addHelpText(
      'after',
      examples(['tessera migrate up', 'tessera migrate up --to 20250101120000', 'tessera migrate up --lock-timeout 60000']),
    )
    .action(action((context, options: Parameters<typeof migrateRun>[2]) => migrateRun(context, 'up', options)))

  databaseOptions(migrate.command('down').description('revert the latest applied migration, or down to --to, or --all'))
    .option('--to <id>', 'revert every migration after this one (it stays applied)')
    .option('--all', 'revert every applied migration')
    .addOption(lockTimeout)
    .addHelpText('after', examples(['tessera migrate down', 'tessera migrate down --to 20250101120000', 'tessera migrate down --all']))
    .action(action((context, options: Parameters<typeof migrateRun>[2]) => migrateRun(context, 'down', options)))

  migrate
    .command('create')
    .description('write a new empty .sql migration in the migrations folder')
    .argument('<name...>', 'what it does, e.g. "add users"')
    .addHelpText('after', examples(['tessera migrate create add users table']))
    .action(action((context, name: string[]) => migrateCreate(context, name.join(' '))))

  const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value]
  databaseOptions(
    program.command('diff').description('compare the live database with the entities and write the difference as a new migration'),
  )
    .option('--allow-destructive', 'include steps that can lose data (drop column or table, type or primary-key change)')
    .option('--drop-unknown-tables', 'drop tables no entity defines (with --allow-destructive)')
    .option('--rename <old=new>', 'a rename hint, repeatable: tasks.title=tasks.name, todo_items=tasks', collect)
    .option('--entities <path>', 'a module exporting entities, instead of the config (repeatable)', collect)
    .option('--name <name>', 'the migration name', 'schema diff')
    .option('--dry-run', 'print the SQL, write no file')
    .option('--check', 'write nothing; exit 3 when the database differs (for CI)')
    .addHelpText(
      'after',
      examples([
        'tessera diff',
        'tessera diff --dry-run',
        'tessera diff --allow-destructive --name "drop legacy columns"',
        'tessera diff --rename users.fullname=users.name',
        'tessera diff --check --json',
      ]),
    )
    .action(action((context, options: Parameters<typeof diffCommand>[1]) => diffCommand(context, options)))

  const generate = program
    .command('generate')
    .description('write code from a live database: defineEntity code from PostgreSQL, defineModel code from DynamoDB')
    .addHelpText('after', examples(['tessera generate pg --url postgres://localhost/app --schema public --out src/entities.ts']))
  databaseOptions(generate.command('pg').description('read a PostgreSQL schema and write defineEntity code for its tables'))
    .option('-s, --schema <name>', 'the schema to read (default: the configured schema, else public)')
    .option('-o, --out <file>', 'the file to write (default: stdout)')
    .option('-t, --tables <names>', 'only these tables (comma-separated, repeatable)', collect)
    .option('-f, --force', 'overwrite --out when it exists')
    .addHelpText(
      'after',
      examples([
        'tessera generate pg --url postgres://localhost/app --schema public --out src/entities.ts',
        'tessera generate pg --tables users,posts > src/entities.ts',
      ]),
    )
    .action(action((context, options: Parameters<typeof generatePg>[1]) => generatePg(context, options)))

  generate
    .command('dynamo')
    .description('describe a DynamoDB table and write defineModel code for it')
    .requiredOption('--table <name>', 'the table to describe')
    .option('-o, --out <file>', 'the file to write (default: stdout)')
    .option('--sample <n>', 'read n items to find the other attributes and their types', '0')
    .option('--name <Model>', 'the model name (default: the table name in PascalCase)')
    .option('-f, --force', 'overwrite --out when it exists')
    .addHelpText(
      'after',
      examples([
        'tessera generate dynamo --table app --out src/models.ts',
        'tessera generate dynamo --table orders --sample 100 --name Order',
      ]),
    )
    .action(action((context, options: Parameters<typeof generateDynamo>[1]) => generateDynamo(context, options)))

  const explain = program
    .command('explain')
    .description('explain a DynamoDB operation: index choice, expressions, capacity and cost')
    .addHelpText(
      'after',
      examples([
        'tessera explain dynamo --script ops/by-email.ts',
        `tessera explain dynamo --models src/models.ts "User.query().where({ id: '1' })" --analyze`,
      ]),
    )
  explain
    .command('dynamo')
    .description('explain the operation of a script (default export (db) => builder) or an inline expression over --models')
    .argument('[expression]', 'an operation over the models of --models, e.g. "User.query().where({ id: \'1\' })"')
    .option('--script <file>', 'a module whose default export is (db) => db.model(M).query()…, a builder, or an explanation')
    .option('--models <file>', 'a module whose exported models the expression names')
    .option('--analyze', 'run the operation and show the capacity DynamoDB reports')
    .option('--assume-items <n>', 'items a query or scan is assumed to read, for the estimate')
    .addHelpText(
      'after',
      examples([
        'tessera explain dynamo --script ops/by-email.ts',
        `tessera explain dynamo --models src/models.ts "User.query().where({ id: '1' })" --json`,
      ]),
    )
    .action(
      action((context, expression: string | undefined, options: Parameters<typeof explainDynamo>[2]) =>
        explainDynamo(context, expression, options),
      ),
    )

  program
    .command('health')
    .description(
      'check every configured PostgreSQL (latency, version, recovery), Redis (PING, version, role) and DynamoDB endpoint (ListTables)',
    )
    .option('--timeout <ms>', 'per check', '5000')
    .addHelpText(
      'after',
      `${examples(['tessera health', 'tessera health --json', 'TESSERA_PG_URL_REPLICA=postgres://replica/app tessera health'])}\nExit code 3 when one is down.\n`,
    )
    .action(action((context, options: Parameters<typeof healthCommand>[1]) => healthCommand(context, options)))

  try {
    if (argv.length === 0) {
      program.outputHelp()
      return EXIT_CODES.usage
    }
    await program.parseAsync([...argv], { from: 'user' })
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version end with 0; a usage mistake (already printed on one line) with 2.
      return error.exitCode === 0 ? EXIT_CODES.ok : EXIT_CODES.usage
    }
    return report(error, output, io, verbose)
  }
  return exitCode
}
