import { describe, expect, it } from 'vitest'
import { defineStrategy, NamingError, resolveStrategy, STRATEGY_NAMES, strategies, toCamel, toSnake } from '../src/index'

describe('strategies', () => {
  it('maps userId to its column and back for every built-in strategy', () => {
    const expected = {
      snake_case: 'user_id',
      camelCase: 'userId',
      PascalCase: 'UserId',
      'kebab-case': 'user-id',
      SCREAMING_SNAKE_CASE: 'USER_ID',
      preserve: 'userId',
    }
    for (const name of STRATEGY_NAMES) {
      const strategy = strategies[name]
      expect(strategy.name).toBe(name)
      expect(strategy.toColumn('userId')).toBe(expected[name])
      expect(strategy.toField(expected[name])).toBe('userId')
    }
  })

  it('preserve leaves any non-empty name exactly as it is, symbols included', () => {
    expect(strategies.preserve.toColumn('$Weird-Name')).toBe('$Weird-Name')
    expect(() => strategies.preserve.toField('')).toThrow(NamingError)
  })

  it('cannot be changed by a caller', () => {
    expect(Object.isFrozen(strategies)).toBe(true)
    expect(Object.isFrozen(strategies.snake_case)).toBe(true)
  })

  it('resolves a name or an object, and names the accepted values for a typo', () => {
    expect(resolveStrategy('kebab-case')).toBe(strategies['kebab-case'])
    expect(() => resolveStrategy('snake' as 'snake_case')).toThrow(/unknown strategy; accepted: one of snake_case, camelCase/)
  })
})

describe('defineStrategy', () => {
  const prefixed = defineStrategy({
    name: 'prefixed',
    toColumn: (field) => `c_${toSnake(field)}`,
    toField: (column) => toCamel(column.replace(/^c_/, '')),
  })

  it('wraps a custom pair', () => {
    expect(prefixed.name).toBe('prefixed')
    expect(prefixed.toColumn('userId')).toBe('c_user_id')
    expect(prefixed.toField('c_user_id')).toBe('userId')
  })

  it('fails loudly when a custom function returns something that is not a name', () => {
    const broken = defineStrategy({ toColumn: () => '', toField: () => undefined as unknown as string })
    expect(() => broken.toColumn('userId')).toThrow(/strategy "custom" toColumn returned an empty string/)
    expect(() => broken.toField('user_id')).toThrow(/strategy "custom" toField returned undefined/)
  })

  it('rejects an object without both functions, saying which is missing', () => {
    expect(() => defineStrategy({ toColumn: toSnake } as never)).toThrow(/toField is not a function/)
    expect(() => defineStrategy(null as never)).toThrow(NamingError)
  })
})
