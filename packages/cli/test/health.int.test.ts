import { describe, expect, it } from 'vitest'
import { endpointOf, freePort, REDIS_URL, startTcpProxy } from '../../../tooling/test-services'
import { PG_URL, runTessera, tempProject } from './helpers'

const QUIET_AWS = { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' }

describe('tessera health', () => {
  it('reports every configured PostgreSQL and Redis up, with latency, version and role, and exits 0', async () => {
    const cwd = tempProject({
      'tessera.config.json': JSON.stringify({ postgres: PG_URL, databases: { analytics: { url: PG_URL } }, redis: { cache: REDIS_URL } }),
    })
    const run = await runTessera(['health', '--json'], { cwd })
    expect(run.stderr).toBe('')
    expect(run.code).toBe(0)
    const report = JSON.parse(run.stdout) as { ok: boolean; checks: Record<string, unknown>[] }
    expect(report.ok).toBe(true)
    expect(report.checks).toEqual([
      {
        kind: 'postgres',
        name: 'default',
        target: expect.stringMatching(/^127\.0\.0\.1:\d+\/\w+$/),
        ok: true,
        latencyMs: expect.any(Number),
        version: expect.stringMatching(/^\d+\.\d+/),
        role: 'primary',
      },
      {
        kind: 'postgres',
        name: 'analytics',
        target: expect.any(String),
        ok: true,
        latencyMs: expect.any(Number),
        version: expect.any(String),
        role: 'primary',
      },
      {
        kind: 'redis',
        name: 'cache',
        target: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
        ok: true,
        latencyMs: expect.any(Number),
        version: expect.stringMatching(/^\d+\.\d+/),
        role: 'master',
      },
    ])
    const table = await runTessera(['health'], { cwd })
    expect(table.stdout).toMatch(/postgres\s*│\s*default\s*│.*│\s*up\s*│\s*[\d.]+ ms\s*│/)
    expect(table.stdout).toContain('all 3 up')
  })

  it('exits 3 naming what is down: a closed port, a server that never answers, DynamoDB unreachable', async () => {
    const closed = await freePort()
    const stalled = await startTcpProxy({ target: endpointOf(PG_URL) })
    stalled.setMode('blackhole')
    try {
      const cwd = tempProject()
      const run = await runTessera(['health', '--json', '--timeout', '1500'], {
        cwd,
        env: {
          TESSERA_PG_URL: PG_URL,
          TESSERA_PG_URL_STALLED: stalled.url(PG_URL),
          TESSERA_REDIS_URL: `redis://127.0.0.1:${closed}`,
          TESSERA_DYNAMO_ENDPOINT: `http://127.0.0.1:${closed}`,
          ...QUIET_AWS,
        },
      })
      expect(run.stderr).toBe('')
      expect(run.code).toBe(3)
      const report = JSON.parse(run.stdout) as { ok: boolean; checks: { kind: string; name: string; ok: boolean; error?: string }[] }
      expect(report.ok).toBe(false)
      expect(report.checks.map((check) => [check.kind, check.name, check.ok])).toEqual([
        ['postgres', 'default', true],
        ['postgres', 'stalled', false],
        ['redis', 'default', false],
        ['dynamo', 'default', false],
      ])
      expect(report.checks[1]?.error).toMatch(/time|connect/i)
      expect(report.checks[2]?.error).toBe(`connect ECONNREFUSED 127.0.0.1:${closed}`)
      expect(report.checks[3]?.error).toContain('ECONNREFUSED')
    } finally {
      await stalled.close()
    }
  })

  it('says there is nothing to check, with exit code 2, when nothing is configured', async () => {
    const run = await runTessera(['health'], { cwd: tempProject() })
    expect(run.code).toBe(2)
    expect(run.stderr).toMatch(/^error: nothing to check: configure postgres/)
  })
})
