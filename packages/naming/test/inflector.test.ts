import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  createInflector,
  defaultInflector,
  IRREGULAR_NOUNS,
  isUncountable,
  NamingError,
  pluralize,
  singularize,
  tableName,
  UNCOUNTABLE_NOUNS,
} from '../src/index'
import { readmeTable } from './readme-tables'

const rows = readmeTable('inflections').map((row) => [row[0]?.[0] as string, row[1]?.[0] as string] as const)

describe('the README inflection table', () => {
  it('lists the irregulars and uncountables the spec asks for', () => {
    const singulars = rows.map(([one]) => one)
    expect(singulars).toEqual(
      expect.arrayContaining([
        'person',
        'child',
        'man',
        'mouse',
        'status',
        'category',
        'index',
        'datum',
        'analysis',
        'bus',
        'box',
        'quiz',
        'leaf',
      ]),
    )
    expect(singulars).toEqual(expect.arrayContaining(['sheep', 'series', 'equipment', 'information', 'news']))
  })

  for (const [one, many] of rows) {
    it(`pluralizes ${one} to ${many} and back`, () => {
      expect(pluralize(one)).toBe(many)
      expect(singularize(many)).toBe(one)
    })
  }
})

describe('pluralize and singularize', () => {
  it('leaves words that are already in the asked-for form alone', () => {
    for (const [one, many] of rows) {
      expect(pluralize(many)).toBe(many)
      expect(singularize(one)).toBe(one)
    }
  })

  it('round-trips every built-in irregular pair', () => {
    for (const [one, many] of Object.entries(IRREGULAR_NOUNS)) {
      expect(pluralize(one)).toBe(many)
      expect(singularize(many)).toBe(one)
    }
  })

  it('keeps every built-in uncountable word as it is', () => {
    for (const word of UNCOUNTABLE_NOUNS) {
      expect(isUncountable(word.toUpperCase())).toBe(true)
      expect(pluralize(word)).toBe(word)
      expect(singularize(word)).toBe(word)
    }
  })

  it('does not mistake words that merely end like a rule for it', () => {
    expect(pluralize('human')).toBe('humans')
    expect(singularize('databases')).toBe('database')
    expect(singularize('olives')).toBe('olive')
    expect(singularize('causes')).toBe('cause')
    expect(singularize('coaches')).toBe('coach')
  })

  it('inflects only the last word of a compound and keeps everything before it', () => {
    expect(pluralize('order_line_item')).toBe('order_line_items')
    expect(pluralize('order-status')).toBe('order-statuses')
    expect(pluralize('HTTPProxy')).toBe('HTTPProxies')
    expect(pluralize('item_')).toBe('items_')
  })

  it('adds a plain s to regular nouns and removes it again', () => {
    // Singular nouns that already end in s (lens, alias…) are words in their own right: `len` + s is `lens`,
    // which singularize rightly keeps. Such stems are not regular nouns.
    const singularsEndingInS = ['alias', 'gas', 'atlas', 'canvas', 'bias', 'lens']
    const regular = fc
      .stringMatching(/^[a-z]{0,8}[bdgkmnprt]$/)
      .filter(
        (word) =>
          !isUncountable(word) &&
          !isUncountable(`${word}s`) &&
          !Object.values(IRREGULAR_NOUNS).includes(word) &&
          !singularsEndingInS.includes(`${word}s`),
      )
    fc.assert(
      fc.property(regular, (word) => {
        const plural = pluralize(word)
        expect(plural).toBe(Object.hasOwn(IRREGULAR_NOUNS, word) ? IRREGULAR_NOUNS[word] : `${word}s`)
        expect(singularize(plural)).toBe(word)
      }),
    )
  })

  it('rejects names whose last word has no letters', () => {
    expect(() => pluralize('user_2')).toThrow(NamingError)
    expect(() => pluralize('___')).toThrow(/last word has no letters/)
    expect(() => singularize('')).toThrow(/it is empty/)
  })
})

describe('createInflector', () => {
  it('learns irregulars and uncountables without touching the default inflector', () => {
    const mine = createInflector({ irregulars: { cactus: 'cacti' }, uncountables: ['staff'] })
    mine.addIrregular('Octopus', 'Octopi').addUncountable('Swine')
    expect(mine.pluralize('garden_cactus')).toBe('garden_cacti')
    expect(mine.singularize('GardenCacti')).toBe('GardenCactus')
    expect(mine.pluralize('octopus')).toBe('octopi')
    expect(mine.pluralize('swine')).toBe('swine')
    expect(pluralize('cactus')).toBe('cactuses')
    expect(pluralize('octopus')).toBe('octopuses')
    expect(pluralize('swine')).toBe('swines')
  })

  it('lets a later irregular override a built-in one', () => {
    const mine = createInflector().addIrregular('person', 'persons')
    expect(mine.pluralize('person')).toBe('persons')
    expect(pluralize('person')).toBe('people')
  })

  it('feeds tableName', () => {
    const mine = createInflector({ irregulars: { cactus: 'cacti' } })
    expect(tableName('GardenCactus', { inflector: mine })).toBe('garden_cacti')
  })

  it('rejects irregular forms that are not one word of letters', () => {
    const mine = createInflector()
    expect(() => mine.addIrregular('user category', 'x')).toThrow(/not a single word of letters/)
    expect(() => mine.addUncountable('')).toThrow(NamingError)
  })

  it('ships a frozen default inflector with no way to add words', () => {
    expect(Object.isFrozen(defaultInflector)).toBe(true)
    expect('addIrregular' in defaultInflector).toBe(false)
    expect(() => {
      ;(defaultInflector as { pluralize: unknown }).pluralize = () => 'hacked'
    }).toThrow(TypeError)
  })
})
