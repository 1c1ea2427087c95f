import postgres4 from 'postgres4'
import { describe, expect, it } from 'vitest'
import { PG_URL } from '../../../tooling/test-services/env'

// postgres.js 4 is installed beside 3 under the alias `postgres4`, so the provider can be tested on both majors.
describe('postgres.js 4 (dev alias postgres4)', () => {
  it('loads and runs a query on the test database', async () => {
    const sql = postgres4(PG_URL, { max: 1 })
    try {
      const rows = await sql`SELECT 1 AS one, version() AS server`
      expect(rows[0]?.one).toBe(1)
      expect(String(rows[0]?.server)).toMatch(/^PostgreSQL/)
    } finally {
      await sql.end()
    }
  })
})
