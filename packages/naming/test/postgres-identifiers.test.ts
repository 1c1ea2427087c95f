import { quoteIdentifier, SqlError, sql } from '@tessera/core'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  identifierByteLength,
  NamingError,
  needsQuoting,
  POSTGRES_MAX_IDENTIFIER_BYTES,
  POSTGRES_RESERVED_WORDS,
  quoteIdent,
  quoteIdentIfNeeded,
  safeIdentifier,
} from '../src/index'

const noNul = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 80 }).filter((s) => !s.includes('\0'))

describe('needsQuoting', () => {
  it('says which names PostgreSQL would not read back exactly', () => {
    const cases: [string, boolean][] = [
      ['user_id', false],
      ['_private', false],
      ['price$', false],
      ['time', false],
      ['values', false],
      ['userId', true],
      ['USER', true],
      ['user', true],
      ['order', true],
      ['left', true],
      ['2fa', true],
      ['$price', true],
      ['user-id', true],
      ['user id', true],
      ['café', true],
      ['a"b', true],
    ]
    for (const [name, expected] of cases) expect([name, needsQuoting(name)]).toEqual([name, expected])
  })

  it('treats every PostgreSQL 15 reserved word as needing quotes', () => {
    expect(POSTGRES_RESERVED_WORDS.size).toBe(100)
    for (const word of POSTGRES_RESERVED_WORDS) expect(needsQuoting(word)).toBe(true)
  })

  it('refuses to let anyone change the reserved word list', () => {
    const list = POSTGRES_RESERVED_WORDS as Set<string>
    expect(() => list.add('my_column')).toThrow(TypeError)
    expect(() => list.delete('user')).toThrow(TypeError)
    expect(POSTGRES_RESERVED_WORDS.has('user')).toBe(true)
  })
})

describe('quoteIdent', () => {
  it('quotes and doubles embedded quotes so the name reads back unchanged', () => {
    expect(quoteIdent('userId')).toBe('"userId"')
    expect(quoteIdent('say "hi"')).toBe('"say ""hi"""')
    fc.assert(
      fc.property(
        noNul.filter((s) => identifierByteLength(s) <= POSTGRES_MAX_IDENTIFIER_BYTES),
        (name) => {
          const quoted = quoteIdent(name)
          expect(quoted.startsWith('"') && quoted.endsWith('"')).toBe(true)
          const inner = quoted.slice(1, -1)
          expect(inner.replace(/""/g, '')).not.toContain('"')
          expect(inner.replaceAll('""', '"')).toBe(name)
        },
      ),
    )
  })

  it("rejects empty names, NUL characters and names PostgreSQL would truncate with core's SqlError", () => {
    expect(() => quoteIdent('')).toThrow(SqlError)
    expect(() => quoteIdent('a\0b')).toThrow(/NUL/)
    expect(() => quoteIdent('x'.repeat(64))).toThrow(/is 64 bytes in UTF-8, which PostgreSQL would silently truncate to 63/)
    expect(quoteIdent('x'.repeat(63))).toBe(`"${'x'.repeat(63)}"`)
  })

  it('quoteIdentIfNeeded quotes only when a bare name would change', () => {
    expect(quoteIdentIfNeeded('user_id')).toBe('user_id')
    expect(quoteIdentIfNeeded('user')).toBe('"user"')
    expect(quoteIdentIfNeeded('createdAt')).toBe('"createdAt"')
  })

  it('quoteIdentIfNeeded refuses a bare name PostgreSQL would truncate, as quoteIdent does', () => {
    expect(() => quoteIdentIfNeeded('x'.repeat(64))).toThrow(SqlError)
    expect(quoteIdentIfNeeded('x'.repeat(63))).toBe('x'.repeat(63))
  })
})

describe('one identifier quoter', () => {
  // Every way Tessera quotes an identifier: core's quoter, the sql tag, and this package's two names for it.
  const quoters: Record<string, (name: string) => string> = {
    quoteIdentifier,
    'sql.id': (name) => sql.id(name).text,
    quoteIdent,
    quoteIdentIfNeeded: (name) => {
      const written = quoteIdentIfNeeded(name)
      return written.startsWith('"') ? written : quoteIdentifier(written)
    },
  }

  function outcome(quote: (name: string) => string, name: string): string {
    try {
      return `quoted ${quote(name)}`
    } catch (error) {
      if (!(error instanceof SqlError)) throw error
      return `refused: ${error.message}`
    }
  }

  const edgeCases: [label: string, name: string, quoted: string | undefined][] = [
    ['63 ASCII bytes', 'a'.repeat(63), `"${'a'.repeat(63)}"`],
    ['64 ASCII bytes', 'a'.repeat(64), undefined],
    ['63 bytes: 31 two-byte characters and one ASCII', `${'é'.repeat(31)}a`, `"${'é'.repeat(31)}a"`],
    ['64 bytes: 32 two-byte characters (32 UTF-16 units)', 'é'.repeat(32), undefined],
    ['63 bytes: 21 three-byte characters', '€'.repeat(21), `"${'€'.repeat(21)}"`],
    ['64 bytes: 21 three-byte characters and one ASCII', `${'€'.repeat(21)}a`, undefined],
    ['60 bytes: 15 four-byte emoji', '🦄'.repeat(15), `"${'🦄'.repeat(15)}"`],
    ['64 bytes: 16 four-byte emoji', '🦄'.repeat(16), undefined],
    ['NUL', 'a\0b', undefined],
    ['NUL alone', '\0', undefined],
    ['empty', '', undefined],
    ['unpaired high surrogate', 'a\uD83D', undefined],
    ['unpaired low surrogate', '\uDE00a', undefined],
    ['one quote', '"', '""""'],
    ['embedded quotes', 'say "hi"', '"say ""hi"""'],
    ['62 quotes: 62 bytes, 126 quoted characters', '"'.repeat(62), `"${'"'.repeat(124)}"`],
    ['64 quotes', '"'.repeat(64), undefined],
    ['a reserved word', 'user', '"user"'],
    ['a dot', 'app.users', '"app.users"'],
  ]

  for (const [label, name, quoted] of edgeCases) {
    it(`all entry points agree on ${label}`, () => {
      const outcomes = Object.entries(quoters).map(([entry, quote]) => [entry, outcome(quote, name)])
      const expected =
        quoted === undefined
          ? expect.stringMatching(/^refused: identifier .*; accepted: a non-empty string of at most 63 bytes/)
          : `quoted ${quoted}`
      for (const [entry, result] of outcomes) expect([entry, result]).toEqual([entry, expected])
      expect(new Set(outcomes.map(([, result]) => result)).size).toBe(1)
    })
  }

  it('all entry points agree on any string', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'binary', maxLength: 70 }),
          fc.string({ unit: fc.constantFrom('a', 'é', '€', '🦄', '"', '\0'), maxLength: 40 }),
        ),
        (name) => {
          const results = new Set(Object.values(quoters).map((quote) => outcome(quote, name)))
          expect([...results]).toHaveLength(1)
        },
      ),
    )
  })
})

describe('safeIdentifier', () => {
  it('returns names of 63 bytes or less unchanged', () => {
    expect(safeIdentifier('user_id')).toBe('user_id')
    expect(safeIdentifier('x'.repeat(63))).toBe('x'.repeat(63))
  })

  it('shortens a longer name to 63 bytes ending in _ and 8 hex characters', () => {
    const long = `${'order_line_item_'.repeat(5)}quantity`
    const safe = safeIdentifier(long)
    expect(identifierByteLength(safe)).toBe(63)
    expect(safe).toMatch(/^(order_line_item_){3}order__[0-9a-f]{8}$/)
    expect(safeIdentifier(long)).toBe(safe)
  })

  it('gives two long names that share their first 63 bytes two different identifiers', () => {
    const prefix = 'a'.repeat(63)
    const first = safeIdentifier(`${prefix}_created_at`)
    const second = safeIdentifier(`${prefix}_updated_at`)
    expect(first).not.toBe(second)
    expect(first.slice(0, 54)).toBe(second.slice(0, 54))
  })

  it('never cuts a multi-byte character in half', () => {
    const safe = safeIdentifier('é'.repeat(40))
    expect(safe).toMatch(/^(é){27}_[0-9a-f]{8}$/)
    expect(safeIdentifier(`a${'€'.repeat(30)}`)).toMatch(/^a(€){17}_[0-9a-f]{8}$/)
  })

  it('always fits, stays valid UTF-8, keeps a prefix of the input, and is stable', () => {
    fc.assert(
      fc.property(noNul, fc.integer({ min: 1, max: 5 }), (part, times) => {
        const name = part.repeat(times)
        const safe = safeIdentifier(name)
        expect(identifierByteLength(safe)).toBeLessThanOrEqual(POSTGRES_MAX_IDENTIFIER_BYTES)
        expect(safeIdentifier(name)).toBe(safe)
        if (identifierByteLength(name) <= POSTGRES_MAX_IDENTIFIER_BYTES) {
          expect(safe).toBe(name)
        } else {
          const kept = safe.slice(0, -9)
          expect(name.startsWith(kept)).toBe(true)
          expect(identifierByteLength(kept)).toBeGreaterThan(50)
          expect(safe.slice(-9)).toMatch(/^_[0-9a-f]{8}$/)
        }
      }),
    )
  })

  it('rejects what no identifier can hold', () => {
    expect(() => safeIdentifier('')).toThrow(NamingError)
    expect(() => safeIdentifier(`${'a'.repeat(70)}\0`)).toThrow(/NUL/)
    expect(() => safeIdentifier(42 as unknown as string)).toThrow(/expected a string, got number/)
  })
})
