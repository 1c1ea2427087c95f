import { execFile } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { admin, BIN, ownDatabase, runTessera, tempProject, uniqueName } from './helpers'

/** Runs tmux on a server of this test's own (`-L`), so nothing else on the machine is touched. */
function tmux(socket: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('tmux', ['-L', socket, ...args], (error, stdout, stderr) =>
      error === null ? resolve(stdout) : reject(new Error(`tmux ${args[0]}: ${stderr || error.message}`)),
    )
  })
}

/** Runs `command` in a pseudo-terminal (a detached tmux window 120×30) and returns the screen once `done` matches it. */
async function inTerminal(cwd: string, command: string, done: RegExp, options: { escapes?: boolean } = {}): Promise<string> {
  const socket = uniqueName('cli_tmux')
  const env = Object.entries(process.env)
    .filter(([key]) => !key.startsWith('TESSERA_') && key !== 'NO_COLOR' && key !== 'FORCE_COLOR' && key !== 'CI')
    .map(([key, value]) => `${key}=${JSON.stringify(value ?? '')}`)
  const shell = `cd ${JSON.stringify(cwd)} && env -i ${env.join(' ')} TERM=xterm-256color ${command}; echo "EXIT=$?"; sleep 300`
  await tmux(socket, ['new-session', '-d', '-x', '120', '-y', '30', 'bash', '-c', shell])
  try {
    const deadline = Date.now() + 60_000
    for (;;) {
      const screen = await tmux(socket, ['capture-pane', '-p', ...(options.escapes === true ? ['-e'] : []), '-t', '0'])
      if (done.test(screen)) return screen
      if (Date.now() > deadline) throw new Error(`the terminal never showed ${done}:\n${screen}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  } finally {
    await tmux(socket, ['kill-server']).catch(() => undefined)
  }
}

describe('in a terminal', () => {
  it('draws a progress bar while applying, instead of one line per migration', async () => {
    const url = await ownDatabase()
    const migrations: Record<string, string> = {}
    for (let i = 1; i <= 5; i++) migrations[`migrations/00${i}_step${i}.sql`] = `SELECT pg_sleep(0.2);\nCREATE TABLE t${i} (id int);\n`
    const cwd = tempProject({ 'tessera.config.json': JSON.stringify({ postgres: url }), ...migrations })
    const screen = await inTerminal(cwd, `node ${JSON.stringify(BIN)} migrate up`, /EXIT=\d+/)
    expect(screen).toContain('EXIT=0')
    expect(screen).toMatch(/migrating \[#{10,}\] 5\/5 005 step5/)
    expect(screen).toContain('applied 5 migrations')
    expect(screen).not.toContain('✔ applied')
    expect(
      await admin(
        async (client) => (await client.query(`SELECT count(*)::int AS n FROM pg_tables WHERE tablename LIKE 't_'`)).rows[0].n,
        url,
      ),
    ).toBe(5)
  })

  it('colours a terminal, but not with NO_COLOR, --no-color, or when piped', async () => {
    const url = await ownDatabase()
    const cwd = tempProject({
      'tessera.config.json': JSON.stringify({ postgres: url }),
      'migrations/001_a.sql': 'CREATE TABLE a (id int);\n',
    })
    const ESC = '\u001b['
    const colored = await inTerminal(cwd, `node ${JSON.stringify(BIN)} migrate status`, /EXIT=\d+/, { escapes: true })
    expect(colored).toContain(ESC)
    expect(colored).toMatch(/\u001b\[33mpending/)
    const noColor = await inTerminal(cwd, `NO_COLOR=1 node ${JSON.stringify(BIN)} migrate status`, /EXIT=\d+/, { escapes: true })
    expect(noColor).toContain('pending')
    expect(noColor).not.toMatch(/\u001b\[\d+m/)
    const flag = await inTerminal(cwd, `node ${JSON.stringify(BIN)} migrate status --no-color`, /EXIT=\d+/, { escapes: true })
    expect(flag).not.toMatch(/\u001b\[\d+m/)
    const piped = await runTessera(['migrate', 'status'], { cwd })
    expect(piped.stdout).toContain('pending')
    expect(piped.stdout).not.toContain(ESC)
  })
})
