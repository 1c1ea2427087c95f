import { sql } from '@tessera/core'
import { describe, expect, it } from 'vitest'
import { defineEntity, enumOf, integer, renderDocs, text, timestamptz, uuid, varchar } from '../src/index'

describe('renderDocs', () => {
  const Author = defineEntity('DocAuthor', { id: uuid().primaryKey().generated('uuidv7'), email: varchar(320).unique() })
  const Book = defineEntity(
    'DocBook',
    {
      id: integer().primaryKey().generated('identity'),
      authorId: uuid().references(() => Author.fields.id, { onDelete: 'cascade' }),
      title: text()
        .length({ min: 1, max: 200 })
        .pattern(/^[^|]+$/),
      status: enumOf(['draft', 'published'] as const).default('draft'),
      pages: integer()
        .min(1)
        .check((c) => sql`${c} > ${0}`)
        .nullable()
        .index(),
      createdAt: timestamptz().createdAt(),
    },
    { schema: 'library', checks: [{ expression: sql`${sql.id('pages')} < ${10000}` }] },
  )

  it('renders tables, columns, keys, indexes, checks and relations as Markdown', () => {
    expect(renderDocs([Author, Book])).toMatchInlineSnapshot(`
      "# Data model

      ## DocAuthor

      Table \`doc_authors\`.

      | field | column | type | null | default | constraints |
      |---|---|---|---|---|---|
      | id | \`id\` | \`uuid\` | no | generated uuidv7 | primary key |
      | email | \`email\` | \`varchar(320)\` | no |  | unique |

      **Primary key:** \`id\`

      **Unique:**

      - \`doc_authors_email_key\` (\`email\`)

      ## DocBook

      Table \`library.doc_books\`.

      | field | column | type | null | default | constraints |
      |---|---|---|---|---|---|
      | id | \`id\` | \`integer\` | no | identity | primary key |
      | authorId | \`author_id\` | \`uuid\` | no |  | → DocAuthor.id |
      | title | \`title\` | \`text\` | no |  | length ≥ 1; length ≤ 200; matches \`/^[^\\|]+$/\` |
      | status | \`status\` | \`text\` | no | \`'draft'\` | one of \`draft\`, \`published\` |
      | pages | \`pages\` | \`integer\` | yes |  | ≥ 1; check \`"pages" > 0\` |
      | createdAt | \`created_at\` | \`timestamptz\` | no | \`now()\` | createdAt |

      **Primary key:** \`id\`

      **Indexes:**

      - \`doc_books_pages_idx\`: btree (\`pages\`)

      **Checks:**

      - \`doc_books_check\`: \`"pages" < 10000\`

      **Relations:**

      - author: belongs to DocAuthor (\`authorId\` → \`DocAuthor.id\`, on delete cascade)
      "
    `)
  })

  it('shows backslashes in code spans once, escapes pipes for the table, and keeps backticks', () => {
    const Path = defineEntity('DocPath', {
      id: integer().primaryKey(),
      dir: text()
        .default('C:\\temp')
        .pattern(/^\d+\|x$/),
      quote: text().check(sql`${sql.id('quote')} <> ${'`'}`),
    })
    const lines = renderDocs([Path]).split('\n')
    const row = (field: string) => lines.find((line) => line.startsWith(`| ${field} |`))
    expect(row('dir')).toContain("| `'C:\\temp'` |")
    expect(row('dir')).toContain('matches `/^\\d+\\\\|x$/`')
    expect(row('quote')).toContain('check ``"quote" <> \'`\'``')
  })
})
