import fc from 'fast-check'

/** Characters that matter to the scanner: quotes, dollars, digits, comment starts, backslashes, line ends. */
const noisy = fc.string({
  unit: fc.constantFrom('$', '1', '9', "'", '"', '\\', '-', '/', '*', '\n', '\r', ' ', 'a', 'E', 't', 'é'),
  maxLength: 16,
})

const decoyNumber = fc.integer({ min: 1, max: 99 })

/**
 * Select-list items that hold `$n` where PostgreSQL does not read a parameter: inside every kind of literal,
 * quoted identifier and comment, and inside a word. Each is a valid expression on its own.
 */
const decoy: fc.Arbitrary<string> = fc.oneof(
  // '…' with '' for a quote; a backslash is an ordinary character.
  fc.tuple(noisy, decoyNumber).map(([text, n]) => `'${`${text}$${n}`.replaceAll("'", "''")}'`),
  // E'…': \' and '' are quotes, \\ a backslash.
  fc.tuple(noisy, decoyNumber).map(([text, n]) => `E'${`${text}$${n}`.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`),
  fc.tuple(noisy, decoyNumber).map(([text, n]) => `e'${`$${n}${text}`.replaceAll('\\', '\\\\').replaceAll("'", "''")}'`),
  fc.tuple(noisy, decoyNumber).map(([text, n]) => `U&'${`${text}$${n}`.replaceAll('\\', '\\\\').replaceAll("'", "''")}'`),
  // $$…$$: the content may not hold $$ nor end in $, or it would close early.
  fc.tuple(noisy, decoyNumber).map(([text, n]) => {
    const content = `${text}$${n}${text}`.replace(/\$(?=\$)/g, '$ ')
    return `$$${content.endsWith('$') ? `${content} ` : content}$$`
  }),
  // $tg$…$tg$: the noise has no g, so it cannot close the string; $$ inside is content.
  fc.tuple(noisy, decoyNumber).map(([text, n]) => `$tg$${text}$$ $${n} $t$${text}$tg$`),
  // "…" identifiers, "" for a quote.
  fc.tuple(noisy, decoyNumber).map(([text, n]) => `1 AS "x${`${text}$${n}`.replaceAll('"', '""')}"`),
  // A $ inside a word is part of the identifier.
  fc.tuple(fc.constantFrom('price', 'a', 'x_1', 'é'), decoyNumber).map(([word, n]) => `1 AS ${word}$${n}`),
  // -- comments end at a line feed or a carriage return.
  fc.tuple(noisy, decoyNumber, fc.constantFrom('\n', '\r')).map(([text, n, end]) => `-- ${text.replace(/[\n\r]/g, ' ')} $${n}${end} 1`),
  // /* … */ nests.
  fc.tuple(noisy, noisy, decoyNumber).map(([outer, inner, n]) => {
    const clean = (text: string) => text.replace(/[*/]/g, ' ')
    return `/* ${clean(outer)} /* $${n} ${clean(inner)} */ $${n} -- */ 1`
  }),
)

/**
 * A `SELECT` whose parameters are exactly `$1…$parameters` (each cast to int, in random order and repeats), mixed
 * with decoys. PostgreSQL accepts every one; its parameter count is `parameters`.
 */
export const statementText: fc.Arbitrary<{ text: string; parameters: number }> = fc.integer({ min: 0, max: 12 }).chain((parameters) => {
  const real = Array.from({ length: parameters }, (_, i) => fc.constantFrom(`$${i + 1}::int`, `($${i + 1}::int)`, `$${i + 1}::int+0`))
  return fc
    .tuple(
      fc.tuple(...real),
      fc.array(decoy, { maxLength: 6 }),
      fc.array(fc.integer({ min: 1, max: Math.max(1, parameters) }), { maxLength: 3 }),
    )
    .chain(([items, decoys, repeats]) => {
      const repeated = parameters === 0 ? [] : repeats.map((n) => `$${n}::int`)
      return fc.shuffledSubarray([...items, ...decoys, ...repeated], { minLength: items.length + decoys.length + repeated.length })
    })
    .map((list) => ({ text: `SELECT ${list.length === 0 ? '1' : list.join(', ')}`, parameters }))
})
