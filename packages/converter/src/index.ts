export type { ConvertKind, ConvertOptions, ConvertOutput, ConvertResult, ConvertRule, JsonValue } from './convert'
export { CONVERT_RULES, convert } from './convert'
export type { BuiltinTypeName } from './oids'
export { OIDS } from './oids'
export type { ElementParser, ParsedArray } from './parsers/array'
export { parseArray } from './parsers/array'
export type { Interval } from './parsers/datetime'
export { formatIsoInterval, parseDateAsDate, parseInterval, parseIntervalAsIso, parseTimestamp, parseTimestampMs } from './parsers/datetime'
export { parseRange } from './parsers/range'
export type { Point } from './parsers/scalar'
export {
  parseBool,
  parseByteaAsBuffer,
  parseByteaAsUint8Array,
  parseInt8AsBigInt,
  parseInt8AsNumber,
  parseJson,
  parseNumber,
  parsePoint,
  parseVector,
} from './parsers/scalar'
export type { PgCustomTypes } from './pg-types-adapter'
export { pgTypesFor } from './pg-types-adapter'
export type { PostgresJsType } from './postgres-js-adapter'
export { postgresJsTypesFor } from './postgres-js-adapter'
export type { RangeBounds } from './range'
export { Range } from './range'
export type {
  Codec,
  ResolvedTypePolicies,
  ResolveNamesResult,
  TextParser,
  TypeLookup,
  TypeLookupRow,
  TypePolicies,
  TypeRegistry,
} from './registry'
export { createTypeRegistry, TYPE_LOOKUP_SQL } from './registry'
export type { TypeRegistryOptions } from './registry-options'
export { typeRegistryFromOptions } from './registry-options'
export type { IntervalLike, PointLike, SerializeOptions, SerializeParamsOptions, ToPostgres } from './serialize'
export { serializeParam, serializeParams } from './serialize'
export { createTypeNameResolver, type RunStatement } from './type-name-resolver'
