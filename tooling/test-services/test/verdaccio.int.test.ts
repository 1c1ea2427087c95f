import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startVerdaccio, type Verdaccio } from '../index'

describe('startVerdaccio', () => {
  let registry: Verdaccio | undefined
  beforeAll(async () => {
    registry = await startVerdaccio()
  }, 600_000)
  afterAll(async () => {
    await registry?.stop()
  })

  it('serves on loopback with no uplinks: a package nobody published is a 404', async () => {
    if (!registry) throw new Error('no registry')
    expect(registry.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/)
    expect((await fetch(new URL('-/ping', registry.url))).status).toBe(200)
    expect((await fetch(new URL('left-pad', registry.url))).status).toBe(404)
  })

  it('knows the publishing user by its token', async () => {
    if (!registry) throw new Error('no registry')
    const response = await fetch(new URL('-/whoami', registry.url), { headers: { authorization: `Bearer ${registry.token}` } })
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ username: 'tessera' })
  })

  it('stops: the port no longer answers', async () => {
    if (!registry) throw new Error('no registry')
    const { url } = registry
    await registry.stop()
    await expect(fetch(new URL('-/ping', url), { signal: AbortSignal.timeout(5_000) })).rejects.toThrow()
  })
})
