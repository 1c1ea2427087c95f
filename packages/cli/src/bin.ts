import { runCli } from './run-cli'

const controller = new AbortController()
process.once('SIGINT', () => {
  controller.abort(new Error('interrupted (Ctrl-C)'))
  // A second Ctrl-C does not wait for the clean-up.
  process.once('SIGINT', () => process.exit(130))
})

runCli(process.argv.slice(2), {
  cwd: process.cwd(),
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
  signal: controller.signal,
}).then((code) => {
  process.exitCode = code
})
