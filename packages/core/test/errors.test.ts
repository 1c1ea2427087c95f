import { describe, expect, it } from 'vitest'
import { ConfigError, isTesseraError, PoolTimeoutError, TesseraError } from '../src/index'

describe('TesseraError', () => {
  it('is recognised by its brand', () => {
    const error = new ConfigError(['a is wrong', 'b is wrong'])
    expect(isTesseraError(error)).toBe(true)
    expect(error).toBeInstanceOf(TesseraError)
    expect(error.message).toContain('2 problems')
  })
  it('writes a pool timeout for a person', () => {
    const error = new PoolTimeoutError({ waitedMs: 5000, inUse: 10, max: 10, pending: 37 })
    expect(error.message).toBe('acquire timed out after 5000 ms (10/10 connections in use, 37 waiting)')
    expect(error.retryable).toBe(true)
  })
})
