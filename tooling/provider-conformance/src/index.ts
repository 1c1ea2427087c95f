export type { Backend, ConformanceContext, OpenedProvider, ProviderCapabilities, ProviderFactory } from './context'
export { describeProvider } from './describe-provider'
export type { TypeCorpusEntry } from './type-corpus'
export { TYPE_CORPUS } from './type-corpus'
