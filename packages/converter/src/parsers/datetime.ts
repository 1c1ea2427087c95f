import { ConversionError } from '@tessera/core'

/**
 * Date/time text as PostgreSQL writes it with `DateStyle = ISO` (its default):
 * `2024-01-02 03:04:05.123456+05:30`, `0044-03-15 12:00:00 BC`, `infinity`, `-infinity`.
 * Parsed by hand: several times faster than a regular expression plus `new Date(string)`.
 */

const MS_PER_DAY = 86_400_000
// The instants a JavaScript Date can hold: ±100,000,000 days around 1970.
const MAX_DATE_MS = 8.64e15

/** Days since 1970-01-01 of a proleptic Gregorian date (astronomical year: 1 BC is year 0). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year
  const era = Math.floor(y / 400)
  const yearOfEra = y - era * 400
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear
  return era * 146_097 + dayOfEra - 719_468
}

function malformed(text: string, target: string, accepted: string): ConversionError {
  return new ConversionError({ value: text, target, reason: 'malformed PostgreSQL text (is DateStyle ISO?)', accepted })
}

const TIMESTAMP_ACCEPTED = "'YYYY-MM-DD HH:MM:SS[.ffffff][±HH[:MM[:SS]]][ BC]', 'infinity' or '-infinity'"

/** Reads `count` digits at `at`, or returns -1 when any is not a digit. */
function digits(text: string, at: number, count: number): number {
  let value = 0
  for (let i = at; i < at + count; i++) {
    const d = text.charCodeAt(i) - 48
    if (d < 0 || d > 9) return -1
    value = value * 10 + d
  }
  return value
}

/**
 * Parses the date part `YYYY-MM-DD` (4+ digit year) and returns [days since epoch, index after it],
 * ignoring a trailing ` BC` (handled by the caller, which knows where the text ends).
 */
function readDate(text: string, bc: boolean, target: string, accepted: string): [number, number] {
  let i = 0
  let year = 0
  let c = text.charCodeAt(0)
  while (c >= 48 && c <= 57) {
    year = year * 10 + (c - 48)
    c = text.charCodeAt(++i)
  }
  if (i < 4 || c !== 45 || text.charCodeAt(i + 3) !== 45) throw malformed(text, target, accepted)
  const month = digits(text, i + 1, 2)
  const day = digits(text, i + 4, 2)
  if (month < 1 || month > 12 || day < 1 || day > 31) throw malformed(text, target, accepted)
  return [daysFromCivil(bc ? 1 - year : year, month, day), i + 6]
}

/**
 * timestamp / timestamptz text → milliseconds since the epoch (`±Infinity` for `±infinity`).
 * Text without an offset (timestamp without time zone) is read as UTC. Microseconds are truncated
 * to milliseconds.
 */
export function parseTimestampMs(text: string): number {
  const first = text.charCodeAt(0)
  if (first === 105 && text === 'infinity') return Number.POSITIVE_INFINITY
  if (first === 45 && text === '-infinity') return Number.NEGATIVE_INFINITY
  let end = text.length
  const bc = end > 3 && text.charCodeAt(end - 1) === 67 && text.charCodeAt(end - 2) === 66 && text.charCodeAt(end - 3) === 32
  if (bc) end -= 3
  const [days, afterDate] = readDate(text, bc, 'Date', TIMESTAMP_ACCEPTED)
  let i = afterDate
  if (text.charCodeAt(i) !== 32 || text.charCodeAt(i + 3) !== 58 || text.charCodeAt(i + 6) !== 58) {
    throw malformed(text, 'Date', TIMESTAMP_ACCEPTED)
  }
  const hour = digits(text, i + 1, 2)
  const minute = digits(text, i + 4, 2)
  const second = digits(text, i + 7, 2)
  if (hour < 0 || minute < 0 || second < 0) throw malformed(text, 'Date', TIMESTAMP_ACCEPTED)
  i += 9
  let ms = 0
  if (text.charCodeAt(i) === 46) {
    // Up to 6 fraction digits; only the first 3 fit a Date.
    let scale = 100
    let c = text.charCodeAt(++i)
    while (c >= 48 && c <= 57) {
      ms += (c - 48) * scale
      scale /= 10
      c = text.charCodeAt(++i)
    }
    ms = Math.floor(ms)
  }
  let offsetSeconds = 0
  if (i < end) {
    const sign = text.charCodeAt(i)
    if (sign !== 43 && sign !== 45) throw malformed(text, 'Date', TIMESTAMP_ACCEPTED)
    const offsetHours = digits(text, i + 1, 2)
    if (offsetHours < 0) throw malformed(text, 'Date', TIMESTAMP_ACCEPTED)
    offsetSeconds = offsetHours * 3600
    i += 3
    if (text.charCodeAt(i) === 58) {
      offsetSeconds += digits(text, i + 1, 2) * 60
      i += 3
      if (text.charCodeAt(i) === 58) {
        offsetSeconds += digits(text, i + 1, 2)
        i += 3
      }
    }
    if (i !== end) throw malformed(text, 'Date', TIMESTAMP_ACCEPTED)
    if (sign === 45) offsetSeconds = -offsetSeconds
  }
  const epochMs = days * MS_PER_DAY + hour * 3_600_000 + minute * 60_000 + second * 1000 + ms - offsetSeconds * 1000
  if (epochMs > MAX_DATE_MS || epochMs < -MAX_DATE_MS) {
    throw new ConversionError({
      value: text,
      target: 'Date',
      reason: 'outside the range a JavaScript Date can hold (about ±275,000 years)',
      accepted: "timestamps within ±8.64e15 ms of 1970, or the timestamp policy 'string'",
    })
  }
  return epochMs
}

/** timestamp / timestamptz → `Date`; `infinity` / `-infinity` → `Infinity` / `-Infinity` (numbers). */
export function parseTimestamp(text: string): Date | number {
  const ms = parseTimestampMs(text)
  return ms === Number.POSITIVE_INFINITY || ms === Number.NEGATIVE_INFINITY ? ms : new Date(ms)
}

const DATE_ACCEPTED = "'YYYY-MM-DD[ BC]', 'infinity' or '-infinity'"

/** date → a `Date` at UTC midnight of that day; `infinity` / `-infinity` → `Infinity` / `-Infinity`. */
export function parseDateAsDate(text: string): Date | number {
  if (text === 'infinity') return Number.POSITIVE_INFINITY
  if (text === '-infinity') return Number.NEGATIVE_INFINITY
  const bc = text.endsWith(' BC')
  const [days, after] = readDate(text, bc, 'Date', DATE_ACCEPTED)
  if (after !== (bc ? text.length - 3 : text.length)) throw malformed(text, 'Date', DATE_ACCEPTED)
  return new Date(days * MS_PER_DAY)
}

/**
 * An interval split the way PostgreSQL stores it: months, days and time are independent (a month is
 * not 30 days, a day is not always 24 hours). Each field carries its own sign, e.g. `-1 years +3 days`.
 * `milliseconds` may have a fraction holding the microseconds (`0.001` = 1 µs).
 */
export interface Interval {
  years: number
  months: number
  days: number
  hours: number
  minutes: number
  seconds: number
  milliseconds: number
}

const INTERVAL_ACCEPTED =
  "IntervalStyle 'postgres' ('1 year 2 mons 3 days 04:05:06.789'), 'postgres_verbose' ('@ 1 year 2 mons 3 days 4 hours " +
  "5 mins 6.789 secs ago', '@ 0') or 'iso_8601' ('P1Y2M3DT4H5M6.789S')"

/** A number as interval text writes one: `6`, `-6`, `+3`, `6.789`. No exponent, hex, `Infinity` or empty text. */
const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$/

/** `[-+]HH:MM:SS[.ffffff]`; hours may exceed 24 and have more digits. */
const CLOCK = /^([+-]?)(\d+):(\d+):(\d+(?:\.\d*)?)$/

function badInterval(text: string): ConversionError {
  return new ConversionError({ value: text, target: 'interval', reason: 'malformed interval text', accepted: INTERVAL_ACCEPTED })
}

/** The number `part` writes, or a ConversionError naming the whole text: `+part` would read '' as 0 and '-5x' as NaN. */
function decimal(part: string, text: string): number {
  const value = +part
  if (!DECIMAL.test(part) || !Number.isFinite(value)) throw badInterval(text)
  return value
}

function zeroInterval(): Interval {
  return { years: 0, months: 0, days: 0, hours: 0, minutes: 0, seconds: 0, milliseconds: 0 }
}

/**
 * interval text in IntervalStyle `postgres` (the default), `postgres_verbose` or `iso_8601` → {@link Interval}.
 * @throws ConversionError for any other text, naming it and the styles accepted
 */
export function parseInterval(text: string): Interval {
  const result = zeroInterval()
  if (text.charCodeAt(0) === 80) return parseIsoInterval(text, result)
  // postgres_verbose writes a zero interval as a bare number, the one place a number has no unit.
  if (text === '@ 0') return result
  const parts = text.split(' ')
  const isVerbose = parts[0] === '@'
  // 'ago' (verbose only) ends the text and negates every field.
  const isAgo = isVerbose && parts.length > 2 && parts[parts.length - 1] === 'ago'
  const end = isAgo ? parts.length - 1 : parts.length
  let components = 0
  for (let i = isVerbose ? 1 : 0; i < end; i++) {
    const part = parts[i] as string
    if (part === '') continue
    components++
    if (part.includes(':')) {
      readClock(part, result, text)
      continue
    }
    const unit = parts[i + 1]
    if (unit === undefined || i + 1 >= end) throw badInterval(text)
    addUnit(result, unit, decimal(part, text), part, text)
    i++
  }
  if (components === 0) throw badInterval(text)
  if (isAgo) {
    for (const key of Object.keys(result) as (keyof Interval)[]) result[key] = result[key] === 0 ? 0 : -result[key]
  }
  return result
}

function addUnit(result: Interval, unit: string, value: number, amount: string, text: string): void {
  switch (unit) {
    case 'year':
    case 'years':
      result.years = value
      return
    case 'mon':
    case 'mons':
      result.months = value
      return
    case 'day':
    case 'days':
      result.days = value
      return
    case 'hour':
    case 'hours':
      result.hours = value
      return
    case 'min':
    case 'mins':
      result.minutes = value
      return
    case 'sec':
    case 'secs':
      // Seconds keep their text form so the microseconds split exactly.
      setSeconds(result, amount)
      return
    default:
      throw badInterval(text)
  }
}

/** Splits `-6.789123` (already checked to be a decimal) into seconds -6 and milliseconds -789.123, both with the sign of the whole. */
function setSeconds(result: Interval, text: string): void {
  const negative = text.charCodeAt(0) === 45
  const unsigned = negative || text.charCodeAt(0) === 43 ? text.slice(1) : text
  const dot = unsigned.indexOf('.')
  const whole = dot < 0 ? +unsigned : +unsigned.slice(0, dot)
  let micros = 0
  if (dot >= 0) micros = +unsigned.slice(dot + 1, dot + 7).padEnd(6, '0')
  const sign = negative ? -1 : 1
  result.seconds = whole === 0 ? 0 : sign * whole
  result.milliseconds = micros === 0 ? 0 : (sign * micros) / 1000
}

/** `[-+]HH:MM:SS[.ffffff]`; the sign applies to every field. */
function readClock(clock: string, result: Interval, text: string): void {
  const match = CLOCK.exec(clock)
  if (match === null) throw badInterval(text)
  const [, sign, hoursText, minutesText, secondsText] = match as unknown as [string, string, string, string, string]
  const hours = decimal(hoursText, text)
  const minutes = decimal(minutesText, text)
  decimal(secondsText, text)
  const negative = sign === '-'
  result.hours = hours === 0 ? 0 : negative ? -hours : hours
  result.minutes = minutes === 0 ? 0 : negative ? -minutes : minutes
  setSeconds(result, negative ? `-${secondsText}` : secondsText)
}

function parseIsoInterval(text: string, result: Interval): Interval {
  let inTime = false
  let components = 0
  let i = 1
  while (i < text.length) {
    if (text.charCodeAt(i) === 84 && !inTime) {
      inTime = true
      i++
      continue
    }
    let j = i
    let c = text.charCodeAt(j)
    while (c === 45 || c === 43 || c === 46 || (c >= 48 && c <= 57)) c = text.charCodeAt(++j)
    const number = text.slice(i, j)
    const value = decimal(number, text)
    const unit = text[j]
    if (unit === 'Y' && !inTime) result.years = value
    else if (unit === 'M' && !inTime) result.months = value
    else if (unit === 'W' && !inTime) result.days += value * 7
    else if (unit === 'D' && !inTime) result.days += value
    else if (unit === 'H' && inTime) result.hours = value
    else if (unit === 'M' && inTime) result.minutes = value
    else if (unit === 'S' && inTime) setSeconds(result, number)
    else throw badInterval(text)
    components++
    i = j + 1
  }
  // 'P' and 'PT' alone say nothing (PostgreSQL writes a zero interval as 'PT0S'); weeks can add up past a double.
  if (components === 0 || !Number.isFinite(result.days)) throw badInterval(text)
  return result
}

/**
 * {@link Interval} → ISO 8601 duration, as PostgreSQL's IntervalStyle `iso_8601` writes it:
 * `P1Y2M3DT4H5M6.789S`, `PT0S` for zero, each part with its own sign.
 */
export function formatIsoInterval(interval: Interval): string {
  let date = ''
  if (interval.years !== 0) date += `${interval.years}Y`
  if (interval.months !== 0) date += `${interval.months}M`
  if (interval.days !== 0) date += `${interval.days}D`
  let time = ''
  if (interval.hours !== 0) time += `${interval.hours}H`
  if (interval.minutes !== 0) time += `${interval.minutes}M`
  const micros = Math.round(interval.seconds * 1_000_000 + interval.milliseconds * 1000)
  if (micros !== 0) {
    const abs = Math.abs(micros)
    const fraction = String(abs % 1_000_000)
      .padStart(6, '0')
      .replace(/0+$/, '')
    time += `${micros < 0 ? '-' : ''}${Math.floor(abs / 1_000_000)}${fraction ? `.${fraction}` : ''}S`
  }
  if (date === '' && time === '') return 'PT0S'
  return `P${date}${time ? `T${time}` : ''}`
}

/** interval text → ISO 8601 duration string (see {@link formatIsoInterval}). */
export function parseIntervalAsIso(text: string): string {
  return text.charCodeAt(0) === 80 ? text : formatIsoInterval(parseInterval(text))
}
