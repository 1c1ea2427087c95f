import { describeValue, NotFoundError, TesseraError } from '@tessera/core'

/** A write's condition (yours, or `ifNotExists` on create) did not hold; nothing was written. */
export class ConditionFailedError extends TesseraError {
  readonly model: string
  readonly key: unknown
  /** The item as it was, when DynamoDB returned it. */
  readonly item: unknown
  constructor(details: { model: string; key: unknown; reason: string; item?: unknown }, options: { cause?: unknown } = {}) {
    super(`${details.model} ${describeValue(details.key)}: ${details.reason}`, { code: 'CONDITION_FAILED', cause: options.cause })
    this.model = details.model
    this.key = details.key
    this.item = details.item
  }
}

/** `getOrThrow`, `update` or `delete` found no item with that key. */
export class ItemNotFoundError extends NotFoundError {
  constructor(details: { model: string; key: unknown }) {
    super({ entity: details.model, key: details.key })
  }
}

/** A cursor that was tampered with, signed with another key, or made by a different query. */
export class CursorError extends TesseraError {
  constructor(reason: string) {
    super(`invalid cursor: ${reason}; pass back the cursor exactly as a query with the same shape returned it`, {
      code: 'CURSOR_INVALID',
    })
  }
}
