// Quick start, step 1: `npm run setup` installs pnpm 10.34.9 if it is missing, installs the
// workspace, builds every package and runs the demo. Needs only Node 20.19+ and npm (on Linux it also installs the
// Debian packages the integration tests use, when missing: tooling/install-test-packages.sh).
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
// The Debian packages the integration tests start for real (PgBouncer, Redis Sentinel, PostgreSQL replicas, promtool,
// Chromium, tmux): installed when missing and apt-get is there; otherwise listed. The demo needs none of them.
if (process.platform === 'linux') run('bash tooling/install-test-packages.sh')
run('pnpm install --frozen-lockfile')
run('pnpm build')
run('pnpm demo')
