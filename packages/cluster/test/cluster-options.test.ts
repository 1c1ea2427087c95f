import { ConfigError, type Provider } from '@tessera/core'
import { describe, expect, it } from 'vitest'
import { validateClusterOptions } from '../src/cluster-options'
import { createCluster } from '../src/index'

const provider = { query: async () => ({ rows: [], rowCount: 0, command: 'SELECT', fields: [] }) } as unknown as Provider

describe('cluster options', () => {
  it('lists every problem at once, naming the bad values and what is accepted', () => {
    const error = (() => {
      try {
        validateClusterOptions({
          nodes: [{ name: 'a', provider }, { name: 'a', provider }, { name: '', url: 'x' }, { name: 'b' } as never],
          strategy: 'fastest' as never,
          fallback: 'nowhere' as never,
          maxLagMs: -1,
          healthCheck: { intervalMs: Number.NaN },
        })
      } catch (caught) {
        return caught
      }
    })()
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).problems).toEqual([
      'nodes[1].name "a" is used by another node; names must be unique',
      'nodes[2].name is ""; expected a non-empty string',
      "nodes[2] has a url, so driver is required (got undefined); e.g. driver: 'pg'",
      'nodes[3] has neither provider nor url; give exactly one',
      `strategy is "fastest"; accepted: 'least-busy', 'round-robin', 'random', 'latency'`,
      `fallback is "nowhere"; accepted: 'primary', 'error'`,
      'maxLagMs is -1; expected a number >= 0',
      'healthCheck.intervalMs is NaN; expected a number >= 10',
    ])
  })

  it('applies the documented defaults', () => {
    expect(validateClusterOptions({ nodes: [{ name: 'a', provider }] })).toEqual({
      name: undefined,
      strategy: 'least-busy',
      maxLagMs: undefined,
      maxLagBytes: undefined,
      fallback: 'primary',
      healthIntervalMs: 1_000,
      healthTimeoutMs: 2_000,
      maxBackoffMs: 10_000,
      failoverWaitMs: 10_000,
      failoverProbeIntervalMs: 200,
      readYourWritesWaitMs: 0,
    })
  })

  it('rejects options that are not an object or a node list that is not an array, before any I/O', async () => {
    await expect(createCluster(null as never)).rejects.toThrow(/options are null; expected an object/)
    await expect(createCluster({ nodes: 'a' as never })).rejects.toThrow(/nodes is "a"; expected a non-empty array/)
    await expect(createCluster({ nodes: [{ name: 'a', provider: {} as Provider }] })).rejects.toThrow(
      /nodes\[0\]\.provider is .*expected a Provider/,
    )
  })
})
