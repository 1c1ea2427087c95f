import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { admin, ownDatabase, runTessera, tempProject } from './helpers'

const ENTITIES = `import { defineEntity, enumOf, integer, text, timestamptz, uuid } from '@tessera/schema'
export const User = defineEntity('User', {
  id: uuid().primaryKey().generated('uuidv4'),
  email: text().unique(),
  role: enumOf(['admin', 'member'] as const, { native: 'user_role' }).default('member'),
  createdAt: timestamptz().createdAt(),
})
export const Post = defineEntity('Post', {
  id: integer().primaryKey().generated('identity'),
  authorId: uuid().references(() => User.fields.id, { onDelete: 'cascade' }),
  title: text(),
})
`

function project(url: string, entities = ENTITIES) {
  return tempProject({
    'tessera.config.mjs': `export default { postgres: ${JSON.stringify(url)}, entities: './src/entities.ts' }\n`,
    'src/entities.ts': entities,
  })
}

describe('tessera diff', () => {
  it('writes the difference as a migration that migrate up applies, after which the database matches', async () => {
    const url = await ownDatabase('cli_diff')
    const cwd = project(url)
    const diff = await runTessera(['diff', '--name', 'initial schema'], { cwd })
    expect(diff.stderr).toBe('')
    expect(diff.code).toBe(0)
    expect(diff.stdout).toMatch(/create table public\.users/)
    const files = readdirSync(join(cwd, 'migrations'))
    expect(files).toHaveLength(1)
    expect(files[0]).toMatch(/^\d{14}_initial_schema\.sql$/)
    const text = readFileSync(join(cwd, 'migrations', files[0] as string), 'utf8')
    expect(text).toContain('-- tessera:up\n')
    expect(text).toContain('CREATE TABLE "public"."users"')

    const up = await runTessera(['migrate', 'up'], { cwd })
    expect(up.code).toBe(0)
    const again = await runTessera(['diff'], { cwd })
    expect(again.stdout).toBe('the database matches the entities\n')
    expect(readdirSync(join(cwd, 'migrations'))).toHaveLength(1)
  })

  it('holds destructive steps back unless --allow-destructive, and --check exits 3 while anything differs', async () => {
    const url = await ownDatabase('cli_diff')
    const cwd = project(url)
    await runTessera(['diff'], { cwd })
    await runTessera(['migrate', 'up'], { cwd })
    await admin((client) => client.query('ALTER TABLE posts ADD COLUMN legacy text'), url)

    const check = await runTessera(['diff', '--check', '--json'], { cwd })
    expect(check.code).toBe(3)
    expect(JSON.parse(check.stdout)).toMatchObject({ changes: [], skipped: [{ kind: 'dropColumn', destructive: true }], files: [] })

    const held = await runTessera(['diff'], { cwd })
    expect(held.code).toBe(0)
    expect(held.stdout).toContain('the database matches the entities')
    expect(held.stdout).toContain(
      'held back 1 destructive change (pass --allow-destructive to include them):\n  - drop column public.posts.legacy',
    )
    expect(readdirSync(join(cwd, 'migrations'))).toHaveLength(1)

    const dry = await runTessera(['diff', '--allow-destructive', '--dry-run'], { cwd })
    expect(dry.stdout).toContain('-- DESTRUCTIVE: drop column public.posts.legacy\nALTER TABLE "public"."posts" DROP COLUMN "legacy";')
    expect(readdirSync(join(cwd, 'migrations'))).toHaveLength(1)

    const destructive = await runTessera(['diff', '--allow-destructive', '--name', 'drop legacy'], { cwd })
    expect(destructive.code).toBe(0)
    expect(readdirSync(join(cwd, 'migrations')).some((file) => file.endsWith('_drop_legacy.sql'))).toBe(true)
    await runTessera(['migrate', 'up'], { cwd })
    expect((await runTessera(['diff', '--check'], { cwd })).code).toBe(0)
  })

  it('writes new enum values as a migration of their own before the one that uses them', async () => {
    const url = await ownDatabase('cli_diff')
    const cwd = project(url)
    await runTessera(['diff'], { cwd })
    await runTessera(['migrate', 'up'], { cwd })
    writeFileSync(
      join(cwd, 'src/entities.ts'),
      ENTITIES.replace(
        "enumOf(['admin', 'member'] as const, { native: 'user_role' }).default('member')",
        "enumOf(['admin', 'member', 'guest'] as const, { native: 'user_role' }).default('guest')",
      ),
    )
    const run = await runTessera(['diff', '--name', 'guests'], { cwd })
    expect(run.code).toBe(0)
    const files = readdirSync(join(cwd, 'migrations')).sort()
    expect(files.slice(1).map((file) => file.replace(/^\d+_/, ''))).toEqual(['guests_enum_values.sql', 'guests.sql'])
    const up = await runTessera(['migrate', 'up'], { cwd })
    expect(up.stderr).toBe('')
    expect(up.code).toBe(0)
    expect((await runTessera(['diff', '--check'], { cwd })).code).toBe(0)
  })

  it('renames with --rename instead of dropping, and refuses a malformed hint', async () => {
    const url = await ownDatabase('cli_diff')
    const cwd = project(url)
    await runTessera(['diff'], { cwd })
    await runTessera(['migrate', 'up'], { cwd })
    writeFileSync(join(cwd, 'src/entities.ts'), ENTITIES.replace('title: text()', 'headline: text()'))
    const renamed = await runTessera(['diff', '--rename', 'posts.title=posts.headline', '--dry-run'], { cwd })
    expect(renamed.stdout).toContain('ALTER TABLE "public"."posts" RENAME COLUMN "title" TO "headline";')
    const bad = await runTessera(['diff', '--rename', 'posts.title'], { cwd })
    expect(bad.code).toBe(2)
    expect(bad.stderr.trim()).toBe('error: --rename takes old=new (tasks.title=tasks.name, or todo_items=tasks), got "posts.title"')
  })

  it('says where to configure entities when there are none, and names a module without entities', async () => {
    const url = await ownDatabase('cli_diff')
    const cwd = tempProject({ 'tessera.config.json': JSON.stringify({ postgres: url }), 'empty.ts': 'export const x = 1\n' })
    const none = await runTessera(['diff'], { cwd })
    expect(none.code).toBe(2)
    expect(none.stderr.trim()).toBe(
      'error: no entities configured: set `entities` in tessera.config.ts (entities or module paths), TESSERA_ENTITIES, or pass --entities <path>',
    )
    const empty = await runTessera(['diff', '--entities', 'empty.ts'], { cwd })
    expect(empty.code).toBe(2)
    expect(empty.stderr.trim()).toBe(`error: ${join(cwd, 'empty.ts')} exports no entity (export const User = defineEntity(…))`)
  })
})
