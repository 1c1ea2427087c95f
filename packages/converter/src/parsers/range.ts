import { ConversionError } from '@tessera/core'
import { Range } from '../range'
import type { ElementParser } from './array'

function malformed(text: string): ConversionError {
  return new ConversionError({
    value: text,
    target: 'range',
    reason: 'malformed range text',
    accepted: "'empty', or bounds like '[1,5)', '(,5]', '[\"2024-01-01 00:00:00\",)'",
  })
}

/** Reads one bound starting at `i`; returns [text or null when omitted, index after it]. */
function readBound(text: string, i: number, stop: number): [string | null, number] {
  const c = text.charCodeAt(i)
  if (c === stop) return [null, i]
  if (c === 34) {
    // Quoted: `\x` escapes x, and `""` inside quotes is one quote.
    let value = ''
    let j = i + 1
    for (;;) {
      if (j >= text.length) throw malformed(text)
      const d = text.charCodeAt(j)
      if (d === 92) {
        value += text[j + 1]
        j += 2
      } else if (d === 34) {
        if (text.charCodeAt(j + 1) === 34) {
          value += '"'
          j += 2
        } else {
          return [value, j + 1]
        }
      } else {
        value += text[j]
        j++
      }
    }
  }
  let j = i
  while (j < text.length && text.charCodeAt(j) !== stop) j++
  return [text.slice(i, j), j]
}

/**
 * Parses range text (`[1,5)`, `(,5]`, `empty`, quoted bounds) into a {@link Range}, bounds parsed by
 * `parseBound`. A missing bound is unbounded (`null`); `infinity` bounds of date/time ranges are values.
 */
export function parseRange<T>(text: string, parseBound: ElementParser): Range<T> {
  if (text === 'empty') return Range.empty<T>()
  const open = text[0]
  const close = text[text.length - 1]
  if ((open !== '[' && open !== '(') || (close !== ']' && close !== ')')) throw malformed(text)
  const [lowerText, afterLower] = readBound(text, 1, 44)
  if (text.charCodeAt(afterLower) !== 44) throw malformed(text)
  const [upperText, afterUpper] = readBound(text, afterLower + 1, text.charCodeAt(text.length - 1))
  if (afterUpper !== text.length - 1) throw malformed(text)
  const lower = lowerText === null ? null : (parseBound(lowerText) as T)
  const upper = upperText === null ? null : (parseBound(upperText) as T)
  return new Range<T>(lower, upper, `${open}${close}` as '[)')
}
