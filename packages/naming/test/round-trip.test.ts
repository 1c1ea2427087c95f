import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { strategies, toCamel, toKebab, toPascal, toScreamingSnake, toSnake } from '../src/index'

// Short words, biased towards one letter and letter+digit: the cases where round trips break.
const letterWord = fc.oneof(fc.stringMatching(/^[a-z]$/), fc.stringMatching(/^[a-z][0-9]$/), fc.stringMatching(/^[a-z][a-z0-9]{1,6}$/))
const anyWord = fc.oneof(letterWord, fc.stringMatching(/^[0-9][a-z0-9]{0,4}$/))
/** SNAKE: `/^[a-z][a-z0-9]*(_[a-z][a-z0-9]*)*$/`. */
const snakeName = fc.array(letterWord, { minLength: 1, maxLength: 6 }).map((words) => words.join('_'))
/** `/^[a-z0-9]+(_[a-z0-9]+)*$/`: words may start with a digit. */
const looseSnakeName = fc.array(anyWord, { minLength: 1, maxLength: 6 }).map((words) => words.join('_'))

const SNAKE = /^[a-z][a-z0-9]*(_[a-z][a-z0-9]*)*$/

/**
 * The README's exception: a one-letter word followed by a word whose second character is not a lower-case letter,
 * or is an `s` that ends the word or comes before a digit (`a_bs` → `aBs` reads as the plural acronym `Bs`).
 */
function breaksAcronymRule(name: string, firstWordCounts: boolean): boolean {
  const words = name.split('_')
  for (let i = firstWordCounts ? 0 : 1; i < words.length - 1; i++) {
    const next = words[i + 1] as string
    if ((words[i] as string).length === 1 && (!/^.[a-z]/.test(next) || /^.s([0-9]|$)/.test(next))) return true
  }
  return false
}

/** PascalCase also loses names whose every word is one letter plus digits: `a1_b2` → `A1B2` has no lower-case letter, so it is one word. */
function breaksPascal(name: string): boolean {
  const words = name.split('_')
  return breaksAcronymRule(name, true) || (words.length > 1 && words.every((word) => /^[a-z][0-9]*$/.test(word)))
}

describe('round trips (domains as stated in the README)', () => {
  it('generates only names in the stated domain', () => {
    fc.assert(fc.property(snakeName, (s) => SNAKE.test(s)))
  })

  it('leaves snake_case names as they are, even words that start with a digit', () => {
    fc.assert(fc.property(looseSnakeName, (s) => toSnake(s) === s))
  })

  it('round-trips snake_case through kebab-case and SCREAMING_SNAKE_CASE', () => {
    fc.assert(
      fc.property(looseSnakeName, (s) => {
        expect(toSnake(toKebab(s))).toBe(s)
        expect(toSnake(toScreamingSnake(s))).toBe(s)
      }),
    )
  })

  it('round-trips snake_case through camelCase exactly outside the documented exception', () => {
    fc.assert(
      fc.property(snakeName, (s) => {
        expect(toSnake(toCamel(s)) === s).toBe(!breaksAcronymRule(s, false))
      }),
      { numRuns: 2_000 },
    )
  })

  it('round-trips snake_case through PascalCase exactly outside the documented exception', () => {
    fc.assert(
      fc.property(snakeName, (s) => {
        expect(toSnake(toPascal(s)) === s).toBe(!breaksPascal(s))
      }),
      { numRuns: 2_000 },
    )
  })

  it('round-trips every camelCase field through every built-in strategy', () => {
    const domain = snakeName.filter((s) => !breaksPascal(s))
    fc.assert(
      fc.property(domain, fc.constantFrom(...Object.values(strategies)), (s, strategy) => {
        const field = toCamel(s)
        expect(strategy.toField(strategy.toColumn(field))).toBe(field)
      }),
    )
  })

  it('shows the documented lossy cases really are lossy', () => {
    expect(toCamel(toSnake('userID'))).toBe('userId')
    expect(toSnake(toCamel('a_b_c'))).toBe('a_bc')
    expect(toSnake(toCamel('x_a_b1'))).toBe('x_ab1')
    expect(toSnake(toCamel('x_a_bs'))).toBe('x_abs')
    expect(toSnake(toCamel('user_2fa'))).toBe('user2fa')
    expect(toSnake(toPascal('a1_b2'))).toBe('a1b2')
  })
})
