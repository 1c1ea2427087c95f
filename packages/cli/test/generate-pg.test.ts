import type { LiveTable } from '@tessera/schema'
import { describe, expect, it } from 'vitest'
import { renderEntities } from '../src/generate-pg'

function table(name: string, parts: Partial<LiveTable>): LiveTable {
  return { schema: 'public', name, columns: [], indexes: [], foreignKeys: [], checks: [], primaryKey: ['id'], ...parts }
}

const id = { name: 'id', type: 'integer', nullable: false, default: undefined, identity: false, generated: undefined }

describe('renderEntities', () => {
  it('maps what schema cannot express to the closest builder, with a note in the file', () => {
    const tables = new Map([
      [
        'things',
        table('things', {
          columns: [
            id,
            { name: 'code', type: 'character(3)', nullable: false, default: undefined, identity: false, generated: undefined },
            { name: 'free', type: 'character varying', nullable: true, default: undefined, identity: false, generated: undefined },
            { name: 'doc', type: 'json', nullable: true, default: undefined, identity: false, generated: undefined },
            { name: 'price', type: 'money', nullable: true, default: undefined, identity: false, generated: undefined },
          ],
        }),
      ],
      ['loose', table('loose', { columns: [id], primaryKey: [] })],
    ])
    const { code, notes, entities } = renderEntities(tables, { schema: 'public', enums: new Map() })
    expect(entities).toEqual([{ table: 'things', entity: 'Thing' }])
    expect(code).toContain('code: text(),')
    expect(code).toContain('free: text().nullable(),')
    expect(code).toContain('doc: json().nullable(),')
    expect(code).toContain('price: text().nullable(),')
    expect(notes).toEqual([
      'table loose has no primary key: a schema entity needs one, so it was left out',
      "things.code is character(3), a fixed-length character type, which schema's builders cannot express; generated as text()",
      "things.free is character varying, varchar without a length, which schema's builders cannot express; generated as text()",
      "things.doc is json, json (schema declares jsonb), which schema's builders cannot express; generated as json()",
      "things.price has type money, which schema's builders cannot express; generated as text()",
    ])
    for (const note of notes) expect(code).toContain(`// - ${note}`)
  })

  it('reads index keys with commas and parentheses inside string literals, and leaves out what it cannot express', () => {
    const tables = new Map([
      [
        'docs',
        table('docs', {
          columns: [id, { name: 'title', type: 'text', nullable: false, default: undefined, identity: false, generated: undefined }],
          indexes: [
            {
              name: 'docs_pkey',
              columns: ['id'],
              unique: true,
              primary: true,
              method: 'btree',
              constraint: 'p',
              partial: false,
              definition: 'CREATE UNIQUE INDEX docs_pkey ON public.docs USING btree (id)',
            },
            {
              name: 'docs_words_idx',
              columns: [undefined],
              unique: false,
              primary: false,
              method: 'btree',
              constraint: undefined,
              partial: true,
              definition:
                "CREATE INDEX docs_words_idx ON public.docs USING btree (replace(title, ', (', ' ')) WHERE (title <> 'a, b'::text)",
            },
            {
              name: 'docs_title_desc_idx',
              columns: ['title'],
              unique: false,
              primary: false,
              method: 'btree',
              constraint: undefined,
              partial: false,
              definition: 'CREATE INDEX docs_title_desc_idx ON public.docs USING btree (title DESC)',
            },
            {
              name: 'docs_cover_idx',
              columns: ['title'],
              unique: false,
              primary: false,
              method: 'btree',
              constraint: undefined,
              partial: false,
              definition: 'CREATE INDEX docs_cover_idx ON public.docs USING btree (title) INCLUDE (id)',
            },
          ],
        }),
      ],
    ])
    const { code, notes } = renderEntities(tables, { schema: 'public', enums: new Map() })
    expect(code).toContain(
      `{ expressions: [sql.raw("replace(title, ', (', ' ')")], name: 'docs_words_idx', where: sql.raw("(title <> 'a, b'::text)") }`,
    )
    expect(notes).toContain('index docs_title_desc_idx on docs has a key with an order or collation (title DESC); left out')
    expect(notes.some((note) => note.startsWith('index docs_cover_idx on docs (CREATE INDEX docs_cover_idx'))).toBe(true)
  })

  it('names entities after their tables, avoiding globals and clashes, and quotes fields that are not identifiers', () => {
    const tables = new Map([
      ['dates', table('dates', { columns: [id] })],
      [
        '2fa codes',
        table('2fa codes', {
          columns: [id, { name: 'my-col', type: 'text', nullable: false, default: undefined, identity: false, generated: undefined }],
        }),
      ],
    ])
    const { code, entities } = renderEntities(tables, { schema: 'public', enums: new Map() })
    expect(entities).toEqual([
      { table: '2fa codes', entity: 'T2faCode' },
      { table: 'dates', entity: 'DateEntity' },
    ])
    expect(code).toMatch(/myCol: text\(\)\.column\('my-col'\),/)
  })
})
