import { ValidationError, type ValidationIssue } from '@tessera/core'

/** A value JSON cannot hold, with its path inside the document (`[]` for the document itself). */
export interface JsonIssue {
  path: (string | number)[]
  message: string
  value: unknown
}

/**
 * Built-in objects `JSON.stringify` turns into `{}` (or drops), losing everything they hold. Other class instances
 * keep their own enumerable fields, as a plain object would, and objects with `toJSON` (Date, Buffer) say how they
 * serialise themselves.
 */
const LOSSY_OBJECTS: readonly [new (...args: never[]) => object, string][] = [
  [Map, 'a Map'],
  [Set, 'a Set'],
  [WeakMap, 'a WeakMap'],
  [WeakSet, 'a WeakSet'],
  [RegExp, 'a RegExp'],
  [Promise, 'a Promise'],
  [Error, 'an Error'],
  [ArrayBuffer, 'an ArrayBuffer'],
]

/**
 * Every place in `value` that JSON cannot hold as given: `NaN` and `±Infinity` (stored as `null`), `undefined`,
 * functions and symbols (dropped), bigints (`JSON.stringify` throws), Maps, Sets and other built-ins (stored as
 * `{}`), typed arrays (stored as an object of indexes), symbol keys (dropped), cycles, and strings with a NUL
 * character (jsonb refuses them). `undefined` when the document is fine. Allocates nothing for a fine document
 * but the walk's own stack.
 *
 * @example jsonIssues({ ratio: NaN, tags: new Set(['a']) }) // [{ path: ['ratio'], … }, { path: ['tags'], … }]
 */
export function jsonIssues(value: unknown): JsonIssue[] | undefined {
  const walk = new JsonWalk()
  walk.visit(value)
  return walk.issues
}

class JsonWalk {
  issues: JsonIssue[] | undefined
  private readonly path: (string | number)[] = []
  private readonly ancestors: object[] = []

  private report(message: string, value: unknown): void {
    this.issues ??= []
    this.issues.push({ path: [...this.path], message, value })
  }

  visit(value: unknown): void {
    switch (typeof value) {
      case 'boolean':
        return
      case 'string':
        if (value.includes('\0')) this.report('contains a NUL character (\\u0000), which jsonb cannot store', value)
        return
      case 'number':
        if (!Number.isFinite(value)) this.report(`is ${value}, which JSON cannot hold (it would be stored as null)`, value)
        return
      case 'undefined':
        this.report('is undefined, which JSON cannot hold (it would be dropped); use null', value)
        return
      case 'bigint':
        this.report('is a bigint, which JSON cannot hold; store it as a string or a number', value)
        return
      case 'function':
      case 'symbol':
        this.report(`is a ${typeof value}, which JSON cannot hold (it would be dropped)`, value)
        return
    }
    if (value === null) return
    this.visitObject(value as object)
  }

  private visitObject(object: object): void {
    if (typeof (object as { toJSON?: unknown }).toJSON === 'function') return
    if (this.ancestors.includes(object)) {
      this.report('refers to an object that contains it; JSON cannot hold a cycle', object)
      return
    }
    const lossy = lossyKind(object)
    if (lossy !== undefined) {
      this.report(`is ${lossy}, which JSON cannot hold (it would lose its contents); convert it to an object or an array`, object)
      return
    }
    this.ancestors.push(object)
    if (Array.isArray(object)) {
      // An index loop, not for…of: a hole is `undefined` here and reported, where JSON would write null.
      for (let i = 0; i < object.length; i++) this.visitChild(i, object[i])
    } else {
      const record = object as Record<string, unknown>
      for (const key in record) if (Object.hasOwn(record, key)) this.visitChild(key, record[key])
      for (const symbol of Object.getOwnPropertySymbols(object)) {
        this.path.push(symbol.toString())
        this.report('is a symbol key, which JSON cannot hold (it would be dropped)', symbol)
        this.path.pop()
      }
    }
    this.ancestors.pop()
  }

  private visitChild(key: string | number, value: unknown): void {
    this.path.push(key)
    this.visit(value)
    this.path.pop()
  }
}

function lossyKind(object: object): string | undefined {
  if (ArrayBuffer.isView(object)) return `a ${object.constructor.name}`
  for (const [type, name] of LOSSY_OBJECTS) if (object instanceof type) return name
  return undefined
}

/**
 * The JSON text of a json field's value, as sent to the database.
 * @throws ValidationError naming the path (`[field, …]`) of every part JSON cannot hold; see {@link jsonIssues}.
 */
export function toJsonText(value: unknown, field: string): string {
  const issues = jsonIssues(value)
  if (issues !== undefined) {
    const found: ValidationIssue[] = issues.map((issue) => ({ path: [field, ...issue.path], message: issue.message, value: issue.value }))
    throw new ValidationError(found, { subject: `json field ${field}` })
  }
  return JSON.stringify(value)
}
