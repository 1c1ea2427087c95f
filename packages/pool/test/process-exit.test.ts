import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

describe('process lifetime', () => {
  it('lets the process exit while the pool holds idle and lent resources', async () => {
    const script = fileURLToPath(new URL('./idle-pool-script.ts', import.meta.url))
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string; killed: boolean }>((resolve) => {
      const child = execFile(
        process.execPath,
        ['--conditions=@tessera/source', '--import', 'tsx', script],
        // Generous: only a process that never exits reaches this.
        { timeout: 15_000, cwd: fileURLToPath(new URL('..', import.meta.url)) },
        (error, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr, killed: error?.killed === true }),
      )
    })
    expect(result.stderr).toBe('')
    expect(result.killed).toBe(false)
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('ready {"size":2,"inUse":1}')
  })
})
