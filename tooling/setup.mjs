// Quick start, step 1: `npm run setup` installs pnpm 10.34.9 if it is missing, installs the
// workspace, builds every package and runs the demo. Needs only Node 20.19+ and npm.
import { execSync } from 'node:child_process'

const PNPM = '10.34.9'
const run = (command) => execSync(command, { stdio: 'inherit' })

function pnpmVersion() {
  try {
    return execSync('pnpm --version', { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
  } catch {
    return undefined
  }
}

const found = pnpmVersion()
if (found !== PNPM) {
  console.log(found ? `pnpm ${found} found; installing pnpm ${PNPM}` : `installing pnpm ${PNPM}`)
  run(`npm install --global pnpm@${PNPM}`)
}
run('pnpm install --frozen-lockfile')
run('pnpm build')
run('pnpm demo')
