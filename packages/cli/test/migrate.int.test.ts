import { spawn } from 'node:child_process'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { migrationLockKey } from '@tessera/schema'
import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { cliLockKey } from '../src/migration-lock'
import { admin, BIN, cleanEnv, ownDatabase, runTessera, tempProject } from './helpers'

const USERS = '-- tessera:up\nCREATE TABLE users (id int PRIMARY KEY, email text NOT NULL);\n\n-- tessera:down\nDROP TABLE users;\n'
const POSTS =
  '-- tessera:up\nCREATE TABLE posts (id int PRIMARY KEY, user_id int REFERENCES users (id));\n-- tessera:down\nDROP TABLE posts;\n'
const TAGS = 'CREATE TABLE tags (id int PRIMARY KEY);\n-- tessera:down\nDROP TABLE tags;\n'

async function project(
  url: string,
  migrations: Record<string, string> = { '001_users.sql': USERS, '002_posts.sql': POSTS, '003_tags.sql': TAGS },
) {
  const files: Record<string, string> = {
    'tessera.config.ts': `import { defineConfig } from '@tessera/cli'\nexport default defineConfig({ postgres: ${JSON.stringify(url)}, migrations: 'db/migrations' })\n`,
  }
  for (const [name, text] of Object.entries(migrations)) files[`db/migrations/${name}`] = text
  return tempProject(files)
}

async function tables(url: string): Promise<string[]> {
  return admin(async (client) => {
    const { rows } = await client.query<{ name: string }>(`SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`)
    return rows.map((row) => row.name)
  }, url)
}

describe('tessera migrate', () => {
  it('shows pending migrations, applies them in order, and shows them applied', async () => {
    const url = await ownDatabase()
    const cwd = await project(url)
    const before = await runTessera(['migrate', 'status'], { cwd })
    expect(before.code).toBe(0)
    expect(before.stdout).toMatch(/001\s*│\s*users\s*│\s*pending/)
    expect(before.stdout).toContain('0 applied, 3 pending')

    const up = await runTessera(['migrate', 'up'], { cwd })
    expect(up.stderr).toBe('')
    expect(up.code).toBe(0)
    expect(up.stdout).toMatch(/applied 001 users .*\n.*applied 002 posts .*\n.*applied 003 tags/)
    expect(up.stdout).toContain('applied 3 migrations')
    expect(await tables(url)).toEqual(['posts', 'tags', 'tessera_migrations', 'users'])

    const status = await runTessera(['migrate', 'status', '--json'], { cwd })
    const json = JSON.parse(status.stdout)
    expect(json.migrations.map((m: { id: string; status: string }) => `${m.id}:${m.status}`)).toEqual([
      '001:applied',
      '002:applied',
      '003:applied',
    ])

    const again = await runTessera(['migrate', 'up'], { cwd })
    expect(again.stdout).toContain('nothing to apply')
  })

  it('applies up to --to, reverts the latest, down to --to, and --all', async () => {
    const url = await ownDatabase()
    const cwd = await project(url)
    expect((await runTessera(['migrate', 'up', '--to', '002'], { cwd })).code).toBe(0)
    expect(await tables(url)).toEqual(['posts', 'tessera_migrations', 'users'])
    const check = await runTessera(['migrate', 'status', '--check'], { cwd })
    expect(check.code).toBe(3)

    const down = await runTessera(['migrate', 'down', '--json'], { cwd })
    expect(down.code).toBe(0)
    expect(JSON.parse(down.stdout)).toMatchObject({ direction: 'down', migrations: [{ id: '002', name: 'posts' }] })
    expect(await tables(url)).toEqual(['tessera_migrations', 'users'])

    await runTessera(['migrate', 'up'], { cwd })
    expect((await runTessera(['migrate', 'down', '--to', '001'], { cwd })).code).toBe(0)
    expect(await tables(url)).toEqual(['tessera_migrations', 'users'])
    expect((await runTessera(['migrate', 'down', '--all'], { cwd })).code).toBe(0)
    expect(await tables(url)).toEqual(['tessera_migrations'])
    expect((await runTessera(['migrate', 'status', '--check'], { cwd })).code).toBe(3)
  })

  it('creates numbered migration files that the next run applies, and runs TypeScript migrations', async () => {
    const url = await ownDatabase()
    const cwd = await project(url, {})
    const created = await runTessera(['migrate', 'create', 'Add', 'users', 'table', '--json'], { cwd })
    expect(created.code).toBe(0)
    const { file } = JSON.parse(created.stdout) as { file: string }
    expect(file).toMatch(/db\/migrations\/\d{14}_add_users_table\.sql$/)
    expect(readFileSync(file, 'utf8')).toContain('-- tessera:down')
    writeFileSync(file, USERS)
    const id = /(\d{14})_/.exec(file)?.[1] as string
    writeFileSync(
      join(cwd, 'db/migrations', `${BigInt(id) + 1n}_seed.ts`),
      `import type { Transaction } from '@tessera/core'\nexport async function up(tx: Transaction): Promise<void> { await tx.query("INSERT INTO users VALUES (1, 'ann@example.com')") }\nexport async function down(tx: Transaction): Promise<void> { await tx.query('DELETE FROM users') }\n`,
    )
    const up = await runTessera(['migrate', 'up'], { cwd })
    expect(up.stderr).toBe('')
    expect(up.stdout).toContain('applied 2 migrations')
    expect(await admin(async (client) => (await client.query('SELECT email FROM users')).rows, url)).toEqual([{ email: 'ann@example.com' }])
    const second = await runTessera(['migrate', 'create', 'next'], { cwd })
    const last = readdirSync(join(cwd, 'db/migrations')).sort().at(-1) as string
    expect(last).toMatch(/^\d{14}_next\.sql$/)
    expect(BigInt(last.slice(0, 14)) > BigInt(id) + 1n).toBe(true)
    expect(second.code).toBe(0)
  })

  it('reports a failing migration on one line with exit code 1, keeping the ones before it', async () => {
    const url = await ownDatabase()
    const cwd = await project(url, { '001_users.sql': USERS, '002_broken.sql': 'CREATE TABLE broken (id int REFERENCES nowhere (id));\n' })
    const run = await runTessera(['migrate', 'up'], { cwd })
    expect(run.code).toBe(1)
    const lines = run.stderr.trim().split('\n')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(
      /^error: migration 002 \(broken\) failed going up: relation "nowhere" does not exist; its transaction was rolled back$/,
    )
    expect(await tables(url)).toEqual(['tessera_migrations', 'users'])

    const verbose = await runTessera(['migrate', 'up', '--verbose'], { cwd })
    expect(verbose.code).toBe(1)
    expect(verbose.stderr).toContain('MigrationFailedError')
    expect(verbose.stderr).toMatch(/\n\s+at /)
  })

  it('refuses to run when an applied migration was edited, with exit code 2', async () => {
    const url = await ownDatabase()
    const cwd = await project(url)
    await runTessera(['migrate', 'up'], { cwd })
    writeFileSync(join(cwd, 'db/migrations/001_users.sql'), USERS.replace('email text', 'email varchar(10)'))
    const status = await runTessera(['migrate', 'status'], { cwd })
    expect(status.stdout).toMatch(/001\s*│\s*users\s*│\s*changed/)
    const up = await runTessera(['migrate', 'up'], { cwd })
    expect(up.code).toBe(2)
    expect(up.stderr).toMatch(/^error: .*001.*checksum/m)
  })

  it('exits with code 4 naming the holder when another tessera process holds the migration lock, and waits with --lock-timeout', async () => {
    const url = await ownDatabase()
    const cwd = await project(url)
    const holder = new pg.Client({ connectionString: url, application_name: 'other-deploy' })
    await holder.connect()
    try {
      const key = cliLockKey(migrationLockKey({}))
      await holder.query('SELECT pg_advisory_lock($1::bigint)', [key])
      const { rows } = await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')
      const run = await runTessera(['migrate', 'up'], { cwd })
      expect(run.code).toBe(4)
      expect(run.stderr.trim()).toMatch(
        new RegExp(
          `^error: another process is migrating \\(pid ${rows[0]?.pid} "other-deploy" .*holds the migration lock of tessera_migrations\\); waited \\d+ ms`,
        ),
      )
      expect(await tables(url)).toEqual([])

      // Released while the second run waits: it goes ahead.
      const waiting = runTessera(['migrate', 'up', '--lock-timeout', '60000'], { cwd })
      await waitFor(
        async () =>
          (await admin((c) => c.query(`SELECT 1 FROM pg_stat_activity WHERE application_name = 'tessera-cli'`), url)).rows.length > 0,
      )
      await holder.query('SELECT pg_advisory_unlock($1::bigint)', [key])
      const done = await waiting
      expect(done.code).toBe(0)
      expect(done.stdout).toContain('applied 3 migrations')
    } finally {
      await holder.end()
    }
  })

  it("exits with code 4 while an application's migrator holds the migrator's own lock", async () => {
    const url = await ownDatabase()
    const cwd = await project(url)
    const holder = new pg.Client({ connectionString: url, application_name: 'app-startup' })
    await holder.connect()
    try {
      await holder.query('BEGIN')
      await holder.query('SELECT pg_advisory_xact_lock($1::bigint)', [migrationLockKey({})])
      const run = await runTessera(['migrate', 'up', '--lock-timeout', '300'], { cwd })
      expect(run.code).toBe(4)
      expect(run.stderr).toContain('"app-startup"')
      await holder.query('COMMIT')
      expect((await runTessera(['migrate', 'up'], { cwd })).code).toBe(0)
    } finally {
      await holder.end()
    }
  })

  it('stops after the migration in progress on Ctrl-C, with exit code 1, and goes on when run again', async () => {
    const url = await ownDatabase()
    const slow: Record<string, string> = {}
    for (let i = 1; i <= 4; i++) slow[`00${i}_slow${i}.sql`] = `SELECT pg_sleep(1);\nCREATE TABLE slow${i} (id int);\n`
    const cwd = await project(url, slow)
    const child = spawn(process.execPath, [BIN, 'migrate', 'up'], { cwd, env: { ...cleanEnv(), TESSERA_PG_URL: url } })
    let stdout = ''
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString()
    })
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    await waitFor(async () => stdout.includes('applied 001 slow1'))
    child.kill('SIGINT')
    expect(await exited).toBe(1)
    expect(stdout).toMatch(/interrupted: applied [12] migrations? before Ctrl-C; run it again to go on/)
    const applied = await admin(async (client) => (await client.query('SELECT count(*)::int AS n FROM tessera_migrations')).rows[0].n, url)
    expect(applied).toBeLessThan(4)
    expect(await tables(url)).toHaveLength(applied + 1)
    const rest = await runTessera(['migrate', 'up'], { cwd })
    expect(rest.code).toBe(0)
    expect(await tables(url)).toHaveLength(5)
  })

  it('stops waiting for the lock on Ctrl-C, running nothing', async () => {
    const url = await ownDatabase()
    const cwd = await project(url)
    const holder = new pg.Client({ connectionString: url })
    await holder.connect()
    try {
      await holder.query('SELECT pg_advisory_lock($1::bigint)', [cliLockKey(migrationLockKey({}))])
      const child = spawn(process.execPath, [BIN, 'migrate', 'up', '--lock-timeout', '600000'], { cwd, env: cleanEnv() })
      let stderr = ''
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString()
      })
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
      await waitFor(
        async () =>
          (await admin((c) => c.query(`SELECT 1 FROM pg_stat_activity WHERE application_name = 'tessera-cli'`), url)).rows.length > 0,
      )
      child.kill('SIGINT')
      expect(await exited).toBe(1)
      expect(stderr.trim()).toMatch(
        /^error: interrupted \(Ctrl-C\) after waiting \d+ ms for the migration lock of tessera_migrations; nothing was run$/,
      )
      expect(await tables(url)).toEqual([])
    } finally {
      await holder.end()
    }
  })

  it('reverts nothing when a migration to revert has no down step', async () => {
    const url = await ownDatabase()
    const cwd = await project(url, {
      '001_users.sql': USERS,
      '002_seed.sql': 'INSERT INTO users VALUES (1, $$a$$);\n',
      '003_tags.sql': TAGS,
    })
    await runTessera(['migrate', 'up'], { cwd })
    const down = await runTessera(['migrate', 'down', '--all'], { cwd })
    expect(down.code).toBe(2)
    expect(down.stderr).toContain('002 (seed) has no down step')
    expect(await tables(url)).toEqual(['tags', 'tessera_migrations', 'users'])
  })

  it('refuses bad input before connecting: an unknown --to, a bad --lock-timeout, no database', async () => {
    const cwd = await project('postgres://postgres@127.0.0.1:1/none')
    const to = await runTessera(['migrate', 'up', '--to', '999'], { cwd })
    expect(to.code).toBe(2)
    expect(to.stderr.trim()).toBe(`error: --to 999 names no migration of ${join(cwd, 'db/migrations')}`)
    const timeout = await runTessera(['migrate', 'up', '--lock-timeout', 'soon'], { cwd })
    expect(timeout.code).toBe(2)
    expect(timeout.stderr).toContain('--lock-timeout must be a whole number of milliseconds')
    const bare = tempProject()
    const none = await runTessera(['migrate', 'status'], { cwd: bare })
    expect(none.code).toBe(2)
    expect(none.stderr.trim()).toBe(
      'error: no PostgreSQL database configured: set TESSERA_PG_URL, `postgres` in tessera.config.ts, or pass --url',
    )
  })

  it('reports an unreachable database on one line with exit code 1', async () => {
    const cwd = await project('postgres://postgres@127.0.0.1:1/none')
    const run = await runTessera(['migrate', 'status'], { cwd })
    expect(run.code).toBe(1)
    expect(run.stderr.trim().split('\n')).toHaveLength(1)
    expect(run.stderr).toMatch(/^error: .*(ECONNREFUSED|connect)/)
  })
})

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
