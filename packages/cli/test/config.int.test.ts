import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ownDatabase, runTessera, tempProject } from './helpers'

const MIGRATION = { 'migrations/001_t.sql': 'CREATE TABLE t (id int PRIMARY KEY);\n' }

describe('configuration', () => {
  it('finds tessera.config.ts from a subfolder upwards, typed with defineConfig', async () => {
    const url = await ownDatabase()
    const cwd = tempProject({
      'tessera.config.ts': `import { defineConfig } from '@tessera/cli'\nconst url: string = ${JSON.stringify(url)}\nexport default defineConfig({ postgres: { url }, migrations: { directory: 'migrations', table: 'schema_history' } })\n`,
      ...MIGRATION,
    })
    mkdirSync(join(cwd, 'src/deep'), { recursive: true })
    const run = await runTessera(['migrate', 'up', '--json'], { cwd: join(cwd, 'src/deep') })
    expect(run.stderr).toBe('')
    expect(JSON.parse(run.stdout)).toEqual({
      database: 'default',
      direction: 'up',
      migrations: [{ id: '001', name: 't', durationMs: expect.any(Number) }],
    })
    const status = await runTessera(['migrate', 'status', '--json'], { cwd })
    expect(JSON.parse(status.stdout)).toMatchObject({ table: 'schema_history' })
  })

  it('lets --config override the search and the environment override the file', async () => {
    const url = await ownDatabase()
    const other = await ownDatabase()
    const cwd = tempProject({
      'tessera.config.json': JSON.stringify({ postgres: 'postgres://nobody@127.0.0.1:1/none' }),
      'conf/alt.config.mjs': `export default { postgres: ${JSON.stringify(url)}, migrations: '../migrations' }\n`,
      ...MIGRATION,
    })
    const viaFlag = await runTessera(['migrate', 'status', '--json', '--config', 'conf/alt.config.mjs'], { cwd })
    expect(viaFlag.code).toBe(0)
    const viaEnv = await runTessera(['migrate', 'up', '--json'], {
      cwd,
      env: { TESSERA_CONFIG: 'conf/alt.config.mjs', TESSERA_PG_URL: other, TESSERA_MIGRATIONS_TABLE: 'from_env' },
    })
    expect(viaEnv.stderr).toBe('')
    const status = await runTessera(['migrate', 'status', '--json', '--url', other], {
      cwd,
      env: { TESSERA_CONFIG: 'conf/alt.config.mjs', TESSERA_MIGRATIONS_TABLE: 'from_env' },
    })
    expect(JSON.parse(status.stdout).migrations).toMatchObject([{ id: '001', status: 'applied' }])
    const untouched = await runTessera(['migrate', 'status', '--json', '--config', 'conf/alt.config.mjs'], { cwd })
    expect(JSON.parse(untouched.stdout).migrations).toMatchObject([{ id: '001', status: 'pending' }])
  })

  it('works from the environment alone, with no config file', async () => {
    const url = await ownDatabase()
    const cwd = tempProject({ 'db/001_t.sql': MIGRATION['migrations/001_t.sql'] })
    const run = await runTessera(['migrate', 'up'], { cwd, env: { TESSERA_PG_URL: url, TESSERA_MIGRATIONS_DIR: 'db' } })
    expect(run.code).toBe(0)
    expect(run.stdout).toContain('applied 1 migration')
  })

  it('reports every problem of a config at once, on one line, with exit code 2', async () => {
    const cwd = tempProject({
      'tessera.config.json': JSON.stringify({
        postgres: 'mysql://x',
        redis: { cache: 'http://x' },
        dynamo: { endpoint: 'nope' },
        extra: 1,
      }),
    })
    const run = await runTessera(['migrate', 'status'], { cwd })
    expect(run.code).toBe(2)
    const lines = run.stderr.trim().split('\n')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toContain('unknown setting "extra"')
    expect(lines[0]).toContain('postgres must be a postgres:// or postgresql:// connection string, got "mysql://x"')
    expect(lines[0]).toContain('redis cache must be a redis:// or rediss:// URL, got "http://x"')
    expect(lines[0]).toContain('dynamo.endpoint must be an http:// or https:// URL, got "nope"')
  })

  it('names a config file that fails to load, and a --config that does not exist', async () => {
    const cwd = tempProject({ 'tessera.config.ts': 'export default {\n' })
    const broken = await runTessera(['migrate', 'status'], { cwd })
    expect(broken.code).toBe(2)
    expect(broken.stderr).toMatch(new RegExp(`^error: cannot load config file ${join(cwd, 'tessera.config.ts').replace(/[.]/g, '\\.')}: `))
    expect(broken.stderr.trim().split('\n')).toHaveLength(1)
    const missing = await runTessera(['migrate', 'status', '--config', 'nope.ts'], { cwd })
    expect(missing.code).toBe(2)
    expect(missing.stderr.trim()).toBe(`error: config file ${join(cwd, 'nope.ts')} does not exist (given by --config or TESSERA_CONFIG)`)
  })
})

describe('the command line', () => {
  it('prints help with examples and the exit codes, and exits 0', async () => {
    const cwd = tempProject()
    const help = await runTessera(['--help'], { cwd })
    expect(help.code).toBe(0)
    expect(help.stdout).toContain('Examples:\n  $ tessera migrate status')
    expect(help.stdout).toContain('Exit codes:\n  0  done')
    for (const command of [
      ['migrate', 'up'],
      ['migrate', 'down'],
      ['migrate', 'status'],
      ['migrate', 'create'],
      ['diff'],
      ['generate', 'pg'],
      ['generate', 'dynamo'],
      ['explain', 'dynamo'],
      ['health'],
    ]) {
      const sub = await runTessera([...command, '--help'], { cwd })
      expect(sub.code, command.join(' ')).toBe(0)
      expect(sub.stdout, command.join(' ')).toContain(`Examples:\n  $ tessera ${command.join(' ')}`)
    }
  })

  it('refuses an unknown command or option with exit code 2 on one line', async () => {
    const cwd = tempProject()
    const unknown = await runTessera(['migrat'], { cwd })
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toMatch(/^error: unknown command 'migrat'/)
    const option = await runTessera(['migrate', 'up', '--bogus'], { cwd })
    expect(option.code).toBe(2)
    expect(option.stderr.split('\n')[0]).toBe("error: unknown option '--bogus'")
  })

  it('prints --version', async () => {
    const run = await runTessera(['--version'], { cwd: tempProject() })
    expect(run.code).toBe(0)
    expect(run.stdout).toMatch(/^\d+\.\d+\.\d+/)
  })
})
