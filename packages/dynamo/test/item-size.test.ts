import { describe, expect, it } from 'vitest'
import { batchWrite, type DynamoClientLike, DynamoInputError, transactWrite } from '../src/index'
import { itemSizeBytes, MAX_ITEM_BYTES } from '../src/item-size'

const neverCalled: DynamoClientLike & { calls: number } = {
  calls: 0,
  async send() {
    neverCalled.calls++
    throw new Error('no request should be sent')
  },
}

describe('item size', () => {
  it('counts names and values by DynamoDB’s rules', () => {
    expect(itemSizeBytes({ pk: { S: 'abc' } })).toBe(5)
    expect(itemSizeBytes({ é: { S: 'é' } })).toBe(4)
    expect(itemSizeBytes({ n: { N: '12345' } })).toBe(1 + 4)
    expect(itemSizeBytes({ n: { N: '-0.00120' } })).toBe(1 + 2)
    expect(itemSizeBytes({ b: { B: new Uint8Array(10) }, t: { BOOL: true }, z: { NULL: true } })).toBe(11 + 2 + 2)
    expect(itemSizeBytes({ s: { SS: ['ab', 'c'] } })).toBe(1 + 3)
    expect(itemSizeBytes({ m: { M: { a: { S: 'xy' } } }, l: { L: [{ S: 'x' }] } })).toBe(1 + 3 + 1 + 1 + 2 + (1 + 3 + 1 + 1))
  })

  it('refuses a put over 400 KB in a batch or a transaction before sending anything', async () => {
    const big = { pk: { S: 'big' }, blob: { S: 'x'.repeat(MAX_ITEM_BYTES) } }
    const error = (await batchWrite(neverCalled, [{ table: 't', put: big }], { keyAttributes: { t: ['pk'] } }).catch(
      (e: unknown) => e,
    )) as DynamoInputError
    expect(error).toBeInstanceOf(DynamoInputError)
    expect(error.code).toBe('DYNAMO_ITEM_TOO_LARGE')
    expect(error.message).toContain('entry 0 (put on t) is 409609 bytes')
    await expect(transactWrite(neverCalled, [{ Put: { TableName: 't', Item: big } }])).rejects.toThrow(
      /operation 0 \(Put on t\) is 409609 bytes/,
    )
    expect(neverCalled.calls).toBe(0)
  })
})
