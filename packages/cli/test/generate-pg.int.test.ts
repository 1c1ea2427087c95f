import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { admin, ownDatabase, runTessera, tempProject } from './helpers'
import { typeCheck } from './type-check'

const shop = readFileSync(fileURLToPath(new URL('./fixtures/shop.sql', import.meta.url)), 'utf8')

describe('tessera generate pg', () => {
  it('writes entities that compile under tsc --strict and whose diff against the same database is empty', async () => {
    const url = await ownDatabase('cli_gen')
    await admin((client) => client.query(shop), url)
    const cwd = tempProject()
    const run = await runTessera(['generate', 'pg', '--url', url, '--schema', 'public', '--out', 'src/entities.ts'], { cwd })
    expect(run.code).toBe(0)
    expect(run.stdout).toBe(`wrote 5 entities to ${join(cwd, 'src/entities.ts')}\n`)
    // What it cannot express is said, on stderr and in the file.
    expect(run.stderr).toContain('note: table audit_log has no primary key')
    const code = readFileSync(join(cwd, 'src/entities.ts'), 'utf8')
    expect(code).toContain("export const Customer = defineEntity(\n  'Customer',")
    expect(code).toContain("mood: enumOf(['happy', 'sad'] as const, { native: 'Mood' }).nullable(),")
    expect(code).toContain("status: enumOf(['pending', 'paid', 'shipped', 'cancelled'] as const, { native: 'order_status' })")
    expect(code).toContain(`tags: array(text()).default(sql.raw("'{}'::text[]")),`)
    expect(code).toContain('email: varchar(320).unique(),')
    expect(code).toContain("id: bigint().primaryKey().generated('identity'),")
    expect(code).toContain("orderId: integer().references((): AnyField => Order.fields.id, { onDelete: 'cascade' }),")
    expect(code).toContain(
      "productId: bigint().references((): AnyField => Product.fields.id, { deferrable: 'deferred', name: 'order_items_product_fk' }),",
    )
    expect(code).toContain("primaryKey: ['orderId', 'lineNo']")
    expect(code).toContain("unique: [['vendorCode', 'sku']]")
    expect(code).toContain("{ fields: ['tags'], name: 'customers_tags_idx', using: 'gin' }")
    expect(code).toContain("{ fields: ['name'], name: 'products_name_active_key', unique: true, where: sql.raw('is_active') }")
    expect(code).toContain('search: tsvector().nullable().generatedAs(sql.raw("to_tsvector(\'english\'::regconfig, name)")),')
    expect(code).toContain(
      "references: (): AnyEntity => OrderItem, targetFields: ['orderId', 'lineNo'], name: 'shipments_order_id_line_no_fkey', onUpdate: 'cascade'",
    )

    const compiled = await typeCheck(cwd, ['src/entities.ts'])
    expect(compiled.output).toBe('')
    expect(compiled.code).toBe(0)

    const diff = await runTessera(['diff', '--url', url, '--entities', 'src/entities.ts', '--check', '--json'], { cwd })
    expect(diff.stderr).toBe('')
    expect(JSON.parse(diff.stdout)).toEqual({ database: 'url', changes: [], skipped: [], files: [] })
    expect(diff.code).toBe(0)

    // The round trip is a real comparison: a change to the database shows.
    await admin((client) => client.query('ALTER TABLE orders ADD COLUMN coupon text; CREATE INDEX products_sku_idx ON products (sku)'), url)
    const changed = await runTessera(['diff', '--url', url, '--entities', 'src/entities.ts', '--check', '--json'], { cwd })
    expect(changed.code).toBe(3)
    const { changes, skipped } = JSON.parse(changed.stdout) as { changes: { description: string }[]; skipped: { description: string }[] }
    expect([...changes, ...skipped].map((c) => c.description).sort()).toEqual([
      'drop column public.orders.coupon',
      'drop index products_sku_idx on public.products',
    ])
  })

  it('reads another schema, only the tables asked for, and prints to stdout without --out', async () => {
    const url = await ownDatabase('cli_gen')
    await admin(
      (client) =>
        client.query(`CREATE SCHEMA app;
          CREATE TABLE app.teams (id int PRIMARY KEY, name text NOT NULL);
          CREATE TABLE app.members (id int PRIMARY KEY, team_id int NOT NULL REFERENCES app.teams (id), "displayName" text);
          CREATE TABLE app.other (id int PRIMARY KEY)`),
      url,
    )
    const cwd = tempProject()
    const run = await runTessera(['generate', 'pg', '--url', url, '--schema', 'app', '--tables', 'teams,members'], { cwd })
    expect(run.code).toBe(0)
    expect(run.stdout).toContain("{ table: 'members', schema: 'app' }")
    expect(run.stdout).toContain("displayName: text().column('displayName').nullable(),")
    expect(run.stdout).not.toContain('Other')
    writeFileSync(join(cwd, 'entities.ts'), run.stdout)
    expect((await typeCheck(cwd, ['entities.ts'])).output).toBe('')
    const diff = await runTessera(['diff', '--url', url, '--entities', 'entities.ts', '--check'], { cwd })
    expect(diff.stdout).toBe('the database matches the entities\n')
    expect(diff.code).toBe(0)

    const missing = await runTessera(['generate', 'pg', '--url', url, '--schema', 'app', '--tables', 'nope'], { cwd })
    expect(missing.code).toBe(2)
    expect(missing.stderr.trim()).toBe('error: no table nope in schema app; it has: members, other, teams')
  })

  it('refuses to overwrite a file without --force', async () => {
    const url = await ownDatabase('cli_gen')
    await admin((client) => client.query('CREATE TABLE t (id int PRIMARY KEY)'), url)
    const cwd = tempProject({ 'entities.ts': '// mine\n' })
    const run = await runTessera(['generate', 'pg', '--url', url, '--out', 'entities.ts'], { cwd })
    expect(run.code).toBe(2)
    expect(run.stderr.trim()).toBe(`error: ${join(cwd, 'entities.ts')} exists: pass --force to overwrite it`)
    expect(readFileSync(join(cwd, 'entities.ts'), 'utf8')).toBe('// mine\n')
    expect((await runTessera(['generate', 'pg', '--url', url, '--out', 'entities.ts', '--force'], { cwd })).code).toBe(0)
  })
})
