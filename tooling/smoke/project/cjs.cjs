// CommonJS: createProvider loads the pg provider with require, so the user holds one copy of core.
const core = require('@tessera/core')
const { checkCreateProvider, checkInt8AsNumber } = require('./checks.cjs')

checkCreateProvider(core)
  .then(() => checkInt8AsNumber(core))
  .then(
    () => console.log('cjs: ok'),
    (error) => {
      console.error(error)
      process.exitCode = 1
    },
  )
