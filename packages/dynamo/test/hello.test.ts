import { expect, it } from 'vitest'
import { hello } from '../src/index'

it('says its name', () => {
  expect(hello()).toBe('dynamo')
})
