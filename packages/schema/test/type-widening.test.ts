import { describe, expect, it } from 'vitest'
import { isWidening } from '../src/type-widening'

describe('isWidening', () => {
  it.each([
    ['numeric(6,2)', 'numeric(8,2)', true],
    ['numeric(6,2)', 'numeric(7,3)', true],
    ['numeric(6,2)', 'numeric', true],
    ['numeric(8,2)', 'numeric(6,2)', false],
    ['numeric(6,2)', 'numeric(6,3)', false],
    ['numeric(6,2)', 'numeric(8,1)', false],
    ['numeric', 'numeric(20,2)', false],
    ['character varying(10)', 'character varying(20)', true],
    ['character varying(10)', 'text', true],
    ['character varying(10)', 'character varying', true],
    ['character varying(20)', 'character varying(10)', false],
    ['text', 'character varying(320)', false],
    ['smallint', 'integer', true],
    ['integer', 'bigint', true],
    ['bigint', 'integer', false],
    ['integer', 'numeric(10,0)', true],
    ['integer', 'numeric(9,0)', false],
    ['integer', 'numeric', true],
    ['integer', 'text', false],
    ['uuid', 'text', false],
  ])('%s → %s: %s', (from, to, widening) => {
    expect(isWidening(from, to)).toBe(widening)
  })
})
