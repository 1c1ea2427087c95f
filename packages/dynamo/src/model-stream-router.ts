import { ConfigError, describeValue } from '@tessera/core'
import type { AnyModel, Item } from './define-model'
import type { ModelClient } from './model-client'
import {
  type DecodedStreamRecord,
  decodeStreamImages,
  decodeStreamRecord,
  processStreamBatch,
  type StreamHandler,
  type StreamRecordLike,
  type StreamRouter,
} from './stream-record'

/** A handler of one model's stream records: `old` and `new` are items of the model, decrypted. */
export type ModelStreamHandler<M extends AnyModel> = (
  change: DecodedStreamRecord<Item<M>>,
  record: StreamRecordLike,
) => void | Promise<void>

/** Options of `db.streamRouter()`. */
export interface ModelStreamRouterOptions {
  /** Called (with the plain decoded record, nothing decrypted) for records no model claims. Default: they are skipped. */
  onUnmatched?: StreamHandler | undefined
}

/** A stream router over models: `.on(Model, handler)` for each model of the table, then `route` or `processBatch`. */
export interface ModelStreamRouter extends StreamRouter {
  /**
   * Routes the records whose entity marker is this model's to `handler`, decoded by the model (typed items,
   * encrypted fields decrypted). A model without a marker (`entity: false`) takes every record that no model
   * registered before it took.
   */
  on<M extends AnyModel>(model: M, handler: ModelStreamHandler<M>): ModelStreamRouter
}

interface Route {
  model: AnyModel
  client: ModelClient<AnyModel>
  handler: ModelStreamHandler<AnyModel>
}

/** Creates the stream router of `db.streamRouter()`. */
export function createModelStreamRouter(
  modelClient: (model: AnyModel) => ModelClient<AnyModel>,
  options: ModelStreamRouterOptions = {},
): ModelStreamRouter {
  const routes: Route[] = []
  const route = async (record: StreamRecordLike): Promise<string | undefined> => {
    const images = decodeStreamImages(record)
    const image = images.new ?? images.old
    const found = routes.find(({ model }) => model.entity === undefined || image?.[model.entity.attribute]?.S === model.entity.value)
    if (!found) {
      await options.onUnmatched?.(decodeStreamRecord(record), record)
      return undefined
    }
    await found.handler(await found.client.decodeStreamRecord(record), record)
    return found.model.name
  }
  const router: ModelStreamRouter = {
    on(model, handler) {
      if (typeof handler !== 'function')
        throw new ConfigError(`the stream handler of ${model?.name} must be a function, got ${describeValue(handler)}`)
      const client = modelClient(model)
      const clash = routes.find(
        (other) => other.model.entity?.attribute === model.entity?.attribute && other.model.entity?.value === model.entity?.value,
      )
      if (clash && model.entity) {
        throw new ConfigError(
          `models ${clash.model.name} and ${model.name} both have entity marker ${model.entity.value}: records could not be told apart`,
        )
      }
      routes.push({ model, client, handler: handler as ModelStreamHandler<AnyModel> })
      return router
    },
    route,
    processBatch: (records) => processStreamBatch(records, route),
  }
  return router
}
