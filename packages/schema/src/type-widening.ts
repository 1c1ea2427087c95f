/**
 * Whether changing a column from `from` to `to` (types as PostgreSQL's `format_type` spells them: `numeric(6,2)`,
 * `character varying(20)`, `integer`…) keeps every value it can hold, unchanged: more digits for a numeric of the
 * same or a larger scale, a longer or unbounded varchar, text for a varchar, a wider integer. Such a change is not
 * destructive; any other type change may fail on existing rows or change their values, and is.
 *
 * @example isWidening('numeric(6,2)', 'numeric(8,2)') // true
 * @example isWidening('numeric(8,2)', 'numeric(6,2)') // false
 */
export function isWidening(from: string, to: string): boolean {
  if (from === to) return true
  return numericWidening(from, to) ?? textWidening(from, to) ?? integerWidening(from, to) ?? false
}

const NUMERIC = /^numeric(?:\((\d+),(\d+)\))?$/
const VARCHAR = /^character varying(?:\((\d+)\))?$/
const INTEGER_WIDTHS: Readonly<Record<string, number>> = { smallint: 2, integer: 4, bigint: 8 }

/** `undefined` when the types are not both numeric. */
function numericWidening(from: string, to: string): boolean | undefined {
  const source = NUMERIC.exec(from)
  const target = NUMERIC.exec(to)
  if (target === null) return undefined
  // Every integer fits an unconstrained numeric; a constrained one only with enough digits before the point.
  if (source === null) {
    const width = INTEGER_WIDTHS[from]
    if (width === undefined) return undefined
    if (target[1] === undefined) return true
    const digitsBefore = Number(target[1]) - Number(target[2])
    return digitsBefore >= { 2: 5, 4: 10, 8: 19 }[width as 2 | 4 | 8]
  }
  if (target[1] === undefined) return true
  if (source[1] === undefined) return false
  const [sourcePrecision, sourceScale] = [Number(source[1]), Number(source[2])]
  const [targetPrecision, targetScale] = [Number(target[1]), Number(target[2])]
  return targetScale >= sourceScale && targetPrecision - targetScale >= sourcePrecision - sourceScale
}

function textWidening(from: string, to: string): boolean | undefined {
  const source = VARCHAR.exec(from)
  if (source === null) return undefined
  if (to === 'text') return true
  const target = VARCHAR.exec(to)
  if (target === null) return undefined
  if (target[1] === undefined) return true
  return source[1] !== undefined && Number(target[1]) >= Number(source[1])
}

function integerWidening(from: string, to: string): boolean | undefined {
  const source = INTEGER_WIDTHS[from]
  const target = INTEGER_WIDTHS[to]
  if (source === undefined || target === undefined) return undefined
  return target >= source
}
