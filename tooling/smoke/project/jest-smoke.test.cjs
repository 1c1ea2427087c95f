// Jest in its default CommonJS mode: createProvider must not use import(), which Jest refuses without a flag.
const core = require('@tessera/core')
const { checkCreateProvider } = require('./checks.cjs')

test('createProvider works under Jest and errors are core classes', async () => {
  await checkCreateProvider(core)
})
