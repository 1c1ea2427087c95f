import { ConfigError, sql } from '@tessera/core'
import { describe, expect, it } from 'vitest'
import {
  type AnyEntity,
  array,
  bigint,
  defineEntity,
  entityMeta,
  enumOf,
  integer,
  isEntity,
  json,
  numeric,
  text,
  timestamptz,
  uuid,
  varchar,
  vector,
} from '../src/index'

function problemsOf(fn: () => unknown): readonly string[] {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    return (error as ConfigError).problems
  }
  throw new Error('expected a ConfigError')
}

describe('defineEntity metadata', () => {
  const Author = defineEntity(
    'BlogAuthor',
    {
      id: uuid().primaryKey().generated('uuidv7'),
      emailAddress: varchar(320).unique(),
      displayName: text().nullable().index(),
      createdAt: timestamptz().createdAt(),
      updatedAt: timestamptz().updatedAt(),
      revision: integer().version(),
      legacy: text().column('LegacyName').nullable(),
    },
    { schema: 'app', unique: [['displayName', 'legacy']] },
  )

  it('names table and columns with the default naming preset', () => {
    const meta = entityMeta(Author)
    expect(meta.name).toBe('BlogAuthor')
    expect(meta.table).toBe('blog_authors')
    expect(meta.schema).toBe('app')
    expect(meta.qualifiedTable).toBe('"app"."blog_authors"')
    expect(meta.columnNames).toEqual(['id', 'email_address', 'display_name', 'created_at', 'updated_at', 'revision', 'LegacyName'])
    expect(meta.byColumn.get('email_address')?.fieldName).toBe('emailAddress')
    expect(meta.byField.get('legacy')?.quotedColumn).toBe('"LegacyName"')
  })

  it('records keys, roles, sql types and insert optionality', () => {
    const meta = entityMeta(Author)
    expect(meta.primaryKey?.fieldName).toBe('id')
    expect(meta.primaryKeys.map((f) => f.fieldName)).toEqual(['id'])
    expect(meta.versionField?.fieldName).toBe('revision')
    expect(meta.createdAtField?.fieldName).toBe('createdAt')
    expect(meta.updatedAtField?.fieldName).toBe('updatedAt')
    expect(meta.byField.get('emailAddress')).toMatchObject({
      sqlType: 'varchar(320)',
      unique: true,
      nullable: false,
      optionalOnInsert: false,
    })
    expect(meta.byField.get('emailAddress')?.constraints.maxLength).toBe(320)
    expect(meta.byField.get('id')).toMatchObject({ generated: 'uuidv7', optionalOnInsert: true, primaryKey: true })
    expect(meta.generatedFields.map((f) => f.fieldName)).toEqual(['id', 'createdAt', 'updatedAt', 'revision'])
  })

  it('collects uniques and indexes with PostgreSQL-style names', () => {
    const meta = entityMeta(Author)
    expect(meta.uniques).toEqual([
      { name: 'blog_authors_email_address_key', fields: ['emailAddress'], columns: ['email_address'] },
      { name: 'blog_authors_display_name_LegacyName_key', fields: ['displayName', 'legacy'], columns: ['display_name', 'LegacyName'] },
    ])
    expect(meta.indexes).toEqual([
      {
        name: 'blog_authors_display_name_idx',
        fields: ['displayName'],
        columns: ['display_name'],
        unique: false,
        using: 'btree',
        opclass: undefined,
        where: undefined,
      },
    ])
  })

  it('returns the same metadata object on every call (a property read)', () => {
    expect(entityMeta(Author)).toBe(entityMeta(Author))
    expect(isEntity(Author)).toBe(true)
    expect(isEntity({ name: 'x', fields: {} })).toBe(false)
  })

  it('gives every entity its own field objects, so a shared builder has one owner per entity', () => {
    const id = uuid().primaryKey()
    const A = defineEntity('SharedA', { id })
    const B = defineEntity('SharedB', { id })
    expect(A.fields.id).not.toBe(B.fields.id)
    const C = defineEntity('SharedC', { id: uuid().primaryKey(), a: uuid().references(() => A.fields.id) })
    expect(entityMeta(C).byField.get('a')?.references?.entityName).toBe('SharedA')
  })

  it('supports other naming presets and an explicit table', () => {
    const E = defineEntity('OrderItem', { itemId: integer().primaryKey(), unitPrice: numeric(10, 2) }, { naming: 'nosql' })
    expect(entityMeta(E).table).toBe('orderItems')
    expect(entityMeta(E).columnNames).toEqual(['itemId', 'unitPrice'])
    const F = defineEntity('OrderItem2', { id: integer().primaryKey() }, { table: 'legacy_items' })
    expect(entityMeta(F).qualifiedTable).toBe('"legacy_items"')
  })

  it('supports a composite primary key through options.primaryKey', () => {
    const Membership = defineEntity('Membership', { userId: uuid(), groupId: uuid(), role: text() }, { primaryKey: ['userId', 'groupId'] })
    const meta = entityMeta(Membership)
    expect(meta.primaryKey).toBeUndefined()
    expect(meta.primaryKeys.map((f) => f.columnName)).toEqual(['user_id', 'group_id'])
    expect(meta.byField.get('groupId')?.primaryKey).toBe(true)
  })

  it('binds column checks to the named column and adds enum membership checks', () => {
    const E = defineEntity('Priced', {
      id: integer().primaryKey(),
      unitPrice: integer().check((c) => sql`${c} >= ${0}`),
      status: enumOf(['draft', 'live'] as const),
    })
    const meta = entityMeta(E)
    expect(meta.byField.get('unitPrice')?.checks.map((c) => c.name)).toEqual(['priceds_unit_price_check'])
    expect(meta.byField.get('unitPrice')?.checks[0]?.expression.text).toBe('"unit_price" >= $1')
    expect(meta.byField.get('status')?.checks.map((c) => c.name)).toEqual(['priceds_status_enum'])
  })
})

describe('defineEntity errors', () => {
  it('lists every problem of a definition at once', () => {
    const problems = problemsOf(() =>
      defineEntity('Broken', {
        a: integer().primaryKey(),
        b: integer().primaryKey(),
        // @ts-expect-error a text field cannot be a version (checked at run time too)
        v: text().version(),
        c: varchar(0),
        d: vector(0),
        e: enumOf([] as unknown as ['x']),
        f: text().column('x'.repeat(64)),
        g: text().column('same'),
        h: text().column('same'),
        i: text().min(3),
        j: integer().generated('ulid'),
        k: timestamptz().nullable().primaryKey(),
        l: 'not a field' as never,
        m: text().references(() => 1 as never, { onDelete: 'set null' }),
      }),
    )
    expect(problems.join('\n')).toMatchInlineSnapshot(`
      "field v: a version field must be integer or bigint, not text
      field c: varchar length 0 must be an integer from 1 to 10485760
      field d: vector dimensions 0 must be an integer from 1 to 16000
      field e: an enum needs at least one value
      field f: the column name "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" cannot be a PostgreSQL identifier: identifier "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" is 64 bytes in UTF-8, which PostgreSQL would silently truncate to 63; accepted: a non-empty string of at most 63 bytes in UTF-8, without NUL characters
      field i: .min()/.max() apply to integer, bigint, numeric, date, timestamptz, smallint, real, doublePrecision, timestamp fields, not text
      field j: generated('ulid') needs a text field, not integer
      field k: a primary key cannot be nullable
      field l is "not a field", not a field builder such as text() or integer()
      field m: 'set null' needs a nullable field
      fields g and h both map to column "same"; rename one with .column(name)
      fields a and b and k are both marked .primaryKey(); for a composite key use options.primaryKey: ['a', 'b', 'k']"
    `)
  })

  it('refuses an entity without a primary key', () => {
    expect(problemsOf(() => defineEntity('NoKey', { a: text() }))).toEqual([
      'it has no primary key: mark a field with .primaryKey() or list fields in options.primaryKey',
    ])
  })

  it('refuses names that cannot be identifiers or object keys', () => {
    const problems = problemsOf(() =>
      defineEntity('Bad', { id: integer().primaryKey(), ['__proto__' as string]: text(), nul: text().column('a\0b') }, { schema: '' }),
    )
    expect(problems).toHaveLength(3)
    expect(problems[0]).toMatch(/^the schema name "" cannot be a PostgreSQL identifier/)
    expect(problems[1]).toBe('field __proto__: "__proto__" cannot be a field name (it would change an object\'s prototype)')
    expect(problems[2]).toMatch(/^field nul: the column name .* NUL/)
  })

  it('refuses __proto__ as a field name', () => {
    const map = Object.defineProperty({ id: integer().primaryKey() }, '__proto__', { value: text(), enumerable: true })
    expect(problemsOf(() => defineEntity('Proto', map))).toEqual([
      'field __proto__: "__proto__" cannot be a field name (it would change an object\'s prototype)',
    ])
  })

  it('checks options against the fields', () => {
    const problems = problemsOf(() =>
      defineEntity(
        'Opt',
        { id: integer().primaryKey(), a: text(), b: bigint().version(), c: integer().version() },
        {
          unique: [['a', 'nope' as 'a']],
          indexes: [{ fields: ['zzz' as 'a'] }, { fields: ['a'], using: 'hnsw' }],
          hooks: { beforeSave: () => {} } as never,
          naming: 'weird' as never,
        },
      ),
    )
    expect(problems).toEqual([
      expect.stringMatching(/^naming: invalid name "weird"/),
      'fields b and c are both marked .version(); an entity has at most one',
      'options.unique[0] names unknown field "nope"',
      'options.indexes[0].fields names unknown field "zzz"',
      'options.hooks.beforeSave is not a lifecycle event; accepted: beforeInsert, beforeUpdate, beforeDelete, afterWrite, afterLoad',
    ])
  })
})

describe('references', () => {
  it('resolves thunks to entities defined later, at the first entityMeta call', () => {
    const Comment = defineEntity('LateComment', {
      id: integer().primaryKey().generated('identity'),
      postId: integer().references(() => LatePost.fields.id, { onDelete: 'cascade' }),
      parent: integer()
        .nullable()
        .references((): AnyEntity => Comment, { onDelete: 'set null' }),
    })
    const LatePost = defineEntity('LatePost', { id: integer().primaryKey() })
    const meta = entityMeta(Comment)
    expect(meta.resolved).toBe(true)
    expect(meta.byField.get('postId')?.references).toMatchObject({
      name: 'late_comments_post_id_fkey',
      entityName: 'LatePost',
      qualifiedTable: '"late_posts"',
      column: 'id',
      onDelete: 'cascade',
      onUpdate: 'no action',
    })
    expect(meta.byField.get('parent')?.references?.entityName).toBe('LateComment')
    expect(meta.relations.map((r) => [r.name, r.targetEntityName])).toEqual([
      ['post', 'LatePost'],
      ['parent', 'LateComment'],
    ])
  })

  it("resolves 'Entity.field' strings through the registry", () => {
    defineEntity('RegTarget', { code: text().primaryKey() })
    const E = defineEntity('RegSource', { id: integer().primaryKey(), target: text().references('RegTarget.code') })
    expect(entityMeta(E).byField.get('target')?.references?.column).toBe('code')
  })

  it('lists every unresolvable reference and retries later', () => {
    const E = defineEntity('Dangling', {
      id: integer().primaryKey(),
      a: integer().references('NoSuchEntity.id'),
      b: text().references(() => DanglingTarget.fields.id),
      c: integer().references(() => DanglingTarget.fields.name),
    })
    expect(() => entityMeta(E)).toThrow(ConfigError)
    try {
      entityMeta(E)
    } catch (error) {
      expect((error as ConfigError).problems).toEqual([
        "Dangling.a references 'NoSuchEntity.id', but no entity named 'NoSuchEntity' has been defined",
        expect.stringMatching(/^Dangling\.b: its reference thunk threw .*is the target defined yet\?$/),
        expect.stringMatching(/^Dangling\.c: its reference thunk threw/),
      ])
    }
    const DanglingTarget = defineEntity('DanglingTarget', { id: integer().primaryKey(), name: text() })
    try {
      entityMeta(E)
    } catch (error) {
      expect((error as ConfigError).problems).toEqual([
        "Dangling.a references 'NoSuchEntity.id', but no entity named 'NoSuchEntity' has been defined",
        'Dangling.b is text but references DanglingTarget.id, which is integer',
        'Dangling.c references DanglingTarget.name, which is neither its single-column primary key nor unique (PostgreSQL requires one of them)',
        'Dangling.c is integer but references DanglingTarget.name, which is text',
      ])
    }
  })

  it('keeps field definitions immutable', () => {
    const base = text()
    const nullable = base.nullable()
    expect(base.definition.nullable).toBe(false)
    expect(nullable.definition.nullable).toBe(true)
    expect(Object.isFrozen(base.definition)).toBe(true)
    expect(array(json()).definition.element?.kind).toBe('json')
  })
})
