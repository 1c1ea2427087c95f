import { sql } from '@tessera/core'
import { createPgProvider } from '@tessera/provider-pg'
import fc from 'fast-check'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PG_URL, uniqueName } from '../../../tooling/test-services/env'
import {
  applyGenerated,
  array,
  bigint,
  boolean,
  bytea,
  createSchemaSql,
  date,
  defineEntity,
  entityMeta,
  enumOf,
  integer,
  json,
  mapRow,
  numeric,
  renderLiteral,
  text,
  timestamptz,
  toParams,
  uuid,
  varchar,
  vector,
} from '../src/index'

const schema = uniqueName('schema_ddl')
const client = new pg.Client({ connectionString: PG_URL })

const Team = defineEntity('Team', { id: uuid().primaryKey().generated('uuidv4'), name: text().unique() }, { schema })
const Player = defineEntity(
  'Player',
  {
    id: bigint().primaryKey().generated('identity'),
    teamId: uuid().references(() => Team.fields.id, { onDelete: 'cascade' }),
    handle: varchar(32),
    position: enumOf(['keeper', "o'clock"] as const).default("o'clock"),
    rating: numeric(5, 2)
      .default('1.50')
      .check((c) => sql`${c} >= ${0}`),
    active: boolean().default(true),
    born: date().nullable(),
    tags: array(text()).default(['a', 'b "c"']),
    stats: json<{ goals: number }>().default({ goals: 0 }),
    avatar: bytea().nullable(),
    createdAt: timestamptz().createdAt(),
    version: integer().version(),
  },
  { schema, unique: [['teamId', 'handle']], indexes: [{ fields: ['handle'], where: sql`${sql.id('active')} = ${true}` }] },
)

beforeAll(async () => {
  await client.connect()
  for (const statement of createSchemaSql([Player, Team])) await client.query(statement)
})

afterAll(async () => {
  await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
  await client.end()
})

describe('DDL on a real server', () => {
  it('creates the columns with the declared types, nullability and defaults', async () => {
    const { rows } = await client.query(
      `SELECT column_name, data_type, udt_name, is_nullable, column_default, character_maximum_length, is_identity
         FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'players' ORDER BY ordinal_position`,
      [schema],
    )
    expect(rows.map((r) => [r.column_name, r.data_type, r.is_nullable])).toEqual([
      ['id', 'bigint', 'NO'],
      ['team_id', 'uuid', 'NO'],
      ['handle', 'character varying', 'NO'],
      ['position', 'text', 'NO'],
      ['rating', 'numeric', 'NO'],
      ['active', 'boolean', 'NO'],
      ['born', 'date', 'YES'],
      ['tags', 'ARRAY', 'NO'],
      ['stats', 'jsonb', 'NO'],
      ['avatar', 'bytea', 'YES'],
      ['created_at', 'timestamp with time zone', 'NO'],
      ['version', 'integer', 'NO'],
    ])
    const byName = Object.fromEntries(rows.map((r) => [r.column_name, r]))
    expect(byName.id.is_identity).toBe('YES')
    expect(byName.handle.character_maximum_length).toBe(32)
    expect(byName.tags.udt_name).toBe('_text')
    expect(byName.position.column_default).toBe(`'o''clock'::text`)
    expect(byName.created_at.column_default).toBe('now()')
    // The rest of the mapping is consistent with entityMeta's own reading of the types.
    expect(entityMeta(Player).fields.map((f) => f.columnName)).toEqual(rows.map((r) => r.column_name))
  })

  it('creates named primary key, unique, check and foreign key constraints', async () => {
    const { rows } = await client.query(
      `SELECT conname, contype, pg_get_constraintdef(oid) AS def FROM pg_constraint
        WHERE conrelid = $1::regclass ORDER BY conname`,
      [`"${schema}"."players"`],
    )
    expect(rows.map((r) => [r.conname, r.contype, r.def])).toEqual([
      ['players_pkey', 'p', 'PRIMARY KEY (id)'],
      ['players_position_enum', 'c', `CHECK (("position" = ANY (ARRAY['keeper'::text, 'o''clock'::text])))`],
      ['players_rating_check', 'c', 'CHECK ((rating >= (0)::numeric))'],
      ['players_team_id_fkey', 'f', `FOREIGN KEY (team_id) REFERENCES ${schema}.teams(id) ON DELETE CASCADE`],
      ['players_team_id_handle_key', 'u', 'UNIQUE (team_id, handle)'],
    ])
  })

  it('creates the indexes', async () => {
    const { rows } = await client.query(
      `SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = 'players' ORDER BY indexname`,
      [schema],
    )
    expect(rows.map((r) => r.indexname)).toEqual(['players_handle_idx', 'players_pkey', 'players_team_id_handle_key'])
    expect(rows[0].indexdef).toMatch(/USING btree \(handle\) WHERE \(active = true\)/)
  })

  it('is idempotent: running the statements again changes nothing', async () => {
    for (const statement of createSchemaSql([Team, Player]).filter((s) => !s.startsWith('ALTER'))) await client.query(statement)
  })

  it('applies the database defaults and enforces the constraints', async () => {
    const team = await client.query(`INSERT INTO "${schema}"."teams" (name) VALUES ('reds') RETURNING id`)
    const { rows } = await client.query(`INSERT INTO "${schema}"."players" (team_id, handle) VALUES ($1, 'ann') RETURNING *`, [
      team.rows[0].id,
    ])
    expect(rows[0]).toMatchObject({
      position: "o'clock",
      rating: '1.50',
      active: true,
      tags: ['a', 'b "c"'],
      stats: { goals: 0 },
      version: 1,
    })
    await expect(
      client.query(`INSERT INTO "${schema}"."players" (team_id, handle, position) VALUES ($1, 'bob', 'striker')`, [team.rows[0].id]),
    ).rejects.toThrow(/players_position_enum/)
    await expect(
      client.query(`INSERT INTO "${schema}"."players" (team_id, handle, rating) VALUES ($1, 'cy', -1)`, [team.rows[0].id]),
    ).rejects.toThrow(/players_rating_check/)
    await client.query(`DELETE FROM "${schema}"."teams"`)
    expect((await client.query(`SELECT count(*)::int AS n FROM "${schema}"."players"`)).rows[0].n).toBe(0)
  })
})

describe('literals on a real server', () => {
  it('reads back any string, number and JSON rendered by renderLiteral (property test)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ unit: 'grapheme' }).filter((s) => !s.includes('\0')),
          fc.string().filter((s) => !s.includes('\0')),
          fc.integer(),
          fc.double({ noNaN: true, noDefaultInfinity: true }),
        ),
        async (value) => {
          const { rows } = await client.query(`SELECT (${renderLiteral(value)})::text AS v`)
          // Numbers come back as numeric text (5e-324 → 0.000…5): compare their values.
          if (typeof value === 'number') expect(Number(rows[0].v) === value).toBe(true)
          else expect(rows[0].v).toBe(value)
        },
      ),
      { numRuns: 300 },
    )
    const doc = { quote: "it's", slash: '\\', unicode: 'ü\u2028', nested: [1, { a: null }] }
    const { rows } = await client.query(`SELECT ${renderLiteral(doc)} AS v`)
    expect(rows[0].v).toEqual(doc)
  })
})

describe('round trip through a Tessera provider', () => {
  it('writes with toParams and reads back with mapRow to the same values', async () => {
    const db = createPgProvider({ connectionString: PG_URL })
    try {
      const team = applyGenerated(Team, { name: 'blues' }) as { id: string; name: string }
      await db.query(sql`INSERT INTO ${sql.id([schema, 'teams'])} (id, name) VALUES (${sql.join(toParams(Team)(team))})`)
      const player = applyGenerated(Player, {
        teamId: team.id,
        handle: 'dee',
        born: '2001-02-03',
        avatar: Buffer.from([0, 1, 255]),
        stats: { goals: 3 },
        tags: ['x', 'y,z'],
      })
      const fields = [
        'teamId',
        'handle',
        'position',
        'rating',
        'active',
        'born',
        'tags',
        'stats',
        'avatar',
        'createdAt',
        'version',
      ] as const
      const columns = fields.map((f) => sql.id(entityMeta(Player).byField.get(f)?.columnName as string))
      const { rows } = await db.query(
        sql`INSERT INTO ${sql.id([schema, 'players'])} (${sql.join(columns)}) VALUES (${sql.join(toParams(Player, [...fields])(player))}) RETURNING *`,
      )
      const read = mapRow(Player)(rows[0] as Record<string, unknown>)
      expect(read).toEqual({ ...player, id: expect.any(BigInt) })
      expect(typeof read.id).toBe('bigint')
    } finally {
      await db.close()
    }
  })
})

// Decided before the suite runs, so the skip reason shows up in the report.
const vectorAvailable = await (async () => {
  const probe = new pg.Client({ connectionString: PG_URL })
  await probe.connect()
  try {
    return ((await probe.query("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")).rowCount ?? 0) > 0
  } finally {
    await probe.end()
  }
})()

describe.skipIf(!vectorAvailable)('vector DDL (skipped: the pgvector extension is not available on this server)', () => {
  const Doc = defineEntity('Doc', { id: integer().primaryKey(), embedding: vector(3).index({ using: 'hnsw' }) }, { schema: `${schema}_v` })

  it('creates a vector column and an hnsw index with cosine ops', async () => {
    const db = new pg.Client({ connectionString: PG_URL })
    await db.connect()
    try {
      for (const statement of createSchemaSql([Doc])) await db.query(statement)
      const { rows } = await db.query(`SELECT indexdef FROM pg_indexes WHERE schemaname = $1`, [`${schema}_v`])
      expect(rows.map((r) => r.indexdef).join('\n')).toMatch(/USING hnsw \(embedding vector_cosine_ops\)/)
      const col = await db.query(
        `SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute WHERE attrelid = $1::regclass AND attname = 'embedding'`,
        [`"${schema}_v"."docs"`],
      )
      expect(col.rows[0].t).toBe('vector(3)')
    } finally {
      await db.query(`DROP SCHEMA IF EXISTS "${schema}_v" CASCADE`)
      await db.end()
    }
  })
})
