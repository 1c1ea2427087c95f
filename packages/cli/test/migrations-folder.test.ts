import { describe, expect, it } from 'vitest'
import { nextIds, parseSqlMigration, slug } from '../src/migrations-folder'

const file = { id: '001', name: 'users', file: '/m/001_users.sql' }

describe('migration files', () => {
  it('splits a .sql file into up and down at the markers', () => {
    expect(parseSqlMigration(file, '-- tessera:up\nCREATE TABLE a ();\n-- tessera:down\nDROP TABLE a;\n')).toEqual({
      id: '001',
      name: 'users',
      up: 'CREATE TABLE a ();',
      down: 'DROP TABLE a;',
    })
  })

  it('takes a file without markers as up, a down with only comments as none, and -- tessera:no-transaction', () => {
    expect(parseSqlMigration(file, 'CREATE TABLE a ();\n')).toEqual({ id: '001', name: 'users', up: 'CREATE TABLE a ();' })
    expect(parseSqlMigration(file, 'CREATE TABLE a ();\n-- tessera:down\n-- nothing yet\n')).not.toHaveProperty('down')
    expect(parseSqlMigration(file, '-- tessera:no-transaction\n-- tessera:up\nCREATE INDEX CONCURRENTLY i ON a (b);\n')).toMatchObject({
      transaction: false,
    })
  })

  it('refuses a file with no up statements or with down before up, naming the file', () => {
    expect(() => parseSqlMigration(file, '-- tessera:up\n-- write here\n-- tessera:down\nDROP TABLE a;')).toThrow(
      'migration /m/001_users.sql has no up statements',
    )
    expect(() => parseSqlMigration(file, '-- tessera:down\nDROP TABLE a;\n-- tessera:up\nCREATE TABLE a ();')).toThrow('down before')
  })

  it('numbers new files after the latest: a timestamp, or the next number at the same width', () => {
    const now = new Date('2025-03-04T05:06:07Z')
    expect(nextIds([], 2, now)).toEqual(['20250304050607', '20250304050608'])
    expect(nextIds(['20990101000000'], 1, now)).toEqual(['20990101000001'])
    expect(nextIds(['001', '009'], 2, now)).toEqual(['010', '011'])
  })

  it('turns a name into a file name, refusing one without letters or digits', () => {
    expect(slug('Add users table!')).toBe('add_users_table')
    expect(() => slug('  --  ')).toThrow('has no letters or digits')
  })
})
