// Bundled by esbuild and run from a folder with no node_modules: createProvider cannot load a provider package at
// run time there, says so naming registerDriver, and works once the provider is registered.
const assert = require('node:assert/strict')
const core = require('@tessera/core')
const { createPgProvider } = require('@tessera/provider-pg')
const { checkErrors, connectionString } = require('./checks.cjs')

async function main() {
  const refused = await core.createProvider({ driver: 'pg', connectionString }).then(
    () => assert.fail('createProvider should not find a provider package inside a bundle'),
    (e) => e,
  )
  assert.ok(refused instanceof core.ConfigError, 'ConfigError')
  assert.match(refused.message, /registerDriver\('pg', createPgProvider, \{ replace: true \}\)/)
  assert.match(refused.message, /a bundle/)

  core.registerDriver('pg', createPgProvider, { replace: true })
  const db = await core.createProvider({ driver: 'pg', connectionString })
  try {
    await checkErrors(core, db, { sameCopy: true })
  } finally {
    await db.close()
  }
  console.log('bundle: ok')
}

main().catch((error) => {
  console.error(error)
  process.exitCode = 1
})
