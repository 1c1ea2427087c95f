import type { Notification, TesseraError } from '@tessera/core'
import { describe, expect, it } from 'vitest'
import { backendsOf, eventually, testProvider, uniqueName, useAdminClient } from './helpers'

const admin = useAdminClient()

describe('listen / notify', () => {
  it('delivers notifications on a channel whose name needs quoting', async () => {
    const db = testProvider(uniqueName('listen'))
    const channel = `Chan "${uniqueName('x')}" with space`
    const received: Notification[] = []
    const subscription = await db.listen(channel, (n) => received.push(n))
    await db.notify(channel, 'hello')
    await eventually(() => received.length === 1)
    expect(received[0]).toMatchObject({ channel, payload: 'hello' })
    expect(typeof received[0]!.processId).toBe('number')
    await subscription.unlisten()
  })

  it('unlisten stops delivery and closes the listening connection when nothing listens', async () => {
    const app = uniqueName('listen')
    const db = testProvider(app)
    const channel = uniqueName('ch')
    const received: string[] = []
    const subscription = await db.listen(channel, (n) => received.push(n.payload))
    expect((await backendsOf(admin, app)).length).toBe(1)
    await subscription.unlisten()
    await admin.query('SELECT pg_notify($1, $2)', [channel, 'late'])
    await eventually(async () => (await backendsOf(admin, app)).length === 0)
    expect(received).toEqual([])
  })

  it('after the listening connection is terminated: onLost, then onRestored, then new notifications arrive', async () => {
    const app = uniqueName('listen')
    const db = testProvider(app)
    const channel = uniqueName('ch')
    const events: string[] = []
    let lostError: TesseraError | undefined
    await db.listen(channel, (n) => events.push(`notify:${n.payload}`), {
      onLost: (error) => {
        lostError = error
        events.push('lost')
      },
      onRestored: () => events.push('restored'),
    })
    const [listening] = await backendsOf(admin, app)
    await admin.query('SELECT pg_terminate_backend($1)', [listening!.pid])
    await eventually(() => events.includes('restored'))
    await admin.query('SELECT pg_notify($1, $2)', [channel, 'after'])
    await eventually(() => events.includes('notify:after'))
    expect(events).toEqual(['lost', 'restored', 'notify:after'])
    expect(lostError?.retryable).toBe(true)
    const [relistening] = await backendsOf(admin, app)
    expect(relistening!.pid).not.toBe(listening!.pid)
  })
})
