import { isTesseraError, type Notification, SqlError, type TesseraError } from '@tessera/core'
import { describe, expect } from 'vitest'
import { uniqueName } from '../../test-services/env'
import type { ConformanceContext } from './context'
import { waitFor } from './helpers'

/** NOTIFY is database-wide and other test files run at the same time: every channel name is unique. */
const channelName = (prefix: string) => `${prefix} ${uniqueName('ch')}`

/** LISTEN / NOTIFY: delivery, quoting of channel names, unlisten, and recovery after the connection is lost. */
export function describeListen(ctx: ConformanceContext): void {
  describe('listen and notify', () => {
    ctx.test('delivers a notification with its channel, payload and the sender pid', async () => {
      const { provider } = await ctx.open()
      const channel = uniqueName('events')
      const received: Notification[] = []
      const subscription = await provider.listen(channel, (notification) => received.push(notification))
      expect(subscription.channel).toBe(channel)
      await provider.notify(channel, `it's "quoted" ✓`)
      await waitFor(() => received.length === 1, 'the notification arrives')
      expect(received[0]).toMatchObject({ channel, payload: `it's "quoted" ✓` })
      expect(typeof received[0]?.processId).toBe('number')
      await subscription.unlisten()
    })

    ctx.test('delivers an empty payload when notify has none', async () => {
      const { provider } = await ctx.open()
      const channel = uniqueName('events')
      const received: Notification[] = []
      await provider.listen(channel, (notification) => received.push(notification))
      await provider.notify(channel)
      await waitFor(() => received.length === 1, 'the notification arrives')
      expect(received[0]?.payload).toBe('')
    })

    ctx.test('receives a NOTIFY sent by another client', async () => {
      const { provider } = await ctx.open()
      const channel = uniqueName('events')
      const received: Notification[] = []
      await provider.listen(channel, (notification) => received.push(notification))
      await ctx.admin('SELECT pg_notify($1, $2)', [channel, 'from elsewhere'])
      await waitFor(() => received.length === 1, 'the notification arrives')
      expect(received[0]).toMatchObject({ channel, payload: 'from elsewhere' })
    })

    for (const prefix of ['Mixed Case', 'with "quotes"', "it's"]) {
      ctx.test(`works with a channel name that needs quoting: ${prefix}`, async () => {
        const { provider } = await ctx.open()
        const channel = channelName(prefix)
        const received: Notification[] = []
        await provider.listen(channel, (notification) => received.push(notification))
        await provider.notify(channel, 'quoted')
        // The exact name reaches the server, so a client notifying it with pg_notify reaches the listener too.
        await ctx.admin('SELECT pg_notify($1, $2)', [channel, 'from pg_notify'])
        await waitFor(() => received.length === 2, 'both notifications arrive')
        expect(received.map((notification) => [notification.channel, notification.payload])).toEqual([
          [channel, 'quoted'],
          [channel, 'from pg_notify'],
        ])
      })
    }

    ctx.test('unlisten stops delivery on that channel only', async () => {
      const { provider } = await ctx.open()
      const stopped = uniqueName('stopped')
      const sentinel = uniqueName('sentinel')
      const received: string[] = []
      const subscription = await provider.listen(stopped, (notification) => received.push(notification.payload))
      await provider.listen(sentinel, (notification) => received.push(notification.payload))
      await provider.notify(stopped, 'before')
      await waitFor(() => received.length === 1, 'the first notification arrives')
      await subscription.unlisten()
      await provider.notify(stopped, 'after unlisten')
      // Notifications arrive in commit order: once the sentinel is in, the one before it would have been too.
      await provider.notify(sentinel, 'sentinel')
      await waitFor(() => received.includes('sentinel'), 'the sentinel arrives')
      expect(received).toEqual(['before', 'sentinel'])
    })

    ctx.test('two subscriptions to one channel both receive, and unlistening one keeps the other', async () => {
      const { provider } = await ctx.open()
      const channel = uniqueName('shared')
      const first: string[] = []
      const second: string[] = []
      const subscription = await provider.listen(channel, (notification) => first.push(notification.payload))
      await provider.listen(channel, (notification) => second.push(notification.payload))
      await provider.notify(channel, 'one')
      await waitFor(() => first.length === 1 && second.length === 1, 'both listeners receive')
      await subscription.unlisten()
      await provider.notify(channel, 'two')
      await waitFor(() => second.length === 2, 'the remaining listener receives')
      expect(first).toEqual(['one'])
      expect(second).toEqual(['one', 'two'])
    })

    ctx.test('a channel name the server would truncate (70 bytes) or cannot take (NUL) is refused before anything is sent', async () => {
      const { provider, applicationName } = await ctx.open()
      await provider.query('SELECT 1')
      const pids = async () => (await ctx.backends(applicationName)).map((backend) => backend.pid).sort()
      const pooled = await pids()
      for (const bad of ['c'.repeat(70), `bad\u0000${uniqueName('ch')}`]) {
        const refused = await provider
          .listen(bad, () => {})
          .then(
            () => undefined,
            (error: unknown) => error,
          )
        expect(refused).toBeInstanceOf(SqlError)
        expect((refused as Error).message).toMatch(/63 bytes|NUL/)
        await expect(provider.notify(bad, 'x')).rejects.toBeInstanceOf(SqlError)
      }
      // No listening connection was opened for them.
      expect(await pids()).toEqual(pooled)

      // The provider still listens afterwards.
      const channel = uniqueName('after_refusal')
      const received: string[] = []
      await provider.listen(channel, (notification) => received.push(notification.payload))
      await provider.notify(channel, 'works')
      await waitFor(() => received.length === 1, 'the notification arrives')
      expect(received).toEqual(['works'])
    })

    ctx.test('a refused LISTEN keeps the connection of the channels still listened to', async () => {
      const { provider } = await ctx.open()
      const channel = uniqueName('kept')
      const received: string[] = []
      await provider.listen(channel, (notification) => received.push(notification.payload))
      await expect(provider.listen('k'.repeat(64), () => {})).rejects.toBeInstanceOf(SqlError)
      await provider.notify(channel, 'still here')
      await waitFor(() => received.length === 1, 'the notification on the kept channel arrives')
      expect(received).toEqual(['still here'])
    })

    recoveryTest(ctx)
  })
}

function recoveryTest(ctx: ConformanceContext): void {
  if (!ctx.capabilities.listenRecovery) return
  ctx.test(
    'after its listening connection is terminated, onLost fires, then onRestored, then notifications arrive again',
    async () => {
      const { provider, applicationName } = await ctx.open()
      const channel = uniqueName('recover')
      const events: string[] = []
      const lostErrors: TesseraError[] = []
      const received: string[] = []
      await provider.listen(channel, (notification) => received.push(notification.payload), {
        onLost: (error) => {
          events.push('lost')
          lostErrors.push(error)
        },
        onRestored: () => events.push('restored'),
      })
      await provider.notify(channel, 'before')
      await waitFor(() => received.length === 1, 'the first notification arrives')

      const listeners = await ctx.admin<{ pid: number }>(
        "SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND query ILIKE 'LISTEN%'",
        [applicationName],
      )
      expect(listeners).toHaveLength(1)
      const [{ pid }] = listeners as [{ pid: number }]
      await ctx.admin('SELECT pg_terminate_backend($1)', [pid])

      await waitFor(() => events.includes('restored'), 'onRestored is called', { timeoutMs: 15_000 })
      expect(events).toEqual(['lost', 'restored'])
      expect(isTesseraError(lostErrors[0])).toBe(true)

      await provider.notify(channel, 'after')
      await waitFor(() => received.includes('after'), 'a notification sent after recovery arrives')
      expect(received).toEqual(['before', 'after'])
      const relistened = await ctx.admin<{ pid: number }>(
        "SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND query ILIKE 'LISTEN%'",
        [applicationName],
      )
      expect(relistened).toHaveLength(1)
      expect(relistened[0]?.pid).not.toBe(pid)
    },
    30_000,
  )
}
