// The checks every way of loading Tessera must pass, given the `@tessera/core` that way loaded. Plain CommonJS so
// that ESM, CommonJS, Jest and the esbuild bundle all share them.
const assert = require('node:assert/strict')

const connectionString = process.env.TESSERA_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
// Raises SQLSTATE 23505 without needing a table.
const uniqueViolation = `DO $$ BEGIN RAISE EXCEPTION 'taken' USING ERRCODE = 'unique_violation'; END $$`

/** Runs a unique violation through `db` and checks the error is core's own class, every ancestor included. */
async function checkErrors(core, db, { sameCopy }) {
  const error = await db.query(uniqueViolation).then(
    () => assert.fail('the statement should have failed'),
    (e) => e,
  )
  assert.ok(core.isTesseraError(error), 'isTesseraError')
  assert.ok(error instanceof core.UniqueViolationError, 'instanceof UniqueViolationError')
  assert.ok(error instanceof core.IntegrityConstraintError, 'instanceof IntegrityConstraintError')
  assert.ok(error instanceof core.DatabaseError, 'instanceof DatabaseError')
  assert.ok(error instanceof core.TesseraError, 'instanceof TesseraError')
  assert.ok(!(error instanceof core.SerializationFailureError), 'not instanceof SerializationFailureError')
  // One copy of core: the provider threw the very class this core exports, not a look-alike from a second copy.
  if (sameCopy) assert.equal(Object.getPrototypeOf(error), core.UniqueViolationError.prototype, 'one copy of core')
  return error
}

/** createProvider finds the pg provider, int8 comes back as bigint, errors are core's, and the provider closes. */
async function checkCreateProvider(core) {
  const db = await core.createProvider({ driver: 'pg', connectionString })
  try {
    const { rows } = await db.query('SELECT count(*) AS n FROM generate_series(1, 3)')
    assert.equal(rows[0].n, 3n)
    return await checkErrors(core, db, { sameCopy: true })
  } finally {
    await db.close()
  }
}

/** The one-line switch the README gives for int8 as number. */
async function checkInt8AsNumber(core) {
  const db = await core.createProvider({ driver: 'pg', connectionString, types: { int8: 'number' } })
  try {
    const { rows } = await db.query('SELECT count(*) AS n FROM generate_series(1, 3)')
    assert.equal(rows[0].n, 3)
  } finally {
    await db[Symbol.asyncDispose]()
  }
}

module.exports = { checkCreateProvider, checkErrors, checkInt8AsNumber, connectionString }
