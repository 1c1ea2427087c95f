import { ConversionError } from '@tessera/core'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createTypeRegistry, formatIsoInterval, OIDS, parseInterval, type TypeRegistry } from '../src/index'

const registry = createTypeRegistry()
const parse = (type: keyof typeof OIDS, text: string, from: TypeRegistry = registry) => from.getParser(OIDS[type])(text)
const date = (iso: string) => new Date(iso)

describe('timestamps', () => {
  it('reads timestamptz with any offset as the right instant', () => {
    expect(parse('timestamptz', '2024-01-02 03:04:05+00')).toEqual(date('2024-01-02T03:04:05Z'))
    expect(parse('timestamptz', '2024-01-02 08:34:05.5+05:30')).toEqual(date('2024-01-02T03:04:05.500Z'))
    expect(parse('timestamptz', '1849-12-31 19:03:58-04:56:02')).toEqual(date('1850-01-01T00:00:00Z'))
  })

  it('reads timestamp without time zone as UTC', () => {
    expect(parse('timestamp', '2024-02-29 23:59:59.999')).toEqual(date('2024-02-29T23:59:59.999Z'))
  })

  it('truncates microseconds to milliseconds', () => {
    expect((parse('timestamp', '2024-01-01 00:00:00.123999') as Date).getTime()).toBe(Date.UTC(2024, 0, 1, 0, 0, 0, 123))
    expect((parse('timestamp', '2024-01-01 00:00:00.1') as Date).getUTCMilliseconds()).toBe(100)
  })

  it('reads BC dates as astronomical years (1 BC is year 0)', () => {
    const value = parse('timestamp', '0044-03-15 12:00:00.123456 BC') as Date
    expect(value.getUTCFullYear()).toBe(-43)
    expect([value.getUTCMonth(), value.getUTCDate(), value.getUTCHours(), value.getUTCMilliseconds()]).toEqual([2, 15, 12, 123])
    expect((parse('timestamptz', '0001-01-01 00:00:00+00 BC') as Date).getUTCFullYear()).toBe(0)
    expect((parse('timestamp', '4713-11-24 00:00:00 BC') as Date).getUTCFullYear()).toBe(-4712)
  })

  it('reads years 1 to 99 as those years, not 19xx', () => {
    expect((parse('timestamp', '0099-12-31 00:00:00') as Date).getUTCFullYear()).toBe(99)
  })

  it('reads years with more than four digits', () => {
    expect(parse('timestamp', '10000-01-01 00:00:00')).toEqual(new Date(Date.UTC(10000, 0, 1)))
  })

  it('reads infinity and -infinity as the numbers Infinity and -Infinity', () => {
    expect(parse('timestamptz', 'infinity')).toBe(Number.POSITIVE_INFINITY)
    expect(parse('timestamp', '-infinity')).toBe(Number.NEGATIVE_INFINITY)
  })

  it('refuses a timestamp beyond what a Date can hold and suggests the string policy', () => {
    expect(() => parse('timestamp', '294276-12-31 23:59:59')).toThrow(/timestamp policy 'string'/)
  })

  it('rejects text in another DateStyle with the value named', () => {
    expect(() => parse('timestamptz', 'Tue Jan 02 03:04:05 2024 PST')).toThrow(ConversionError)
    expect(() => parse('timestamptz', '2024-01-02 03:04:05 PST')).toThrow(/"2024-01-02 03:04:05 PST" to Date/)
  })

  it("keeps PostgreSQL's text, microseconds included, with the 'string' policy", () => {
    const strings = createTypeRegistry({ timestamp: 'string' })
    expect(parse('timestamptz', '2024-01-02 03:04:05.123456+00', strings)).toBe('2024-01-02 03:04:05.123456+00')
    expect(parse('_timestamp', '{"2024-01-02 03:04:05"}', strings)).toEqual(['2024-01-02 03:04:05'])
  })
})

describe('dates', () => {
  it('keeps a date as YYYY-MM-DD text by default', () => {
    expect(parse('date', '2024-02-29')).toBe('2024-02-29')
    expect(parse('date', '0044-03-15 BC')).toBe('0044-03-15 BC')
    expect(parse('date', 'infinity')).toBe('infinity')
  })

  it("reads a date as UTC midnight with the 'Date' policy", () => {
    const dates = createTypeRegistry({ date: 'Date' })
    expect(parse('date', '2024-02-29', dates)).toEqual(date('2024-02-29T00:00:00Z'))
    expect((parse('date', '0001-01-01 BC', dates) as Date).getUTCFullYear()).toBe(0)
    expect(parse('date', '-infinity', dates)).toBe(Number.NEGATIVE_INFINITY)
    expect(() => parse('date', '2024-13-01', dates)).toThrow(ConversionError)
  })
})

describe('intervals', () => {
  const zero = { years: 0, months: 0, days: 0, hours: 0, minutes: 0, seconds: 0, milliseconds: 0 }

  it("reads PostgreSQL's default interval style into an object", () => {
    expect(parse('interval', '1 year 2 mons 3 days 04:05:06.789')).toEqual({
      years: 1,
      months: 2,
      days: 3,
      hours: 4,
      minutes: 5,
      seconds: 6,
      milliseconds: 789,
    })
    expect(parse('interval', '00:00:00')).toEqual(zero)
  })

  it('keeps the sign of each part', () => {
    expect(parse('interval', '-1 years -2 mons +3 days -04:05:06.789')).toEqual({
      years: -1,
      months: -2,
      days: 3,
      hours: -4,
      minutes: -5,
      seconds: -6,
      milliseconds: -789,
    })
    expect(parse('interval', '1 day -00:00:01')).toEqual({ ...zero, days: 1, seconds: -1 })
  })

  it('keeps microseconds as a fraction of milliseconds and hours past 24', () => {
    expect(parse('interval', '-1000:00:00.000001')).toEqual({ ...zero, hours: -1000, milliseconds: -0.001 })
    expect(parse('interval', '00:00:00.123456')).toEqual({ ...zero, milliseconds: 123.456 })
  })

  it('reads the iso_8601 and postgres_verbose styles too', () => {
    expect(parseInterval('P-1Y-2M3DT-4H-5M-6.789S')).toEqual(parseInterval('-1 years -2 mons +3 days -04:05:06.789'))
    expect(parseInterval('PT0S')).toEqual(zero)
    expect(parseInterval('PT-0.5S')).toEqual({ ...zero, milliseconds: -500 })
    expect(parseInterval('@ 1 year 2 mons -3 days 4 hours 5 mins 6.789 secs ago')).toEqual(
      parseInterval('-1 years -2 mons +3 days -04:05:06.789'),
    )
  })

  it("returns ISO 8601 durations as PostgreSQL's iso_8601 style writes them with the 'iso' policy", () => {
    const iso = createTypeRegistry({ interval: 'iso' })
    expect(parse('interval', '1 year 2 mons 3 days 04:05:06.789', iso)).toBe('P1Y2M3DT4H5M6.789S')
    expect(parse('interval', '-1 years -2 mons +3 days -04:05:06.789', iso)).toBe('P-1Y-2M3DT-4H-5M-6.789S')
    expect(parse('interval', '00:00:00', iso)).toBe('PT0S')
    expect(parse('interval', '-00:00:00.5', iso)).toBe('PT-0.5S')
    expect(formatIsoInterval({ ...zero, seconds: 1, milliseconds: 0.001 })).toBe('PT1.000001S')
  })

  it('rejects the sql_standard style, naming the styles it reads', () => {
    expect(() => parse('interval', '1-2 3 4:05:06')).toThrow(/IntervalStyle 'postgres'/)
  })

  it("reads postgres_verbose's '@ 0' as a zero interval", () => {
    expect(parseInterval('@ 0')).toEqual(zero)
  })

  it('reads the postgres_verbose forms PostgreSQL 15 writes', () => {
    expect(parseInterval('@ 1 year 2 mons 3 days 4 hours 5 mins 6 secs ago')).toEqual(parseInterval('-1 years -2 mons -3 days -04:05:06'))
    expect(parseInterval('@ 1 min')).toEqual({ ...zero, minutes: 1 })
    expect(parseInterval('@ 1 day -1 sec ago')).toEqual({ ...zero, days: -1, seconds: 1 })
    expect(parseInterval('@ 0.5 secs ago')).toEqual({ ...zero, milliseconds: -500 })
    expect(parseInterval('@ 10 mons -3 days -4 hours -5 mins -6 secs ago')).toEqual(parseInterval('-10 mons +3 days 04:05:06'))
  })

  it('refuses malformed interval text with a ConversionError naming the text and the accepted styles', () => {
    for (const text of [
      '00:00:00-5',
      '',
      '@',
      '@ 0 ago',
      'ago',
      '1',
      '1 fortnight',
      'x years',
      '1e3 days',
      '0x10 days',
      'Infinity years',
      '1 day ago',
      '1 day @',
      '1:2',
      '00:00:0a',
      '-:00:00',
      'P',
      'PT',
      'P1Y2',
      'PT1.2.3S',
      'P-Y',
    ]) {
      let thrown: unknown
      try {
        parseInterval(text)
      } catch (error) {
        thrown = error
      }
      expect(thrown, text).toBeInstanceOf(ConversionError)
      expect((thrown as ConversionError).value).toBe(text)
      expect((thrown as ConversionError).message).toContain(`${JSON.stringify(text)} to interval`)
      expect((thrown as ConversionError).message).toMatch(/accepted: IntervalStyle 'postgres'.*'postgres_verbose'.*'iso_8601'/)
    }
  })

  it('never returns a field that is not a finite number: it reads the text or throws a ConversionError', () => {
    const token = fc.constantFrom('@', 'ago', '0', '1', '-2', '+3', '0.5', '.5', '1.', 'year', 'mons', 'days', 'hour', 'mins', 'secs')
    const clockish = fc.stringMatching(/^[+-]?[0-9]{0,3}(:[0-9.+-]{0,3}){0,3}$/)
    const isoish = fc.stringMatching(/^P[-+.0-9YMWDTHS]{0,12}$/)
    const text = fc.oneof(
      fc.array(fc.oneof(token, clockish), { maxLength: 8 }).map((parts) => parts.join(' ')),
      isoish,
      fc.string(),
    )
    fc.assert(
      fc.property(text, (input) => {
        let interval: Record<string, number>
        try {
          interval = parseInterval(input) as unknown as Record<string, number>
        } catch (error) {
          expect(error).toBeInstanceOf(ConversionError)
          return
        }
        for (const value of Object.values(interval)) expect(Number.isFinite(value), `${input} → ${JSON.stringify(interval)}`).toBe(true)
      }),
      { numRuns: 2_000 },
    )
  })
})
