import type { Provider } from '@tessera/core'
import { describe, expect, it } from 'vitest'
import { ClusterNode } from '../src/cluster-node'
import { chooseReplica } from '../src/replica-choice'
import { isRoutableRead } from '../src/routing-classifier'

function node(name: string, inFlight: number, latencyMs: number | undefined): ClusterNode {
  const created = new ClusterNode(name, {} as Provider)
  created.inFlight = inFlight
  created.latencyMs = latencyMs
  return created
}

describe('replica choice', () => {
  const fast = node('fast', 0, 1)
  const slow = node('slow', 0, 10)
  const busy = node('busy', 5, 1)

  it('round-robin takes each in turn', () => {
    expect([0, 1, 2, 3].map((i) => chooseReplica('round-robin', [fast, slow], i).name)).toEqual(['fast', 'slow', 'fast', 'slow'])
  })

  it('latency takes the lowest moving average', () => {
    expect(chooseReplica('latency', [slow, fast], 0).name).toBe('fast')
  })

  it('least-busy weighs in-flight statements by latency, and rotates ties', () => {
    expect(chooseReplica('least-busy', [busy, fast], 0).name).toBe('fast')
    // (5 + 1) × 1 ms costs less than (0 + 1) × 10 ms: the busy fast node still wins.
    expect(chooseReplica('least-busy', [busy, slow], 0).name).toBe('busy')
    const twin = node('twin', 0, 1)
    expect([0, 1].map((i) => chooseReplica('least-busy', [fast, twin], i).name)).toEqual(['fast', 'twin'])
  })

  it('random picks among the candidates only', () => {
    for (let i = 0; i < 20; i++) expect(['fast', 'slow']).toContain(chooseReplica('random', [fast, slow], i).name)
  })

  it('moving average follows recent latency', () => {
    const averaged = node('avg', 0, undefined)
    averaged.observeLatency(10)
    for (let i = 0; i < 50; i++) averaged.observeLatency(2)
    expect(averaged.latencyMs).toBeCloseTo(2, 3)
  })
})

describe('routing classification', () => {
  it('sends only proven reads that call no unknown function to replicas', () => {
    expect(isRoutableRead('SELECT * FROM users WHERE id = $1')).toBe(true)
    expect(isRoutableRead('SELECT lower(name) FROM users')).toBe(true)
    expect(isRoutableRead('SELECT send_mail($1)')).toBe(false)
    expect(isRoutableRead("SELECT nextval('s')")).toBe(false)
    expect(isRoutableRead('SELECT * FROM t FOR UPDATE')).toBe(false)
    expect(isRoutableRead('WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d')).toBe(false)
    expect(isRoutableRead('SELEC 1')).toBe(false)
    // Remembered answers are the same answers.
    expect(isRoutableRead('SELECT send_mail($1)')).toBe(false)
  })
})
