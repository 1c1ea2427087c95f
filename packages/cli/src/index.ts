export type { DynamoConfig, MigrationsConfig, PostgresConfig, TesseraConfig } from './define-config'
export { defineConfig } from './define-config'
export type { ExitCode } from './exit-codes'
export { EXIT_CODES } from './exit-codes'
