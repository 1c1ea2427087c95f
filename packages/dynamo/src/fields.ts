import type { FieldValidator, GeneratedIdStrategy } from '@tessera/schema/portable'

/** What a field holds, and so which DynamoDB type it is written as. */
export type FieldKind = 'string' | 'number' | 'boolean' | 'binary' | 'stringSet' | 'numberSet' | 'binarySet' | 'list' | 'map'

/**
 * A lifecycle role. `version`: optimistic locking (`N`, 0 on create, +1 on every update); `ttl`: expiry in epoch
 * seconds (`N`); `createdAt` / `updatedAt`: ISO-8601 strings set by Tessera.
 */
export type FieldRole = 'version' | 'ttl' | 'createdAt' | 'updatedAt'

/** The DynamoDB attribute type letter of each kind. */
export const DYNAMO_TYPE: Readonly<Record<FieldKind, string>> = {
  string: 'S',
  number: 'N',
  boolean: 'BOOL',
  binary: 'B',
  stringSet: 'SS',
  numberSet: 'NS',
  binarySet: 'BS',
  list: 'L',
  map: 'M',
}

/**
 * One field of a model. `T` is its TypeScript type, `IsOptional` whether an item may lack it, `IsGenerated` whether
 * Tessera fills it (version, createdAt, updatedAt), so an insert may leave it out. Built with {@link field}; every
 * modifier returns a new field.
 */
export interface Field<T = unknown, IsOptional extends boolean = boolean, IsGenerated extends boolean = boolean> {
  readonly kind: FieldKind
  readonly role: FieldRole | undefined
  readonly isOptional: IsOptional
  readonly isGenerated: IsGenerated
  readonly isEncrypted: boolean
  readonly isOmitEmpty: boolean
  /** The stored attribute name, when it differs from the property name (else the model's naming strategy decides). */
  readonly attributeName: string | undefined
  /** How an absent value is generated on create and put (`.generated(strategy)`), else `undefined`. */
  readonly idStrategy: GeneratedIdStrategy | undefined
  /** The `.validate()` validators, run in order on every value written. */
  readonly validators: readonly FieldValidator<unknown>[]
  /** A map's entries, when `field.map({ … })` declared them (conditions on `'field.entry'` paths are checked against it). */
  readonly shape: Readonly<Record<string, AnyField>> | undefined
  /** Type carrier only: never set at run time. */
  readonly __type?: T | undefined
  /** The item may lack this field. */
  optional(): Field<T, true, IsGenerated>
  /** An empty string, empty set, empty list/map or zero is not written at all (DynamORM's `omitempty`). */
  omitEmpty(): Field<T, IsOptional, IsGenerated>
  /** Encrypted at rest by the encryption engine; it can never be a key or appear in a condition. */
  encrypted(): Field<T, IsOptional, IsGenerated>
  /** Stores the field under `name` instead of the name the naming strategy gives it. */
  attribute(name: string): Field<T, IsOptional, IsGenerated>
  /**
   * A string id made by `@tessera/schema`'s `generateId` (`'uuidv4'`, `'uuidv7'`, `'ulid'`) when a create or put
   * leaves it out, so inserts may omit it.
   */
  generated(strategy: GeneratedIdStrategy): Field<T, IsOptional, true>
  /**
   * Checks every value written (create, put, batch puts, update `set`/`ifNotExists`) with a Standard Schema v1
   * validator (zod, valibot, arktype…) or a function returning `true`/`undefined`, `false` or a message; a Standard
   * Schema's output is what is written. Validators run synchronously: an asynchronous one is a `ValidationError`.
   */
  validate(validator: FieldValidator<T>): Field<T, IsOptional, IsGenerated>
}

/** Any field. */
// biome-ignore lint/suspicious/noExplicitAny: the widest field type, used only as a constraint
export type AnyField = Field<any, boolean, boolean>

interface FieldState {
  kind: FieldKind
  role: FieldRole | undefined
  isOptional: boolean
  isGenerated: boolean
  isEncrypted: boolean
  isOmitEmpty: boolean
  attributeName: string | undefined
  idStrategy: GeneratedIdStrategy | undefined
  validators: readonly FieldValidator<unknown>[]
  shape: Readonly<Record<string, AnyField>> | undefined
}

function makeField<T, O extends boolean, G extends boolean>(state: FieldState): Field<T, O, G> {
  return {
    ...state,
    isOptional: state.isOptional as O,
    isGenerated: state.isGenerated as G,
    optional: () => makeField<T, true, G>({ ...state, isOptional: true }),
    omitEmpty: () => makeField<T, O, G>({ ...state, isOmitEmpty: true }),
    encrypted: () => makeField<T, O, G>({ ...state, isEncrypted: true }),
    attribute: (name: string) => makeField<T, O, G>({ ...state, attributeName: name }),
    generated: (strategy: GeneratedIdStrategy) => makeField<T, O, true>({ ...state, idStrategy: strategy, isGenerated: true }),
    validate: (validator: FieldValidator<T>) =>
      makeField<T, O, G>({ ...state, validators: [...state.validators, validator as FieldValidator<unknown>] }),
  }
}

function plain<T>(kind: FieldKind, role?: FieldRole, isGenerated = false): Field<T, false, boolean> {
  return makeField<T, false, boolean>({
    kind,
    role,
    isOptional: false,
    isGenerated,
    isEncrypted: false,
    isOmitEmpty: false,
    attributeName: undefined,
    idStrategy: undefined,
    validators: [],
    shape: undefined,
  })
}

type EntryType<F> = F extends { readonly __type?: infer T | undefined } ? Exclude<T, undefined> : never
type ShapeType<S extends Record<string, AnyField>> = {
  [K in keyof S as S[K]['isOptional'] extends true ? never : K]: EntryType<S[K]>
} & { [K in keyof S as S[K]['isOptional'] extends true ? K : never]?: EntryType<S[K]> | undefined }

function mapField<T extends object = Record<string, unknown>>(): Field<NoInfer<T>, false, false>
function mapField<const S extends Record<string, AnyField>>(
  shape: S,
): Field<{ -readonly [K in keyof ShapeType<S>]: ShapeType<S>[K] }, false, false>
function mapField(shape?: Record<string, AnyField>): Field<unknown, false, false> {
  const made = plain<unknown>('map') as Field<unknown, false, false>
  return shape === undefined ? made : (makeField({ ...stateOf(made), shape }) as Field<unknown, false, false>)
}

function stateOf(made: AnyField): FieldState {
  const { kind, role, isOptional, isGenerated, isEncrypted, isOmitEmpty, attributeName, idStrategy, validators, shape } = made
  return { kind, role, isOptional, isGenerated, isEncrypted, isOmitEmpty, attributeName, idStrategy, validators, shape }
}

/**
 * Field builders for {@link defineModel}.
 *
 * @example
 * const fields = {
 *   id: field.string(),
 *   tags: field.stringSet().optional(),
 *   version: field.version(),
 *   expiresAt: field.ttl().optional(),
 * }
 */
export const field = {
  /** A string (`S`). Narrow it with a type argument: `field.string<'a' | 'b'>()`. */
  string: <T extends string = string>() => plain<T>('string') as Field<NoInfer<T>, false, false>,
  /** A number (`N`). */
  number: <T extends number = number>() => plain<T>('number') as Field<NoInfer<T>, false, false>,
  /** A boolean (`BOOL`). */
  boolean: () => plain<boolean>('boolean') as Field<boolean, false, false>,
  /** Bytes (`B`). */
  binary: () => plain<Uint8Array>('binary') as Field<Uint8Array, false, false>,
  /** A string set (`SS`); DynamoDB refuses an empty set. */
  stringSet: () => plain<Set<string>>('stringSet') as Field<Set<string>, false, false>,
  /** A number set (`NS`); DynamoDB refuses an empty set. */
  numberSet: () => plain<Set<number>>('numberSet') as Field<Set<number>, false, false>,
  /** A binary set (`BS`); DynamoDB refuses an empty set. */
  binarySet: () => plain<Set<Uint8Array>>('binarySet') as Field<Set<Uint8Array>, false, false>,
  /** A list (`L`) of any DynamoDB values; give the element type: `field.list<string>()`. */
  list: <T = unknown>() => plain<T[]>('list') as Field<NoInfer<T>[], false, false>,
  /**
   * A map (`M`). Give its shape as a type (`field.map<{ city: string }>()`), or as fields
   * (`field.map({ city: field.string(), zip: field.string().optional() })`), which also lets conditions on its entries
   * (`'address.city'`) be checked against it.
   */
  map: mapField,
  /** The optimistic-locking version (`N`): 0 on create, +1 on every update; updates and deletes must name it. */
  version: () => plain<number>('number', 'version', true) as Field<number, false, true>,
  /** Expiry time in epoch seconds (`N`), for DynamoDB's TTL. */
  ttl: () => plain<number>('number', 'ttl') as Field<number, false, false>,
  /** Creation time: an ISO-8601 string set on create and never changed. */
  createdAt: () => plain<string>('string', 'createdAt', true) as Field<string, false, true>,
  /** Last write time: an ISO-8601 string set on create and on every update. */
  updatedAt: () => plain<string>('string', 'updatedAt', true) as Field<string, false, true>,
}
