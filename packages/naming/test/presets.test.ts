import { describe, expect, it } from 'vitest'
import { createInflector, NamingError, presets, resolveNaming, strategies, tableName } from '../src/index'

describe('presets', () => {
  it('name columns, tables and types as the README table says', () => {
    const expected = {
      default: ['created_at', 'user_categories', undefined],
      jsonapi: ['created-at', 'user-categories', 'user-categories'],
      nosql: ['createdAt', 'userCategories', undefined],
      graphql: ['createdAt', 'userCategories', 'UserCategory'],
    } as const
    for (const [name, [column, table, type]] of Object.entries(expected)) {
      const preset = presets[name as keyof typeof presets]
      expect(preset.name).toBe(name)
      expect(preset.column.toColumn('createdAt')).toBe(column)
      expect(preset.column.toField(column)).toBe('createdAt')
      expect(preset.table('UserCategory')).toBe(table)
      expect(preset.type?.('UserCategory')).toBe(type)
    }
  })

  it('are frozen', () => {
    expect(Object.isFrozen(presets)).toBe(true)
    expect(Object.isFrozen(presets.default)).toBe(true)
  })
})

describe('tableName', () => {
  it('cases the entity name with the strategy and pluralises its last word', () => {
    expect(tableName('UserCategory')).toBe('user_categories')
    expect(tableName('UserCategory', { strategy: 'PascalCase' })).toBe('UserCategories')
    expect(tableName('UserCategory', { strategy: 'SCREAMING_SNAKE_CASE' })).toBe('USER_CATEGORIES')
    expect(tableName('Person')).toBe('people')
    expect(tableName('Person', { plural: false })).toBe('person')
    expect(tableName('users')).toBe('users')
  })
})

describe('resolveNaming', () => {
  it('returns the shared preset for a preset name', () => {
    expect(resolveNaming('graphql')).toBe(presets.graphql)
  })

  it('rebuilds a preset when options are given', () => {
    const singular = resolveNaming('default', { plural: false })
    expect(singular.table('UserCategory')).toBe('user_category')
    const mine = resolveNaming('default', { inflector: createInflector({ irregulars: { cactus: 'cacti' } }) })
    expect(mine.table('Cactus')).toBe('cacti')
    expect(presets.default.table('Cactus')).toBe('cactuses')
  })

  it('builds a config from a strategy name', () => {
    const naming = resolveNaming('kebab-case')
    expect(naming.name).toBe('kebab-case')
    expect(naming.column).toBe(strategies['kebab-case'])
    expect(naming.table('OrderItem')).toBe('order-items')
    expect(naming.type).toBeUndefined()
  })

  it('builds a config from a custom strategy object', () => {
    const naming = resolveNaming({ toColumn: (field) => field.toUpperCase(), toField: (column) => column.toLowerCase() })
    expect(naming.name).toBe('custom')
    expect(naming.column.toColumn('box')).toBe('BOX')
    expect(naming.table('box')).toBe('BOXES')
  })

  it('accepts a complete config as is, binding methods that live on a prototype', () => {
    class Config {
      column = strategies.snake_case
      prefix = 'app_'
      table(entityName: string) {
        return this.prefix + tableName(entityName)
      }
    }
    const naming = resolveNaming(new Config() as never)
    expect(naming.name).toBe('custom')
    expect(naming.table('User')).toBe('app_users')
    const named = { name: 'mine', column: strategies.camelCase, table: () => 't' }
    expect(resolveNaming(named)).toBe(named)
  })

  it('rejects anything else and lists what it accepts', () => {
    expect(() => resolveNaming('snake' as never)).toThrow(
      /unknown preset or strategy; accepted: a preset name \(default, jsonapi, nosql, graphql\)/,
    )
    expect(() => resolveNaming(42 as never)).toThrow(NamingError)
    expect(() => resolveNaming({ column: strategies.snake_case } as never)).toThrow(/table must be a function/)
    expect(() => resolveNaming({ toColumn: () => 'x' } as never)).toThrow(/toField is not a function/)
  })
})
