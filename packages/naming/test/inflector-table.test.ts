import { describe, expect, it } from 'vitest'
import { isUncountable, pluralize, singularize } from '../src/index'
import { CLASSICAL, PAIRS, UNCOUNTABLE } from './inflection-pairs'

describe('the default inflector, word by word', () => {
  it.each(PAIRS)('%s ⇄ %s', (one, many) => {
    expect(pluralize(one)).toBe(many)
    expect(singularize(many)).toBe(one)
    // Already in the asked-for form: unchanged (`menus` stays `menus`, not `menuses`).
    expect(pluralize(many)).toBe(many)
    expect(singularize(one)).toBe(one)
  })

  it.each(CLASSICAL)('reads the classical plural %s back to %s and keeps it plural', (many, one) => {
    expect(singularize(many)).toBe(one)
    expect(pluralize(many)).toBe(many)
  })

  it.each(UNCOUNTABLE)('keeps %s as it is', (word) => {
    expect(isUncountable(word)).toBe(true)
    expect(pluralize(word)).toBe(word)
    expect(singularize(word)).toBe(word)
  })

  it('inflects compounds by their last word, in every case style', () => {
    expect(pluralize('fire_man')).toBe('fire_men')
    expect(pluralize('SalesPerson')).toBe('SalesPeople')
    expect(pluralize('data_set')).toBe('data_sets')
    expect(pluralize('UserCuties')).toBe('UserCuties')
    expect(singularize('FOOD_MENUS')).toBe('FOOD_MENU')
    expect(singularize('Spokesmen')).toBe('Spokesman')
  })

  it('has at least 300 checked words', () => {
    expect(PAIRS.length + CLASSICAL.length + UNCOUNTABLE.length).toBeGreaterThanOrEqual(300)
  })
})
