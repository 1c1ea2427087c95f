import { describe, expect, it } from 'vitest'
import { conversionCaches } from '../src/convert-case'
import { toSnake } from '../src/index'
import { createMemo } from '../src/memo'

describe('conversion caches', () => {
  it('compute a name once and answer repeats from the cache', () => {
    let calls = 0
    const memo = createMemo((name) => {
      calls++
      return name.toUpperCase()
    })
    expect(memo('a')).toBe('A')
    expect(memo('a')).toBe('A')
    expect(calls).toBe(1)
  })

  it('never hold more than their maximum, whatever the input', () => {
    let calls = 0
    const memo = createMemo((name) => {
      calls++
      return `${name}!`
    }, 100)
    for (let i = 0; i < 1_000; i++) memo(`name_${i}`)
    expect(memo.frontSize()).toBeLessThanOrEqual(100)
    expect(memo.lruSize()).toBeLessThanOrEqual(100)
    // The LRU still remembers recent names after the front map was cleared.
    const before = calls
    expect(memo('name_999')).toBe('name_999!')
    expect(calls).toBe(before)
  })

  it('do not cache failures', () => {
    let calls = 0
    const memo = createMemo(() => {
      calls++
      throw new Error('bad')
    })
    expect(() => memo('x')).toThrow('bad')
    expect(() => memo('x')).toThrow('bad')
    expect(calls).toBe(2)
  })

  it('are bounded at 10,000 names per conversion', () => {
    conversionCaches.snake.clear()
    for (let i = 0; i < 12_000; i++) toSnake(`columnName${i}`)
    expect(conversionCaches.snake.frontSize()).toBeLessThanOrEqual(10_000)
    expect(conversionCaches.snake.lruSize()).toBe(10_000)
    expect(toSnake('columnName11999')).toBe('column_name11999')
  })
})
