import {
  type DynamoDbLocal,
  type DynamoDbLocalOptions,
  type LocalProcessSpawner,
  startDynamoDbLocal as startKit,
} from '../../packages/dynamo/src/testing'
import { spawnOwnedProcess } from './owned-process'

export type { DynamoDbLocal, DynamoDbLocalClientConfig, DynamoDbLocalOptions } from '../../packages/dynamo/src/testing'
export {
  answersListTables,
  DYNAMODB_LOCAL_CREDENTIALS,
  DYNAMODB_LOCAL_REGION,
  dynamoDbLocalClientConfig,
  dynamoDbLocalJar,
} from '../../packages/dynamo/src/testing'

/**
 * The DynamoDB Local of this test run, when one was started for the whole run (the dynamo package's global setup
 * sets it), or `TESSERA_DYNAMODB_URL` to point tests at one you started yourself (`http://127.0.0.1:PORT`).
 */
export const DYNAMODB_URL_ENV = 'TESSERA_DYNAMODB_URL'

/**
 * The dynamo package's test kit (`@tessera/dynamo/testing`, imported from its source so no build is needed), with the JVM started as an owned process: under
 * `setpriv --pdeathsig`, so the kernel stops it when the test process dies, even by SIGKILL.
 */
export function startDynamoDbLocal(options: DynamoDbLocalOptions = {}): Promise<DynamoDbLocal> {
  return startKit({ spawnProcess: ownedSpawner, ...options })
}

const ownedSpawner: LocalProcessSpawner = (command, args, logFile) => {
  // `exec` replaces the shell, so the owned pid is the JVM's and the parent-death signal reaches it.
  const line = [command, ...args].map(shellQuote).join(' ')
  const child = spawnOwnedProcess({ command: 'sh', args: ['-c', `exec ${line} >>${shellQuote(logFile)} 2>&1`] })
  return {
    get running() {
      return child.running
    },
    exited: child.exited.then(({ code, signal }) => ({ code, signal })),
    stop: () => child.stop({ graceMs: 3_000 }),
  }
}

function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`
}
