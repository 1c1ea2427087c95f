/**
 * A Set whose `add`, `delete` and `clear` throw, so a shared word list cannot be changed by a
 * caller that casts away `ReadonlySet`.
 */
export function readonlySet(values: Iterable<string>): ReadonlySet<string> {
  const set = new Set(values)
  const refuse = (): never => {
    throw new TypeError('this word list is read-only; copy it with new Set(list) to extend it')
  }
  Object.defineProperties(set, { add: { value: refuse }, delete: { value: refuse }, clear: { value: refuse } })
  return Object.freeze(set)
}
